// make_each<T>(n, args...): n objects of T, each built from the same arguments and held by
// unique_ptr, so that objects the engine pads to their own cache lines (per worker, per
// partition) never move.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace tally::detail {

template <typename T, typename... Args>
std::vector<std::unique_ptr<T>> make_each(std::size_t n, Args&&... args) {
  std::vector<std::unique_ptr<T>> v;
  v.reserve(n);
  for (std::size_t i = 0; i < n; ++i) v.push_back(std::make_unique<T>(args...));
  return v;
}

}  // namespace tally::detail
