#include "tools/tally/signals.hpp"

#include <pthread.h>
#include <signal.h>

namespace tally::cli {

SignalWatcher::SignalWatcher() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  thread_ = std::thread([this, set] {
    pthread_setname_np(pthread_self(), "tally-signals");
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGUSR1) return;  // the destructor
      // Relaxed: only this thread writes received_.
      if (received_.load(std::memory_order_relaxed) != 0) {
        // Second signal: the user insists. Unblock and re-raise with the default action.
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        signal(sig, SIG_DFL);
        pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
        raise(sig);
        return;
      }
      // Stored before the stop request, so a run that ends because of the stop finds the
      // signal number set. Release pairs with the acquire in signal_received().
      received_.store(sig, std::memory_order_release);
      stop_.request_stop();
    }
  });
}

SignalWatcher::~SignalWatcher() {
  pthread_kill(thread_.native_handle(), SIGUSR1);
  thread_.join();
}

}  // namespace tally::cli
