#include "tally/engine/input.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "tests/support/sanitized.hpp"

namespace {

namespace fs = std::filesystem;
using tally::Inputs;
using tally::Segment;
using tally::Split;
using tally::SplitOptions;
using tally::SplitPlan;
using tally::Status;
using tally::StatusCode;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

// A fresh directory under the system temp dir, removed (with its content) on destruction.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    path_ = fs::temp_directory_path() /
            ("tally_input_test_" + std::to_string(::getpid()) + "_" +
             std::to_string(counter.fetch_add(1, std::memory_order_relaxed)) + "_" +
             std::to_string(rd() % 1000000));
    fs::create_directories(path_);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string file(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  fs::path path_;
};

void write_file(const std::string& path, std::string_view bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

std::size_t open_fd_count() {
  std::size_t n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

bool is_mapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.size() >= path.size() &&
        line.compare(line.size() - path.size(), path.size(), path) == 0) {
      return true;
    }
  }
  return false;
}

// Records of one input, by the naive definition: a run of bytes ending with the delimiter, or
// the non-empty rest at the end of the input.
std::vector<std::string_view> naive_records(std::string_view data, char delim) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i < data.size(); ++i) {
    if (data[i] == delim) {
      out.push_back(data.substr(start, i + 1 - start));
      start = i + 1;
    }
  }
  if (start < data.size()) out.push_back(data.substr(start));
  return out;
}

// The documented policy computed the slow way: records packed greedily, in input order, into
// splits of at most `target` bytes; a split closes when its next record does not fit; a record
// longer than `target` sits alone; consecutive records of one input within a split merge into
// one segment.
SplitPlan greedy_plan(const Inputs& inputs, std::uint64_t target, char delim) {
  SplitPlan plan;
  Split cur{};
  const auto close = [&] {
    if (cur.bytes == 0) return;
    cur.last = plan.segments.size();
    plan.splits.push_back(cur);
    cur = Split{.first = plan.segments.size(), .last = 0, .bytes = 0};
  };
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string_view data = inputs.data(i);
    for (std::string_view rec : naive_records(data, delim)) {
      const auto begin = static_cast<std::uint64_t>(rec.data() - data.data());
      const std::uint64_t len = rec.size();
      if (cur.bytes > 0 && cur.bytes + len > target) close();
      if (plan.segments.size() > cur.first && plan.segments.back().input == i &&
          plan.segments.back().end == begin) {
        plan.segments.back().end += len;
      } else {
        plan.segments.push_back(Segment{.input = i, .begin = begin, .end = begin + len});
      }
      cur.bytes += len;
    }
  }
  close();
  return plan;
}

// ---------------------------------------------------------------------------------------------
// plan_splits: a property sweep over generated inputs x target sizes
// ---------------------------------------------------------------------------------------------

using NamedBytes = std::vector<std::pair<std::string, std::string>>;

struct Scenario {
  const char* name;
  char delimiter;
  NamedBytes (*make)(std::mt19937_64& rng, char delim);
};

std::string random_record(std::mt19937_64& rng, std::size_t len, char delim) {
  std::string r(len, 'a');
  for (char& c : r) {
    c = static_cast<char>('a' + rng() % 26);
    if (c == delim) c = 'z';
  }
  return r;
}

// Records of random length (0 to ~2000 bytes, most short), each followed by the delimiter; the
// last one loses its delimiter with probability 1/2.
std::string random_lines(std::mt19937_64& rng, std::size_t records, char delim) {
  std::string out;
  for (std::size_t r = 0; r < records; ++r) {
    const std::uint64_t kind = rng() % 10;
    const std::size_t len = kind < 6 ? rng() % 11 : kind < 9 ? 10 + rng() % 90 : 100 + rng() % 1900;
    out += random_record(rng, len, delim);
    out += delim;
  }
  if (!out.empty() && rng() % 2 == 0) out.pop_back();
  return out;
}

NamedBytes make_mixed(std::mt19937_64& rng, char delim) {
  NamedBytes in;
  const std::size_t n = 1 + rng() % 5;
  for (std::size_t i = 0; i < n; ++i) {
    in.emplace_back("mixed" + std::to_string(i), random_lines(rng, rng() % 200, delim));
  }
  return in;
}

NamedBytes make_empty_lines(std::mt19937_64& rng, char delim) {
  return {{"blank", std::string(1 + rng() % 300, delim)},
          {"blank_and_text", std::string(rng() % 5, delim) + "x" + std::string(rng() % 5, delim)}};
}

NamedBytes make_no_trailing_delimiter(std::mt19937_64& rng, char delim) {
  std::string s = random_lines(rng, 1 + rng() % 100, delim);
  if (!s.empty() && s.back() == delim) s.pop_back();
  s += "tail";
  return {{"no_trailing", s}, {"no_delimiter_at_all", random_record(rng, rng() % 500, delim)}};
}

