#include "tools/tally/compare/report_parser.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tally::compare {
namespace {

using nlohmann::json;

int optional_index(const json& run, const char* key) {
  const auto it = run.find(key);
  return it != run.end() && it->is_number_integer() ? it->get<int>() : -1;
}

std::string optional_string(const json& run, const char* key) {
  const auto it = run.find(key);
  return it != run.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Google Benchmark's JSON reporter writes a non-finite double as the bare token NaN, Infinity
// or -Infinity (FormatKV in src/json_reporter.cc), which JSON lacks and nlohmann refuses.
// Outside strings, each becomes a string that the reporter never writes: the token after a
// NUL character (written \u0000). number_of() reads them back as numbers.
constexpr std::array<std::string_view, 3> kNonFiniteTokens = {"NaN", "Infinity", "-Infinity"};
constexpr char kNonFiniteMarker = '\0';

// Where replace_non_finite_tokens put a longer text in place of a token: enough to map a byte
// offset of the new text back to the original one.
struct Replacement {
  std::size_t original_at, original_size;
  std::size_t replaced_at, replaced_size;
};

// The text with every non-finite token outside strings replaced, and where. Anything else,
// including a word that only starts like a token ("NaNa"), is left for the parser to judge.
std::string replace_non_finite_tokens(std::string_view text, std::vector<Replacement>& where) {
  std::string out;
  out.reserve(text.size() + 64);
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];  // an escaped character, '"' included, never ends the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') in_string = true;
    const auto token =
        std::find_if(kNonFiniteTokens.begin(), kNonFiniteTokens.end(),
                     [&](std::string_view t) { return text.substr(i, t.size()) == t; });
    if (token == kNonFiniteTokens.end()) {
      out += c;
      continue;
    }
    const std::string replacement = "\"\\u0000" + std::string(*token) + "\"";
    where.push_back({.original_at = i,
                     .original_size = token->size(),
                     .replaced_at = out.size(),
                     .replaced_size = replacement.size()});
    out += replacement;
    i += token->size() - 1;
  }
  return out;
}

// The offset in the original text of `offset` in the replaced one; within a replacement,
// the token's own offset.
std::size_t original_offset(std::size_t offset, const std::vector<Replacement>& where) {
  std::size_t shift = 0;
  for (const Replacement& r : where) {
    if (offset < r.replaced_at) break;
    if (offset < r.replaced_at + r.replaced_size) return r.original_at;
    shift = (r.replaced_at + r.replaced_size) - (r.original_at + r.original_size);
  }
  return offset - shift;
}

