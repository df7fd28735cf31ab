// BudgetCharge: what one owner (a table, an arena) has charged to a MemoryBudget, released
// when the owner is destroyed. Movable, so the charge travels with the memory it stands for.
#pragma once

#include <cstdint>
#include <utility>

#include "tally/engine/memory_budget.hpp"

namespace tally::detail {

class BudgetCharge {
 public:
  explicit BudgetCharge(MemoryBudget* budget = nullptr) noexcept : budget_(budget) {}
  BudgetCharge(BudgetCharge&& other) noexcept
      : budget_(other.budget_), bytes_(std::exchange(other.bytes_, 0)) {}
  BudgetCharge& operator=(BudgetCharge&& other) noexcept {
    if (this != &other) {
      release_all();
      budget_ = other.budget_;
      bytes_ = std::exchange(other.bytes_, 0);
    }
    return *this;
  }
  BudgetCharge(const BudgetCharge&) = delete;
  BudgetCharge& operator=(const BudgetCharge&) = delete;
  ~BudgetCharge() { release_all(); }

  // Charges `bytes` before the owner allocates them; throws StatusError if over budget.
  void add(std::uint64_t bytes, const char* what) {
    if (budget_ != nullptr) budget_->charge(bytes, what);
    bytes_ += bytes;
  }
  // After the owner freed `bytes`.
  void remove(std::uint64_t bytes) noexcept {
    if (budget_ != nullptr) budget_->release(bytes);
    bytes_ -= bytes;
  }
  // Stops counting against the budget: for memory handed to a result that outlives the run.
  void detach() noexcept {
    release_all();
    budget_ = nullptr;
  }

  MemoryBudget* budget() const noexcept { return budget_; }

 private:
  void release_all() noexcept {
    if (budget_ != nullptr) budget_->release(bytes_);
    bytes_ = 0;
  }

  MemoryBudget* budget_;
  std::uint64_t bytes_ = 0;
};

}  // namespace tally::detail
