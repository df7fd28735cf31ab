#include "engine/input.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "engine/decompress.hpp"

namespace tally {
namespace {

// ---------------------------------------------------------------------------------------------
// The SIGBUS guard's registry of live mappings.
//
// Concurrency contract:
//  - register_mapping / unregister_mapping are called by whichever thread opens or destroys an
//    Inputs, concurrently with each other and with the signal handler on any thread.
//  - The handler only reads the table. It never blocks, allocates or takes a lock: it may run on
//    a thread interrupted in the middle of a registration, so a lock could deadlock it.
//
// Invariants:
//  1. A slot is written only by the thread that owns it: the one whose exchange on `claimed`
//     turned it from false to true, until it stores false again.
//  2. Every write of a slot's range and name is bracketed by `seq` going odd (before) and even
//     (after): a seqlock. A reader that sees the same even `seq` before and after reading the
//     fields has read one registration, never a mix of two.
//  3. A mapping is registered after mmap succeeds and before any of its bytes are handed out,
//     and unregistered before munmap. So while a thread can legitimately touch a mapped byte,
//     that mapping's slot holds it, stable.
//  4. The name pointer stays valid while registered: it points into the Source that owns the
//     mapping, which unregisters before it is destroyed.
//
// If every slot is taken the mapping simply is not covered: a shrink then raises the plain
// SIGBUS, as it would without the guard.
// ---------------------------------------------------------------------------------------------

constexpr std::size_t kGuardSlots = 4096;

// Not padded to a cache line: slots are written once per mapped file, far too rarely for false
// sharing between them to matter, and a compact table keeps the handler's scan short.
struct GuardSlot {
  std::atomic<bool> claimed{false};
  std::atomic<std::uint64_t> seq{0};  // odd while the owner rewrites the fields below
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::uintptr_t> end{0};  // begin == end: free (an empty range matches nothing)
  std::atomic<const char*> name{nullptr};
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

// Returns the slot index, or -1 when the table is full (the mapping is then not covered).
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

// Async-signal-safe helpers: only write(2), no stdio, no allocation, no errno-dependent libc
// state beyond write's own.
void write_all(const char* p, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t w = ::write(STDERR_FILENO, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // nothing better to do from a signal handler
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

std::size_t c_length(const char* s) noexcept {
  std::size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

void write_str(const char* s) noexcept { write_all(s, c_length(s)); }

// Looks the faulting address up in the registry. Reads only lock-free atomics (a seqlock read,
// invariant 2); a slot caught mid-write is skipped, not waited for: by invariant 3 the mapping
// that faulted is registered and stable, so a slot in flux is not it.
const char* find_mapping(std::uintptr_t addr) noexcept {
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
    if (begin <= addr && addr < end && name != nullptr) return name;
  }
  return nullptr;
}

// The SIGBUS handler. Everything it calls is async-signal-safe (POSIX.1-2017 2.4.3): lock-free
// atomic loads, write, _exit, sigaction, raise. It allocates nothing and touches no stdio.
void on_sigbus(int sig, siginfo_t* info, void* /*ucontext*/) {
  // si_addr is meaningful only for a fault raised by the kernel (si_code > 0); for kill(),
  // raise() or sigqueue() the same bytes hold the sender's pid and uid.
  if (info != nullptr && info->si_code > 0) {
    const char* name = find_mapping(reinterpret_cast<std::uintptr_t>(info->si_addr));
    if (name != nullptr) {
      write_str("tally: input '");
      write_str(name);
      write_str("' shrank while it was being read (truncated by another process?)\n");
      ::_exit(3);
    }
  }
  // Not ours: die of SIGBUS as if no handler were installed. The signal is blocked while the
  // handler runs, so the raised one is delivered, with the default action, once it returns.
  const int saved_errno = errno;
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  ::sigaction(sig, &dfl, nullptr);
  ::raise(sig);
  errno = saved_errno;
}

// ---------------------------------------------------------------------------------------------
// Sources: one opened input each.
// ---------------------------------------------------------------------------------------------

// One input's bytes: a read-only mapping, or bytes owned in memory. Never moved once built
// (held by unique_ptr): `view` may point into `owned`, and the guard registry into `name`.
struct Source {
  std::string name;
  std::string owned;
  void* map = nullptr;
  std::size_t map_len = 0;
  int guard_slot = -1;
  std::string_view view;

  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  ~Source() {
    // Unregister before unmapping (invariant 3): the range may be reused by the next mmap.
    unregister_mapping(guard_slot);
    if (map != nullptr) ::munmap(map, map_len);
  }
};

std::string quoted(std::string_view path) {
  std::string out;
  out.reserve(path.size() + 2);
  out += '\'';
  out += path;
  out += '\'';
  return out;
}

// "cannot <verb> '<path>': <strerror(err)>", kNotFound for ENOENT, kIoError otherwise.
Status errno_status(std::string_view verb, std::string_view path, int err) {
  std::string msg = "cannot ";
  msg += verb;
  msg += ' ';
  msg += quoted(path);
  msg += ": ";
  msg += std::generic_category().message(err);  // strerror's text, without its thread hazard
  if (err == ENOENT) return Status::NotFound(std::move(msg));
  return Status::IoError(std::move(msg));
}

Status wrong_kind(std::string_view path) {
  return Status::InvalidArgument(quoted(path) + " is not a regular file, directory or pipe");
}

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) noexcept : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_;
};

// Reads fd to its end into `out`.
Status read_to_end(int fd, std::string_view path, std::string& out) {
  constexpr std::size_t kChunk = std::size_t{64} * 1024;
  std::size_t used = 0;
  for (;;) {
    if (out.size() - used < kChunk) out.resize(std::max(out.size() * 2, used + kChunk));
    const ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      out.clear();
      return errno_status("read", path, err);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  out.resize(used);
  out.shrink_to_fit();
  return Status::Ok();
}

Status read_stdin(std::vector<std::unique_ptr<Source>>& out) {
  auto src = std::make_unique<Source>();
  src->name = "-";
  if (Status s = read_to_end(STDIN_FILENO, src->name, src->owned); !s.ok()) return s;
  src->view = src->owned;
  out.push_back(std::move(src));
  return Status::Ok();
}

// Reads a compressed file or pipe to its end and decodes it into `out`. Its bytes are read,
// not mapped: they are needed only until decoded, and a read copy cannot shrink under us.
Status read_compressed(int fd, const std::string& path, Compression format, std::string& out) {
  std::string compressed;
  if (Status s = read_to_end(fd, path, compressed); !s.ok()) return s;
  return decompress(format, path, compressed, out);
}

// Opens one path that is not a directory: maps a regular file, reads a pipe or char device,
// decodes a file named *.gz or *.zst.
Status open_file(const std::string& path, std::vector<std::unique_ptr<Source>>& out) {
  // O_NONBLOCK is not used: opening a FIFO waits for its writer, which is what reading it to
  // the end means. O_NOCTTY: a terminal given as input must not become our controlling one.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errno_status("open", path, errno);
  const FdCloser closer(fd);  // the mapping outlives the descriptor; read() needs it until done

  // fstat, not the earlier stat: the path may have been replaced in between.
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_status("open", path, errno);

  auto src = std::make_unique<Source>();
  src->name = path;
  const bool readable = S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode);
  if (const Compression format = compression_for_name(path);
      readable && format != Compression::kNone) {
    if (Status s = read_compressed(fd, path, format, src->owned); !s.ok()) return s;
    src->view = src->owned;
  } else if (S_ISREG(st.st_mode) && st.st_size > 0) {
    const auto size = static_cast<std::uint64_t>(st.st_size);
    if (size > std::numeric_limits<std::size_t>::max()) return errno_status("map", path, EFBIG);
    const auto len = static_cast<std::size_t>(size);
    void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return errno_status("map", path, errno);
    src->map = p;
    src->map_len = len;
    // Advice only: a kernel that ignores it reads the file just the same.
    ::madvise(p, len, MADV_SEQUENTIAL);
    // Register the whole pages: a read of the last page's tail faults as well once the file
    // shrinks below it.
    const long page = ::sysconf(_SC_PAGESIZE);
    const auto page_bytes = page > 0 ? static_cast<std::size_t>(page) : std::size_t{1};
    const std::size_t covered = (len + page_bytes - 1) / page_bytes * page_bytes;
    src->guard_slot = register_mapping(p, covered, src->name.c_str());
    src->view = std::string_view(static_cast<const char*>(p), len);
  } else if (readable) {
    // An empty regular file cannot be mapped (mmap of length 0 is EINVAL), and files of
    // /proc and /sys report size 0 yet have content: read() them to the end as pipes are.
    if (Status s = read_to_end(fd, path, src->owned); !s.ok()) return s;
    src->view = src->owned;
  } else {
    return wrong_kind(path);
  }
  out.push_back(std::move(src));
  return Status::Ok();
}

// Collects the regular files (and symlinks to regular files) under dir, recursively. Symlinks
// to directories are not followed (no cycles); sockets, FIFOs, devices and broken links are
// skipped.
Status collect_files(const std::filesystem::path& dir, std::vector<std::string>& files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return errno_status("read directory", dir.string(), ec.value());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    const fs::file_status own = entry.symlink_status(ec);
    if (ec) return errno_status("open", entry.path().string(), ec.value());
    if (fs::is_directory(own)) {
      if (Status s = collect_files(entry.path(), files); !s.ok()) return s;
      continue;
    }
    const fs::file_status target = entry.status(ec);
    if (ec) {
      // A broken symlink, a symlink loop, or an entry removed since it was listed: no file.
      if (ec.value() == ENOENT || ec.value() == ENOTDIR || ec.value() == ELOOP) continue;
      return errno_status("open", entry.path().string(), ec.value());
    }
    if (fs::is_regular_file(target)) files.push_back(entry.path().string());
  }
  if (ec) return errno_status("read directory", dir.string(), ec.value());
  return Status::Ok();
}

Status open_path(const std::string& path, std::vector<std::unique_ptr<Source>>& out) {
  if (path == "-") return read_stdin(out);
  // stat before open: open() of a socket fails with ENXIO, and of a block device may succeed;
  // both must be reported as the wrong kind of input, and a directory must be walked.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_status("open", path, errno);
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> files;
    if (Status s = collect_files(path, files); !s.ok()) return s;
    // Bytewise: std::string compares chars as unsigned char, whatever the locale.
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      if (Status s = open_file(f, out); !s.ok()) return s;
    }
    return Status::Ok();
  }
  if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
    return open_file(path, out);
  }
  return wrong_kind(path);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