// A JSON number, or one of the tokens replace_non_finite_tokens replaced; else nullopt.
std::optional<double> number_of(const json& value) {
  if (value.is_number()) return value.get<double>();
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  if (text.empty() || text[0] != kNonFiniteMarker) return std::nullopt;
  const std::string_view token = std::string_view(text).substr(1);
  if (token == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (token == "Infinity") return std::numeric_limits<double>::infinity();
  if (token == "-Infinity") return -std::numeric_limits<double>::infinity();
  return std::nullopt;
}

std::optional<double> number_at(const json& object, const char* key) {
  const auto it = object.find(key);
  return it == object.end() ? std::nullopt : number_of(*it);
}

// A complexity fit, written after a family with ->Complexity(): the aggregates "BigO"
// (cpu_coefficient, real_coefficient, big_o) and "RMS" (rms), with no real_time or cpu_time.
// compare.py leaves out every entry without real_time, cpu_time and time_unit, which here
// means these; so does tally. Reports from before run_type existed are known by their fields.
bool is_complexity_fit(const json& entry) {
  const std::string aggregate = optional_string(entry, "aggregate_name");
  if (optional_string(entry, "run_type") == "aggregate" &&
      (aggregate == "BigO" || aggregate == "RMS")) {
    return true;
  }
  return !entry.contains("real_time") && (entry.contains("big_o") || entry.contains("rms"));
}

// Whether `entry` says its run did not measure: error_occurred (SkipWithError) or, from
// Google Benchmark 1.8, skipped (SkipWithMessage). Either must be a boolean.
Result<bool> did_not_run(const json& entry, const std::string& quoted, const std::string& path) {
  for (const char* key : {"error_occurred", "skipped"}) {
    const auto flag = entry.find(key);
    if (flag == entry.end()) continue;
    if (!flag->is_boolean()) {
      return input_problem(path,
                           "benchmark " + quoted + " has a non-boolean '" + std::string(key) + "'");
    }
    if (flag->get<bool>()) return true;
  }
  return false;
}

// The fields Google Benchmark writes for every run; any other number is a counter.
bool is_run_field(const std::string& key) {
  static constexpr std::array<std::string_view, 19> kFields = {"name",
                                                               "family_index",
                                                               "per_family_instance_index",
                                                               "run_name",
                                                               "run_type",
                                                               "repetitions",
                                                               "repetition_index",
                                                               "threads",
                                                               "iterations",
                                                               "real_time",
                                                               "cpu_time",
                                                               "time_unit",
                                                               "aggregate_name",
                                                               "aggregate_unit",
                                                               "label",
                                                               "error_occurred",
                                                               "error_message",
                                                               "skipped",
                                                               "skip_message"};
  for (std::string_view f : kFields) {
    if (key == f) return true;
  }
  return false;
}

Result<BenchmarkReport> parse_google_benchmark(const json& doc, const std::string& path) {
  const json& list = doc.at("benchmarks");
  if (!list.is_array()) return input_problem(path, "'benchmarks' is not a list");
  if (list.empty()) return input_problem(path, "empty benchmark list");

  BenchmarkReport report{.path = path, .runs = {}};
  // The time unit each benchmark's repetitions use: they must agree, since a report with two
  // units for one benchmark cannot say which one its aggregates were computed in.
  std::map<std::string, std::string> unit_of_run_name;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const json& entry = list[i];
    const std::string where = "benchmark #" + std::to_string(i + 1);
    if (!entry.is_object()) return input_problem(path, where + " is not an object");
    const auto name = entry.find("name");
    if (name == entry.end() || !name->is_string()) {
      return input_problem(path, where + " has no 'name'");
    }
    const std::string quoted = "'" + name->get<std::string>() + "'";
    const Result<bool> skip = did_not_run(entry, quoted, path);
    if (!skip.ok()) return skip.status();
    if (*skip || is_complexity_fit(entry)) continue;

    BenchmarkRun run;
    run.name = name->get<std::string>();
    run.run_name = optional_string(entry, "run_name");
    if (run.run_name.empty()) run.run_name = run.name;
    run.is_aggregate = optional_string(entry, "run_type") == "aggregate";
    run.aggregate_name = run.is_aggregate ? optional_string(entry, "aggregate_name") : "";
    run.is_percentage = optional_string(entry, "aggregate_unit") == "percentage";
    const std::optional<double> real = number_at(entry, "real_time");
    const std::optional<double> cpu = number_at(entry, "cpu_time");
    if (!real) return input_problem(path, "benchmark " + quoted + " has no numeric 'real_time'");
    if (!cpu) return input_problem(path, "benchmark " + quoted + " has no numeric 'cpu_time'");
    run.real_time = *real;
    // A time that is not finite (a cv aggregate of zero times is 0/0) has no change to
    // compute: without a real time the run is left out, as a failed run is; without a CPU
    // time it is compared on real time only, as a tally run report is.
    if (std::isfinite(*cpu)) run.cpu_time = *cpu;
    run.time_unit = optional_string(entry, "time_unit");
    if (!nanoseconds_per(run.time_unit)) {
      return input_problem(path, "benchmark " + quoted + " has unknown time unit '" +
                                     run.time_unit + "' (expected ns, us, ms or s)");
    }
    const auto [it, inserted] = unit_of_run_name.emplace(run.run_name, run.time_unit);
    if (!inserted && it->second != run.time_unit) {
      return input_problem(path, "mismatched time units for '" + run.run_name + "': " + it->second +
                                     " and " + run.time_unit);
    }
    if (!std::isfinite(run.real_time)) continue;
    for (const auto& [key, value] : entry.items()) {
      if (is_run_field(key)) continue;
      // A counter that is not finite (NaN for 0/0, Infinity for a rate over no time) is left
      // out: the counter is then compared only where every run has a finite value.
      if (const std::optional<double> v = number_of(value); v && std::isfinite(*v)) {
        run.counters.emplace_back(key, *v);
      }
    }
    run.family_index = optional_index(entry, "family_index");
    run.per_family_instance_index = optional_index(entry, "per_family_instance_index");
    run.repetition_index = optional_index(entry, "repetition_index");
    report.runs.push_back(std::move(run));
  }
  if (report.runs.empty()) {
    return input_problem(path,
                         "no benchmark to compare (failed and skipped runs and complexity fits "
                         "are left out)");
  }
  return report;
}

