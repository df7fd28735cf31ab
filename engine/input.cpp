#include "tally/engine/input.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "tally/engine/decompress.hpp"
#include "tally/engine/detail/held_bytes.hpp"
#include "tally/engine/detail/stream_read.hpp"
#include "tally/engine/sigbus_guard.hpp"

namespace tally {
namespace {

// ---------------------------------------------------------------------------------------------
// Sources: one opened input each.
// ---------------------------------------------------------------------------------------------

// Regular files at least this large are mapped; smaller ones are read. Mapping every file
// would cost one of the process's vm.max_map_count mappings (65,530 by default) per file, and
// a small file is read about as fast as it is mapped and faulted in.
constexpr std::uint64_t kMapMinBytes = std::uint64_t{1} << 20;
// Mapped files that also keep a descriptor for read_at(): the first few. One per file of a
// large directory could use up the process's descriptors, and the files past these are read
// through their mappings just the same.
constexpr std::size_t kMaxKeptDescriptors = 64;

// One input's bytes: a read-only mapping, bytes owned in memory, or the caller's bytes
// (views). Never moved once built (held by unique_ptr): `view` may point into `owned` or
// `held`, and the guard registry into `name`.
struct Source {
  std::string name;
  std::string owned;       // buffers, small files and decoded inputs
  detail::HeldBytes held;  // streams read to their end
  void* map = nullptr;
  std::size_t map_len = 0;
  int guard_slot = -1;
  // A mapped file's own descriptor, for Inputs::read_at (-1: none), and the file offset of
  // view's first byte.
  int fd = -1;
  std::uint64_t fd_offset = 0;
  std::string_view view;

