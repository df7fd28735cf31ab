#include "tally/engine/detail/spill_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "tally/engine/detail/stream_read.hpp"
#include "tally/engine/status.hpp"

// Header-only use of xxHash, as in key_hash.cpp: no libxxhash at link time.
#define XXH_INLINE_ALL
#include <xxhash.h>

namespace tally::detail {
namespace {

constexpr std::uint32_t kMagic = 0x4C505354;  // "TSPL" as little-endian bytes

// The header is encoded byte by byte, so the file reads the same on any host.
void put_le(unsigned char* out, std::uint64_t value, int bytes) noexcept {
  for (int i = 0; i < bytes; ++i) out[i] = static_cast<unsigned char>(value >> (8 * i));
}

std::uint64_t get_le(const unsigned char* in, int bytes) noexcept {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value |= std::uint64_t{in[i]} << (8 * i);
  return value;
}

std::uint64_t checksum(std::string_view payload, std::uint64_t offset) noexcept {
  return XXH3_64bits_withSeed(payload.data(), payload.size(), offset);
}

std::string strerror_text(int err) {
  return std::generic_category().message(err);  // strerror's text, without its thread hazard
}

bool out_of_space(int err) noexcept { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

[[noreturn]] void throw_errno(std::string_view verb, const std::string& dir, int err) {
  if (out_of_space(err)) {
    throw StatusError(Status::ResourceExhausted("out of space for spill files in " + quoted(dir) +
                                                ": " + strerror_text(err)));
  }
  throw StatusError(Status::IoError("cannot " + std::string(verb) + " a spill file in " +
                                    quoted(dir) + ": " + strerror_text(err)));
}

[[noreturn]] void throw_corrupt(const std::string& dir, std::uint64_t offset, const char* what) {
  throw StatusError(Status::DataLoss("spill file in " + quoted(dir) + " is corrupt at offset " +
                                     std::to_string(offset) + ": " + what));
}

// Writes all of iov[0..count) at `offset`; 0, or the errno that stopped it. Modifies iov.
int write_all_at(int fd, iovec* iov, int count, std::uint64_t offset) noexcept {
  while (count > 0) {
    const ssize_t n = ::pwritev(fd, iov, count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    // A regular file only writes nothing for an empty request, which the loop never makes.
    if (n == 0) return EIO;
    offset += static_cast<std::uint64_t>(n);
    auto left = static_cast<std::size_t>(n);
    while (count > 0 && left >= iov->iov_len) {
      left -= iov->iov_len;
      ++iov;
      --count;
    }
    if (count > 0) {
      iov->iov_base = static_cast<char*>(iov->iov_base) + left;
      iov->iov_len -= left;
    }
  }
  return 0;
}

// Reads `size` bytes at `offset` into `out`; true, or false at end of file (a short file).
// Throws the read error.
bool read_all_at(int fd, char* out, std::size_t size, std::uint64_t offset,
                 const std::string& dir) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", dir, errno);
    }
    if (n == 0) return false;
    out += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

// Where O_TMPFILE is missing: the kernel predates it (open sees O_DIRECTORY | O_RDWR and says
// EISDIR), or the file system lacks it (EOPNOTSUPP; some report EINVAL).
bool tmpfile_unsupported(int err) noexcept {
  return err == EOPNOTSUPP || err == EISDIR || err == EINVAL;
}

}  // namespace

SpillFile SpillFile::create(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0 && tmpfile_unsupported(errno)) {
    std::string path = dir + "/tally-spill-XXXXXX";
    fd = ::mkostemp(path.data(), O_CLOEXEC);
    // Unlinked at once: the name exists only for the moment between these two calls.
    if (fd >= 0 && ::unlink(path.c_str()) != 0) {
      const int err = errno;
      ::close(fd);
      throw_errno("create", dir, err);
    }
  }
  if (fd < 0) throw_errno("create", dir, errno);
  return SpillFile(fd, dir);
}

SpillFile SpillFile::create_in_memory() {
  const std::string dir = "(memory)";
  const int fd = ::memfd_create("tally-runs", MFD_CLOEXEC);
  if (fd < 0) throw_errno("create", dir, errno);
  return SpillFile(fd, dir);
}

SpillFile::SpillFile(int fd, std::string dir) noexcept : fd_(fd), dir_(std::move(dir)) {}

SpillFile::SpillFile(SpillFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      dir_(std::move(other.dir_)),
      // Relaxed: a move needs the object to itself (no append runs on `other`).
      tail_(other.tail_.load(std::memory_order_relaxed)) {}

SpillFile& SpillFile::operator=(SpillFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    dir_ = std::move(other.dir_);
    // Relaxed: a move needs both objects to itself.
    tail_.store(other.tail_.load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  return *this;
}

SpillFile::~SpillFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::uint64_t SpillFile::append(std::string_view payload) {
  if (payload.size() > kMaxPayload) {
    throw std::length_error("spill file block of " + std::to_string(payload.size()) +
                            " bytes is larger than the " + std::to_string(kMaxPayload) +
                            " a block holds");
  }
  // Relaxed: the add only has to hand each block distinct bytes, which atomicity alone does.
  // The block's contents reach readers through pwritev and the caller's hand-off of the
  // offset, not through tail_.
  const std::uint64_t offset =
      tail_.fetch_add(kHeaderBytes + payload.size(), std::memory_order_relaxed);

  unsigned char header[kHeaderBytes];
  put_le(header, kMagic, 4);
  put_le(header + 4, payload.size(), 4);
  put_le(header + 8, checksum(payload, offset), 8);
  // One system call for header and payload, without copying the payload next to the header.
  iovec iov[2] = {{header, kHeaderBytes},
                  {const_cast<char*>(payload.data()), payload.size()}};  // pwritev only reads it
  if (const int err = write_all_at(fd_, iov, payload.empty() ? 1 : 2, offset); err != 0) {
    throw_errno("write", dir_, err);
  }
  return offset;
}

std::uint64_t SpillFile::read(std::uint64_t offset, std::string& payload) const {
  // Relaxed is enough to cover the block: the caller's hand-off of `offset` orders this load
  // after the fetch_add that reserved the block, and coherence then makes it see that add or
  // a later one.
  const std::uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (offset > tail || tail - offset < kHeaderBytes) {
    throw_corrupt(dir_, offset, "truncated block");
  }
  unsigned char header[kHeaderBytes];
  if (!read_all_at(fd_, reinterpret_cast<char*>(header), kHeaderBytes, offset, dir_)) {
    throw_corrupt(dir_, offset, "truncated block");
  }
  const std::uint64_t size = get_le(header + 4, 4);
  // No block written by append() has a size past what was reserved for it.
  if (get_le(header, 4) != kMagic || size > tail - offset - kHeaderBytes) {
    throw_corrupt(dir_, offset, "bad block header");
  }
  payload.resize(static_cast<std::size_t>(size));
  if (!read_all_at(fd_, payload.data(), payload.size(), offset + kHeaderBytes, dir_)) {
    throw_corrupt(dir_, offset, "truncated block");
  }
  if (checksum(payload, offset) != get_le(header + 8, 8)) {
    throw_corrupt(dir_, offset, "checksum mismatch");
  }
  return offset + kHeaderBytes + size;
}

}  // namespace tally::detail
