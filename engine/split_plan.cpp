#include "tally/engine/input.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tally {

// ---------------------------------------------------------------------------------------------
// Splits
//
// Policy: records are packed greedily, in input order, into splits of at most target_bytes.
// A split is closed when its next record would not fit; a record longer than target_bytes
// gets a split of its own. So every split is at most target_bytes long, except a split made
// of one segment that holds one record, and no split could have taken its successor's first
// record without going over. Consecutive records of one input in one split form one segment.
//
// Cost: the plan is built from cut points, not by scanning records. Each cut looks backward
// from the target offset for the last delimiter that fits (memrchr, typically one record's
// length), and only a record longer than the room left is scanned forward to its end (memchr).
//
// An input that read_at() can read is searched through a small buffer, never through its
// mapping: the map tasks read such an input with read_at() too, so planning is then the only
// thing that would touch the mapping, and each touch maps a whole page-cache folio (up to
// megabytes of a freshly written file) into the process's resident memory.
// ---------------------------------------------------------------------------------------------

namespace {

// Finds delimiters in one input, through read_at() where the input allows it and through
// data() otherwise (or once a read fails: the file shrank, which check_intact() reports after
// the map phase, as for a mapped input).
class DelimiterFinder {
 public:
  DelimiterFinder(const Inputs& inputs, std::size_t input, unsigned char delim)
      : inputs_(inputs), input_(input), data_(inputs.data(input)), delim_(delim) {
    if (inputs.readable_at(input)) window_.resize(kWindowBytes);
  }

  // The offset of the last delimiter in [begin, end), if any, searched a window at a time
  // from the end.
  std::optional<std::uint64_t> last_in(std::uint64_t begin, std::uint64_t end) {
    while (end > begin) {
      const std::uint64_t from = end - std::min(end - begin, window_bytes());
      const std::string_view bytes = read(from, end);
      if (const void* hit = ::memrchr(bytes.data(), delim_, bytes.size())) {
        return from + offset_in(bytes, hit);
      }
      end = from;
    }
    return std::nullopt;
  }

  // The offset of the first delimiter in [begin, end), if any, searched a window at a time.
  std::optional<std::uint64_t> first_in(std::uint64_t begin, std::uint64_t end) {
    while (begin < end) {
      const std::uint64_t to = begin + std::min(end - begin, window_bytes());
      const std::string_view bytes = read(begin, to);
      if (const void* hit = ::memchr(bytes.data(), delim_, bytes.size())) {
        return begin + offset_in(bytes, hit);
      }
      begin = to;
    }
    return std::nullopt;
  }

 private:
  // Large enough to hold a typical record many times over, small enough to stay in L1/L2.
  static constexpr std::size_t kWindowBytes = 16 << 10;

  // How many bytes one read() may cover: the window, or any number from data().
  std::uint64_t window_bytes() const {
    return window_.empty() ? UINT64_MAX : std::uint64_t{window_.size()};
  }

  // Bytes [from, to) of the input: read into the window, or seen in data() when there is no
  // window (the window is given up for good if a read fails).
  std::string_view read(std::uint64_t from, std::uint64_t to) {
    const auto n = static_cast<std::size_t>(to - from);
    if (!window_.empty()) {
      if (inputs_.read_at(input_, from, std::span<char>(window_.data(), n)).ok()) {
        return std::string_view(window_.data(), n);
      }
      window_.clear();
    }
    return data_.substr(static_cast<std::size_t>(from), n);
  }

  static std::uint64_t offset_in(std::string_view bytes, const void* hit) {
    return static_cast<std::uint64_t>(static_cast<const char*>(hit) - bytes.data());
  }

  const Inputs& inputs_;
  const std::size_t input_;
  const std::string_view data_;
  const unsigned char delim_;
  std::vector<char> window_;  // empty: read data()
};

}  // namespace