Result<BenchmarkReport> parse_tally_run(const json& doc, const std::string& path) {
  const auto number = [&](const json& obj, const char* key) -> std::optional<double> {
    const std::optional<double> v = number_at(obj, key);
    return v && std::isfinite(*v) ? v : std::nullopt;
  };
  const auto phases = doc.find("phases");
  if (phases == doc.end() || !phases->is_object()) {
    return input_problem(path, "tally run report has no 'phases'");
  }
  BenchmarkReport report{.path = path, .runs = {}};
  for (const char* phase : {"split", "map", "merge", "finalize", "total"}) {
    const std::string key = std::string(phase) + "_seconds";
    const std::optional<double> seconds = number(*phases, key.c_str());
    if (!seconds) {
      return input_problem(path, "tally run report has no numeric 'phases." + key + "'");
    }
    BenchmarkRun run;
    run.name = phase;
    run.run_name = phase;
    run.real_time = *seconds;
    run.time_unit = "s";
    report.runs.push_back(std::move(run));
  }
  BenchmarkRun& total = report.runs.back();
  if (total.real_time > 0) {
    if (auto bytes = number(doc, "bytes_in")) {
      total.counters.emplace_back("bytes_per_second", *bytes / total.real_time);
    }
    if (auto records = number(doc, "records_in")) {
      total.counters.emplace_back("items_per_second", *records / total.real_time);
    }
  }
  if (auto rss = number(doc, "peak_rss_bytes")) total.counters.emplace_back("peak_rss_bytes", *rss);
  return report;
}

// Closes a file descriptor on every path out of read_bounded.
class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Status too_large(const std::string& path) {
  return input_problem(
      path, std::string("larger than ") + kMaxReportSize + ", the most a report may hold");
}

// A FIFO that has no writer reads as end of file. A writer may be on its way (a producer
// started just before tally, still short of its open(2)): nonblocking reads give it this long
// to open the FIFO or write to it.
constexpr auto kFifoGrace = std::chrono::seconds(2);
constexpr auto kFifoPollInterval = std::chrono::milliseconds(20);

// Waits, at most kFifoGrace, until the FIFO `path`, open as `fd` with O_NONBLOCK, has a
// writer or data. Returns its first byte when one came, "" when a writer is there with nothing
// written yet; fails when nobody came or the read failed.
Result<std::string> await_fifo_writer(const std::string& path, int fd) {
  const auto deadline = std::chrono::steady_clock::now() + kFifoGrace;
  while (true) {
    char byte = 0;
    const ssize_t n = ::read(fd, &byte, 1);
    if (n == 1) return std::string(1, byte);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return std::string();
    if (n < 0 && errno != EINTR) return input_problem(path, std::strerror(errno));
    if (n == 0) {  // no writer (yet, or it left without writing)
      if (std::chrono::steady_clock::now() >= deadline) {
        return input_problem(path, "no data: nothing was written to it within 2 s");
      }
      std::this_thread::sleep_for(kFifoPollInterval);
    }
  }
}

