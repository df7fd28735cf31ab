// Communicator: the collective operations a distributed run needs from its transport, and
// nothing more. mpi/run.hpp is written against it; MpiCommunicator (mpi_communicator.hpp, the
// tally::mpi library) implements it over an MPI communicator, and the tests implement it over
// threads of one process, so the distributed run is tested without MPI (and under TSan).
//
// all_gather and all_to_all are collective: every rank of the group calls them, in the same
// order, or the group blocks. Alerts are not: they let a rank that failed while the others
// work without communicating (mapping their shares) stop them at once, rather than at their
// next collective step. Each rank calls every member from one thread at a time.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace tally::mpi {

class Communicator {
 public:
  // The most bytes one rank may send, or receive, in one all_to_all: what fits the int
  // counts and displacements of MPI-3's MPI_Alltoallv.
  static constexpr std::size_t kMaxRoundBytes = std::size_t{1} << 30;

  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Every rank's `mine`, indexed by rank.
  virtual std::vector<std::string> all_gather(std::string_view mine) = 0;

  // One round of personal messages: to[r] goes to rank r; returns what each rank sent this
  // one, indexed by sender. REQUIRES: to.size() == size(); what this rank sends, and what it
  // receives, is at most kMaxRoundBytes in total.
  virtual std::vector<std::string> all_to_all(const std::vector<std::string>& to) = 0;

  // Until stop_watching(), calls on_alert() (once, on a thread of the communicator's) when
  // another rank calls alert_others() in the same watch: each rank's n-th watch hears only
  // the alerts of the others' n-th. REQUIRES: every rank watches the same number of times;
  // no other member is called while watching.
  virtual void watch_for_alerts(std::function<void()> on_alert) = 0;
  virtual void stop_watching() = 0;
  // Alerts every other rank's current (or, if it has stopped watching, last) watch. Call it
  // after stop_watching(), and at most once per watch.
  virtual void alert_others() = 0;
};

}  // namespace tally::mpi
