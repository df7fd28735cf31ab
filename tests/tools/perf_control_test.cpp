// PerfControl (tools/tally/perf_control.hpp): perf's --control protocol from tally's side,
// with the test holding perf's ends of the two pipes.
//
// Oracles:
//  - perf's acks ("ack\n\0", also when one arrives in pieces) let every command through:
//    `each` sends enable/disable around all four phases, OK.
//  - An ack pipe that stays silent: the command fails with kDeadlineExceeded after the
//    timeout (50 ms here: not before it, and not seconds later), and after it nothing more
//    is written to the control pipe, neither by later phases nor by finish().
//  - An ack pipe closed by perf: kIoError at once (well before the 10 s timeout), and nothing
//    more is sent.
//  - A line other than "ack" (e.g. "nack", which contains "ack"): kIoError naming what came,
//    at once, and nothing more is sent.
//  - A control pipe whose reader has gone: kIoError (EPIPE), and the process survives the
//    SIGPIPE.
#include "tools/tally/perf_control.hpp"
#include "tests/support/pipe.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <string_view>

namespace {

using tally::Phase;
using tally::StatusCode;
using tally::cli::PerfControl;
using tally::cli::PerfPhases;
using Clock = std::chrono::steady_clock;

// The shared test pipe, with the two things these tests do to it.
struct Pipe : tally::testing::Pipe {
  void write(std::string_view bytes) const {
    ASSERT_EQ(::write(write_end, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  // Everything written so far, without waiting for more.
  std::string drain() const {
    const int flags = ::fcntl(read_end, F_GETFL);
    ::fcntl(read_end, F_SETFL, flags | O_NONBLOCK);
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(read_end, buf, sizeof buf)) > 0)
      out.append(buf, static_cast<std::size_t>(n));
    ::fcntl(read_end, F_SETFL, flags);
    return out;
  }
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Every phase's start and end, as Engine::run reports them, then finish().
void run_all_phases(PerfControl& control) {
  for (Phase p : {Phase::kSplit, Phase::kMap, Phase::kMerge, Phase::kFinalize}) {
    control.on_phase(p, true);
    control.on_phase(p, false);
  }
  control.finish();
}

TEST(PerfControl, AcksLetEveryCommandThrough) {
  Pipe ctl, ack;
  // Eight acks up front, as perf writes them (with a NUL), the last one in two pieces.
  for (int i = 0; i < 7; ++i) ack.write(std::string_view("ack\n\0", 5));
  ack.write("ac");
  ack.write(std::string_view("k\n\0", 3));
  PerfControl control(ctl.write_end, ack.read_end, PerfPhases::kEach);
  run_all_phases(control);
  EXPECT_TRUE(control.status().ok()) << control.status().to_string();
  std::string expected;
  for (int i = 0; i < 4; ++i) expected += "enable\ndisable\n";
  EXPECT_EQ(ctl.drain(), expected);
}

TEST(PerfControl, ASilentAckPipeTimesOutAndNothingMoreIsSent) {
  Pipe ctl, ack;
  constexpr std::chrono::milliseconds kTimeout{50};
  PerfControl control(ctl.write_end, ack.read_end, PerfPhases::kEach, kTimeout);
  const auto start = Clock::now();
  control.on_phase(Phase::kSplit, true);
  const double waited = seconds_since(start);
  EXPECT_EQ(control.status().code(), StatusCode::kDeadlineExceeded) << control.status().to_string();
  EXPECT_NE(control.status().message().find("50 ms"), std::string::npos)
      << control.status().message();
  EXPECT_GE(waited, 0.050);
  EXPECT_LT(waited, 5.0);
  run_all_phases(control);  // the rest of the run, and finish()
  EXPECT_EQ(ctl.drain(), "enable\n");
  EXPECT_EQ(control.status().code(), StatusCode::kDeadlineExceeded);  // the first failure
}

TEST(PerfControl, AClosedAckPipeFailsAtOnceAndNothingMoreIsSent) {
  Pipe ctl, ack;
  ack.close_write();
  PerfControl control(ctl.write_end, ack.read_end, PerfPhases::kMap);  // the 10 s timeout
  const auto start = Clock::now();
  run_all_phases(control);
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_EQ(control.status().code(), StatusCode::kIoError) << control.status().to_string();
  EXPECT_NE(control.status().message().find("closed"), std::string::npos)
      << control.status().message();
  EXPECT_EQ(ctl.drain(), "enable\n");
}

TEST(PerfControl, AWrongAckFailsAtOnceAndNothingMoreIsSent) {
  Pipe ctl, ack;
  ack.write("nack\n");
  PerfControl control(ctl.write_end, ack.read_end, PerfPhases::kAll);
  const auto start = Clock::now();
  run_all_phases(control);
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_EQ(control.status().code(), StatusCode::kIoError) << control.status().to_string();
  EXPECT_NE(control.status().message().find("\"nack\""), std::string::npos)
      << control.status().message();
  EXPECT_EQ(ctl.drain(), "enable\n");
}

TEST(PerfControl, AControlPipeWithoutReaderFailsWithoutKillingTheProcess) {
  Pipe ctl;
  ctl.close_read();
  PerfControl control(ctl.write_end, -1, PerfPhases::kMap);
  run_all_phases(control);
  EXPECT_EQ(control.status().code(), StatusCode::kIoError) << control.status().to_string();
}

}  // namespace
