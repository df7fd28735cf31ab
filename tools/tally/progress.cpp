#include "tools/tally/progress.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace tally::cli {
namespace {

std::string megabytes(std::uint64_t bytes) {
  char text[32];
  const double mb = static_cast<double>(bytes) / 1e6;
  if (mb >= 1000) {
    std::snprintf(text, sizeof text, "%.1f GB", mb / 1000);
  } else {
    std::snprintf(text, sizeof text, "%.1f MB", mb);
  }
  return text;
}

}  // namespace

bool stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

ProgressDisplay::ProgressDisplay(const std::atomic<std::uint64_t>& done, std::uint64_t total)
    : done_(done),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      terminal_(stderr_is_terminal()) {
  thread_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!wake_.wait_for(lock, kInterval, [this] { return stopping_; })) draw(false);
  });
}

ProgressDisplay::~ProgressDisplay() { stop(); }

void ProgressDisplay::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  draw(true);
}

std::string ProgressDisplay::render(std::uint64_t done, std::uint64_t total,
                                    std::chrono::duration<double> elapsed) {
  const double seconds = elapsed.count();
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0;  // bytes/s
  std::string line = "tally: " + megabytes(done);
  char text[64];
  if (total > 0) {
    line += " / " + megabytes(total);
    std::snprintf(text, sizeof text, "  %3.0f%%",
                  100.0 * static_cast<double>(std::min(done, total)) / static_cast<double>(total));
    line += text;
  }
  std::snprintf(text, sizeof text, "  %.1f MB/s", rate / 1e6);
  line += text;
  if (total > 0 && done < total && rate > 0) {
    std::snprintf(text, sizeof text, "  ETA %.1fs", static_cast<double>(total - done) / rate);
    line += text;
  }
  return line;
}

void ProgressDisplay::draw(bool final) {
  const std::string line = render(done_.load(std::memory_order_relaxed), total_,
                                  std::chrono::steady_clock::now() - start_);
  if (terminal_) {
    // "\r" returns to the line's start and "\033[K" clears what a longer previous line left.
    std::fprintf(stderr, "\r%s\033[K%s", line.c_str(), final ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line.c_str());  // a log file gets plain lines
  }
  std::fflush(stderr);
}

}  // namespace tally::cli
