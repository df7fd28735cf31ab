// MpiCommunicator: the Communicator of mpi/run.hpp over an MPI communicator (the tally::mpi
// library; built when CMake finds MPI, TALLY_MPI).
//
// It works on its own duplicate of the communicator, so that its collectives never match a
// message of the program's own. Every call it makes is a blocking collective on the thread
// that calls it: the engine's workers never call MPI, so MPI_THREAD_FUNNELED suffices when
// that thread is the one that initialized MPI (SERIALIZED otherwise). MPI's errors keep the
// communicator's error handler: the default, MPI_ERRORS_ARE_FATAL, ends the whole job rather
// than leave a rank waiting.
#pragma once

#include <mpi.h>

#include <string>
#include <string_view>
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

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace tally::mpi
