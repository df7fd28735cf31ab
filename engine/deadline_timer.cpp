#include "tally/engine/deadline_timer.hpp"

#include <pthread.h>

#include <utility>

namespace tally {

DeadlineTimer::~DeadlineTimer() {
  if (thread_.joinable()) {
    thread_.request_stop();  // wakes the condition_variable_any wait below
    thread_.join();
  }
}

DeadlineTimer::Id DeadlineTimer::schedule(Clock::time_point when, std::function<void()> fn) {
  std::unique_lock lock(mu_);
  const Id id = next_id_++;
  pending_.emplace(std::pair{when, id}, std::move(fn));
  when_.emplace(id, when);
  if (!thread_.joinable()) {
    thread_ = std::jthread([this](const std::stop_token& stop) { run(stop); });
    pthread_setname_np(thread_.native_handle(), "tally-timer");  // as the workers: for perf, gdb
  }
  lock.unlock();
  cv_.notify_all();  // the new deadline may be the earliest
  return id;
}

void DeadlineTimer::cancel(Id id) {
  std::unique_lock lock(mu_);
  if (auto it = when_.find(id); it != when_.end()) {
    pending_.erase(std::pair{it->second, id});
    when_.erase(it);
  }
  cv_.wait(lock, [&] { return running_ != id; });
}

void DeadlineTimer::run(const std::stop_token& stop) {
  std::unique_lock lock(mu_);
  while (!stop.stop_requested()) {
    if (pending_.empty()) {
      cv_.wait(lock, stop, [&] { return !pending_.empty(); });
      continue;
    }
    auto first = pending_.begin();
    const Clock::time_point when = first->first.first;
    if (Clock::now() < when) {
      // Wakes early when stop is requested or an earlier deadline is scheduled.
      cv_.wait_until(lock, stop, when,
                     [&] { return pending_.empty() || pending_.begin()->first.first < when; });
      continue;
    }
    const Id id = first->first.second;
    std::function<void()> fn = std::move(first->second);
    pending_.erase(first);
    when_.erase(id);
    running_ = id;
    lock.unlock();
    fn();
    lock.lock();
    running_ = 0;
    cv_.notify_all();  // a cancel() may be waiting for this callback to finish
  }
}

}  // namespace tally
