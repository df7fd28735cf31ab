#include "tally/jobs/grep.hpp"

#include <algorithm>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "tally/engine/count_byte.hpp"

namespace tally::jobs {
namespace {

constexpr std::size_t kNpos = std::string_view::npos;

void check_no_newlines(const FixedStrings& strings) {
  for (const std::string& s : strings.strings()) {
    if (s.find('\n') != std::string::npos) {
      throw std::invalid_argument("a grep pattern holds a newline (split it: split_patterns)");
    }
  }
}

// Calls on_line(begin, end) for each line of `text` that holds an occurrence, in order:
// [begin, end) is the line without its '\n'. Patterns hold no '\n', so an occurrence never
// spans two lines, and the leftmost occurrence at or after a line's start lies in the first
// matching line from there.
template <typename OnLine>
void for_each_matching_line(const FixedStrings& strings, std::string_view text, OnLine&& on_line) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t hit = strings.find(text.substr(pos));
    if (hit == kNpos) return;
    const std::size_t at = pos + hit;
    const std::size_t newline_before = text.substr(pos, at - pos).rfind('\n');
    const std::size_t begin = newline_before == kNpos ? pos : pos + newline_before + 1;
    std::size_t end = text.find('\n', at);
    if (end == kNpos) end = text.size();
    on_line(begin, end);
    pos = end + 1;
  }
}

}  // namespace

std::vector<std::string> split_patterns(std::string_view text) {
  std::vector<std::string> out;
  for (;;) {
    const std::size_t nl = text.find('\n');
    out.emplace_back(text.substr(0, nl));
    if (nl == kNpos) return out;
    text.remove_prefix(nl + 1);
  }
}

std::vector<std::string> pattern_file_lines(std::string_view contents) {
  if (contents.empty()) return {};
  if (contents.back() == '\n') contents.remove_suffix(1);
  return split_patterns(contents);
}

std::vector<std::string> input_labels(const Inputs& inputs, bool with_filename) {
  std::vector<std::string> labels(inputs.size());
  if (!with_filename) return labels;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    labels[i] = (inputs.name(i) == "-" ? std::string("(standard input)") : inputs.name(i)) + ":";
  }
  return labels;
}

Grep::Grep(const FixedStrings& strings, std::vector<std::string> labels)
    : strings_(&strings), labels_(std::move(labels)) {
  check_no_newlines(strings);
}

void Grep::map(RecordSpan span, RecordSink& out) const {
  const std::string_view text = span.bytes;
  const std::string& label = labels_[span.input];
  // `number` is the line number of the line that starts at text[counted].
  std::uint64_t number = span.first_number;
  std::size_t counted = 0;
  char digits[24];
  for_each_matching_line(*strings_, text, [&](std::size_t begin, std::size_t end) {
    number += count_byte(text.substr(counted, begin - counted), '\n');
    counted = begin;
    const auto printed = std::to_chars(digits, digits + sizeof digits, number).ptr;
    *printed = ':';
    out.write(label);
    out.write(std::string_view(digits, static_cast<std::size_t>(printed + 1 - digits)));
    out.emit(text.substr(begin, end - begin));
  });
}

GrepCount::GrepCount(const FixedStrings& strings) : strings_(&strings) {
  check_no_newlines(strings);
}

void GrepCount::map(RecordSpan span, RecordSink& out) const {
  std::uint64_t count = 0;
  for_each_matching_line(*strings_, span.bytes, [&](std::size_t, std::size_t) { ++count; });
  if (count == 0) return;
  out.write(std::to_string(span.input));
  out.write(" ");
  out.emit(std::to_string(count));
}

void MatchCounts::write_until(std::size_t input, std::string& out) {
  for (; current_ < input && current_ < labels_.size(); ++current_, count_ = 0) {
    out += labels_[current_];
    out += std::to_string(count_);
    out += '\n';
  }
}

void MatchCounts::add(std::string_view chunk, std::string& out) {
  while (!chunk.empty()) {
    const std::size_t space = chunk.find(' ');
    const std::size_t nl = chunk.find('\n', space);
    std::size_t input = 0;
    std::uint64_t count = 0;
    std::from_chars(chunk.data(), chunk.data() + space, input);
    std::from_chars(chunk.data() + space + 1, chunk.data() + nl, count);
    chunk.remove_prefix(nl + 1);
    write_until(input, out);
    count_ += count;
    any_match_ = any_match_ || count != 0;
  }
}

void MatchCounts::finish(std::string& out) { write_until(labels_.size(), out); }

}  // namespace tally::jobs
