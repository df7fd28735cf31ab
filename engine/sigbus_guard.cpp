#include "tally/engine/sigbus_guard.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <mutex>

// The contract and the numbered invariants are in sigbus_guard.hpp.

namespace tally {
namespace {

constexpr std::size_t kGuardSlots = 4096;

// Not padded to a cache line: slots are written once per mapped file, far too rarely for false
// sharing between them to matter, and a compact table keeps the handler's scan short.
struct GuardSlot {
  std::atomic<bool> claimed{false};
  std::atomic<std::uint64_t> seq{0};  // odd while the owner rewrites the fields below
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::uintptr_t> end{0};  // begin == end: free (an empty range matches nothing)
  std::atomic<const char*> name{nullptr};
  std::atomic<bool> faulted{false};  // invariant 5: cleared by the owner, set by the handler
};

// The handler may only use atomics that are lock-free: a lock-based atomic could deadlock if
// the signal interrupted the same thread inside the lock.
static_assert(std::atomic<bool>::is_always_lock_free);
static_assert(std::atomic<std::uint64_t>::is_always_lock_free);
static_assert(std::atomic<std::uintptr_t>::is_always_lock_free);
static_assert(std::atomic<const char*>::is_always_lock_free);

// Zero-initialized static storage: usable before main, no constructor runs in the handler.
std::array<GuardSlot, kGuardSlots> g_slots;
// Where the next registration starts looking for a free slot (only a hint: any value works).
std::atomic<std::size_t> g_next_slot{0};
// The page size, read once by install_sigbus_guard before it installs the handler: sysconf is
// not async-signal-safe.
std::atomic<std::uintptr_t> g_page_size{0};
// SIGBUS's disposition before install_sigbus_guard, where a SIGBUS that is not tally's goes.
// Written once, by the installer, before the handler is installed; only read after that.
struct sigaction g_previous {};
// Publishes g_previous to the handler, which may run on any thread.
std::atomic<bool> g_previous_saved{false};

// Writes the slot's fields as the owner (invariant 1), as one seqlock write (invariant 2).
void write_slot(GuardSlot& slot, std::uintptr_t begin, std::uintptr_t end, const char* name) {
  // Relaxed: only the owner writes seq, and it saw the previous owner's last value through the
  // acquire exchange on `claimed` in register_mapping.
  // acq_rel read-modify-write to make seq odd: its acquire half keeps the field stores below
  // from moving above it, so a reader that sees a new field value and then re-reads seq with
  // a read-modify-write (find_mapping) sees it changed. This is the fence-free seqlock of
  // Boehm, "Can Seqlocks Get Along With Programming Language Memory Models?" (MSPC 2012);
  // fences would do too, but ThreadSanitizer (and g++'s -Wtsan) rejects them.
  const std::uint64_t s = slot.seq.fetch_add(1, std::memory_order_acq_rel);
  slot.begin.store(begin, std::memory_order_relaxed);
  slot.end.store(end, std::memory_order_relaxed);
  slot.name.store(name, std::memory_order_relaxed);
  // Release: pairs with the reader's acquire load of seq; a reader that sees s + 2 sees the
  // fields written above.
  slot.seq.store(s + 2, std::memory_order_release);
}

// Async-signal-safe: no allocation, no stdio.
std::size_t c_length(const char* s) noexcept {
  std::size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

// Appends [s, s + n) at `out`, returns the end.
char* append(char* out, const char* s, std::size_t n) noexcept {
  for (std::size_t i = 0; i < n; ++i) *out++ = s[i];
  return out;
}

// Says on stderr that the input `name` shrank and could not be patched over. The message is
// built on the stack and written with a single write(2), so that the messages of threads that
// fault at once do not interleave: one write to a pipe of at most PIPE_BUF bytes is atomic,
// and Linux serializes one process's writes to a file or a terminal. A name too long for the
// buffer is cut at its start (the file name at its end says more than the directories).
void report_unrecoverable(const char* name) noexcept {
  static constexpr char kPrefix[] = "tally: input '";
  static constexpr char kSuffix[] =
      "' shrank while it was being read, and no zero page could replace it\n";
  static constexpr char kCut[] = "...";
  // Little of a signal stack, and under PIPE_BUF (4096 on Linux, at least 512 by POSIX).
  char buf[512];
  constexpr std::size_t kNameRoom = sizeof buf - (sizeof kPrefix - 1) - (sizeof kSuffix - 1);
  char* end = append(buf, kPrefix, sizeof kPrefix - 1);
  const std::size_t len = c_length(name);
  if (len <= kNameRoom) {
    end = append(end, name, len);
  } else {
    end = append(end, kCut, sizeof kCut - 1);
    const std::size_t kept = kNameRoom - (sizeof kCut - 1);
    end = append(end, name + (len - kept), kept);
  }
  end = append(end, kSuffix, sizeof kSuffix - 1);
  const auto n = static_cast<std::size_t>(end - buf);
  ssize_t w = 0;
  do {
    w = ::write(STDERR_FILENO, buf, n);
  } while (w < 0 && errno == EINTR);
  // A short or failed write is left as it is: a second write could interleave after all, and
  // a signal handler has nowhere better to report to.
}

// A registered mapping that holds a faulting address.
struct Hit {
  GuardSlot* slot = nullptr;  // nullptr: no registered mapping holds the address
  const char* name = nullptr;
};

// Looks the faulting address up in the registry. Reads only lock-free atomics (a seqlock read,
// invariant 2); a slot caught mid-write is skipped, not waited for: by invariant 3 the mapping
// that faulted is registered and stable, so a slot in flux is not it.
Hit find_mapping(std::uintptr_t addr) noexcept {
  for (GuardSlot& slot : g_slots) {
    // Acquire: pairs with the release store that ended the last write_slot.
    const std::uint64_t s1 = slot.seq.load(std::memory_order_acquire);
    if (s1 % 2 != 0) continue;
    const std::uintptr_t begin = slot.begin.load(std::memory_order_relaxed);
    const std::uintptr_t end = slot.end.load(std::memory_order_relaxed);
    const char* name = slot.name.load(std::memory_order_relaxed);
    // Re-read seq with a read-modify-write that changes nothing: its release half keeps the
    // field loads above before it, and as a read-modify-write it reads the latest seq, so a
    // field value from a newer write_slot implies it sees that write's odd or later seq
    // (Boehm, as in write_slot). A lock-free RMW is async-signal-safe.
    if (slot.seq.fetch_add(0, std::memory_order_acq_rel) != s1) continue;
    if (begin <= addr && addr < end && name != nullptr) return Hit{&slot, name};
  }
  return Hit{};
}

// Maps a private, read-only, zero-filled page over the page holding `addr`, in place of the
// file page that no longer exists, so that the faulting read can be restarted. MAP_FIXED
// replaces just that page of the file mapping; the Source's munmap of its whole range later
// removes it too. A raw syscall, not mmap(): mmap is not on POSIX's async-signal-safe list,
// and sanitizer runtimes intercept it with code that was not written for signal handlers.
bool map_zero_page(std::uintptr_t addr) noexcept {
  // Acquire: pairs with the release store in install_sigbus_guard. It precedes the sigaction
  // that installs this handler, so 0 is never read in practice; it would mean "give up".
  const std::uintptr_t page_size = g_page_size.load(std::memory_order_acquire);
  if (page_size == 0) return false;
  const std::uintptr_t page = addr & ~(page_size - 1);
#ifdef SYS_mmap2
  // 32-bit ABIs: SYS_mmap there is the old call that takes a struct; mmap2's offset is in
  // pages, and 0 either way.
  constexpr long kMmapCall = SYS_mmap2;
#else
  constexpr long kMmapCall = SYS_mmap;
#endif
  const long got = ::syscall(kMmapCall, page, page_size, PROT_READ,
                             MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  return static_cast<std::uintptr_t>(got) == page;
}

// Dies of SIGBUS as if no handler were installed. The signal is blocked while the handler
// runs, so the raised one is delivered, with the default action, once the handler returns.
void die_by_default(int sig) noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
}

// Hands a SIGBUS that is not tally's to the disposition installed before the guard, as the
// kernel would have delivered it without the guard.
void pass_on(int sig, siginfo_t* info, void* ucontext) noexcept {
  struct sigaction prev {};
  prev.sa_handler = SIG_DFL;
  // Acquire: pairs with the release store in install_sigbus_guard, after which g_previous is
  // never written. It precedes the handler's installation, so it is always seen in practice.
  if (g_previous_saved.load(std::memory_order_acquire)) prev = g_previous;
  const bool fault = info != nullptr && info->si_code > 0;
  // An ignored SIGBUS sent by kill() or raise() is discarded by the kernel: so here.
  if (prev.sa_handler == SIG_IGN && !fault) return;
  // An ignored fault is not: returning would re-run the faulting instruction, and the kernel
  // resets a fault signal that is ignored to its default action (force_sig_fault).
  if (prev.sa_handler == SIG_DFL || prev.sa_handler == SIG_IGN) {
    die_by_default(sig);
    return;
  }
  // Run it with the mask the kernel would have set: its sa_mask added, and SIGBUS blocked
  // unless SA_NODEFER. The mask of the interrupted code comes back from the ucontext when this
  // handler returns, so nothing needs undoing; a handler that siglongjmps restores its own.
  sigset_t mask = prev.sa_mask;
  if ((prev.sa_flags & SA_NODEFER) == 0) sigaddset(&mask, sig);
  ::pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  if ((prev.sa_flags & SA_NODEFER) != 0) {
    sigset_t self;
    sigemptyset(&self);
    sigaddset(&self, sig);
    ::pthread_sigmask(SIG_UNBLOCK, &self, nullptr);
  }
  // SA_RESETHAND: the kernel resets the disposition before a one-shot handler runs. That
  // removes the guard too, as the previous handler's owner asked for.
  if ((prev.sa_flags & SA_RESETHAND) != 0) {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ::sigaction(sig, &dfl, nullptr);
  }
  if ((prev.sa_flags & SA_SIGINFO) != 0) {
    prev.sa_sigaction(sig, info, ucontext);
  } else {
    prev.sa_handler(sig);
  }
}

// The SIGBUS handler. Everything it calls is async-signal-safe (POSIX.1-2017 2.4.3): lock-free
// atomics, write, sigaction, pthread_sigmask, raise, and the mmap system call (a plain syscall
// on Linux, see map_zero_page). It allocates nothing, touches no stdio, and keeps errno as it
// found it. What it passes on runs under the previous handler's own rules.
void on_sigbus(int sig, siginfo_t* info, void* ucontext) {
  const int saved_errno = errno;
  // si_addr is meaningful only for a fault raised by the kernel (si_code > 0); for kill(),
  // raise() or sigqueue() the same bytes hold the sender's pid and uid.
  if (info != nullptr && info->si_code > 0) {
    const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
    if (const Hit hit = find_mapping(addr); hit.slot != nullptr) {
      // Relaxed: the readers that must see the flag are this thread (the handler's effects
      // are visible to the code it interrupted, once it returns) and threads that join this
      // thread's task later (that join is the happens-before edge; see mapping_faulted).
      // Another thread that reads the patched zeros without faulting (a split sharing the
      // page) may miss it in its own checks; the run's check after the join does not.
      hit.slot->faulted.store(true, std::memory_order_relaxed);
      if (map_zero_page(addr)) {
        errno = saved_errno;
        return;  // the faulting read restarts and now reads zeros
      }
      // Out of memory for one page, or a kernel that refuses: the read cannot go on.
      report_unrecoverable(hit.name);
    }
  }
  // Not ours (or not recoverable): where it would have gone without the guard.
  pass_on(sig, info, ucontext);
  errno = saved_errno;
}

}  // namespace

namespace detail {

int register_mapping(const void* addr, std::size_t len, const char* name) noexcept {
  const std::size_t start = g_next_slot.load(std::memory_order_relaxed);  // a hint only
  for (std::size_t k = 0; k < kGuardSlots; ++k) {
    const std::size_t i = (start + k) % kGuardSlots;
    GuardSlot& slot = g_slots[i];
    // Relaxed pre-check: a cheap read before the read-modify-write; the exchange decides.
    if (slot.claimed.load(std::memory_order_relaxed)) continue;
    // Acquire: pairs with the release store of false in unregister_mapping, so this owner
    // sees the previous owner's final seq and field writes (invariant 1).
    if (slot.claimed.exchange(true, std::memory_order_acquire)) continue;
    // Relaxed: write_slot's release store publishes the cleared flag with the range, so a
    // handler that finds the range (acquire on seq) sets the flag after this clear
    // (invariant 5).
    slot.faulted.store(false, std::memory_order_relaxed);
    const auto begin = reinterpret_cast<std::uintptr_t>(addr);
    write_slot(slot, begin, begin + len, name);
    g_next_slot.store((i + 1) % kGuardSlots, std::memory_order_relaxed);
    return static_cast<int>(i);
  }
  return -1;
}

void unregister_mapping(int index) noexcept {
  if (index < 0) return;
  GuardSlot& slot = g_slots[static_cast<std::size_t>(index)];
  write_slot(slot, 0, 0, nullptr);
  // Release: pairs with the acquire exchange of the next owner (see register_mapping).
  slot.claimed.store(false, std::memory_order_release);
}

bool mapping_faulted(int slot) noexcept {
  if (slot < 0) return false;
  // Relaxed: a flag set on this thread is seen at once; one set on another thread is seen
  // once that thread's work is joined, and the join is the edge (see on_sigbus).
  return g_slots[static_cast<std::size_t>(slot)].faulted.load(std::memory_order_relaxed);
}

}  // namespace detail

void install_sigbus_guard() {
  static std::once_flag once;
  std::call_once(once, [] {
    const long page = ::sysconf(_SC_PAGESIZE);
    // Release: pairs with the acquire load in map_zero_page.
    g_page_size.store(page > 0 ? static_cast<std::uintptr_t>(page) : 4096,
                      std::memory_order_release);
    // Read the disposition before replacing it, rather than swap the two in one call: the
    // handler may run on another thread as soon as it is installed, and must find g_previous
    // complete. A handler that another thread installs between the two calls is replaced
    // without being chained: install signal handlers from one thread.
    ::sigaction(SIGBUS, nullptr, &g_previous);
    // Release: pairs with the acquire load in pass_on.
    g_previous_saved.store(true, std::memory_order_release);
    struct sigaction sa {};
    sa.sa_sigaction = &on_sigbus;
    // SA_ONSTACK: run on the alternate stack if the thread has one. SIGBUS stays blocked while
    // the handler runs (no SA_NODEFER), which the re-raise in die_by_default relies on.
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

}  // namespace tally
