// How this tally process was started: alone, or as one rank of a job that mpirun or srun
// launched; and, for a rank, the MPI session that joins it to the others.
//
// The launch is read from the environment before MPI is touched: a process that was not
// launched as a rank must never call MPI_Init (Open MPI would start a daemon for a singleton
// job), and a tally built without MPI must refuse to run as N copies that each count
// everything.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tally/engine/mpi/communicator.hpp"
#include "tally/engine/status.hpp"

namespace tally::cli {

struct Launch {
  bool as_rank = false;  // started by an MPI launcher
  int rank = 0;          // as the launcher numbered this process (0 when alone)
  int size = 1;
  std::string launcher;  // "mpirun", "srun" or "a PMI launcher"; empty when alone
};

// Reads the variables launchers set for each process: OMPI_COMM_WORLD_{SIZE,RANK} (Open
// MPI's mpirun), PMIX_RANK (any PMIx launcher, srun --mpi=pmix), PMI_{SIZE,RANK} (PMI-1/2),
// or SLURM_STEP_NUM_TASKS > 1 with SLURM_PROCID (srun; one task alone runs as a single
// process, like a batch script's own shell).
Launch detect_launch();

// Why this build cannot run as `launch` says, if it cannot: a rank of a tally built without
// MPI.
std::optional<std::string> unsupported_launch(const Launch& launch);

// MPI from MPI_Init_thread to MPI_Finalize, for a process launched as a rank. tally calls
// MPI from the thread that starts the session and, while that thread maps without calling
// MPI, from the communicator's alert watcher (mpi_communicator.hpp); never from two threads
// at once, and never from the engine's workers. So it asks for MPI_THREAD_SERIALIZED and
// fails if MPI provides less.
class MpiSession {
 public:
  // Loads the program's MPI module (tally-mpi.so, mpi_module.hpp) and joins the job. Fails
  // (kUnavailable) if the module is missing or cannot be loaded, MPI cannot be initialized,
  // provides too low a thread level, or counts a different number of ranks than the
  // launcher said.
  static Result<std::unique_ptr<MpiSession>> start(const Launch& launch);
  virtual ~MpiSession() = default;
  // The job's ranks (MPI_COMM_WORLD).
  virtual mpi::Communicator& world() = 0;
};

}  // namespace tally::cli
