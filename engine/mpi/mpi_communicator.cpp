#include "tally/engine/mpi/mpi_communicator.hpp"

#include <cstddef>
#include <stdexcept>

namespace tally::mpi {
namespace {

// MPI-3 counts are int: what one rank sends or receives in one call must fit.
int as_count(std::size_t bytes) {
  if (bytes > Communicator::kMaxRoundBytes) {
    throw std::length_error("an MPI message of " + std::to_string(bytes) +
                            " bytes is over the limit of one round");
  }
  return static_cast<int>(bytes);
}

// Displacements of consecutive blocks of `counts`, and their total.
std::vector<int> displacements(const std::vector<int>& counts, std::size_t& total) {
  std::vector<int> displs(counts.size());
  total = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    displs[i] = as_count(total);
    total += static_cast<std::size_t>(counts[i]);
  }
  as_count(total);
  return displs;
}

}  // namespace

MpiCommunicator::MpiCommunicator(MPI_Comm comm) {
  MPI_Comm_dup(comm, &comm_);
  MPI_Comm_dup(comm, &alerts_);
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

MpiCommunicator::~MpiCommunicator() {
  if (watcher_.joinable()) stop_watching();
  for (MPI_Request& r : sends_) MPI_Request_free(&r);
  MPI_Comm_free(&alerts_);
  MPI_Comm_free(&comm_);
}

void MpiCommunicator::post_alert_receive() {
  MPI_Irecv(&heard_, 1, MPI_UINT64_T, MPI_ANY_SOURCE, 0, alerts_, &receive_);
}

void MpiCommunicator::watch_for_alerts(std::function<void()> on_alert) {
  ++watch_;
  stopping_ = false;  // no watcher runs yet
  post_alert_receive();
  watcher_ = std::thread([this, on_alert = std::move(on_alert)] {
    for (;;) {
      {
        std::unique_lock lock(mutex_);
        if (wake_.wait_for(lock, kAlertPoll, [this] { return stopping_; })) return;
      }
      int arrived = 0;
      MPI_Test(&receive_, &arrived, MPI_STATUS_IGNORE);
      if (arrived == 0) continue;
      if (heard_ == watch_) {
        on_alert();
        return;
      }
      post_alert_receive();  // a late alert of an earlier watch
    }
  });
}

void MpiCommunicator::stop_watching() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  watcher_.join();
  if (receive_ != MPI_REQUEST_NULL) {
    // A receive that matched meanwhile completes instead of cancelling: either way it is done.
    MPI_Cancel(&receive_);
    MPI_Wait(&receive_, MPI_STATUS_IGNORE);
  }
}

void MpiCommunicator::alert_others() {
  std::uint64_t& value = sent_.emplace_back(watch_);
  for (int r = 0; r < size_; ++r) {
    if (r == rank_) continue;
    MPI_Isend(&value, 1, MPI_UINT64_T, r, 0, alerts_, &sends_.emplace_back());
  }
}

void MpiCommunicator::all_gather(std::string_view mine, const Receive& receive) {
  const auto n = static_cast<std::size_t>(size_);
  int count = as_count(mine.size());
  std::vector<int> counts(n);
  MPI_Allgather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, comm_);
  std::size_t total = 0;
  const std::vector<int> displs = displacements(counts, total);
  std::string all(total, '\0');
  MPI_Allgatherv(mine.data(), count, MPI_BYTE, all.data(), counts.data(), displs.data(), MPI_BYTE,
                 comm_);
  for (std::size_t r = 0; r < n; ++r) {
    receive(std::string_view(all).substr(static_cast<std::size_t>(displs[r]),
                                         static_cast<std::size_t>(counts[r])));
  }
}

void MpiCommunicator::all_to_all(std::span<const std::string_view> to, const Receive& receive) {
  const auto n = static_cast<std::size_t>(size_);
  if (to.size() != n) throw std::invalid_argument("all_to_all needs one message per rank");
  std::vector<int> send_counts(n);
  std::size_t send_bytes = 0;
  for (std::size_t r = 0; r < n; ++r) {
    send_counts[r] = as_count(to[r].size());
    send_bytes += to[r].size();
  }
  std::string send;
  send.reserve(send_bytes);
  for (const std::string_view m : to) send += m;
  std::size_t send_total = 0;
  const std::vector<int> send_displs = displacements(send_counts, send_total);
  std::vector<int> recv_counts(n);
  MPI_Alltoall(send_counts.data(), 1, MPI_INT, recv_counts.data(), 1, MPI_INT, comm_);
  std::size_t recv_total = 0;
  const std::vector<int> recv_displs = displacements(recv_counts, recv_total);
  std::string received(recv_total, '\0');
  MPI_Alltoallv(send.data(), send_counts.data(), send_displs.data(), MPI_BYTE, received.data(),
                recv_counts.data(), recv_displs.data(), MPI_BYTE, comm_);
  for (std::size_t r = 0; r < n; ++r) {
    receive(std::string_view(received).substr(static_cast<std::size_t>(recv_displs[r]),
                                              static_cast<std::size_t>(recv_counts[r])));
  }
}

std::vector<std::string> MpiCommunicator::all_gather(std::string_view mine) {
  std::vector<std::string> out;
  all_gather(mine, [&out](std::string_view m) { out.emplace_back(m); });
  return out;
}

std::vector<std::string> MpiCommunicator::all_to_all(const std::vector<std::string>& to) {
  const std::vector<std::string_view> views(to.begin(), to.end());
  std::vector<std::string> out;
  all_to_all(views, [&out](std::string_view m) { out.emplace_back(m); });
  return out;
}

}  // namespace tally::mpi