// The contents of `path`, at most kMaxReportBytes of them.
Result<std::string> read_bounded(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer, forever if none
  // comes. The reads block again once a FIFO has its writer, so a slow one (a shell's
  // process substitution running benchmarks) is waited for as long as it takes.
  const FileDescriptor file(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (file.get() < 0) return input_problem(path, std::strerror(errno));
  struct stat info {};
  if (::fstat(file.get(), &info) != 0) return input_problem(path, std::strerror(errno));
  if (S_ISDIR(info.st_mode)) return input_problem(path, "is a directory");
  const bool regular = S_ISREG(info.st_mode);
  if (regular && static_cast<std::uintmax_t>(info.st_size) > kMaxReportBytes) {
    return too_large(path);
  }
  std::string first;
  if (S_ISFIFO(info.st_mode)) {
    Result<std::string> start = await_fifo_writer(path, file.get());
    if (!start.ok()) return start.status();
    first = std::move(start).value();
  }
  const int flags = ::fcntl(file.get(), F_GETFL);
  if (flags < 0 || ::fcntl(file.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return input_problem(path, std::strerror(errno));
  }

  std::string text = std::move(first);
  // A regular file's size is known (it may still grow: the limit holds regardless); anything
  // else is read in chunks.
  constexpr std::size_t kChunk = std::size_t{64} << 10;
  text.reserve(regular ? static_cast<std::size_t>(info.st_size) + 1 : kChunk);
  std::size_t size = text.size();
  while (true) {
    if (size == text.size()) {
      // One byte past the limit is enough to know the input is over it.
      text.resize(std::min(kMaxReportBytes + 1, std::max(size + kChunk, text.capacity())));
    }
    const ssize_t n = ::read(file.get(), text.data() + size, text.size() - size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return input_problem(path, std::strerror(errno));
    if (n == 0) break;
    size += static_cast<std::size_t>(n);
    if (size > kMaxReportBytes) return too_large(path);
  }
  text.resize(size);
  // parse_report calls an empty regular file "empty file"; a pipe, FIFO or device that gave
  // nothing is not a file one can look at, so say what happened.
  if (!regular && size == 0) return input_problem(path, "no data");
  return text;
}

}  // namespace

Result<BenchmarkReport> parse_report(std::string_view text, const std::string& path) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return input_problem(path, "empty file");
  }
  std::vector<Replacement> replaced;
  std::string with_tokens_replaced;
  if (text.find("NaN") != std::string_view::npos ||
      text.find("Infinity") != std::string_view::npos) {
    with_tokens_replaced = replace_non_finite_tokens(text, replaced);
  }
  const std::string_view json_text =
      replaced.empty() ? text : std::string_view(with_tokens_replaced);
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::out_of_range&) {  // a number beyond double, such as 1e999
    return input_problem(path, "number out of range in JSON");
  } catch (const json::parse_error& e) {
    // nlohmann reports the byte after the last one it read: at or past the end means the
    // text stopped early rather than held something wrong.
    if (e.byte >= json_text.size()) {
      return input_problem(path,
                           "truncated JSON (ends after " + std::to_string(text.size()) + " bytes)");
    }
    return input_problem(
        path, "malformed JSON at byte " + std::to_string(original_offset(e.byte, replaced)));
  }
  if (doc.is_object() && doc.contains("benchmarks")) return parse_google_benchmark(doc, path);
  if (doc.is_object() && doc.contains("tally_run_report")) return parse_tally_run(doc, path);
  return input_problem(path,
                       "not a benchmark report (neither a Google Benchmark 'benchmarks' list nor a "
                       "tally run report)");
}

Result<BenchmarkReport> load_report(const std::string& path) {
  Result<std::string> text = read_bounded(path);
  if (!text.ok()) return text.status();
  return parse_report(*text, path);
}

}  // namespace tally::compare
