// MpiCommunicator: the Communicator of mpi/run.hpp over an MPI communicator (the tally::mpi
// library; built when CMake finds MPI, TALLY_MPI).
//
// It works on two duplicates of the communicator, one for its collectives and one for
// alerts, so that neither ever matches a message of the program's own or of the other. The
// collectives block the thread that calls them. While watching for alerts, a thread of its
// own polls a posted receive (MPI_Test, every kAlertPoll: Open MPI has no progress thread to
// wake it) while the caller makes no MPI call; so MPI must be initialized with at least
// MPI_THREAD_SERIALIZED. The engine's workers never call MPI. MPI's errors keep the
// communicator's error handler: the default, MPI_ERRORS_ARE_FATAL, ends the whole job rather
// than leave a rank waiting.
#pragma once

#include <mpi.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tally/engine/mpi/communicator.hpp"

namespace tally::mpi {

class MpiCommunicator final : public Communicator {
 public:
  // Collective over `comm`. REQUIRES: MPI is initialized, and stays so until destruction.
  explicit MpiCommunicator(MPI_Comm comm);
  ~MpiCommunicator() override;
  MpiCommunicator(const MpiCommunicator&) = delete;
  MpiCommunicator& operator=(const MpiCommunicator&) = delete;

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::vector<std::string> all_gather(std::string_view mine) override;
  std::vector<std::string> all_to_all(const std::vector<std::string>& to) override;

  // The same collectives handing each rank's message, in rank order, to `receive` as a view
  // of MPI's receive buffer (valid only during the call) instead of copying it into a
  // string: for a caller that keeps the messages in storage of its own.
  using Receive = std::function<void(std::string_view message)>;
  void all_gather(std::string_view mine, const Receive& receive);
  void all_to_all(std::span<const std::string_view> to, const Receive& receive);
  void watch_for_alerts(std::function<void()> on_alert) override;
  void stop_watching() override;
  void alert_others() override;

  static constexpr std::chrono::milliseconds kAlertPoll{2};

 private:
  void post_alert_receive();

  MPI_Comm comm_ = MPI_COMM_NULL;
  MPI_Comm alerts_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  std::uint64_t watch_ = 0;  // the current (or last) watch's number, the same on every rank
  std::uint64_t heard_ = 0;  // the watch number an alert carried
  MPI_Request receive_ = MPI_REQUEST_NULL;
  // Alerts sent: their buffers stay put until the communicator is freed (the sends are
  // eager and never waited for).
  std::list<std::uint64_t> sent_;
  std::vector<MPI_Request> sends_;
  std::thread watcher_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
};

}  // namespace tally::mpi