NamedBytes make_huge_record(std::mt19937_64& rng, char delim) {
  std::string s = random_lines(rng, 20, delim);
  if (!s.empty() && s.back() != delim) s += delim;
  s += random_record(rng, 100'000 + rng() % 1000, delim);
  s += delim;
  s += random_lines(rng, 20, delim);
  return {{"small", random_lines(rng, 3, delim)},
          {"huge_inside", s},
          {"huge_alone_unterminated", random_record(rng, 50'000, delim)}};
}

NamedBytes make_many_tiny(std::mt19937_64& rng, char delim) {
  NamedBytes in;
  const std::string alphabet = std::string("ab") + delim;
  for (std::size_t i = 0; i < 300; ++i) {
    std::string s;
    for (std::size_t k = rng() % 7; k > 0; --k) s += alphabet[rng() % alphabet.size()];
    in.emplace_back("tiny" + std::to_string(i), s);
  }
  return in;
}

NamedBytes make_with_empty_inputs(std::mt19937_64& rng, char delim) {
  NamedBytes in;
  const std::size_t n = rng() % 8;  // 0 to 7 inputs, about half of them empty
  for (std::size_t i = 0; i < n; ++i) {
    in.emplace_back("e" + std::to_string(i),
                    rng() % 2 == 0 ? std::string() : random_lines(rng, rng() % 20, delim));
  }
  in.emplace_back("last_empty", std::string());
  return in;
}

const Scenario kScenarios[] = {
    {"Mixed", '\n', &make_mixed},
    {"EmptyLines", '\n', &make_empty_lines},
    {"NoTrailingDelimiter", '\n', &make_no_trailing_delimiter},
    {"HugeRecord", '\n', &make_huge_record},
    {"ManyTinyInputs", '\n', &make_many_tiny},
    {"EmptyInputs", '\n', &make_with_empty_inputs},
    {"NulDelimiter", '\0', &make_mixed},
    {"SemicolonDelimiter", ';', &make_huge_record},
};

constexpr std::uint64_t kHuge = std::numeric_limits<std::uint64_t>::max();

class SplitPlanSweep : public ::testing::TestWithParam<std::tuple<Scenario, std::uint64_t>> {};

// Oracle, for every generated input set and target T (d = the delimiter):
//  1. Tiling: the segments of input i, in plan order, are non-empty, start at 0, each begins
//     where the previous ended, the last ends at data(i).size(); so concatenated they are
//     data(i). Empty inputs have no segment. Segments appear in input order.
//  2. Alignment: every segment begin is 0 or follows a d; every end is the input's end or
//     follows a d. (So each record lies in the segment that holds its first byte.)
//  3. Partition: splits are non-empty, split 0 starts at segment 0, split k+1 starts where
//     split k ends, the last ends at segments.size(), and split.bytes is the sum of its
//     segments' lengths.
//  4. Bounds: split.bytes <= T, unless the split is one segment holding exactly one record
//     (no d before its last byte) longer than T.
//  5. Fullness: each split but the last was closed only because its successor's first record
//     did not fit: bytes(k) + length(first record of split k+1) > T.
//  6. Records: the multiset of (input, record) pairs cut from the segments equals the one the
//     naive splitter cuts from the whole inputs.
//  7. The plan equals the greedy packing computed record by record (greedy_plan), and planning
//     twice gives the same plan.
TEST_P(SplitPlanSweep, InvariantsHold) {
  const auto& [scenario, target] = GetParam();
  const char d = scenario.delimiter;
  for (std::uint64_t seed = 1; seed <= 8; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 rng(seed);
    Inputs inputs = Inputs::buffers(scenario.make(rng, d));
    ASSERT_TRUE(inputs.open().ok());
    const SplitPlan plan =
        tally::plan_splits(inputs, {.target_bytes = target, .records = {.delimiter = d}});

    // 1 and 2.
    std::vector<std::string> rebuilt(inputs.size());
    std::vector<std::uint64_t> next_begin(inputs.size(), 0);
    std::size_t prev_input = 0;
    for (const Segment& seg : plan.segments) {
      ASSERT_LT(seg.input, inputs.size());
      ASSERT_GE(seg.input, prev_input) << "segments out of input order";
      prev_input = seg.input;
      const std::string_view data = inputs.data(seg.input);
      ASSERT_LT(seg.begin, seg.end) << "empty segment";
      ASSERT_LE(seg.end, data.size());
      ASSERT_EQ(seg.begin, next_begin[seg.input]) << "gap or overlap in input " << seg.input;
      next_begin[seg.input] = seg.end;
      EXPECT_TRUE(seg.begin == 0 || data[seg.begin - 1] == d) << "segment starts mid-record";
      EXPECT_TRUE(seg.end == data.size() || data[seg.end - 1] == d) << "segment ends mid-record";
      rebuilt[seg.input] += data.substr(seg.begin, seg.end - seg.begin);
    }
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      EXPECT_EQ(rebuilt[i], inputs.data(i)) << "input " << i << " not tiled";
    }

    // 3, 4 and 5.
    std::size_t expected_first = 0;
    for (std::size_t k = 0; k < plan.splits.size(); ++k) {
      const Split& split = plan.splits[k];
      ASSERT_EQ(split.first, expected_first);
      ASSERT_LT(split.first, split.last) << "empty split " << k;
      ASSERT_LE(split.last, plan.segments.size());
      expected_first = split.last;
      std::uint64_t bytes = 0;
      for (const Segment& seg : plan.segments_of(split)) bytes += seg.end - seg.begin;
      EXPECT_EQ(split.bytes, bytes);
      if (split.bytes > target) {
        ASSERT_EQ(split.last - split.first, 1u) << "oversized split " << k << " of many segments";
        const Segment& seg = plan.segments[split.first];
        const std::string_view rec =
            inputs.data(seg.input).substr(seg.begin, seg.end - seg.begin - 1);
        EXPECT_EQ(rec.find(d), std::string_view::npos)
            << "oversized split " << k << " holds more than one record";
      }
      if (k + 1 < plan.splits.size()) {
        const Segment& next = plan.segments[plan.splits[k + 1].first];
        const std::string_view rest =
            inputs.data(next.input).substr(next.begin, next.end - next.begin);
        const std::uint64_t first_record = naive_records(rest, d).front().size();
        EXPECT_GT(split.bytes + first_record, target) << "split " << k << " closed too early";
      }
    }
    EXPECT_EQ(expected_first, plan.segments.size()) << "segments not covered by splits";

    // 6.
    std::vector<std::pair<std::size_t, std::string_view>> want, got;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      for (std::string_view r : naive_records(inputs.data(i), d)) want.emplace_back(i, r);
    }
    for (const Segment& seg : plan.segments) {
      const std::string_view bytes = inputs.data(seg.input).substr(seg.begin, seg.end - seg.begin);
      for (std::string_view r : naive_records(bytes, d)) got.emplace_back(seg.input, r);
    }
    std::sort(want.begin(), want.end());
    std::sort(got.begin(), got.end());
    EXPECT_TRUE(want == got) << "records differ from the naive splitter's";

    // 7.
    const SplitPlan greedy = greedy_plan(inputs, target, d);
    ASSERT_EQ(plan.segments.size(), greedy.segments.size());
    for (std::size_t s = 0; s < plan.segments.size(); ++s) {
      EXPECT_EQ(plan.segments[s].input, greedy.segments[s].input) << "segment " << s;
      EXPECT_EQ(plan.segments[s].begin, greedy.segments[s].begin) << "segment " << s;
      EXPECT_EQ(plan.segments[s].end, greedy.segments[s].end) << "segment " << s;
    }
    ASSERT_EQ(plan.splits.size(), greedy.splits.size());
    for (std::size_t k = 0; k < plan.splits.size(); ++k) {
      EXPECT_EQ(plan.splits[k].first, greedy.splits[k].first) << "split " << k;
      EXPECT_EQ(plan.splits[k].last, greedy.splits[k].last) << "split " << k;
      EXPECT_EQ(plan.splits[k].bytes, greedy.splits[k].bytes) << "split " << k;
    }
    const SplitPlan again =
        tally::plan_splits(inputs, {.target_bytes = target, .records = {.delimiter = d}});
    ASSERT_EQ(again.segments.size(), plan.segments.size());
    ASSERT_EQ(again.splits.size(), plan.splits.size());
    for (std::size_t k = 0; k < plan.splits.size(); ++k) {
      EXPECT_EQ(again.splits[k].last, plan.splits[k].last);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Generated, SplitPlanSweep,
                         ::testing::Combine(::testing::ValuesIn(kScenarios),
                                            ::testing::Values(std::uint64_t{1}, std::uint64_t{7},
                                                              std::uint64_t{64},
                                                              std::uint64_t{4096}, kHuge)),
                         [](const ::testing::TestParamInfo<SplitPlanSweep::ParamType>& p) {
                           const std::uint64_t target = std::get<1>(p.param);
                           return std::string(std::get<0>(p.param).name) + "_Target" +
                                  (target == kHuge ? std::string("Huge") : std::to_string(target));
                         });

// Oracle (worked by hand): with target 8, "aaa\nbbb\nccc\n" (12 bytes) is cut after "bbb\n"
// (8 bytes exactly), then "ccc\n" and the next input's "dd\n" share a split; the 20-byte
// record "eeee...\n" is longer than 8 and gets a split of its own; "f" follows alone.
TEST(SplitPlanTest, HandWorkedExample) {
  Inputs inputs = Inputs::buffers(
      {{"a", "aaa\nbbb\nccc\n"}, {"empty", ""}, {"b", "dd\n"}, {"c", "eeeeeeeeeeeeeeeeeee\nf"}});
  ASSERT_TRUE(inputs.open().ok());
  const SplitPlan plan = tally::plan_splits(inputs, {.target_bytes = 8});
  ASSERT_EQ(plan.segments.size(), 5u);
  const std::vector<std::tuple<std::size_t, std::uint64_t, std::uint64_t>> segs = {
      {0, 0, 8}, {0, 8, 12}, {2, 0, 3}, {3, 0, 20}, {3, 20, 21}};
  for (std::size_t s = 0; s < segs.size(); ++s) {
    EXPECT_EQ(plan.segments[s].input, std::get<0>(segs[s])) << s;
    EXPECT_EQ(plan.segments[s].begin, std::get<1>(segs[s])) << s;
    EXPECT_EQ(plan.segments[s].end, std::get<2>(segs[s])) << s;
  }
  ASSERT_EQ(plan.splits.size(), 4u);
  EXPECT_EQ(plan.splits[0].bytes, 8u);
  EXPECT_EQ(plan.splits[1].bytes, 7u);
  EXPECT_EQ(plan.splits[1].last - plan.splits[1].first, 2u);
  EXPECT_EQ(plan.splits[2].bytes, 20u);
  EXPECT_EQ(plan.splits[3].bytes, 1u);
}

// Oracle: a 64 MiB input of 100-byte lines with a 1 MiB target is cut into 64 or 65 splits,
// each within one line of the target; zero target behaves as 1 (every record alone).
TEST(SplitPlanTest, BigInputIsCutIntoManySplits) {
  std::string big;
  const std::string line = std::string(99, 'x') + "\n";
  while (big.size() < (64u << 20)) big += line;
  Inputs inputs = Inputs::buffers({{"big", std::move(big)}});
  ASSERT_TRUE(inputs.open().ok());
  const SplitPlan plan = tally::plan_splits(inputs, {.target_bytes = 1u << 20});
  EXPECT_GE(plan.splits.size(), 64u);
  EXPECT_LE(plan.splits.size(), 65u);
  for (std::size_t k = 0; k + 1 < plan.splits.size(); ++k) {
    EXPECT_LE(plan.splits[k].bytes, 1u << 20);
    EXPECT_GT(plan.splits[k].bytes + line.size(), 1u << 20);
  }
  Inputs small = Inputs::buffers({{"s", "a\nbb\n"}});
  ASSERT_TRUE(small.open().ok());
  EXPECT_EQ(tally::plan_splits(small, {.target_bytes = 0}).splits.size(), 2u);
}

// A mapped file is planned through read_at, in windows (split_plan.cpp): the plan must be the
// one the same bytes give as a buffer, searched through data(). Records up to 40 KB cross the
// windows' edges; the targets range from every record alone to whole megabytes.
TEST(SplitPlanTest, PlanOfAFileEqualsPlanOfTheSameBytes) {
  TempDir dir;
  std::mt19937_64 rng(17);
  for (const bool last_newline : {true, false}) {
    std::string bytes;
    while (bytes.size() < (3u << 20)) {
      const std::uint64_t kind = rng() % 100;
      const std::size_t len = kind < 90 ? rng() % 80 : kind < 99 ? rng() % 3000 : rng() % 40000;
      bytes += std::string(len, static_cast<char>('a' + rng() % 26));
      bytes += '\n';
    }
    if (!last_newline) bytes += "tail";
    const std::string path = dir.file(last_newline ? "lines.txt" : "tail.txt");
    write_file(path, bytes);
    Inputs file = Inputs::paths({path});
    ASSERT_TRUE(file.open().ok());
    ASSERT_TRUE(file.readable_at(0)) << "the file must be planned through read_at";
    Inputs buffer = Inputs::buffers({{"b", bytes}});
    ASSERT_TRUE(buffer.open().ok());
    for (const std::uint64_t target : {1ull, 100ull, 5000ull, 20000ull, 70000ull, 1ull << 20}) {
      SCOPED_TRACE("target " + std::to_string(target) + (last_newline ? "" : ", no last newline"));
      const SplitPlan want = tally::plan_splits(buffer, {.target_bytes = target});
      const SplitPlan got = tally::plan_splits(file, {.target_bytes = target});
      ASSERT_EQ(got.segments.size(), want.segments.size());
      for (std::size_t k = 0; k < want.segments.size(); ++k) {
        ASSERT_EQ(got.segments[k].begin, want.segments[k].begin) << "segment " << k;
        ASSERT_EQ(got.segments[k].end, want.segments[k].end) << "segment " << k;
      }
      ASSERT_EQ(got.splits.size(), want.splits.size());
      for (std::size_t k = 0; k < want.splits.size(); ++k) {
        ASSERT_EQ(got.splits[k].last, want.splits[k].last) << "split " << k;
        ASSERT_EQ(got.splits[k].bytes, want.splits[k].bytes) << "split " << k;
      }
    }
  }
}

// The resident size of the mapping that holds `address`, from /proc/self/smaps; -1 if none
// holds it.
long resident_kib_of_mapping(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto at = reinterpret_cast<std::uintptr_t>(address);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    std::uintptr_t begin = 0;
    std::uintptr_t end = 0;
    if (std::sscanf(line.c_str(), "%lx-%lx ", &begin, &end) == 2 && line.find(' ') > 8) {
      inside = begin <= at && at < end;
      continue;
    }
    long kib = 0;
    if (inside && std::sscanf(line.c_str(), "Rss: %ld kB", &kib) == 1) return kib;
  }
  return -1;
}

// Planning a mapped file reads its bytes with read_at and leaves its mapping untouched, so
// none of the input's pages count towards the process's resident memory (a touched byte of a
// large page-cache folio would map the whole folio).
TEST(SplitPlanTest, PlanningAFileLeavesItsMappingUntouched) {
  TempDir dir;
  std::string bytes;
  for (std::size_t i = 0; bytes.size() < (8u << 20); ++i)
    bytes += "line " + std::to_string(i) + "\n";
  const std::string path = dir.file("lines.txt");
  write_file(path, bytes);
  Inputs inputs = Inputs::paths({path});
  ASSERT_TRUE(inputs.open().ok());
  ASSERT_TRUE(inputs.readable_at(0));
  const SplitPlan plan = tally::plan_splits(inputs, {.target_bytes = 64u << 10});
  ASSERT_GE(plan.splits.size(), 128u);
  EXPECT_EQ(resident_kib_of_mapping(inputs.data(0).data()), 0);
  // The check can fail: reading the mapping makes its pages resident.
  volatile char sink = 0;
  for (std::size_t i = 0; i < bytes.size(); i += 4096) sink = sink + inputs.data(0)[i];
  EXPECT_GT(resident_kib_of_mapping(inputs.data(0).data()), 0);
}

// ---------------------------------------------------------------------------------------------
// Inputs: buffers and files
// ---------------------------------------------------------------------------------------------

// Oracle: buffers are exposed unchanged, in order, under their names; total_bytes sums them.
TEST(InputBuffersTest, NamesAndBytesAsGiven) {
  Inputs inputs = Inputs::buffers({{"one", "a\nb"}, {"two", ""}, {"three", "xyz\n"}});
  ASSERT_TRUE(inputs.open().ok());
  ASSERT_EQ(inputs.size(), 3u);
  EXPECT_EQ(inputs.name(0), "one");
  EXPECT_EQ(inputs.data(0), "a\nb");
  EXPECT_EQ(inputs.name(1), "two");
  EXPECT_EQ(inputs.data(1), "");
  EXPECT_EQ(inputs.data(2), "xyz\n");
  EXPECT_EQ(inputs.total_bytes(), 7u);
  Inputs moved = std::move(inputs);  // the bytes live in Impl: views survive a move
  EXPECT_EQ(moved.data(2), "xyz\n");
}

// Oracle: a regular file's bytes come back exactly, through a mapping (the path shows in
// /proc/self/maps while open, and no longer once the Inputs is gone).
TEST(InputFileTest, RegularFileIsMapped) {
  TempDir dir;
  const std::string path = dir.file("a.txt");
  std::string content;
  // 1 MiB or more: smaller files are read (see SmallFilesAreReadNotMapped).
  for (int i = 0; content.size() < (1u << 20); ++i) content += "line " + std::to_string(i) + "\n";
  write_file(path, content);
  {
    Inputs inputs = Inputs::paths({path});
    ASSERT_TRUE(inputs.open().ok());
    ASSERT_EQ(inputs.size(), 1u);
    EXPECT_EQ(inputs.name(0), path);
    EXPECT_EQ(inputs.data(0), content);
    EXPECT_EQ(inputs.total_bytes(), content.size());
    EXPECT_TRUE(is_mapped(path));
    // Opening again starts over and gives the same result.
    ASSERT_TRUE(inputs.open().ok());
    ASSERT_EQ(inputs.size(), 1u);
    EXPECT_EQ(inputs.data(0), content);
  }
  EXPECT_FALSE(is_mapped(path));
}

// Oracle: more files than the process may have mappings (vm.max_map_count, 65,530 by
// default) open: small files are read, not mapped, so every one's bytes arrive.
TEST(InputFileTest, SmallFilesAreReadNotMapped) {
  TempDir dir;
  constexpr int kFiles = 70000;
  for (int i = 0; i < kFiles; ++i) {
    const std::string path = dir.file("f" + std::to_string(i));
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    const std::string line = "w" + std::to_string(i) + "\n";
    ASSERT_EQ(::write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
    ::close(fd);
  }
  Inputs inputs = Inputs::paths({dir.path().string()});
  const Status s = inputs.open();
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(inputs.size(), static_cast<std::size_t>(kFiles));
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string name = fs::path(inputs.name(i)).filename().string();
    ASSERT_EQ(inputs.data(i), "w" + name.substr(1) + "\n");
    bytes += inputs.data(i).size();
  }
  EXPECT_EQ(inputs.total_bytes(), bytes);
  EXPECT_FALSE(is_mapped(inputs.name(0)));
}

// Oracle: stdin redirected from a file of 1 MiB or more (`tally - < file`) is mapped, from
// where the descriptor's offset stands, not read into memory; read_at reads from that offset
// too (its offsets are data()'s, not the file's).
TEST(InputStreamTest, StdinFromALargeFileIsMappedFromItsOffset) {
  TempDir dir;
  const std::string path = dir.file("stdin.txt");
  const std::string content = "skip\n" + std::string((1u << 20) + 10, 'x') + "\nend\n";
  write_file(path, content);
  const int saved = ::dup(STDIN_FILENO);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::lseek(fd, 5, SEEK_SET), 5);
  ASSERT_EQ(::dup2(fd, STDIN_FILENO), STDIN_FILENO);
  ::close(fd);
  Inputs inputs = Inputs::paths({"-"});
  const Status s = inputs.open();
  const bool mapped = is_mapped(path);
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_TRUE(inputs.data(0) == std::string_view(content).substr(5));
  EXPECT_TRUE(mapped);
  ASSERT_TRUE(inputs.readable_at(0));
  std::string head(3, '\0');
  ASSERT_TRUE(inputs.read_at(0, 0, head).ok());
  EXPECT_EQ(head, "xxx");
  std::string tail(4, '\0');
  ASSERT_TRUE(inputs.read_at(0, inputs.data(0).size() - 4, tail).ok());
  EXPECT_EQ(tail, "end\n");
}

// Oracle: a stream that does not fit the cap on read inputs fails open() with
// kResourceExhausted naming it; an endless device is such a stream.
TEST(InputStreamTest, CapOnHeldBytesEndsAnEndlessRead) {
  Inputs inputs = Inputs::paths({"/dev/zero"});
  const Status s = inputs.open({.max_held_bytes = std::uint64_t{3} << 20});
  EXPECT_EQ(s.code(), StatusCode::kResourceExhausted) << s.to_string();
  EXPECT_NE(s.message().find("'/dev/zero'"), std::string::npos) << s.message();
  EXPECT_FALSE(inputs.is_open());
}

// Oracle: a FIFO with no writer does not hold open() past its deadline or a stop request
// (opening it for reading would wait for a writer forever).
TEST(InputStreamTest, DeadlineAndStopReachAFifoWithNoWriter) {
  TempDir dir;
  const std::string fifo = dir.file("nobody.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  Inputs late = Inputs::paths({fifo});
  const Status s =
      late.open({.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50)});
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded) << s.to_string();
  EXPECT_NE(s.message().find(fifo), std::string::npos) << s.message();

  std::stop_source stop;
  std::atomic<bool> opening{false};
  std::thread stopper([&] {
    while (!opening.load(std::memory_order_acquire)) std::this_thread::yield();
    stop.request_stop();
  });
  Inputs stopped = Inputs::paths({fifo});
  opening.store(true, std::memory_order_release);
  EXPECT_EQ(stopped.open({.stop = stop.get_token()}).code(), StatusCode::kCancelled);
  stopper.join();
}

// Oracle: a FIFO's bytes arrive whole, however its writer paces them, and its end is the
// writer closing it (the FIFO is opened without blocking, so the reader must not take "no
// writer yet" for the end).
TEST(InputStreamTest, FifoIsReadToItsWritersEnd) {
  TempDir dir;
  const std::string fifo = dir.file("paced.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string expected;
  for (int i = 0; i < 20000; ++i) expected += "line " + std::to_string(i) + "\n";
  std::thread writer([&] {
    const int fd = ::open(fifo.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    for (std::size_t at = 0; at < expected.size(); at += 1000) {
      const std::size_t n = std::min<std::size_t>(1000, expected.size() - at);
      if (::write(fd, expected.data() + at, n) != static_cast<ssize_t>(n)) break;
    }
    ::close(fd);
  });
  Inputs inputs = Inputs::paths({fifo});
  const Status s = inputs.open();
  writer.join();
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_TRUE(inputs.data(0) == expected);
}

// Oracle: open() failing with a transient error (EMFILE: no descriptor left) is retried with
// backoff (retry.hpp) and counted; when it does not clear, the error names the file.
TEST(InputFileTest, TransientOpenFailureIsRetriedThenReported) {
#ifdef TALLY_TEST_SANITIZED
  GTEST_SKIP() << "a sanitizer's runtime needs descriptors of its own (UBSan reads its maps)";
#endif
  TempDir dir;
  const std::string path = dir.file("a.txt");
  write_file(path, "a\n");
  rlimit old{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &old), 0);
  // Descriptors are numbered from the lowest free one: a limit at that number leaves none.
  const int lowest_free = ::dup(0);
  ASSERT_GE(lowest_free, 0);
  ::close(lowest_free);
  const rlimit none{.rlim_cur = static_cast<rlim_t>(lowest_free), .rlim_max = old.rlim_max};
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &none), 0);
  Inputs inputs = Inputs::paths({path});
  const Status s = inputs.open();
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &old), 0);
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.to_string();
  EXPECT_EQ(s.message(), "cannot open '" + path + "': Too many open files");
  EXPECT_EQ(inputs.transient_retries(), 4U);
}

