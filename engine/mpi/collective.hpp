// Small collective steps of a distributed run (mpi/run.hpp), over a Communicator: agreeing on
// one status, and combining the ranks' run reports. Each is collective: every rank calls it.
#pragma once

#include <cstdint>

#include "tally/engine/mpi/communicator.hpp"
#include "tally/engine/run_report.hpp"
#include "tally/engine/status.hpp"

namespace tally::mpi {

// The group's status, the same on every rank: OK if every rank's `mine` is, else the failure
// of the lowest-numbered failing rank (its message ends in " (rank R)" unless R is 0), where a
// failure other than kCancelled comes first: ranks that another's alert stopped say
// kCancelled, and the cause is the failure that made it alert them. So an input missing on
// one rank fails every rank, with the one message that names it.
Status agree(Communicator& comm, const Status& mine);

// The sum, and the largest, of every rank's `mine`, on every rank.
std::uint64_t sum(Communicator& comm, std::uint64_t mine);
std::uint64_t max(Communicator& comm, std::uint64_t mine);

// OK if every rank opened the same number of inputs with the same total size, else
// kInvalidArgument naming the first rank that differs from rank 0. Ranks that see different
// inputs would cut different split plans and count some bytes twice and others never.
Status agree_on_inputs(Communicator& comm, std::uint64_t inputs, std::uint64_t total_bytes);

// The whole job's report on rank 0, from every rank's `mine` (RunReport's distributed
// fields say how they combine); on every other rank, `mine` unchanged.
RunReport combine_reports(Communicator& comm, const RunReport& mine);

}  // namespace tally::mpi
