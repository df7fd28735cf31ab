// ThreadGroup: a tally::mpi::Communicator for each of N ranks that are threads of one
// process, so that tests run distributed jobs (mpi/run.hpp) without MPI, under TSan too.
//
//   ThreadGroup group(3);
//   group.run([&](tally::mpi::Communicator& comm) { ... tally::mpi::run(..., comm, ...); });
//
// Each collective is a barrier phase: every rank posts its messages, waits for all, reads
// what was posted for it, and waits again before the slots are reused. An alert sets the
// other ranks' "alerted" watch number under their mutex and wakes their watcher threads;
// alert_heard() lets a test wait until a rank's watcher has acted on one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tally/engine/mpi/communicator.hpp"

namespace tally::testing {

class ThreadGroup {
 public:
  explicit ThreadGroup(int ranks)
      : posted_(static_cast<std::size_t>(ranks),
                std::vector<std::string>(static_cast<std::size_t>(ranks))) {
    for (int r = 0; r < ranks; ++r) members_.push_back(std::make_unique<Member>(*this, r));
  }

  // Runs fn(communicator of rank r) on one thread per rank, and joins them all.
  // REQUIRES: every rank makes the same sequence of collective calls.
  void run(const std::function<void(mpi::Communicator&)>& fn) {
    std::vector<std::jthread> threads;
    for (auto& m : members_) threads.emplace_back([&fn, &m] { fn(*m); });
  }

  // Waits until rank r's watcher has called its on_alert; false if `timeout` passed first.
  bool alert_heard(int rank, std::chrono::seconds timeout) {
    Member& m = *members_[static_cast<std::size_t>(rank)];
    std::unique_lock lock(m.mutex);
    return m.changed.wait_for(lock, timeout, [&m] { return m.heard; });
  }

 private:
  class Member final : public mpi::Communicator {
   public:
    Member(ThreadGroup& group, int rank) : group_(group), rank_(rank) {}
    ~Member() override {
      if (watcher_.joinable()) stop_watching();
    }
    int rank() const override { return rank_; }
    int size() const override { return static_cast<int>(group_.members_.size()); }

    std::vector<std::string> all_gather(std::string_view mine) override {
      return group_.exchange(rank_,
                             std::vector<std::string>(group_.members_.size(), std::string(mine)));
    }
    std::vector<std::string> all_to_all(const std::vector<std::string>& to) override {
      return group_.exchange(rank_, to);
    }

    void watch_for_alerts(std::function<void()> on_alert) override {
      {
        const std::lock_guard lock(mutex);
        ++watch;
        stopping = false;
      }
      watcher_ = std::thread([this, on_alert = std::move(on_alert)] {
        std::unique_lock lock(mutex);
        changed.wait(lock, [this] { return stopping || alerted == watch; });
        if (stopping) return;
        lock.unlock();
        on_alert();
        lock.lock();
        heard = true;
        changed.notify_all();
      });
    }
    void stop_watching() override {
      {
        const std::lock_guard lock(mutex);
        stopping = true;
      }
      changed.notify_all();
      watcher_.join();
    }
    void alert_others() override {
      std::uint64_t mine = 0;
      {
        const std::lock_guard lock(mutex);
        mine = watch;
      }
      for (auto& other : group_.members_) {
        if (other.get() == this) continue;
        {
          const std::lock_guard lock(other->mutex);
          other->alerted = mine;
        }
        other->changed.notify_all();
      }
    }

    std::mutex mutex;
    std::condition_variable changed;
    std::uint64_t watch = 0;    // guarded by mutex, as the three below
    std::uint64_t alerted = 0;  // the watch number of the last alert to this rank
    bool stopping = false;
    bool heard = false;  // on_alert was called

   private:
    ThreadGroup& group_;
    const int rank_;
    std::thread watcher_;
  };

  // posted_[from][to]: written by `from` before the first barrier, read by `to` between the
  // barriers.
  std::vector<std::string> exchange(int rank, std::vector<std::string> to) {
    const auto me = static_cast<std::size_t>(rank);
    posted_[me] = std::move(to);
    arrive_and_wait();
    std::vector<std::string> from(posted_.size());
    for (std::size_t s = 0; s < posted_.size(); ++s) from[s] = posted_[s][me];
    arrive_and_wait();
    return from;
  }

  // A barrier of every rank (a mutex and a generation count: libstdc++ 12's std::barrier
  // can miss a wake-up).
  void arrive_and_wait() {
    std::unique_lock lock(barrier_mutex_);
    const std::uint64_t generation = generation_;
    if (++arrived_ == members_.size()) {
      arrived_ = 0;
      ++generation_;
      barrier_changed_.notify_all();
      return;
    }
    barrier_changed_.wait(lock, [&] { return generation_ != generation; });
  }

  std::mutex barrier_mutex_;
  std::condition_variable barrier_changed_;
  std::size_t arrived_ = 0;       // guarded by barrier_mutex_
  std::uint64_t generation_ = 0;  // guarded by barrier_mutex_
  std::vector<std::vector<std::string>> posted_;
  std::vector<std::unique_ptr<Member>> members_;
};

}  // namespace tally::testing