// Oracle: an empty file opens fine, reads as empty, and yields no segment and no split.
TEST(InputFileTest, EmptyFileGivesEmptyInput) {
  TempDir dir;
  const std::string path = dir.file("empty.txt");
  write_file(path, "");
  Inputs inputs = Inputs::paths({path, path});
  ASSERT_TRUE(inputs.open().ok());
  ASSERT_EQ(inputs.size(), 2u);
  EXPECT_EQ(inputs.data(0), "");
  EXPECT_EQ(inputs.total_bytes(), 0u);
  const SplitPlan plan = tally::plan_splits(inputs);
  EXPECT_TRUE(plan.segments.empty());
  EXPECT_TRUE(plan.splits.empty());
}

// Oracle: a directory expands to every regular file below it (nested dirs too) and every
// symlink to a regular file, in bytewise path order whatever the creation order; symlinks to
// directories, broken symlinks and FIFOs are skipped; arguments keep their order.
TEST(InputFileTest, DirectoryWalkedRecursivelyInBytewiseOrder) {
  TempDir dir;
  const std::string root = dir.file("corpus");
  write_file(dir.file("outside.txt"), "outside\n");
  write_file(root + "/b.txt", "b\n");
  write_file(root + "/sub/deeper/d.txt", "d\n");
  write_file(root + "/a.txt", "a\n");
  write_file(root + "/B.txt", "B\n");  // 'B' (0x42) sorts before 'a' (0x61)
  write_file(root + "/sub/c.txt", "c\n");
  write_file(root + "/a.b", "ab\n");  // "a.b" < "a.txt"; "sub.txt" < "sub/..." ('.' < '/')
  write_file(root + "/sub.txt", "subtxt\n");
  fs::create_directory_symlink(root + "/sub", root + "/zlink_dir");
  fs::create_symlink(dir.file("outside.txt"), root + "/link.txt");
  fs::create_symlink(dir.file("nowhere"), root + "/broken");
  ASSERT_EQ(::mkfifo((root + "/fifo").c_str(), 0600), 0);
  write_file(dir.file("after.txt"), "after\n");

  Inputs inputs = Inputs::paths({root + "/", dir.file("after.txt")});
  const Status s = inputs.open();
  ASSERT_TRUE(s.ok()) << s.to_string();
  const std::vector<std::string> want = {
      root + "/B.txt",      root + "/a.b",     root + "/a.txt",     root + "/b.txt",
      root + "/link.txt",   root + "/sub.txt", root + "/sub/c.txt", root + "/sub/deeper/d.txt",
      dir.file("after.txt")};
  std::vector<std::string> got;
  for (std::size_t i = 0; i < inputs.size(); ++i) got.push_back(inputs.name(i));
  EXPECT_EQ(got, want);
  ASSERT_EQ(inputs.size(), want.size());
  EXPECT_EQ(inputs.data(4), "outside\n");
  EXPECT_EQ(inputs.data(7), "d\n");
}

