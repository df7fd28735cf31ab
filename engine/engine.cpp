#include "tally/engine/engine.hpp"

namespace tally {

std::string_view to_string(Strategy s) noexcept {
  switch (s) {
    case Strategy::kLocal:
      return "local";
    case Strategy::kSharded:
      return "sharded";
    case Strategy::kPartitioned:
      return "partitioned";
  }
  return "unknown";
}

std::optional<Strategy> parse_strategy(std::string_view name) noexcept {
  if (name == "local") return Strategy::kLocal;
  if (name == "sharded") return Strategy::kSharded;
  if (name == "partitioned") return Strategy::kPartitioned;
  return std::nullopt;
}

}  // namespace tally
