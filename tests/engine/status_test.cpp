#include "tally/engine/status.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

namespace {

using tally::Result;
using tally::Status;
using tally::StatusCode;

// Oracle: to_string names the code and the message; context prefixes the message; only
// kUnavailable is transient.
TEST(Status, DescribesItself) {
  EXPECT_EQ(Status::Ok().to_string(), "OK");
  const Status s = Status::NotFound("cannot open 'x.txt'").with_context("input 3");
  EXPECT_EQ(s.to_string(), "not found: input 3: cannot open 'x.txt'");
  EXPECT_TRUE(Status::Unavailable("busy").is_transient());
  EXPECT_FALSE(Status::IoError("EIO").is_transient());
}

// Oracle: an exception becomes kInternal with its what() and is kept as the cause.
TEST(Status, FromExceptionKeepsTheCause) {
  const Status s = Status::FromException(std::make_exception_ptr(std::logic_error("boom")));
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(s.message(), "exception: boom");
  EXPECT_THROW(std::rethrow_exception(s.cause()), std::logic_error);
}

// Oracle: a Result holds a value or a non-OK status; an OK status cannot pose as an error.
TEST(Result, ValueOrStatus) {
  Result<int> good = 5;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 5);
  EXPECT_TRUE(good.status().ok());
  Result<int> bad = Status::IoError("short read");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kIoError);
  Result<int> misuse = Status::Ok();
  EXPECT_FALSE(misuse.ok());
  EXPECT_EQ(misuse.status().code(), StatusCode::kInternal);
}

}  // namespace