// Oracle: a FIFO is read to its end: all 1 MiB a writer thread sends (far more than the pipe
// buffer) arrives in order.
TEST(InputFileTest, FifoIsReadToTheEnd) {
  TempDir dir;
  const std::string path = dir.file("fifo");
  ASSERT_EQ(::mkfifo(path.c_str(), 0600), 0);
  std::string content;
  for (int i = 0; content.size() < (1u << 20); ++i) content += std::to_string(i) + "\n";

  std::thread writer([&] {
    // A writer that can never hang the test: it gives up if no reader shows within 30 s, and
    // gets EPIPE (SIGPIPE blocked in this thread) rather than a signal if the reader leaves.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
    int fd = -1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (fd < 0 && std::chrono::steady_clock::now() < deadline) {
      fd = ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);  // ENXIO until a reader
      if (fd < 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (fd < 0) return;
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    std::size_t off = 0;
    while (off < content.size()) {
      const ssize_t n =
          ::write(fd, content.data() + off, std::min<std::size_t>(4096, content.size() - off));
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(fd);
  });
  Inputs inputs = Inputs::paths({path});
  const Status s = inputs.open();
  writer.join();
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs.name(0), path);
  EXPECT_TRUE(inputs.data(0) == content) << "got " << inputs.data(0).size() << " bytes";
}

// Oracle: "-" reads standard input to its end, and is named "-".
TEST(InputFileTest, DashReadsStdin) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string content = "from\nstdin\n";
  ASSERT_EQ(::write(fds[1], content.data(), content.size()), static_cast<ssize_t>(content.size()));
  ::close(fds[1]);
  const int saved = ::dup(STDIN_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_EQ(::dup2(fds[0], STDIN_FILENO), STDIN_FILENO);
  ::close(fds[0]);
  Inputs inputs = Inputs::paths({"-"});
  const Status s = inputs.open();
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs.name(0), "-");
  EXPECT_EQ(inputs.data(0), content);
}