SplitPlan plan_splits(const Inputs& inputs, SplitOptions options) {
  const std::uint64_t target = std::max<std::uint64_t>(options.target_bytes, 1);
  const auto delim = static_cast<unsigned char>(options.records.delimiter);
  const std::uint64_t fixed = options.records.fixed_bytes;
  SplitPlan plan;
  Split current{};  // segments [current.first, segments.size()), current.bytes long

  const auto close_split = [&] {
    if (current.bytes == 0) return;
    current.last = plan.segments.size();
    plan.splits.push_back(current);
    current = Split{.first = plan.segments.size(), .last = 0, .bytes = 0};
  };
  const auto add_segment = [&](std::size_t input, std::uint64_t begin, std::uint64_t end) {
    plan.segments.push_back(Segment{.input = input, .begin = begin, .end = end});
    current.bytes += end - begin;
  };

  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::string_view data = inputs.data(i);
    const std::uint64_t n = data.size();
    if (fixed != 0) {
      // Whole records up to the room left; a record larger than a split gets one of its own.
      std::uint64_t pos = std::min(options.records.header_bytes, n);
      std::uint64_t records = (n - pos) / fixed;
      if (options.records.record_count != 0) {
        records = std::min(records, options.records.record_count);
      }
      const std::uint64_t records_end = pos + records * fixed;
      while (pos < records_end) {
        if (current.bytes >= target) close_split();
        const std::uint64_t room = target - current.bytes;
        std::uint64_t take = std::min(room / fixed * fixed, records_end - pos);
        if (take == 0) {
          if (current.bytes > 0) {
            close_split();
            continue;
          }
          take = fixed;
        }
        add_segment(i, pos, pos + take);
        pos += take;
      }
      continue;
    }
    DelimiterFinder find(inputs, i, delim);
    std::uint64_t pos = 0;
    while (pos < n) {
      if (current.bytes >= target) close_split();
      const std::uint64_t room = target - current.bytes;  // >= 1
      if (n - pos <= room) {                              // the rest of the input fits
        add_segment(i, pos, n);
        pos = n;
        break;
      }
      // The last delimiter in [pos, pos + room) ends the longest run of whole records that fits.
      if (const auto last = find.last_in(pos, pos + room)) {
        add_segment(i, pos, *last + 1);
        pos = *last + 1;
        continue;
      }
      // The record at pos is longer than the room left.
      if (current.bytes > 0) {
        close_split();  // try again in an empty split
        continue;
      }
      // Longer than a whole split: it gets one of its own, cut after its delimiter. The bytes
      // before pos + room were just searched and hold no delimiter.
      const auto next = find.first_in(pos + room, n);
      const std::uint64_t end = next ? *next + 1 : n;
      add_segment(i, pos, end);
      pos = end;
      close_split();
    }
  }
  close_split();
  return plan;
}

Status check_record_layout(const Inputs& inputs, const RecordLayout& layout) {
  if (layout.fixed_bytes == 0) return Status::Ok();
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const std::uint64_t n = inputs.data(i).size();
    if (n < layout.header_bytes) {
      return Status::InvalidArgument("input '" + inputs.name(i) + "' is " + std::to_string(n) +
                                     " bytes, shorter than its " +
                                     std::to_string(layout.header_bytes) + "-byte header");
    }
    const std::uint64_t records = (n - layout.header_bytes) / layout.fixed_bytes;
    if (layout.record_count != 0) {
      if (records < layout.record_count) {
        return Status::InvalidArgument(
            "input '" + inputs.name(i) + "' holds " + std::to_string(records) + " whole " +
            std::to_string(layout.fixed_bytes) + "-byte records after its header, " +
            std::to_string(layout.record_count) + " expected");
      }
      continue;
    }
    if (const std::uint64_t extra = (n - layout.header_bytes) % layout.fixed_bytes; extra != 0) {
      return Status::InvalidArgument("input '" + inputs.name(i) + "' has " + std::to_string(extra) +
                                     " bytes after its last whole " +
                                     std::to_string(layout.fixed_bytes) + "-byte record");
    }
  }
  return Status::Ok();
}

void keep_share(SplitPlan& plan, std::size_t index, std::size_t count) {
  __extension__ using Wide = unsigned __int128;  // bytes x count must not overflow
  Wide total = 0;
  for (const Split& s : plan.splits) total += s.bytes;
  std::vector<Split> kept;
  Wide before = 0;  // the bytes of the splits ahead of this one
  for (const Split& s : plan.splits) {
    const Wide middle2 = 2 * before + s.bytes;  // twice the middle byte's offset
    if (static_cast<std::size_t>(middle2 * count / (2 * total)) == index) kept.push_back(s);
    before += s.bytes;
  }
  plan.splits = std::move(kept);
}

}  // namespace tally
