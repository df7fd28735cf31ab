// MergedRuns: the entries of several sorted runs, one at a time, in one order: a k-way merge
// through a loser tree (Knuth, TAOCP vol. 3, 5.4.1), so producing each entry costs
// ceil(log2 k) comparisons and no run is copied. This is how a result is read in order
// (ResultTable::by_key, by_value) without first gathering every entry into one array.
//
//   MergedRuns<Entry, Less> merged(runs, less);
//   while (const Entry* e = merged.next()) consume(*e);
//
// A run is read through a source: by default an array of entries in memory, read either as
// it lies or through an index array (`order`) that lists the positions of its entries in the
// run's sorted order; a spilled run on disk is read through detail::RunReader
// (spill_run.hpp). Each run must be sorted by `less`; entries that compare equal come out in
// run order (lower run index first).
//
// A source S offers `const Entry* head()` (its current entry, nullptr once exhausted) and
// `advance()`. The entry next() returns stays valid until the next call of next(): its
// source is advanced only then, so a source may reuse the storage of its current entry.
//
// Thread safety: none; one reader. The runs must outlive the MergedRuns and not change.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

namespace tally {

template <typename Entry>
struct SortedRun {
  const Entry* entries = nullptr;
  const std::uint32_t* order = nullptr;  // nullptr: entries[0..size) are in order already
  std::size_t size = 0;
};

// A Less may also offer `summary(entry)`: a number such that where two entries' summaries
// differ, they order the entries as the Less does (and where they are equal, the Less
// decides). MergedRuns then keeps each run's current summary beside its head, so that most
// of the matches in the tree compare two integers instead of two entries.
template <typename Less, typename Entry>
concept SummarizedOrder = requires(const Less& less, const Entry& e) {
  { less.summary(e) } -> std::totally_ordered;
};

namespace detail {
template <typename Less, typename Entry>
struct SummaryOf {
  struct type {};  // no summary: an empty placeholder
};
template <typename Less, typename Entry>
requires SummarizedOrder<Less, Entry>
struct SummaryOf<Less, Entry> {
  using type = decltype(std::declval<const Less&>().summary(std::declval<const Entry&>()));
};
}  // namespace detail

// The source of a run in memory.
template <typename Entry>
class SortedRunCursor {
 public:
  explicit SortedRunCursor(const SortedRun<Entry>& run) noexcept : run_(run) {}
  const Entry* head() const noexcept {
    if (pos_ == run_.size) return nullptr;
    return run_.order == nullptr ? &run_.entries[pos_] : &run_.entries[run_.order[pos_]];
  }
  void advance() noexcept { ++pos_; }

 private:
  SortedRun<Entry> run_;
  std::size_t pos_ = 0;
};

template <typename Entry, typename Less, typename Source = SortedRunCursor<Entry>>
class MergedRuns {
 public:
  MergedRuns(std::vector<Source> sources, Less less)
      : runs_(std::move(sources)),
        heads_(runs_.size()),
        summaries_(runs_.size()),
        losers_(runs_.size()),
        less_(less) {
    start();
  }
  // In-memory runs.
  MergedRuns(const std::vector<SortedRun<Entry>>& runs,
             Less less) requires std::same_as<Source, SortedRunCursor<Entry>>
      : heads_(runs.size()), summaries_(runs.size()), losers_(runs.size()), less_(less) {
    runs_.reserve(runs.size());
    for (const SortedRun<Entry>& r : runs) runs_.emplace_back(r);
    start();
  }

  // The next entry in order, or nullptr once every run is exhausted.
  const Entry* next() {
    if (runs_.empty()) return nullptr;
    if (advance_pending_) {
      const std::size_t w = losers_[0];
      runs_[w].advance();
      load_head(w);
      replay(w);
    }
    const Entry* e = heads_[losers_[0]];
    advance_pending_ = e != nullptr;  // nullptr: the winner is exhausted, so is every run
    return e;
  }

 private:
  static constexpr bool kSummarized = SummarizedOrder<Less, Entry>;
  using Summary = typename detail::SummaryOf<Less, Entry>::type;

  void start() {
    const std::size_t k = runs_.size();
    for (std::size_t i = 0; i < k; ++i) load_head(i);
    // Knuth's initialisation: every node starts as the virtual leaf k, which beats every
    // real leaf; replaying each leaf from the last to the first leaves the real losers in
    // the internal nodes and the overall winner in losers_[0].
    for (std::size_t i = 0; i < k; ++i) losers_[i] = k;
    for (std::size_t i = k; i-- > 0;) replay(i);
  }