// Oracle: /dev/null, a character device, is read to its end: it opens fine and is empty.
TEST(InputFileTest, DevNullReadsAsEmpty) {
  struct stat st {};
  ASSERT_EQ(::stat("/dev/null", &st), 0);
  ASSERT_TRUE(S_ISCHR(st.st_mode));
  Inputs inputs = Inputs::paths({"/dev/null"});
  const Status s = inputs.open();
  ASSERT_TRUE(s.ok()) << s.to_string();
  ASSERT_EQ(inputs.size(), 1u);
  EXPECT_EQ(inputs.data(0), "");
}

// Oracle: a missing path is kNotFound with exactly "cannot open '<path>': No such file or
// directory", and leaves no input behind.
TEST(InputFileTest, MissingFileIsNotFound) {
  TempDir dir;
  const std::string path = dir.file("x.txt");
  Inputs inputs = Inputs::paths({path});
  const Status s = inputs.open();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "cannot open '" + path + "': No such file or directory");
  EXPECT_EQ(inputs.size(), 0u);
}

// Oracle: other I/O failures are kIoError naming the path and strerror's reason: a path
// through a regular file ("Not a directory"), and, for a non-root user, a file without read
// permission ("Permission denied") and a directory without it. Root bypasses permission
// checks, so those two checks are skipped when geteuid() == 0 (the rest still runs).
TEST(InputFileTest, UnreadableIsIoError) {
  TempDir dir;
  const std::string file = dir.file("f.txt");
  write_file(file, "x\n");
  {
    Inputs inputs = Inputs::paths({file + "/inside"});
    const Status s = inputs.open();
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_EQ(s.message(), "cannot open '" + file + "/inside': Not a directory");
  }
  const std::string secret = dir.file("secret.txt");
  write_file(secret, "s\n");
  ASSERT_EQ(::chmod(secret.c_str(), 0), 0);
  const std::string closed_dir = dir.file("closed");
  write_file(closed_dir + "/inner.txt", "i\n");
  ASSERT_EQ(::chmod(closed_dir.c_str(), 0), 0);
  if (::geteuid() != 0) {
    Inputs inputs = Inputs::paths({secret});
    Status s = inputs.open();
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_EQ(s.message(), "cannot open '" + secret + "': Permission denied");
    Inputs dir_inputs = Inputs::paths({closed_dir});
    s = dir_inputs.open();
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_EQ(s.message(), "cannot read directory '" + closed_dir + "': Permission denied");
  }
  ::chmod(closed_dir.c_str(), 0700);  // so that TempDir can remove it
}

