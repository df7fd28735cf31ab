// FlatTable<Key, Acc>: the engine's hash table from a job key to its accumulator (a combined
// value, or a list of values for reduce jobs). Open addressing with linear probing over one
// array of {hash, key, acc} slots; string keys are copied into the table's own Arena on
// insertion, so a table never points into the input.
//
// Why not std::unordered_map: one allocation per node and a pointer chase per probe;
// bench/engine/aggregate_bench.cpp records the comparison on the word-count workload.
//
// Thread safety: none; a table is owned by one thread at a time (a worker's combiner, a
// partition's reducer, or a shard under its lock).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>
#include <utility>

#include "tally/engine/detail/arena.hpp"
#include "tally/engine/detail/budget_charge.hpp"
#include "tally/engine/detail/bulk_array.hpp"
#include "tally/engine/key_hash.hpp"

namespace tally::detail {

template <JobKey Key, typename Acc>
class FlatTable {
 public:
  struct Slot {
    std::uint64_t hash = 0;  // 0 marks an empty slot (real hashes are forced non-zero)
    Key key{};
    Acc acc{};
  };

  // Slot arrays and key blocks are charged to `budget` (if any) before they are allocated;
  // an insertion that would pass it throws StatusError and leaves the table as it was.
  explicit FlatTable(std::size_t expected_keys = 0, MemoryBudget* budget = nullptr)
      : arena_(budget), charge_(budget) {
    reserve(expected_keys);
  }
  // A moved-from table is empty with no slots; reserve() or an insertion makes it usable.
  FlatTable(FlatTable&& other) noexcept
      : slots_(std::move(other.slots_)),
        capacity_(std::exchange(other.capacity_, 0)),
        mask_(std::exchange(other.mask_, 0)),
        size_(std::exchange(other.size_, 0)),
        grow_at_(std::exchange(other.grow_at_, 0)),
        arena_(std::move(other.arena_)),
        charge_(std::move(other.charge_)) {}
  FlatTable& operator=(FlatTable&& other) noexcept {
    if (this != &other) {
      slots_ = std::move(other.slots_);
      capacity_ = std::exchange(other.capacity_, 0);
      mask_ = std::exchange(other.mask_, 0);
      size_ = std::exchange(other.size_, 0);
      grow_at_ = std::exchange(other.grow_at_, 0);
      arena_ = std::move(other.arena_);
      charge_ = std::move(other.charge_);
    }
    return *this;
  }
  FlatTable(const FlatTable&) = delete;
  FlatTable& operator=(const FlatTable&) = delete;
  ~FlatTable() = default;

  // The accumulator of `key` (whose hash_key is `hash`) and whether it was just inserted:
  // an absent key is inserted with a value-initialized accumulator.
  //
  // Forced inline, with the rare paths (growing, inserting) kept out of line: this is the
  // word-count inner loop, and as a call it spent more instructions saving and restoring
  // registers than probing.
  [[gnu::always_inline]] std::pair<Acc*, bool> find_or_insert(Key key, std::uint64_t hash) {
    return probe<false>(key, hash);
  }