  // Caches run i's current entry (nullptr when it is exhausted) and its summary.
  void load_head(std::size_t i) {
    heads_[i] = runs_[i].head();
    if constexpr (kSummarized) {
      if (heads_[i] != nullptr) summaries_[i] = less_.summary(*heads_[i]);
    }
  }

  // Whether leaf a's entry comes out before leaf b's. The virtual leaf k beats all; an
  // exhausted run loses to all; ties go to the lower run index.
  bool beats(std::size_t a, std::size_t b) const {
    const std::size_t k = runs_.size();
    if (a == k) return true;
    if (b == k) return false;
    const Entry* x = heads_[a];
    const Entry* y = heads_[b];
    if (x == nullptr) return false;
    if (y == nullptr) return true;
    if constexpr (kSummarized) {
      if (summaries_[a] != summaries_[b]) return summaries_[a] < summaries_[b];
    }
    // One comparison: a beats b when x < y, or when they are equal and a is the lower run.
    return a < b ? !less_(*y, *x) : less_(*x, *y);
  }

  // Leaf s changed (advanced, or is being added): play it up to the root. The leaf's parent
  // is node (s + k) / 2; each node keeps the loser of the match played there.
  void replay(std::size_t s) {
    const std::size_t k = runs_.size();
    for (std::size_t t = (s + k) / 2; t > 0; t /= 2) {
      if (beats(losers_[t], s)) std::swap(s, losers_[t]);
    }
    losers_[0] = s;
  }

  std::vector<Source> runs_;
  std::vector<const Entry*> heads_;  // each run's current entry; nullptr: exhausted
  std::vector<Summary> summaries_;   // their summaries (kSummarized only)
  std::vector<std::size_t> losers_;  // losers_[0]: the winner; losers_[1..k): match losers
  Less less_;
  bool advance_pending_ = false;  // the winner's entry was returned; advance it next time
};

// Entries in order from somewhere other than runs in memory: a result spilled to disk
// (result_table.hpp). next() as MergedRuns::next.
template <typename Entry>
class EntryStream {
 public:
  virtual ~EntryStream() = default;
  virtual const Entry* next() = 0;
};

// A MergedRuns (or an EntryStream) as a single-pass range, for range-for loops. The
// iterators share the merge state, so copies of an iterator advance together (an input
// iterator).
template <typename Entry, typename Less>
class MergedRange {
 public:
  using StreamFactory = std::function<std::shared_ptr<EntryStream<Entry>>()>;

  class Iterator {
   public:
    using value_type = Entry;
    using difference_type = std::ptrdiff_t;
    using reference = const Entry&;
    using iterator_category = std::input_iterator_tag;

    Iterator() = default;
    Iterator(std::shared_ptr<MergedRuns<Entry, Less>> merged, std::shared_ptr<const void> keep)
        : merged_(std::move(merged)), keep_(std::move(keep)), current_(merged_->next()) {}
    explicit Iterator(std::shared_ptr<EntryStream<Entry>> stream) : stream_(std::move(stream)) {
      if (stream_) current_ = stream_->next();
    }
    const Entry& operator*() const { return *current_; }
    const Entry* operator->() const { return current_; }
    Iterator& operator++() {
      current_ = merged_ ? merged_->next() : stream_->next();
      return *this;
    }
    void operator++(int) { ++*this; }
    friend bool operator==(const Iterator& it, std::default_sentinel_t) {
      return it.current_ == nullptr;
    }

   private:
    std::shared_ptr<MergedRuns<Entry, Less>> merged_;
    std::shared_ptr<const void> keep_;            // the index arrays the runs read through
    std::shared_ptr<EntryStream<Entry>> stream_;  // instead of merged_
    const Entry* current_ = nullptr;
  };

  // `orders`, if set, owns index arrays the runs read through (shared between ranges).
  MergedRange(std::vector<SortedRun<Entry>> runs, Less less,
              std::shared_ptr<const std::vector<std::vector<std::uint32_t>>> orders = nullptr)
      : orders_(std::move(orders)), runs_(std::move(runs)), less_(less) {}
  // The entries of the streams `open` makes: one per begin().
  MergedRange(StreamFactory open, Less less) : open_(std::move(open)), less_(less) {}

  // Starts the merge; call once.
  Iterator begin() const {
    if (open_) return Iterator(open_());
    return Iterator(std::make_shared<MergedRuns<Entry, Less>>(runs_, less_), orders_);
  }
  std::default_sentinel_t end() const { return {}; }

 private:
  std::shared_ptr<const std::vector<std::vector<std::uint32_t>>> orders_;
  std::vector<SortedRun<Entry>> runs_;
  StreamFactory open_;
  Less less_;
};

}  // namespace tally