// Oracle: a UNIX socket is none of the accepted kinds: kInvalidArgument, "'<path>' is not a
// regular file, directory or pipe".
TEST(InputFileTest, SocketIsRejected) {
  TempDir dir;
  const std::string path = dir.file("sock");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof(addr.sun_path));
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  Inputs inputs = Inputs::paths({path});
  const Status s = inputs.open();
  ::close(fd);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "'" + path + "' is not a regular file, directory or pipe");
}

// Oracle: when a later input fails, the earlier ones are released: no descriptor more than
// before, the mapped file no longer in /proc/self/maps, size() 0.
TEST(InputFileTest, FailureLeavesNothingOpen) {
  TempDir dir;
  const std::string good = dir.file("good.txt");
  write_file(good, std::string(100000, 'g'));
  const std::size_t fds_before = open_fd_count();
  Inputs inputs = Inputs::paths({good, dir.path().string(), dir.file("missing.txt")});
  const Status s = inputs.open();
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(inputs.size(), 0u);
  EXPECT_EQ(inputs.total_bytes(), 0u);
  EXPECT_FALSE(is_mapped(good));
  EXPECT_EQ(open_fd_count(), fds_before);
}

// Oracle: more mappings than the SIGBUS guard has slots (4096) still open and read correctly
// (the extra mappings are just not covered by the guard), and every descriptor is closed. One
// path listed many times is mapped once per listing: cheaper than thousands of files.
TEST(InputFileTest, MoreMappingsThanGuardSlots) {
  TempDir dir;
  constexpr std::size_t kMappings = 4200;
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < 3; ++i)
    write_file(dir.file(std::to_string(i)), std::to_string(i) + "\n");
  for (std::size_t i = 0; i < kMappings; ++i) paths.push_back(dir.file(std::to_string(i % 3)));
  const std::size_t fds_before = open_fd_count();
  Inputs inputs = Inputs::paths(paths);
  ASSERT_TRUE(inputs.open().ok());
  EXPECT_EQ(open_fd_count(), fds_before);
  ASSERT_EQ(inputs.size(), kMappings);
  for (std::size_t i = 0; i < kMappings; ++i)
    ASSERT_EQ(inputs.data(i), std::to_string(i % 3) + "\n");
  EXPECT_NE(inputs.data(0).data(), inputs.data(3).data()) << "expected one mapping per listing";
  const SplitPlan plan = tally::plan_splits(inputs, {.target_bytes = 1u << 20});
  EXPECT_EQ(plan.splits.size(), 1u);  // all batched together
  EXPECT_EQ(plan.segments.size(), kMappings);
}