  Source() = default;
  Source(const Source&) = delete;
  Source& operator=(const Source&) = delete;
  ~Source() {
    // Unregister before unmapping (invariant 3): the range may be reused by the next mmap.
    detail::unregister_mapping(guard_slot);
    if (map != nullptr) ::munmap(map, map_len);
    if (fd >= 0) ::close(fd);
  }
};

using detail::errno_status;
using detail::quoted;

Status shrank_error(const std::string& name) {
  return Status::IoError("input '" + name +
                         "' shrank while it was being read (truncated by another process?)");
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

// Reads a regular file of `size` bytes (as fstat saw it) into `out`; a file that shrank since
// gives what it still has, as a mapping would have.
Status read_small_file(int fd, const std::string& path, std::uint64_t size, std::string& out) {
  out.resize(static_cast<std::size_t>(size));
  std::size_t used = 0;
  while (used < out.size()) {
    const ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("read", path, errno);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  out.resize(used);
  return Status::Ok();
}

// Maps `size` bytes of a regular file from `offset` (stdin may be a file read partway), and
// keeps a descriptor of it for read_at() while the control allows one more.
Status map_file(int fd, const std::string& path, std::uint64_t size, std::uint64_t offset,
                detail::ReadControl& control, Source& src) {
  if (size > std::numeric_limits<std::size_t>::max()) return errno_status("map", path, EFBIG);
  const auto len = static_cast<std::size_t>(size);
  void* p = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return errno_status("map", path, errno);
  src.map = p;
  src.map_len = len;
  // Advice only: a kernel that ignores it reads the file just the same.
  ::madvise(p, len, MADV_SEQUENTIAL);
  // Register the whole pages: a read of the last page's tail faults as well once the file
  // shrinks below it.
  const long page = ::sysconf(_SC_PAGESIZE);
  const auto page_bytes = page > 0 ? static_cast<std::size_t>(page) : std::size_t{1};
  const std::size_t covered = (len + page_bytes - 1) / page_bytes * page_bytes;
  src.guard_slot = detail::register_mapping(p, covered, src.name.c_str());
  const std::uint64_t start = std::min(offset, size);
  src.view =
      std::string_view(static_cast<const char*>(p), len).substr(static_cast<std::size_t>(start));
  if (control.kept_descriptors < kMaxKeptDescriptors) {
    // Without a copy of the descriptor the input is read through its mapping only.
    src.fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (src.fd >= 0) ++control.kept_descriptors;
    src.fd_offset = start;
  }
  return Status::Ok();
}

// Reads a stream (or a file with no size) to its end into src.held.
Status read_stream(int fd, detail::ReadControl& control, Source& src) {
  if (Status s = detail::read_to_end(fd, src.name, control, src.held); !s.ok()) return s;
  src.held.shrink_to_fit();
  src.view = src.held.view();
  return Status::Ok();
}

// Reads a compressed file or pipe to its end and decodes it. Its bytes are read, not mapped:
// they are needed only until decoded, and a read copy cannot shrink under us.
Status read_compressed(int fd, Compression format, detail::ReadControl& control, Source& src) {
  detail::HeldBytes compressed;
  if (Status s = detail::read_to_end(fd, src.name, control, compressed); !s.ok()) return s;
  // Decoded bytes count against the cap too; 1 when it is reached already (0 would mean none).
  const DecodeLimits limits{
      .max_output = control.max_held_bytes == 0 ? 0 : std::max<std::uint64_t>(control.room(), 1),
      .interrupted = [&] { return control.interrupted(src.name); }};
  if (Status s = decompress(format, src.name, compressed.view(), src.owned, limits); !s.ok()) {
    return s;
  }
  src.view = src.owned;
  return Status::Ok();
}

// Stdin: mapped when it is a large enough regular file (`tally - < file`), else read.
Status open_stdin(detail::ReadControl& control, std::vector<std::unique_ptr<Source>>& out) {
  auto src = std::make_unique<Source>();
  src->name = "-";
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0) return errno_status("read", src->name, errno);
  const off_t offset = ::lseek(STDIN_FILENO, 0, SEEK_CUR);
  if (S_ISREG(st.st_mode) && offset >= 0 &&
      st.st_size - offset >= static_cast<off_t>(kMapMinBytes)) {
    if (Status s = map_file(STDIN_FILENO, src->name, static_cast<std::uint64_t>(st.st_size),
                            static_cast<std::uint64_t>(offset), control, *src);
        !s.ok()) {
      return s;
    }
  } else if (Status s = read_stream(STDIN_FILENO, control, *src); !s.ok()) {
    return s;
  }
  if (src->map == nullptr) control.held_bytes += src->view.size();
  out.push_back(std::move(src));
  return Status::Ok();
}

// Opens one path that is not a directory: maps a large regular file, reads a small one, a
// pipe or a char device, decodes a file named *.gz or *.zst.
Status open_file(const std::string& path, detail::ReadControl& control,
                 std::vector<std::unique_ptr<Source>>& out) {
  if (Status s = control.interrupted(path); !s.ok()) return s;
  // A FIFO is opened without waiting for its writer (O_NONBLOCK), so that the wait happens
  // in poll(), where a stop request or the deadline can end it. On anything else O_NONBLOCK
  // has no effect on open(), and reads wait in poll() all the same.
  Status opened;
  const int fd = detail::open_for_reading(path.c_str(), O_NONBLOCK, control, opened);
  if (fd < 0) return opened;
  const FdCloser closer(fd);  // the mapping outlives the descriptor; read() needs it until done

  // fstat, not the earlier stat: the path may have been replaced in between.
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_status("open", path, errno);

  auto src = std::make_unique<Source>();
  src->name = path;
  const bool readable = S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode);
  const auto size = static_cast<std::uint64_t>(std::max<off_t>(st.st_size, 0));
  if (!readable) return wrong_kind(path);
  if (const Compression format = compression_for_name(path); format != Compression::kNone) {
    if (Status s = read_compressed(fd, format, control, *src); !s.ok()) return s;
  } else if (S_ISREG(st.st_mode) && size >= kMapMinBytes) {
    if (Status s = map_file(fd, path, size, 0, control, *src); !s.ok()) return s;
  } else if (S_ISREG(st.st_mode) && size > 0) {
    if (Status s = control.check_cap(path, size); !s.ok()) return s;
    if (Status s = read_small_file(fd, path, size, src->owned); !s.ok()) return s;
    src->view = src->owned;
  } else {
    // Pipes and devices; and files of /proc and /sys, which report size 0 yet have content.
    if (Status s = read_stream(fd, control, *src); !s.ok()) return s;
  }
  if (src->map == nullptr) control.held_bytes += src->view.size();
  out.push_back(std::move(src));
  return Status::Ok();
}

// Collects the regular files (and symlinks to regular files) under dir, recursively. Symlinks
// to directories are not followed (no cycles); sockets, FIFOs, devices and broken links are
// skipped.
Status collect_files(const std::filesystem::path& dir, const detail::ReadControl& control,
                     std::vector<std::string>& files) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return errno_status("read directory", dir.string(), ec.value());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const fs::directory_entry& entry = *it;
    if (Status s = control.interrupted(entry.path().string()); !s.ok()) return s;
    const fs::file_status own = entry.symlink_status(ec);
    if (ec) return errno_status("open", entry.path().string(), ec.value());
    if (fs::is_directory(own)) {
      if (Status s = collect_files(entry.path(), control, files); !s.ok()) return s;
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

Status open_path(const std::string& path, detail::ReadControl& control,
                 std::vector<std::unique_ptr<Source>>& out) {
  if (path == "-") return open_stdin(control, out);
  // stat before open: open() of a socket fails with ENXIO, and of a block device may succeed;
  // both must be reported as the wrong kind of input, and a directory must be walked.
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return errno_status("open", path, errno);
  if (S_ISDIR(st.st_mode)) {
    std::vector<std::string> files;
    if (Status s = collect_files(path, control, files); !s.ok()) return s;
    // Bytewise: std::string compares chars as unsigned char, whatever the locale.
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      if (Status s = open_file(f, control, out); !s.ok()) return s;
    }
    return Status::Ok();
  }
  if (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
    return open_file(path, control, out);
  }
  return wrong_kind(path);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------------------------

struct Inputs::Impl {
  std::vector<std::string> paths;  // what open() resolves; empty for buffers
  bool from_buffers = false;       // buffers or views: in memory from the start
  bool opened = false;             // open() succeeded (always true for buffers)
  std::vector<std::unique_ptr<Source>> sources;
  std::uint64_t total = 0;
  std::uint64_t transient_retries = 0;
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

Inputs Inputs::views(std::vector<std::pair<std::string, std::string_view>> named_views) {
  auto impl = std::make_unique<Impl>();
  impl->from_buffers = true;  // nothing to open: the bytes are there already
  impl->opened = true;
  for (auto& entry : named_views) {
    auto src = std::make_unique<Source>();
    src->name = std::move(entry.first);
    src->view = entry.second;
    impl->total += src->view.size();
    impl->sources.push_back(std::move(src));
  }
  return Inputs(std::move(impl));
}

bool Inputs::is_open() const noexcept { return impl_ && impl_->opened; }

Status Inputs::open(const OpenOptions& options) {
  if (!impl_) return Status::InvalidArgument("open() on a moved-from Inputs");
  if (impl_->from_buffers) return Status::Ok();
  // Opening again starts over: whatever was opened before is released first.
  impl_->opened = false;
  impl_->sources.clear();
  impl_->total = 0;
  std::vector<std::unique_ptr<Source>> sources;
  detail::ReadControl control{
      .stop = options.stop, .deadline = options.deadline, .max_held_bytes = options.max_held_bytes};
  for (const std::string& path : impl_->paths) {
    // On failure `sources` is destroyed on return: every mapping is unregistered and unmapped,
    // every descriptor is already closed.
    const Status s = open_path(path, control, sources);
    impl_->transient_retries = control.transient_retries;
    if (!s.ok()) return s;
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

std::uint64_t Inputs::transient_retries() const noexcept {
  return impl_ ? impl_->transient_retries : 0;
}

bool Inputs::shrank(std::size_t i) const noexcept {
  return detail::mapping_faulted(impl_->sources[i]->guard_slot);
}

void Inputs::release_pages() const noexcept {
  for (const auto& source : impl_->sources) {
    // MADV_DONTNEED on a private, never-written file mapping drops only the process's
    // references to page-cache pages: a later read maps the same file bytes again.
    if (source->map != nullptr) ::madvise(source->map, source->map_len, MADV_DONTNEED);
  }
}

void Inputs::release_pages(std::size_t i, std::uint64_t begin, std::uint64_t end) const noexcept {
  const auto& source = impl_->sources[i];
  if (source->map == nullptr) return;
  const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
  const std::uint64_t first = (begin + page - 1) / page * page;
  const std::uint64_t last = std::min<std::uint64_t>(end, source->map_len) / page * page;
  if (first < last) ::madvise(static_cast<char*>(source->map) + first, last - first, MADV_DONTNEED);
}

bool Inputs::readable_at(std::size_t i) const noexcept { return impl_->sources[i]->fd >= 0; }

Status Inputs::read_at(std::size_t i, std::uint64_t offset, std::span<char> out) const {
  const Source& src = *impl_->sources.at(i);
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t n = ::pread(src.fd, out.data() + done, out.size() - done,
                              static_cast<off_t>(src.fd_offset + offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_status("read", src.name, errno);
    }
    if (n == 0) return shrank_error(src.name);
    done += static_cast<std::size_t>(n);
  }
  return Status::Ok();
}

Status Inputs::check_intact() const {
  for (std::size_t i = 0; i < size(); ++i) {
    if (shrank(i)) return shrank_error(name(i));
  }
  return Status::Ok();
}

}  // namespace tally
