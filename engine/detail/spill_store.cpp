#include "tally/engine/detail/spill_store.hpp"

#include <cstdlib>
#include <utility>

namespace tally::detail {

std::string spill_directory(const std::string& dir) {
  if (!dir.empty()) return dir;
  // The library reads the environment here as the C library's tmpfile() does: it names
  // where temporary files belong, for every program.
  const char* tmpdir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): read only
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

SpillStore::SpillStore(SpillSettings settings, std::size_t partitions)
    : settings_(std::move(settings)), runs_(partitions) {}

SpillFile& SpillStore::file() {
  // call_once: a creation that throws leaves the flag unset, so the next caller tries again
  // (and fails the same way, with the same message).
  std::call_once(file_once_, [this] {
    file_ = std::make_unique<SpillFile>(settings_.dir.empty() ? SpillFile::create_in_memory()
                                                              : SpillFile::create(settings_.dir));
  });
  return *file_;
}

void SpillStore::add_run(std::size_t partition, SpillRun run) {
  // Relaxed: statistics.
  counters_.runs.fetch_add(1, std::memory_order_relaxed);
  counters_.bytes.fetch_add(run.bytes, std::memory_order_relaxed);
  {
    const std::lock_guard lock(runs_mutex_);
    runs_[partition].push_back(std::move(run));
  }
  spilled_.store(true, std::memory_order_release);
}

std::vector<SpillRun> SpillStore::take_runs(std::size_t partition) {
  const std::lock_guard lock(runs_mutex_);
  return std::exchange(runs_[partition], {});
}

}  // namespace tally::detail
