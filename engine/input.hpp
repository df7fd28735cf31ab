// Inputs and splits: where a job's bytes come from and how they are cut into map tasks.
//
//   tally::Inputs inputs = tally::Inputs::paths({"corpus/", "extra.txt", "-"});
//   if (tally::Status s = inputs.open(); !s.ok()) { ... }  // names the path and the reason
//   tally::SplitPlan plan = tally::plan_splits(inputs, {.target_bytes = 4 << 20});
//   for (const tally::Split& split : plan.splits)
//     for (const tally::Segment& seg : plan.segments_of(split))
//       process(inputs.data(seg.input).substr(seg.begin, seg.end - seg.begin));
//
// Sources:
//  - regular files of 1 MiB or more are memory-mapped (read-only, MAP_PRIVATE), smaller ones
//    are read into memory (so that many small files do not use up the process's mappings);
//  - pipes, FIFOs, character devices and "-" (stdin) are read() to the end into memory; stdin
//    redirected from a regular file is mapped like one;
//  - directories are walked recursively, files taken in bytewise-sorted path order (stable
//    whatever the file system's order), symlinks to files followed, other entries skipped;
//  - in-memory buffers (named, for error messages) are used as they are;
//  - in-memory views (Inputs::views, Inputs::array) are read where the caller keeps them:
//    nothing is copied, and the caller keeps the bytes alive and unchanged while the Inputs
//    and any plan or run over it is in use;
//  - a file (or pipe) whose name ends in ".gz" or ".zst", given directly or found in a
//    directory, is decompressed (gzip with zlib, zstd with libzstd; see decompress.hpp): its
//    data() is the decompressed content, its name() the path as given. The suffix decides,
//    and the content must then be in that format (magic bytes checked): a plain-text "x.gz"
//    is an error, not read as text. Stdin ("-") is never decompressed. Memory: the whole
//    decompressed content is held in memory from open() until the Inputs is destroyed (the
//    compressed bytes only while they are decoded): a gzip stream cannot be split for
//    parallel work without an index, so it is decoded once, up front.
// What is read or decoded into memory is capped by OpenOptions::max_held_bytes, and every
// read waits in poll(2) in short slices, so a stop request or a deadline ends open() promptly
// whatever the source does (a FIFO with no writer, an endless device, a decompression bomb).
//
// Splits: a record is a run of bytes ending with the delimiter (by default '\n') or at the end
// of its input (or, for fixed-size records, a run of exactly RecordLayout::fixed_bytes after
// the input's header: then everything below holds with record boundaries at those multiples). Every
// record belongs to exactly one segment: the one that holds its first byte. So segments start at
// the beginning of an input or just after a delimiter, and end just after a delimiter or at the end
// of the input. A split is a list of segments about target_bytes long: a big input is cut into many
// splits; many small inputs are batched into one split; a record longer than target_bytes stays
// whole in one split.
//
// A file that shrinks while mapped raises SIGBUS when a page past its new end is read. The
// library never installs a signal handler on its own: without one, that SIGBUS kills the
// process. An embedding program that calls install_sigbus_guard() (sigbus_guard.hpp; the
// tally CLI does) gets an error instead: the read goes on over zeros, and check_intact(),
// Engine::run and run_map_only return kIoError naming the file.
//
// Thread safety: after open() returns, data(), name() and the plan are read-only and may be
// used from any thread. Inputs owns the mappings and buffers; keep it alive while any
// string_view into it is in use.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "tally/engine/record_layout.hpp"
#include "tally/engine/sigbus_guard.hpp"  // install_sigbus_guard
#include "tally/engine/status.hpp"

