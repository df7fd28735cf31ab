// ThreadGroup: a tally::mpi::Communicator for each of N ranks that are threads of one
// process, so that tests run distributed jobs (mpi/run.hpp) without MPI, under TSan too.
//
//   ThreadGroup group(3);
//   group.run([&](tally::mpi::Communicator& comm) { ... tally::mpi::run(..., comm, ...); });
//
// Each collective is a barrier phase: every rank posts its messages, waits for all, reads
// what was posted for it, and waits again before the slots are reused.
#pragma once

#include <barrier>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tally/engine/mpi/communicator.hpp"

namespace tally::testing {

class ThreadGroup {
 public:
  explicit ThreadGroup(int ranks)
      : barrier_(ranks),
        posted_(static_cast<std::size_t>(ranks),
                std::vector<std::string>(static_cast<std::size_t>(ranks))) {
    for (int r = 0; r < ranks; ++r) members_.emplace_back(*this, r);
  }

  // Runs fn(communicator of rank r) on one thread per rank, and joins them all.
  // REQUIRES: every rank makes the same sequence of collective calls.
  void run(const std::function<void(mpi::Communicator&)>& fn) {
    std::vector<std::jthread> threads;
    for (Member& m : members_) threads.emplace_back([&fn, &m] { fn(m); });
  }

 private:
  class Member final : public mpi::Communicator {
   public:
    Member(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
    int rank() const override { return rank_; }
    int size() const override { return static_cast<int>(group_.members_.size()); }

    std::vector<std::string> all_gather(std::string_view mine) override {
      return group_.exchange(rank_, std::vector<std::string>(group_.members_.size(),
                                                             std::string(mine)));
    }
    std::vector<std::string> all_to_all(const std::vector<std::string>& to) override {
      return group_.exchange(rank_, to);
    }

   private:
    ThreadGroup& group_;
    const int rank_;
  };

  // posted_[from][to]: written by `from` before the first barrier, read by `to` between the
  // barriers.
  std::vector<std::string> exchange(int rank, std::vector<std::string> to) {
    const auto me = static_cast<std::size_t>(rank);
    posted_[me] = std::move(to);
    barrier_.arrive_and_wait();
    std::vector<std::string> from(posted_.size());
    for (std::size_t s = 0; s < posted_.size(); ++s) from[s] = posted_[s][me];
    barrier_.arrive_and_wait();
    return from;
  }

  std::barrier<> barrier_;
  std::vector<std::vector<std::string>> posted_;
  std::vector<Member> members_;
};

}  // namespace tally::testing
