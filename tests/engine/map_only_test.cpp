#include "tally/engine/map_only.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::RecordSink;
using tally::Status;
using tally::StatusCode;

// Keeps the lines that contain a digit, tagged with their input and offset, and sleeps a
// little on some records so that splits finish out of order.
struct GrepDigits {
  void map(Record rec, RecordSink& out) const {
    if (rec.bytes.find_first_of("0123456789") == std::string_view::npos) return;
    if (rec.offset % 7 == 0) std::this_thread::sleep_for(std::chrono::microseconds(20));
    out.emit(std::to_string(rec.input) + ":" + std::to_string(rec.offset) + ":" +
             std::string(rec.bytes));
  }
};

std::vector<std::pair<std::string, std::string>> make_inputs(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::pair<std::string, std::string>> inputs;
  for (int f = 0; f < 5; ++f) {
    std::string text;
    const int lines = static_cast<int>(rng() % 3000);
    for (int l = 0; l < lines; ++l) {
      text += (rng() % 3 == 0) ? "line " + std::to_string(rng() % 1000) : "no digits here";
      text += '\n';
    }
    if (f == 2) text += "last line 42 without newline";
    inputs.emplace_back("in" + std::to_string(f), text);
  }
  return inputs;
}

// The sequential oracle: the same filter over the same records, in input order.
std::vector<std::string> oracle(const std::vector<std::pair<std::string, std::string>>& inputs) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string& text = inputs[i].second;
    std::size_t pos = 0;
    while (pos < text.size()) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      const std::string line = text.substr(pos, nl - pos);
      if (line.find_first_of("0123456789") != std::string::npos) {
        out.push_back(std::to_string(i) + ":" + std::to_string(pos) + ":" + line);
      }
      pos = nl + 1;
    }
  }
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

using Param = std::tuple<std::size_t, std::uint64_t, std::size_t>;  // threads, split, pending

class MapOnlySweep : public ::testing::TestWithParam<Param> {};

// Oracle: ordered output equals the sequential filter exactly, line for line, in input
// order, whatever the thread count, split size and window; the sink is never called
// concurrently.
TEST_P(MapOnlySweep, OrderedOutputIsInInputOrder) {
  const auto [threads, split, pending] = GetParam();
  Engine engine({.threads = threads});
  const auto inputs_text = make_inputs(threads * 1000 + split);
  Inputs inputs = Inputs::buffers(inputs_text);
  std::string output;
  std::atomic<int> in_sink{0};
  std::atomic<bool> overlapped{false};
  auto report =
      tally::run_map_only(engine, GrepDigits{}, inputs,
                          [&](std::string_view chunk) {
                            if (in_sink.fetch_add(1) != 0) overlapped = true;
                            output.append(chunk);
                            in_sink.fetch_sub(1);
                            return Status::Ok();
                          },
                          {.ordered = true, .max_pending = pending, .split_bytes = split});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(lines_of(output), oracle(inputs_text));
  EXPECT_FALSE(overlapped.load());
}

// Oracle: unordered output holds exactly the same lines (as a multiset).
TEST_P(MapOnlySweep, UnorderedOutputHasTheSameLines) {
  const auto [threads, split, pending] = GetParam();
  Engine engine({.threads = threads});
  const auto inputs_text = make_inputs(threads * 1000 + split + 1);
  Inputs inputs = Inputs::buffers(inputs_text);
  std::string output;
  auto report =
      tally::run_map_only(engine, GrepDigits{}, inputs,
                          [&](std::string_view chunk) {
                            output.append(chunk);
                            return Status::Ok();
                          },
                          {.ordered = false, .max_pending = pending, .split_bytes = split});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  auto got = lines_of(output);
  auto want = oracle(inputs_text);
  std::sort(got.begin(), got.end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(Sweep, MapOnlySweep,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::Values(64, 4096, 0),
                                            ::testing::Values(1, 3, 0)));

// Oracle: a sink error stops the run and comes back from run_map_only.
TEST(MapOnly, SinkErrorStopsTheRun) {
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::buffers(make_inputs(9));
  int calls = 0;
  auto report = tally::run_map_only(
      engine, GrepDigits{}, inputs,
      [&](std::string_view) { return ++calls == 3 ? Status::IoError("disk full") : Status::Ok(); },
      {.split_bytes = 256});
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().code(), StatusCode::kIoError);
  EXPECT_EQ(calls, 3);
}

}  // namespace
