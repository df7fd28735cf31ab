// The job model: what a user writes to run on the engine.
//
// A job is a plain type:
//
//   struct WordCount {
//     using Key = std::string_view;    // copied into engine-owned storage when first seen
//     using Value = std::uint64_t;
//     template <typename Out>          // or: void map(Record, tally::Emitter<Key, Value>&)
//     void map(tally::Record rec, Out& out) const {
//       for (std::string_view word : split_words(rec.bytes)) out.emit(word, 1);
//     }
//     static Value combine(Value a, Value b) { return a + b; }  // associative, commutative
//   };
//
// map() may take its output as a template parameter: the engine then passes its combining
// sink itself and emit() is an ordinary, inlinable call (the fast path for jobs that emit
// many small pairs). A map() that takes an Emitter<Key, Value>& (say, one compiled in its own
// source file) works too, at the cost of a virtual call per emitted pair. Either way, emit()
// copies the key before it returns, so map() may reuse the buffer a key was built in.
//
// Either `combine(Value, Value)` (combined map-side, as soon as two values meet) or
// `reduce(const Key&, std::span<const Value>) -> Value` (values grouped per key, reduced
// once at the end; for reductions that are not a simple associative fold). A reduce job may
// return another type than it emits by declaring it, and its result then holds that type
// (ResultValue<J>):
//
//   struct Postings {                   // word -> the sorted lines it occurs on
//     using Key = std::string_view;
//     using Value = std::uint64_t;                // one line number
//     using Reduced = std::vector<std::uint64_t>; // what reduce() returns
//     Reduced reduce(const Key&, std::span<const Value> lines) const;
//     ...
//   };
//
// A combine job's result holds its Value (it may declare `Reduced` only as Value). map() is
// called concurrently from several threads on different records, so it must not mutate
// shared state (it is const).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "tally/engine/key_hash.hpp"

namespace tally {

// One record: the bytes of one line (or whatever the split delimiter delimits), without the
// delimiter, or one fixed-size record (RecordLayout), with where it came from.
struct Record {
  std::string_view bytes;
  std::size_t input = 0;     // index of the input it belongs to
  std::uint64_t offset = 0;  // byte offset of its first byte within that input
  // Its 1-based number within its input (the line number, for lines) when the run numbers
  // records (RecordLayout::numbered); 0 otherwise.
  std::uint64_t number = 0;
};

// Consecutive fixed-size records of one input, for a job that maps them a block at a time
// (`map(RecordBlock, out)`): its loop over the records is then its own, with no call per
// record (what a job over two-byte records needs to keep up with a plain loop). A block
// holds at most detail::kRecordsPerStopCheck records. REQUIRES: a fixed-size RecordLayout.
struct RecordBlock {
  std::string_view bytes;  // size() whole records
  std::uint64_t record_bytes = 0;
  std::size_t input = 0;
  std::uint64_t offset = 0;  // of the first record
  std::size_t size() const noexcept { return bytes.size() / record_bytes; }
  std::string_view operator[](std::size_t i) const noexcept {
    return bytes.substr(i * record_bytes, record_bytes);
  }
};

// Consecutive whole delimited records of one input, for a job that can find its way through
// many records at once (`map(TextBlock, out)`, next to its map(Record, out)): a word count,
// whose words never straddle a line break, scans a block for words without first cutting it
// into lines. Each record keeps its delimiter; the last one lacks it only at the end of its
// input. The engine passes blocks instead of records when the records are delimited (not
// fixed-size) and the run skips no bad records (a block fails as one record would); it still
// counts the records for the run report. A block holds at most a few dozen KiB, or one
// record if that is longer.
struct TextBlock {
  std::string_view bytes;
  char delimiter = '\n';
  std::size_t input = 0;
  std::uint64_t offset = 0;  // of the first record
};

// Where map() sends its output. The engine passes a concrete sink; the job sees only emit().
template <typename Key, typename Value>
class Emitter {
 public:
  virtual void emit(Key key, Value value) = 0;

 protected:
  ~Emitter() = default;
};

// Whether J maps fixed-size records a block at a time (RecordBlock) rather than one by one.
template <typename J>
concept MapsRecordBlocks = requires(const J& job, RecordBlock block,
                                    Emitter<typename J::Key, typename J::Value>& out) {
  {job.map(block, out)};
};

// Whether J can map a TextBlock of delimited records as well as single records.
template <typename J>
concept MapsTextBlocks = requires(const J& job, TextBlock block,
                                  Emitter<typename J::Key, typename J::Value>& out) {
  {job.map(block, out)};
};

template <typename J>
concept MapJob = requires {
  typename J::Key;
  typename J::Value;
}
&&JobKey<typename J::Key>&& std::movable<typename J::Value>&&
        std::default_initializable<typename J::Value> &&
    (MapsRecordBlocks<J> ||
     requires(const J& job, Record rec, Emitter<typename J::Key, typename J::Value>& out) {
       {job.map(rec, out)};
     });

template <typename J>
concept CombineJob = MapJob<J> && requires(typename J::Value a, typename J::Value b) {
  { J::combine(std::move(a), std::move(b)) } -> std::convertible_to<typename J::Value>;
};

namespace detail {
template <typename J>
struct ResultValueOf {
  using type = typename J::Value;
};
template <typename J>
requires requires { typename J::Reduced; }
struct ResultValueOf<J> {
  using type = typename J::Reduced;
};
}  // namespace detail

// The type of the values in J's result: J::Reduced if the job declares it, J::Value otherwise.
template <typename J>
using ResultValue = typename detail::ResultValueOf<J>::type;

template <typename J>
concept ReduceJob =
    MapJob<J> && !CombineJob<J> && std::movable<ResultValue<J>> &&
    std::default_initializable<ResultValue<J>> &&
    requires(const J& job, const typename J::Key& key, std::span<const typename J::Value> values) {
  { job.reduce(key, values) } -> std::convertible_to<ResultValue<J>>;
};

// A job the engine can run: one of the two shapes above (a combine job's result holds its
// Value: combined values are the result).
template <typename J>
concept Job = (CombineJob<J> && std::same_as<ResultValue<J>, typename J::Value>) || ReduceJob<J>;

// A combining job whose keys are the small integers [0, key_count()), known before the run
// (a histogram's bins, a few named sums, k clusters). The engine then gives each worker a
// plain array of key_count() values instead of a hash table: emit() is an index and a
// combine, with no hashing, and the arrays are merged key by key. Chosen by the job's type:
//
//   struct Histogram {
//     using Key = std::uint32_t;                 // any unsigned integer type
//     using Value = std::uint64_t;
//     std::size_t key_count() const { return 768; }
//     template <typename Out> void map(tally::Record rec, Out& out) const { ... }
//     static Value combine(Value a, Value b) { return a + b; }
//   };
//
// REQUIRES: Value{} is combine's identity (every array starts as Value{}), and keys emitted
// are below key_count() (a larger one fails the record: std::out_of_range). The result holds
// every key in [0, key_count()), Value{} for those never emitted.
template <typename J>
concept DenseJob = CombineJob<J> && std::unsigned_integral<typename J::Key> &&
    requires(const J& job) {
  { job.key_count() } -> std::convertible_to<std::size_t>;
};

}  // namespace tally
