// Communicator: the collective operations a distributed run needs from its transport, and
// nothing more. mpi/run.hpp is written against it; MpiCommunicator (mpi_communicator.hpp, the
// tally::mpi library) implements it over an MPI communicator, and the tests implement it over
// threads of one process, so the distributed run is tested without MPI (and under TSan).
//
// Every member is collective: every rank of the group calls it, in the same order, or the
// group blocks. Each rank calls them from one thread at a time.
#pragma once

#include <cstddef>
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
};

}  // namespace tally::mpi
