// The exit statuses of the tally program. They are part of its interface (scripts test them),
// so they are documented in the README and never renumbered.
#pragma once

namespace tally::cli {

enum ExitStatus : int {
  kExitOk = 0,
  kExitUsage = 2,          // bad command line
  kExitInput = 3,          // an input is missing, unreadable, or of the wrong kind
  kExitJobFailed = 4,      // the job itself failed
  kExitTimeout = 124,      // --timeout expired (as timeout(1))
  kExitInterrupted = 130,  // SIGINT (128 + 2, as shells report it)
  kExitTerminated = 143    // SIGTERM (128 + 15)
};

}  // namespace tally::cli
