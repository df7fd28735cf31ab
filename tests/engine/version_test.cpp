#include "tally/engine/version.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

// Oracle: the library reports the version the headers were generated with, and that string is
// MAJOR.MINOR.PATCH from the same CMake project() call as the macros.
TEST(Version, LibraryMatchesHeaders) {
  EXPECT_EQ(tally::version(), tally::kVersion);
  const std::string expected = std::to_string(TALLY_VERSION_MAJOR) + "." +
                               std::to_string(TALLY_VERSION_MINOR) + "." +
                               std::to_string(TALLY_VERSION_PATCH);
  EXPECT_EQ(std::string(tally::version()), expected);
}

}  // namespace
