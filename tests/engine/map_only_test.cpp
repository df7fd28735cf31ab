#include "tally/engine/map_only.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "tests/support/scratch_dir.hpp"

namespace {

using tally::Engine;
using tally::Inputs;
using tally::Record;
using tally::RecordSink;
using tally::RecordSpan;
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

using NamedTexts = std::vector<std::pair<std::string, std::string>>;

// GrepDigits over spans: cuts each span into lines itself and tags each kept line with its
// input, offset and line number. It checks what the engine promises of every span (whole
// records, never empty, the right first number, or 0 when not numbered) and throws if one
// does not hold, which fails the run with that message.
struct GrepDigitsSpans {
  const NamedTexts* texts;
  bool numbered;
  void map(RecordSpan span, RecordSink& out) const {
    const std::string& text = (*texts)[span.input].second;
    const std::uint64_t end = span.offset + span.bytes.size();
    if (span.bytes.empty()) throw std::logic_error("an empty span");
    if (span.bytes != std::string_view(text).substr(span.offset, span.bytes.size())) {
      throw std::logic_error("a span's bytes are not its input's at its offset");
    }
    if (span.offset != 0 && text[span.offset - 1] != '\n') {
      throw std::logic_error("a span starts inside a record");
    }
    if (end != text.size() && text[end - 1] != '\n')
      throw std::logic_error("a span ends inside a record");
    const std::uint64_t line_at_offset =
        1 + static_cast<std::uint64_t>(std::count(text.begin(), text.begin() + span.offset, '\n'));
    if (span.first_number != (numbered ? line_at_offset : 0)) {
      throw std::logic_error("span at offset " + std::to_string(span.offset) +
                             " has first number " + std::to_string(span.first_number));
    }
    std::uint64_t number = line_at_offset;
    for (std::size_t pos = 0; pos < span.bytes.size(); ++number) {
      std::size_t nl = span.bytes.find('\n', pos);
      if (nl == std::string_view::npos) nl = span.bytes.size();
      const std::string_view line = span.bytes.substr(pos, nl - pos);
      if (line.find_first_of("0123456789") != std::string_view::npos) {
        out.write(std::to_string(span.input) + ":" + std::to_string(span.offset + pos) + ":" +
                  std::to_string(number) + ":");
        out.emit(line);
      }
      pos = nl + 1;
    }
  }
};

// The sequential oracle for GrepDigitsSpans: oracle()'s lines with the line number added.
std::vector<std::string> numbered_oracle(const NamedTexts& inputs) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string& text = inputs[i].second;
    std::uint64_t number = 1;
    for (std::size_t pos = 0; pos < text.size(); ++number) {
      std::size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      const std::string line = text.substr(pos, nl - pos);
      if (line.find_first_of("0123456789") != std::string::npos) {
        out.push_back(std::to_string(i) + ":" + std::to_string(pos) + ":" + std::to_string(number) +
                      ":" + line);
      }
      pos = nl + 1;
    }
  }
  return out;
}

