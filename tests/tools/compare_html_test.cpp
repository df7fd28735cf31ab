// The HTML page of `tally compare` opened in a real browser: headless Chromium (Debian's
// `chromium`, a required test dependency) loads it, and the DOM it builds must hold one chart
// bar per judged benchmark. If Chromium is missing or cannot run, this test fails: a chart
// nobody has seen render is not tested.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/support/subprocess.hpp"

namespace {

namespace fs = std::filesystem;
using tally::testing::ProcessResult;
using tally::testing::run_process;

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

class CompareHtml : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("tally-compare-html-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "home");
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Chromium with a throwaway profile and HOME, so it neither reads nor writes the user's.
  ProcessResult chromium(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/env",
                                     "HOME=" + (dir_ / "home").string(),
                                     TALLY_CHROMIUM,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--no-first-run",
                                     "--disable-dev-shm-usage",
                                     "--user-data-dir=" + (dir_ / "profile").string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv);
  }

  fs::path dir_;
};

// Oracle: the JSON output of the same comparison says which benchmarks are judged (primary,
// with a metric change); the browser's DOM holds exactly that many bars, and the slower one.
TEST_F(CompareHtml, ChromiumRendersOneBarPerBenchmark) {
  ASSERT_FALSE(std::string(TALLY_CHROMIUM).empty())
      << "chromium not found at configure time: install it (scripts/install-deps)";
  const fs::path fixtures = TALLY_COMPARE_FIXTURES;
  const std::string base = (fixtures / "base" / "ws_deque_9reps_slower.json").string();
  const std::string contender = (fixtures / "new" / "ws_deque_9reps_slower.json").string();
  const std::string page = (dir_ / "compare.html").string();
  ASSERT_EQ(
      run_process({TALLY_EXE, "compare", base, contender, "-f", "html", "-o", page}).exit_status,
      0);
  const ProcessResult json_run = run_process({TALLY_EXE, "compare", base, contender, "-f", "json"});
  ASSERT_EQ(json_run.exit_status, 0);
  std::size_t judged = 0;
  const nlohmann::json doc = nlohmann::json::parse(json_run.out);
  for (const auto& b : doc["benchmarks"]) {
    if (b["primary"].get<bool>() && !b["metric_change"].is_null()) ++judged;
  }
  ASSERT_EQ(judged, 3u);

  const ProcessResult dom = chromium({"--dump-dom", "file://" + page});
  ASSERT_EQ(dom.exit_status, 0) << dom.err;
  // The DOM is what Chromium parsed, not our text: a broken SVG would lose its elements.
  EXPECT_NE(dom.out.find("<svg class=\"chart\""), std::string::npos) << dom.out.substr(0, 2000);
  EXPECT_EQ(count(dom.out, "<rect class=\"bar "), judged) << dom.out.substr(0, 2000);
  EXPECT_EQ(count(dom.out, "<rect class=\"bar slower\""), 1u);

  // And it paints: a screenshot file appears and is a PNG of some substance.
  const std::string shot = (dir_ / "shot.png").string();
  const ProcessResult screenshot =
      chromium({"--screenshot=" + shot, "--window-size=1000,700", "file://" + page});
  ASSERT_EQ(screenshot.exit_status, 0) << screenshot.err;
  ASSERT_TRUE(fs::exists(shot));
  std::ifstream png(shot, std::ios::binary);
  char magic[8] = {};
  png.read(magic, sizeof magic);
  EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  EXPECT_GT(fs::file_size(shot), 10'000u) << "a blank page compresses to far less";
}

}  // namespace
