// SpillFile: an anonymous temporary file in a spill directory that holds checksummed blocks of
// bytes, written once and read back any number of times. Out-of-core runs write their sorted
// runs to spill files and read them back for the merge; this layer knows nothing of entries or
// runs, only of blocks.
//
// Nothing is left behind: the file never has a name in the directory (open(2) with O_TMPFILE),
// or, where the file system does not support O_TMPFILE, its name is unlinked right after
// mkostemp(3) creates it. Its blocks live until the descriptor closes, so after success, an
// error or a crash the directory holds nothing of it (the one exception: a crash in the instant
// between mkostemp and unlink on the fallback path).
//
// On disk, a file is a sequence of blocks, each a 16-byte header and then the payload:
//
//   offset  size  field
//        0     4  magic 0x4C505354 ("TSPL" read as bytes), little-endian
//        4     4  payload size in bytes, little-endian
//        8     8  XXH3_64bits_withSeed(payload, size, seed = offset of the block), little-endian
//       16     n  payload
//
// Seeding the checksum with the block's own offset makes a block read at the wrong place, or
// moved or copied within the file, fail the check like a flipped byte does.
//
// Thread safety: append() may be called from several threads at once, and read(), size() and
// dir() concurrently with each other and with append(). A block may be read once the append()
// that returned its offset has returned and that offset was handed to the reader through any
// synchronization (a join, a mutex, a queue): everything append() wrote is then visible to
// read(). Creation, moves and destruction need the object to themselves.
//
// Failure: every error is a StatusError naming the directory (see each function). A failed
// append() leaves a gap that no returned offset points into; blocks appended before and after
// it stay readable.
//
//   SpillFile file = SpillFile::create("/var/tmp/tally");
//   const std::uint64_t at = file.append(run_bytes);
//   std::string back;
//   file.read(at, back);  // back == run_bytes
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace tally::detail {

class SpillFile {
 public:
  static constexpr std::size_t kHeaderBytes = 16;
  // The largest payload one block holds: its size is stored in 32 bits.
  static constexpr std::size_t kMaxPayload = std::numeric_limits<std::uint32_t>::max();

  // Creates an empty spill file in `dir`: open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), or,
  // where O_TMPFILE is not supported (EOPNOTSUPP, EISDIR, EINVAL), mkostemp in `dir` and an
  // immediate unlink.
  // Throws StatusError: kResourceExhausted "out of space for spill files in '<dir>': <strerror>"
  // for ENOSPC and EDQUOT; kIoError "cannot create a spill file in '<dir>': <strerror>" for
  // every other error (a missing directory, not a directory, no permission, ...).
  static SpillFile create(const std::string& dir);
  // Creates an empty file in memory (memfd_create(2)): the same blocks, for runs that must
  // not touch a disk. dir() is "(memory)". Throws StatusError as create() does.
  static SpillFile create_in_memory();

  // The moved-from file may only be destroyed or assigned to.
  SpillFile(SpillFile&& other) noexcept;
  SpillFile& operator=(SpillFile&& other) noexcept;
  SpillFile(const SpillFile&) = delete;
  SpillFile& operator=(const SpillFile&) = delete;
  // Closes the descriptor, which frees the file's blocks.
  ~SpillFile();

  // Appends `payload` as one block and returns the block's offset. Several threads may append
  // at once: each reserves its block's bytes with one atomic add on the file's tail, then
  // writes them with pwritev(2), resuming after short writes and EINTR.
  // REQUIRES: payload.size() <= kMaxPayload; a larger payload is a programming error and
  // throws std::length_error (and appends nothing).
  // Throws StatusError: kResourceExhausted "out of space for spill files in '<dir>':
  // <strerror>" for ENOSPC, EDQUOT and EFBIG; kIoError "cannot write a spill file in '<dir>':
  // <strerror>" otherwise.
  std::uint64_t append(std::string_view payload);

  // Reads the block at `offset` into `payload`, resized to the block's payload size (its
  // capacity is reused), and returns the offset just after the block: the next block's, or
  // size() after the last one. Checks the magic, that the header and payload lie within what
  // was appended, and the checksum.
  // Throws StatusError: kDataLoss "spill file in '<dir>' is corrupt at offset N: <what>", what
  // being "bad block header" (wrong magic, or a size reaching past what was appended),
  // "truncated block" (no room for a header at `offset` within what was appended, or the file
  // ends before the block does) or "checksum mismatch"; kIoError "cannot read a spill file in
  // '<dir>': <strerror>" when pread(2) fails. After a throw, `payload`'s contents are unspecified.
  std::uint64_t read(std::uint64_t offset, std::string& payload) const;

  // Bytes appended so far, headers included: the offset the next block will get. Appends
  // still in progress on other threads are counted (their bytes are reserved).
  std::uint64_t size() const noexcept {
    // Relaxed: a snapshot of a counter; no other memory is published through it.
    return tail_.load(std::memory_order_relaxed);
  }
  // The directory the file was created in, as given to create().
  const std::string& dir() const noexcept { return dir_; }
  // The file's descriptor, for tests that damage its bytes with pwrite(2). The file owns it.
  int fd() const noexcept { return fd_; }

 private:
  SpillFile(int fd, std::string dir) noexcept;

  // Fixed at creation (or by a move).
  int fd_ = -1;
  std::string dir_;
  // Written by every appending thread (fetch_add), read by read() and size().
  std::atomic<std::uint64_t> tail_{0};
};

}  // namespace tally::detail