// Oracle: a mapped file can also be read with read_at, which gives data()'s bytes at any
// offset; the descriptor it keeps is closed with the Inputs. Buffers and small (read) files
// are not readable_at.
TEST(InputFileTest, MappedFileIsReadableAtAnyOffset) {
  TempDir dir;
  const std::string path = dir.file("big.txt");
  std::string content;
  for (int i = 0; content.size() < (3u << 19); ++i) content += "row " + std::to_string(i) + "\n";
  write_file(path, content);
  write_file(dir.file("small.txt"), "tiny\n");
  const std::size_t fds_before = open_fd_count();
  {
    Inputs inputs = Inputs::paths({path, dir.file("small.txt")});
    ASSERT_TRUE(inputs.open().ok());
    ASSERT_TRUE(inputs.readable_at(0));
    EXPECT_FALSE(inputs.readable_at(1));
    EXPECT_EQ(open_fd_count(), fds_before + 1);
    for (const std::uint64_t offset :
         {std::uint64_t{0}, std::uint64_t{4095}, std::uint64_t{1} << 20, content.size() - 7}) {
      std::string got(std::min<std::uint64_t>(70000, content.size() - offset), '\0');
      ASSERT_TRUE(inputs.read_at(0, offset, got).ok()) << offset;
      EXPECT_TRUE(got == inputs.data(0).substr(offset, got.size())) << offset;
    }
  }
  EXPECT_EQ(open_fd_count(), fds_before);
  Inputs buffers = Inputs::buffers({{"b", content}});
  ASSERT_TRUE(buffers.open().ok());
  EXPECT_FALSE(buffers.readable_at(0));
}

