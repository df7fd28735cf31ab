#include "tally/engine/weighted_semaphore.hpp"

namespace tally {

bool WeightedSemaphore::acquire(std::int64_t n, const std::stop_token& stop) {
  if (n <= 0) return true;
  if (n > capacity_) return false;
  std::unique_lock lock(mu_);
  // Join the line and let the grant rule decide: granted at once if everyone ahead is
  // granted (or nobody is ahead) and the units are free.
  auto me = queue_.insert(queue_.end(), Waiter{n});
  grant_waiters();
  cv_.wait(lock, stop, [&] { return me->granted; });
  const bool granted = me->granted;
  queue_.erase(me);
  // Stopped while waiting: if we were first in line, requests behind us may fit now.
  if (!granted) grant_waiters();
  return granted;
}

bool WeightedSemaphore::try_acquire(std::int64_t n) {
  if (n <= 0) return true;
  std::lock_guard lock(mu_);
  for (const Waiter& w : queue_) {
    if (!w.granted) return false;  // someone is in line: no overtaking
  }
  if (available_ < n) return false;
  available_ -= n;
  return true;
}

void WeightedSemaphore::release(std::int64_t n) {
  if (n <= 0) return;
  std::lock_guard lock(mu_);
  available_ += n;
  grant_waiters();
}

void WeightedSemaphore::grant_waiters() {
  bool granted_any = false;
  // Grant from the head while requests fit; stop at the first that does not (FIFO: nobody
  // behind it may overtake it). Granted waiters leave the line when they wake.
  for (Waiter& w : queue_) {
    if (w.granted) continue;
    if (w.n > available_) break;
    available_ -= w.n;
    w.granted = true;
    granted_any = true;
  }
  if (granted_any) cv_.notify_all();
}

std::int64_t WeightedSemaphore::available() const {
  std::lock_guard lock(mu_);
  return available_;
}

std::size_t WeightedSemaphore::waiting() const {
  std::lock_guard lock(mu_);
  std::size_t n = 0;
  for (const Waiter& w : queue_) n += w.granted ? 0 : 1;
  return n;
}

}  // namespace tally