namespace tally {

// What may end Inputs::open() early.
struct OpenOptions {
  std::stop_token stop{};                                           // a stop request: kCancelled
  std::optional<std::chrono::steady_clock::time_point> deadline{};  // kDeadlineExceeded
  // The most bytes that inputs read or decoded into memory (not mapped) may hold together;
  // past it open() fails with kResourceExhausted naming the input. 0: no cap but memory.
  std::uint64_t max_held_bytes = 0;
};

class Inputs {
 public:
  // Files, directories, or "-" for stdin; nothing is touched until open().
  static Inputs paths(std::vector<std::string> paths);
  // In-memory inputs as (name, bytes) pairs; open() always succeeds.
  static Inputs buffers(std::vector<std::pair<std::string, std::string>> named_bytes);
  // In-memory inputs as (name, bytes) pairs, not copied: data(i) is the caller's own bytes.
  // open() always succeeds. REQUIRES: the bytes outlive the Inputs and stay unchanged while
  // it (or a plan or run over it) is in use.
  static Inputs views(std::vector<std::pair<std::string, std::string_view>> named_views);
  // One input viewing an array, for a job over its elements (or over runs of
  // elements_per_record elements each) as fixed-size records:
  //
  //   std::vector<double> xs = ...;                  // 3-D points, x y z x y z ...
  //   tally::Inputs inputs = tally::Inputs::array<double>("points", xs);
  //   tally::RunOptions options{.records = tally::array_records<double>(3)};
  //   auto result = engine.run(job, inputs, options);
  //   // in the job's map(Record rec, ...), the point's 3 coordinates:
  //   std::span<const double> p = tally::elements_of<double>(rec.bytes);
  //
  // With array_records, every split holds whole records (splits fall on element
  // boundaries, see the top of this file), so a split's size is a count of elements:
  // RunOptions::split_bytes = n * sizeof(T) * elements_per_record gives n records a split.
  // REQUIRES: as views(); T trivially copyable (its bytes are its value).
  template <typename T>
  requires std::is_trivially_copyable_v<T>
  static Inputs array(std::string name, std::span<const T> elements) {
    const std::string_view bytes(reinterpret_cast<const char*>(elements.data()),
                                 elements.size_bytes());
    std::vector<std::pair<std::string, std::string_view>> one;
    one.emplace_back(std::move(name), bytes);
    return views(std::move(one));
  }

  Inputs(Inputs&&) noexcept;
  Inputs(const Inputs&) = delete;
  Inputs& operator=(const Inputs&) = delete;
  Inputs& operator=(Inputs&&) noexcept;
  ~Inputs();  // unmaps

  // Resolves directories, opens, maps or reads every input. On failure returns the first
  // error, e.g. kNotFound "cannot open 'x.txt': No such file or directory", kIoError, or
  // kInvalidArgument "'/dev/sda' is not a regular file, directory or pipe", kIoError
  // "'x.gz': corrupt gzip data: <zlib's message>", kResourceExhausted when a decompressed
  // input does not fit in memory or past options.max_held_bytes, kCancelled or
  // kDeadlineExceeded when options end it; nothing stays open then.
  Status open(const OpenOptions& options = {});
  // Whether open() has succeeded (buffers: always).
  bool is_open() const noexcept;

  std::size_t size() const noexcept;             // inputs after directory expansion
  const std::string& name(std::size_t i) const;  // the path (or buffer name)
  std::string_view data(std::size_t i) const;    // the whole content
  std::uint64_t total_bytes() const noexcept;
  // Transient failures that open() waited out or retried: reads that returned EINTR or EAGAIN,
  // open() calls retried after EINTR, EAGAIN, ENFILE or EMFILE.
  std::uint64_t transient_retries() const noexcept;

  // Whether input i is known to have shrunk while mapped: the SIGBUS guard (installed by the
  // embedding program, see install_sigbus_guard) replaced a page of it past its new end with
  // zeros, so data(i) no longer holds the file's bytes. Cheap (one relaxed load), for a map
  // loop's periodic check. Always false for buffers, read inputs, and without the guard.
  // A fault on another thread is certainly seen only after that thread's work was joined.
  // REQUIRES: i < size().
  bool shrank(std::size_t i) const noexcept;
  // OK, or kIoError "input '<path>' shrank while it was being read (truncated by another
  // process?)" for the first input that shrank(). A run calls it after its map phase, so
  // that a result computed from zeros is never returned as a success.
  Status check_intact() const;

  // Whether input i can be read with read_at(): a mapped file (the first 64 of them) whose
  // descriptor the Inputs keeps. Map tasks read such an input through a small buffer rather
  // than through its mapping (detail/records.hpp).
  bool readable_at(std::size_t i) const noexcept;
  // Copies bytes [offset, offset + out.size()) of data(i) into `out`, read from the file.
  // kIoError naming the input if the file shrank below them (as check_intact() reports it)
  // or the read fails. Thread-safe. REQUIRES: readable_at(i).
  Status read_at(std::size_t i, std::uint64_t offset, std::span<char> out) const;