// Oracle: reading past where a file now ends (it shrank after open) is kIoError naming the
// file, the error check_intact() gives for a shrunken mapping; nothing is read as zeros.
TEST(InputFileTest, ReadAtReportsAFileThatShrank) {
  TempDir dir;
  const std::string path = dir.file("shrinks.txt");
  write_file(path, std::string(2u << 20, 'a'));
  Inputs inputs = Inputs::paths({path});
  ASSERT_TRUE(inputs.open().ok());
  ASSERT_TRUE(inputs.readable_at(0));
  ASSERT_EQ(::truncate(path.c_str(), 1u << 20), 0);
  std::string got(100, '\0');
  const Status s = inputs.read_at(0, (3u << 19), got);
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("'" + path + "' shrank"), std::string::npos) << s.to_string();
  EXPECT_TRUE(inputs.read_at(0, 10, got).ok());  // what is still there reads as before
  EXPECT_EQ(got, std::string(100, 'a'));
}

// Oracle: past the first 64 mapped files, a file keeps no descriptor (a directory of many
// large files must not use up the process's descriptors) and is read through its mapping.
TEST(InputFileTest, OnlyTheFirstMappedFilesKeepADescriptor) {
  TempDir dir;
  const std::string path = dir.file("big.txt");
  write_file(path, std::string((1u << 20) + 1, 'z'));
  std::vector<std::string> paths(70, path);  // mapped once per listing
  const std::size_t fds_before = open_fd_count();
  Inputs inputs = Inputs::paths(paths);
  ASSERT_TRUE(inputs.open().ok());
  std::size_t readable = 0;
  for (std::size_t i = 0; i < inputs.size(); ++i) readable += inputs.readable_at(i) ? 1 : 0;
  EXPECT_EQ(readable, 64u);
  EXPECT_TRUE(inputs.readable_at(0));
  EXPECT_FALSE(inputs.readable_at(69));
  EXPECT_EQ(open_fd_count(), fds_before + 64);
  EXPECT_EQ(inputs.data(69), std::string((1u << 20) + 1, 'z'));
}

}  // namespace
