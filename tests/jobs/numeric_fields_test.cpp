// parse_numbers (jobs/numeric_fields.hpp): the fields of one line of numeric CSV/TSV.
//
// Oracle: each case states the line and either the exact numbers it holds, or the exact
// message of the StatusError(kInvalidArgument) it throws ("column N: 'field' is not a
// number", the field quoted as written, without the blanks around it).
#include "tally/jobs/numeric_fields.hpp"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/status.hpp"

namespace {

using tally::jobs::parse_numbers;

// The error parse_numbers throws for `line`, or "" if it parses. Also checks the code.
std::string error_of(std::string_view line) {
  std::vector<double> row;
  try {
    parse_numbers(line, row);
  } catch (const tally::StatusError& e) {
    EXPECT_EQ(e.status().code(), tally::StatusCode::kInvalidArgument) << line;
    return e.status().message();
  }
  return "";
}

std::vector<double> numbers_of(std::string_view line) {
  std::vector<double> row{42.0};  // replaced, not appended to
  parse_numbers(line, row);
  return row;
}

TEST(ParseNumbers, CommasSeparateWhenTheLineHasOne) {
  EXPECT_EQ(numbers_of("1.5, -2e3,7"), (std::vector<double>{1.5, -2000, 7}));
  EXPECT_EQ(numbers_of("  1 ,\t2  "), (std::vector<double>{1, 2}));
  // Blanks inside a comma-separated line surround fields; they do not separate them.
  EXPECT_EQ(error_of("1 2,3"), "column 1: '1 2' is not a number");
}

TEST(ParseNumbers, TabsAndSpacesSeparateOtherwise) {
  EXPECT_EQ(numbers_of("1\t2\t3"), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(numbers_of("  1   2 \t\t 3  "), (std::vector<double>{1, 2, 3}));
  EXPECT_EQ(numbers_of("-0.25"), (std::vector<double>{-0.25}));
}

TEST(ParseNumbers, CrlfLineEndsAreIgnored) {
  EXPECT_EQ(numbers_of("1,2\r"), (std::vector<double>{1, 2}));
  EXPECT_EQ(numbers_of("1\t2\r"), (std::vector<double>{1, 2}));
  EXPECT_TRUE(numbers_of("\r").empty());
}

TEST(ParseNumbers, BlankLinesHaveNoFields) {
  EXPECT_TRUE(numbers_of("").empty());
  EXPECT_TRUE(numbers_of(" \t  ").empty());
}

TEST(ParseNumbers, LeadingPlusIsAccepted) {
  EXPECT_EQ(numbers_of("+1,+2.5e1"), (std::vector<double>{1, 25}));
  EXPECT_EQ(numbers_of("+0.5 +3"), (std::vector<double>{0.5, 3}));
  EXPECT_EQ(error_of("+"), "column 1: '+' is not a number");
  EXPECT_EQ(error_of("1,+-2"), "column 2: '+-2' is not a number");
  EXPECT_EQ(error_of("++2"), "column 1: '++2' is not a number");
}

TEST(ParseNumbers, EmptyFieldIsNotANumber) {
  EXPECT_EQ(error_of("1,,3"), "column 2: '' is not a number");
  EXPECT_EQ(error_of(",1"), "column 1: '' is not a number");
  EXPECT_EQ(error_of("1,2,"), "column 3: '' is not a number");
  EXPECT_EQ(error_of("1, \t,3"), "column 2: '' is not a number");
}

TEST(ParseNumbers, NanInfinityAndOverflowAreRejected) {
  for (const char* field : {"nan", "NaN", "-nan", "inf", "-inf", "Infinity", "1e400", "-1e999"}) {
    EXPECT_EQ(error_of(std::string("1,") + field),
              std::string("column 2: '") + field + "' is not a number");
  }
}

TEST(ParseNumbers, TrailingGarbageAndOtherNotationsAreRejected) {
  EXPECT_EQ(error_of("1.5x"), "column 1: '1.5x' is not a number");
  EXPECT_EQ(error_of("0x10"), "column 1: '0x10' is not a number");
  EXPECT_EQ(error_of("1 2 abc"), "column 3: 'abc' is not a number");
  EXPECT_EQ(error_of("1,2;3"), "column 2: '2;3' is not a number");
}

TEST(ParseNumbers, HugeFieldIsQuotedTruncated) {
  const std::string huge(1000, 'z');
  const std::string message = error_of("1," + huge);
  EXPECT_EQ(message, "column 2: '" + std::string(40, 'z') + "...' is not a number");
  // A field of exactly the quoted length is shown whole.
  EXPECT_EQ(error_of(std::string(40, 'q')),
            "column 1: '" + std::string(40, 'q') + "' is not a number");
}

TEST(ParseNumbers, ColumnNumbersCountFromOne) {
  EXPECT_EQ(error_of("a,2"), "column 1: 'a' is not a number");
  EXPECT_EQ(error_of("1,2,3,4,five"), "column 5: 'five' is not a number");
  EXPECT_EQ(error_of("1\t2\t3\tfour"), "column 4: 'four' is not a number");
}

TEST(ParseNumbers, ValuesRoundTrip) {
  // from_chars is exact: the double nearest to the decimal.
  EXPECT_EQ(numbers_of("0.1,1e-300,1.7976931348623157e308"),
            (std::vector<double>{0.1, 1e-300, 1.7976931348623157e308}));
}

}  // namespace
