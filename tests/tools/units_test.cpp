// Command-line quantities: sizes for --memory and durations for --timeout.
#include "tools/tally/units.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>

namespace {

using tally::cli::parse_duration;
using tally::cli::parse_size;

TEST(ParseSize, BinaryUnitsWithOrWithoutBytesSuffix) {
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("10B"), 10u);
  EXPECT_EQ(parse_size("64K"), 64u << 10);
  EXPECT_EQ(parse_size("64k"), 64u << 10);
  EXPECT_EQ(parse_size("64KiB"), 64u << 10);
  EXPECT_EQ(parse_size("512M"), std::uint64_t{512} << 20);
  EXPECT_EQ(parse_size("512MB"), std::uint64_t{512} << 20);
  EXPECT_EQ(parse_size("1.5G"), std::uint64_t{3} << 29);
  EXPECT_EQ(parse_size("2T"), std::uint64_t{2} << 40);
}

TEST(ParseSize, RejectsWhatIsNotASize) {
  for (const char* bad : {"", "M", "lots", "12X", "-1M", "1MM", "1 M", "nan", "inf", "1e30G"}) {
    EXPECT_FALSE(parse_size(bad).has_value()) << bad;
  }
}

TEST(ParseDuration, Units) {
  using namespace std::chrono_literals;
  EXPECT_EQ(parse_duration("30s"), std::chrono::nanoseconds(30s));
  EXPECT_EQ(parse_duration("500ms"), std::chrono::nanoseconds(500ms));
  EXPECT_EQ(parse_duration("2m"), std::chrono::nanoseconds(2min));
  EXPECT_EQ(parse_duration("1.5"), std::chrono::nanoseconds(1500ms));
  EXPECT_FALSE(parse_duration("soon").has_value());
  EXPECT_FALSE(parse_duration("-1s").has_value());
}

}  // namespace