struct Inputs::Impl {
  std::vector<std::string> paths;  // what open() resolves; empty for buffers
  bool from_buffers = false;
  bool opened = false;  // open() succeeded (always true for buffers)
  std::vector<std::unique_ptr<Source>> sources;
  std::uint64_t total = 0;
};

Inputs::Inputs(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Inputs::Inputs(Inputs&&) noexcept = default;
Inputs& Inputs::operator=(Inputs&&) noexcept = default;
Inputs::~Inputs() = default;

Inputs Inputs::paths(std::vector<std::string> paths) {
  auto impl = std::make_unique<Impl>();
  impl->paths = std::move(paths);
  return Inputs(std::move(impl));
}

Inputs Inputs::buffers(std::vector<std::pair<std::string, std::string>> named_bytes) {
  auto impl = std::make_unique<Impl>();
  impl->from_buffers = true;
  impl->opened = true;
  for (auto& entry : named_bytes) {
    auto src = std::make_unique<Source>();
    src->name = std::move(entry.first);
    src->owned = std::move(entry.second);
    src->view = src->owned;
    impl->total += src->view.size();
    impl->sources.push_back(std::move(src));
  }
  return Inputs(std::move(impl));
}

bool Inputs::is_open() const noexcept { return impl_ && impl_->opened; }

Status Inputs::open() {
  if (!impl_) return Status::InvalidArgument("open() on a moved-from Inputs");
  if (impl_->from_buffers) return Status::Ok();
  // Opening again starts over: whatever was opened before is released first.
  impl_->opened = false;
  impl_->sources.clear();
  impl_->total = 0;
  std::vector<std::unique_ptr<Source>> sources;
  for (const std::string& path : impl_->paths) {
    // On failure `sources` is destroyed on return: every mapping is unregistered and unmapped,
    // every descriptor is already closed.
    if (Status s = open_path(path, sources); !s.ok()) return s;
  }
  std::uint64_t total = 0;
  for (const auto& src : sources) total += src->view.size();
  impl_->sources = std::move(sources);
  impl_->total = total;
  impl_->opened = true;
  return Status::Ok();
}

std::size_t Inputs::size() const noexcept { return impl_ ? impl_->sources.size() : 0; }

const std::string& Inputs::name(std::size_t i) const { return impl_->sources.at(i)->name; }

std::string_view Inputs::data(std::size_t i) const { return impl_->sources.at(i)->view; }

std::uint64_t Inputs::total_bytes() const noexcept { return impl_ ? impl_->total : 0; }

// ---------------------------------------------------------------------------------------------
// Splits
//
// Policy: records are packed greedily, in input order, into splits of at most target_bytes.
// A split is closed when its next record would not fit; a record longer than target_bytes
// gets a split of its own. So every split is at most target_bytes long, except a split made
// of one segment that holds one record, and no split could have taken its successor's first
// record without going over. Consecutive records of one input in one split form one segment.
//
// Cost: the plan is built from cut points, not by scanning records. Each cut looks backward
// from the target offset for the last delimiter that fits (memrchr, typically one record's
// length), and only a record longer than the room left is scanned forward to its end (memchr).
// ---------------------------------------------------------------------------------------------

SplitPlan plan_splits(const Inputs& inputs, SplitOptions options) {
  const std::uint64_t target = std::max<std::uint64_t>(options.target_bytes, 1);
  const auto delim = static_cast<unsigned char>(options.delimiter);
  SplitPlan plan;
  Split current{};  // segments [current.first, segments.size()), current.bytes long

  const auto close_split = [&] {
    if (current.bytes == 0) return;
    current.last = plan.segments.size();
    plan.splits.push_back(current);
    current = Split{.first = plan.segments.size(), .last = 0, .bytes = 0};
  };
  const auto add_segment = [&](std::size_t input, std::uint64_t begin, std::uint64_t end) {
    plan.segments.push_back(Segment{.input = input, .begin = begin, .end = end});
    current.bytes += end - begin;
  };

  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string_view data = inputs.data(i);
    const std::uint64_t n = data.size();
    std::uint64_t pos = 0;
    while (pos < n) {
      if (current.bytes >= target) close_split();
      const std::uint64_t room = target - current.bytes;  // >= 1
      if (n - pos <= room) {                              // the rest of the input fits
        add_segment(i, pos, n);
        pos = n;
        break;
      }
      // The last delimiter in [pos, pos + room) ends the longest run of whole records that fits.
      const void* last = ::memrchr(data.data() + pos, delim, static_cast<std::size_t>(room));
      if (last != nullptr) {
        const auto end = static_cast<std::uint64_t>(static_cast<const char*>(last) - data.data());
        add_segment(i, pos, end + 1);
        pos = end + 1;
        continue;
      }
      // The record at pos is longer than the room left.
      if (current.bytes > 0) {
        close_split();  // try again in an empty split
        continue;
      }
      // Longer than a whole split: it gets one of its own, cut after its delimiter. The bytes
      // before pos + room were just searched and hold no delimiter.
      const std::uint64_t from = pos + room;
      const void* next = ::memchr(data.data() + from, delim, static_cast<std::size_t>(n - from));
      const std::uint64_t end =
          next == nullptr
              ? n
              : static_cast<std::uint64_t>(static_cast<const char*>(next) - data.data()) + 1;
      add_segment(i, pos, end);
      pos = end;
      close_split();
    }
  }
  close_split();
  return plan;
}

// ---------------------------------------------------------------------------------------------
// The guard
// ---------------------------------------------------------------------------------------------

void install_sigbus_guard() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa {};
    sa.sa_sigaction = &on_sigbus;
    // SA_ONSTACK: run on the alternate stack if the thread has one. SIGBUS stays blocked while
    // the handler runs (no SA_NODEFER), which the re-raise in on_sigbus relies on.
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, nullptr);
  });
}

}  // namespace tally