std::uint64_t total_lines(const NamedTexts& inputs) {
  std::uint64_t lines = 0;
  for (const auto& [name, text] : inputs) {
    lines += static_cast<std::uint64_t>(std::count(text.begin(), text.end(), '\n'));
    if (!text.empty() && text.back() != '\n') ++lines;
  }
  return lines;
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

// Oracle: a job that maps spans sees whole records with their numbers (GrepDigitsSpans checks
// each span), its ordered output equals the sequential filter exactly, and the report counts
// every line of every input.
TEST_P(MapOnlySweep, SpansAreWholeNumberedRecordsInOrder) {
  const auto [threads, split, pending] = GetParam();
  Engine engine({.threads = threads});
  const auto inputs_text = make_inputs(threads * 1000 + split + 2);
  Inputs inputs = Inputs::buffers(inputs_text);
  std::string output;
  auto report = tally::run_map_only(engine, GrepDigitsSpans{&inputs_text, true}, inputs,
                                    [&](std::string_view chunk) {
                                      output.append(chunk);
                                      return Status::Ok();
                                    },
                                    {.ordered = true,
                                     .max_pending = pending,
                                     .split_bytes = split,
                                     .records = {.numbered = true}});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(lines_of(output), numbered_oracle(inputs_text));
  EXPECT_EQ(report->records_in, total_lines(inputs_text));
}

// Oracle: without numbering, every span's first_number is 0 (checked by the job), the output
// is the same, and the report counts no records (the engine never saw their boundaries).
TEST_P(MapOnlySweep, UnnumberedSpansHaveNoNumbers) {
  const auto [threads, split, pending] = GetParam();
  Engine engine({.threads = threads});
  const auto inputs_text = make_inputs(threads * 1000 + split + 3);
  Inputs inputs = Inputs::buffers(inputs_text);
  std::string output;
  auto report =
      tally::run_map_only(engine, GrepDigitsSpans{&inputs_text, false}, inputs,
                          [&](std::string_view chunk) {
                            output.append(chunk);
                            return Status::Ok();
                          },
                          {.ordered = true, .max_pending = pending, .split_bytes = split});
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(lines_of(output), numbered_oracle(inputs_text));
  EXPECT_EQ(report->records_in, 0u);
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

// Oracle: an exception thrown by a span's map() fails the run with its message, naming the
// input and the span's byte range.
TEST(MapOnly, SpanExceptionNamesTheInputAndRange) {
  struct ThrowsOnSecondInput {
    void map(RecordSpan span, RecordSink&) const {
      if (span.input == 1) throw std::runtime_error("boom");
    }
  };
  Engine engine({.threads = 2});
  Inputs inputs = Inputs::buffers({{"first", "a\nb\n"}, {"second", "c\nd\n"}});
  auto report = tally::run_map_only(engine, ThrowsOnSecondInput{}, inputs,
                                    [](std::string_view) { return Status::Ok(); });
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.status().message(),
            "input 'second' (the records from byte offset 0 to 4): exception: boom");
}

// Oracle: fixed-size records after a header come as spans of whole records, numbered from
// their offsets; the report counts them even unnumbered.
TEST(MapOnly, FixedSizeRecordSpans) {
  struct RecordNumbers {
    void map(RecordSpan span, RecordSink& out) const {
      for (std::size_t i = 0; i < span.bytes.size(); i += 4) {
        out.emit(std::to_string(span.first_number + i / 4) + "=" +
                 std::string(span.bytes.substr(i, 4)));
      }
    }
  };
  std::string data = "HDR";
  std::vector<std::string> want;
  for (int r = 0; r < 300; ++r) {
    std::string rec = std::to_string(r);
    rec.insert(0, 4 - rec.size(), '0');
    data += rec;
    want.push_back(std::to_string(r + 1) + "=" + rec);
  }
  for (const bool numbered : {true, false}) {
    Engine engine({.threads = 2});
    Inputs inputs = Inputs::buffers({{"records", data}});
    std::string output;
    auto report = tally::run_map_only(
        engine, RecordNumbers{}, inputs,
        [&](std::string_view chunk) {
          output.append(chunk);
          return Status::Ok();
        },
        {.split_bytes = 64,
         .records = {.fixed_bytes = 4, .header_bytes = 3, .numbered = numbered}});
    ASSERT_TRUE(report.ok()) << report.status().to_string();
    EXPECT_EQ(report->records_in, 300u);
    if (numbered) {
      EXPECT_EQ(lines_of(output), want);
    }
  }
}

class MapOnlyFiles : public tally::testing::ScratchDirTest {};

// Oracle: a job that maps spans, ordered or not, over a mapped input truncated after open()
// fails with kIoError naming it: the spans read from the lost pages (zeros, with the SIGBUS
// guard) are not trusted.
TEST_F(MapOnlyFiles, SpansOverATruncatedInputFail) {
  struct CopySpans {
    void map(RecordSpan span, RecordSink& out) const { out.write(span.bytes); }
  };
  tally::install_sigbus_guard();
  std::string text;
  while (text.size() < (std::size_t{2} << 20)) text += "abc def\n";  // mapped: over 1 MiB
  for (const bool ordered : {true, false}) {
    const std::string path = write(ordered ? "ordered.txt" : "unordered.txt", text);
    Engine engine({.threads = 2});
    Inputs inputs = Inputs::paths({path});
    ASSERT_TRUE(inputs.open().ok());
    ASSERT_EQ(::truncate(path.c_str(), 4096), 0);
    auto report = tally::run_map_only(engine, CopySpans{}, inputs,
                                      [](std::string_view) { return Status::Ok(); },
                                      {.ordered = ordered, .split_bytes = 8192});
    ASSERT_FALSE(report.ok()) << "ordered=" << ordered;
    EXPECT_EQ(report.status().code(), StatusCode::kIoError);
    EXPECT_EQ(
        report.status().message(),
        "input '" + path + "' shrank while it was being read (truncated by another process?)");
  }
}

}  // namespace