  // find_or_insert for a padded string key (key_hash.hpp), compared with the table's keys
  // (padded too: they live in its Arena) without a branch on the length.
  [[gnu::always_inline]] std::pair<Acc*, bool> find_or_insert_padded(
      std::string_view key, std::uint64_t hash) requires std::is_same_v<Key, std::string_view> {
    return probe<true>(key, hash);
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

  // Calls fn(hash, key, acc&) for every entry, in slot order.
  template <typename Fn>
  void for_each(Fn&& fn) {
    for (std::size_t i = 0; i < capacity_; ++i) {
      Slot& s = slots_[i];
      if (s.hash != 0) fn(s.hash, s.key, s.acc);
    }
  }

  // Calls fn(slot&) for every occupied slot, in slot order.
  template <typename Fn>
  void for_each_slot(Fn&& fn) {
    for (std::size_t i = 0; i < capacity_; ++i) {
      if (slots_[i].hash != 0) fn(slots_[i]);
    }
  }

  // Empties the table, keeping its capacity; string keys handed out before stay valid only
  // if their arena was taken with take_arena() first.
  void clear() {
    for (std::size_t i = 0; i < capacity_; ++i) slots_[i] = Slot{};
    size_ = 0;
    arena_ = Arena(charge_.budget());
  }

  // Moves the key storage out (e.g. into a result that outlives the table).
  Arena take_arena() { return std::exchange(arena_, Arena(charge_.budget())); }

 private:
  template <bool kPadded>
  [[gnu::always_inline]] std::pair<Acc*, bool> probe(Key key, std::uint64_t hash) {
    if (size_ + 1 > grow_at_) [[unlikely]] {
      grow();
    }
    hash = nonzero(hash);
    for (std::size_t i = hash & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.hash == hash) {
        if constexpr (std::is_same_v<Key, std::string_view>) {
          // Decided from the slot alone, without reading the stored key's bytes (a cache
          // miss of its own in a large table): the hash identifies a key of up to
          // kExactHashLength bytes among those of its length (key_hash.hpp). Not for hash 1,
          // which nonzero() also gives to hash 0.
          if (key.size() <= kExactHashLength && s.key.size() == key.size() && hash != 1) {
            return {&s.acc, false};
          }
        }
        if constexpr (kPadded) {
          if (padded_keys_equal(s.key, key)) return {&s.acc, false};
        } else {
          if (keys_equal(s.key, key)) return {&s.acc, false};
        }
      }
      if (s.hash == 0) return {insert_into(s, key, hash), true};
    }
  }

  // Load factor 3/4: short probe sequences with linear probing, and 25% empty slots.
  static std::size_t grow_threshold(std::size_t capacity) { return capacity / 4 * 3; }
  static std::uint64_t nonzero(std::uint64_t h) noexcept { return h == 0 ? 1 : h; }

  void reserve(std::size_t keys) {
    std::size_t cap = 16;
    while (grow_threshold(cap) < keys) cap *= 2;
    rehash(cap);
  }

  [[gnu::noinline]] void grow() { rehash(capacity_ == 0 ? 16 : capacity_ * 2); }

  // Claims the empty slot s for key. The key is copied first: if the copy throws (budget,
  // allocation), the slot stays empty.
  [[gnu::noinline]] Acc* insert_into(Slot& s, Key key, std::uint64_t hash) {
    if constexpr (std::is_same_v<Key, std::string_view>) {
      s.key = arena_.copy(key);
    } else {
      s.key = key;
    }
    s.hash = hash;
    ++size_;
    return &s.acc;
  }

  void rehash(std::size_t new_capacity) {
    // Charged and allocated before anything changes, so a throw leaves the table intact.
    const std::size_t new_footprint = BulkArray<Slot>::footprint(new_capacity);
    charge_.add(new_footprint, "a hash table");
    BulkArray<Slot> fresh;
    try {
      fresh = BulkArray<Slot>(new_capacity);
    } catch (...) {
      charge_.remove(new_footprint);
      throw;
    }
    auto old = std::exchange(slots_, std::move(fresh));
    const std::size_t old_capacity = capacity_;
    capacity_ = new_capacity;
    mask_ = new_capacity - 1;
    grow_at_ = grow_threshold(new_capacity);
    for (std::size_t i = 0; i < old_capacity; ++i) {
      Slot& s = old[i];
      if (s.hash == 0) continue;
      std::size_t j = s.hash & mask_;
      while (slots_[j].hash != 0) j = (j + 1) & mask_;
      slots_[j] = std::move(s);
    }
    old.reset();
    charge_.remove(BulkArray<Slot>::footprint(old_capacity));
  }

  BulkArray<Slot> slots_;
  std::size_t capacity_ = 0;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
  std::size_t grow_at_ = 0;
  Arena arena_;
  BudgetCharge charge_;  // for slots_ (arena_ charges its own blocks)
};

}  // namespace tally::detail