  // Hints that the mapped inputs' pages will not be read for a while, so the kernel may drop
  // them from this process (they stay in the page cache; data() stays valid, and reading it
  // again faults the pages back in). A run calls it after its map phase: its keys are copies
  // by then, and the input's pages would otherwise count towards the process's resident
  // memory through the reduce and the output. No effect on buffers and read inputs.
  void release_pages() const noexcept;
  // The same for the whole pages within bytes [begin, end) of input i only: a run calls it
  // as each split is mapped, on the worker that mapped it, so that a large input's pages do
  // not accumulate in the resident memory (the one a memory budget is kept against) and the
  // workers drop them in parallel. The split's first and last partial pages (shared with its
  // neighbours) stay until release_pages().
  void release_pages(std::size_t i, std::uint64_t begin, std::uint64_t end) const noexcept;

 private:
  struct Impl;
  explicit Inputs(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The layout of an array input (Inputs::array<T>) cut into records of elements_per_record
// elements of T each: fixed-size records of sizeof(T) x elements_per_record bytes, no
// header. An array whose size is not a multiple of it fails the run (check_record_layout).
// REQUIRES: elements_per_record > 0.
template <typename T>
constexpr RecordLayout array_records(std::uint64_t elements_per_record = 1) {
  return RecordLayout{.fixed_bytes = sizeof(T) * elements_per_record};
}

// A record's (or a RecordBlock's) bytes seen as the elements of T they hold, without a copy:
// for records of an Inputs::array<T> cut by array_records<T>. Checked, since a wrong T or
// layout would otherwise read garbage: throws std::invalid_argument if the size is not a
// multiple of sizeof(T) or the bytes are not aligned for T. Bytes of an Inputs::array are
// always aligned (the array is, and each record starts a whole number of elements into it);
// those of a file or buffer may not be (a header of odd size, a buffer's small-string
// storage): memcpy them into a T instead.
template <typename T>
requires std::is_trivially_copyable_v<T> std::span<const T> elements_of(std::string_view bytes) {
  if (bytes.size() % sizeof(T) != 0) {
    throw std::invalid_argument("a record of " + std::to_string(bytes.size()) +
                                " bytes is not a whole number of " + std::to_string(sizeof(T)) +
                                "-byte elements");
  }
  if (reinterpret_cast<std::uintptr_t>(bytes.data()) % alignof(T) != 0) {
    throw std::invalid_argument("a record's bytes are not aligned to " +
                                std::to_string(alignof(T)) + " bytes for its elements");
  }
  // The bytes are an array's elements (Inputs::array): reading them as T is reading the T
  // objects the caller stored there.
  return {reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T)};
}

// A byte range [begin, end) of one input.
struct Segment {
  std::size_t input = 0;
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  // The number (1-based, within its input) of the segment's first record, once
  // number_records (detail/record_numbers.hpp) has run on the plan; 0 until then.
  std::uint64_t first_record = 0;
};

// One map task's share of the input: segments [first, last) of SplitPlan::segments.
struct Split {
  std::size_t first = 0;
  std::size_t last = 0;
  std::uint64_t bytes = 0;
};

struct SplitPlan {
  std::vector<Segment> segments;  // in input order, then byte order
  std::vector<Split> splits;      // in the same order: split k's segments precede split k+1's
  std::span<const Segment> segments_of(const Split& s) const {
    return std::span<const Segment>(segments).subspan(s.first, s.last - s.first);
  }
};

struct SplitOptions {
  std::uint64_t target_bytes = 4u << 20;  // about this many bytes per split (at least 1)
  RecordLayout records{};
};

// OK, or kInvalidArgument naming the first input that does not fit a fixed-size layout:
// "input 'x.bin' has 7 bytes after its last whole 2-byte record" (or is shorter than its
// header). Always OK for delimited records.
Status check_record_layout(const Inputs& inputs, const RecordLayout& layout);

// Cuts every input into segments aligned to record boundaries and groups them into splits
// (see the top of this file). Empty inputs produce no segment. Deterministic: the same
// inputs and options always give the same plan.
SplitPlan plan_splits(const Inputs& inputs, SplitOptions options = {});

// Keeps the splits of share `index` of `count`: those whose middle byte, counted over all of
// the plan's splits in order, falls in [index, index + 1) x total / count. The shares of one
// plan partition its splits by bytes, not by count. REQUIRES: index < count.
void keep_share(SplitPlan& plan, std::size_t index, std::size_t count);

}  // namespace tally
