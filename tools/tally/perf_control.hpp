// Phase markers for perf's control protocol (`perf stat|record --control fd:CTL,ACK`).
//
// perf reads commands, one per line, from CTL ("enable\n", "disable\n", ...) and, when it
// was given ACK, answers each with "ack\n" (perf writes "ack\n\0": the NUL is ignored).
// With `--delay=-1` perf starts with its events disabled, so a program that sends "enable"
// when a phase starts and "disable" when it ends gets exactly that phase counted:
//
//   exec {ctl}<>ctl.fifo {ack}<>ack.fifo      # two fifos, opened read-write by the shell
//   perf stat --delay=-1 --control fd:$ctl,$ack -e task-clock --
//       tally wordcount --perf-ctl-fd $ctl --perf-ack-fd $ack --perf-phase map big.txt
//   (one command line)
//
// Without an ACK descriptor the commands are sent without waiting (perf still obeys them,
// a little later). With one, every command waits for its ack (at most kAckTimeout), so the
// phase starts only once perf counts. No ack in time (kDeadlineExceeded), a closed ACK
// (kIoError) or a line other than "ack" (kIoError) stops the markers: status() says why and
// nothing more is sent. docs/profiling.md has the whole recipe.
//
// Thread role: one PerfControl per run, used from the thread that calls Engine::run (the
// RunOptions::on_phase callback runs there).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "tally/engine/engine.hpp"
#include "tally/engine/status.hpp"

namespace tally::cli {

// Which phases are counted: one of them; `all` (from the start of split to the end of
// finalize, one enable and one disable); or `each` (an enable and a disable around every
// phase: the same phases as `all` without the gaps between them, and the messages give a
// listener every phase's start and end; `tally profile` uses it to split samples by phase).
enum class PerfPhases { kMap, kMerge, kFinalize, kAll, kEach };

// "map", "merge", "finalize", "all" or "each"; nullopt for anything else.
std::optional<PerfPhases> parse_perf_phases(std::string_view name) noexcept;

class PerfControl {
 public:
  // How long a command waits for perf's ack before the markers give up (perf answers from
  // its event loop at once; only a perf that died or a wrong descriptor takes this long).
  static constexpr std::chrono::milliseconds kAckTimeout{10000};

  // OK if `ctl_fd` is open for writing and `ack_fd` (unless -1) open for reading;
  // otherwise kInvalidArgument naming the option.
  static Status check_descriptors(int ctl_fd, int ack_fd);

  // REQUIRES: check_descriptors(ctl_fd, ack_fd) is OK. Does not own the descriptors.
  PerfControl(int ctl_fd, int ack_fd, PerfPhases phases,
              std::chrono::milliseconds ack_timeout = kAckTimeout) noexcept
      : ctl_fd_(ctl_fd), ack_fd_(ack_fd), phases_(phases), ack_timeout_(ack_timeout) {}

  // The RunOptions::on_phase callback: sends "enable" or "disable" when `phase` starts or
  // ends, if it is one of the selected phases. After a failure it sends nothing more.
  void on_phase(Phase phase, bool starting) noexcept;

  // Sends "disable" if counting is still enabled (a run that failed inside a phase).
  void finish() noexcept;

  // The first failure to send a command or to get its ack, or OK.
  const Status& status() const noexcept { return status_; }

 private:
  void send(std::string_view command) noexcept;
  Status write_command(std::string_view command) const;
  Status wait_for_ack();

  int ctl_fd_;
  int ack_fd_;
  PerfPhases phases_;
  std::chrono::milliseconds ack_timeout_;
  bool enabled_ = false;
  std::string pending_;  // bytes read from ack_fd_ after the last complete ack
  Status status_ = Status::Ok();
};

}  // namespace tally::cli
