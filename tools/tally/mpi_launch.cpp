#include "tools/tally/mpi_launch.hpp"

#include <charconv>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "tools/tally/exit_status.hpp"

#ifdef TALLY_HAVE_MPI
#include <mpi.h>

#include "tally/engine/mpi/mpi_communicator.hpp"
#endif

namespace tally::cli {
namespace {

// The variable as a non-negative int, if it is set to one.
std::optional<int> env_int(const char* name) {
  const char* text = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): before any thread
  if (text == nullptr) return std::nullopt;
  const std::string_view s(text);
  int value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

Launch detect_launch() {
  if (const auto size = env_int("OMPI_COMM_WORLD_SIZE")) {
    return {.as_rank = true,
            .rank = env_int("OMPI_COMM_WORLD_RANK").value_or(0),
            .size = *size,
            .launcher = "mpirun"};
  }
  const auto slurm_tasks = env_int("SLURM_STEP_NUM_TASKS");
  const bool slurm_step = slurm_tasks.value_or(0) > 1 && env_int("SLURM_PROCID").has_value();
  if (const auto rank = env_int("PMIX_RANK")) {
    return {.as_rank = true,
            .rank = *rank,
            .size = slurm_step ? *slurm_tasks : env_int("PMI_SIZE").value_or(0),
            .launcher = slurm_step ? "srun" : "a PMIx launcher"};
  }
  if (const auto size = env_int("PMI_SIZE")) {
    return {.as_rank = true,
            .rank = env_int("PMI_RANK").value_or(0),
            .size = *size,
            .launcher = slurm_step ? "srun" : "a PMI launcher"};
  }
  if (slurm_step) {
    return {.as_rank = true,
            .rank = env_int("SLURM_PROCID").value_or(0),
            .size = *slurm_tasks,
            .launcher = "srun"};
  }
  return {};
}

std::optional<std::string> unsupported_launch(const Launch& launch) {
#ifdef TALLY_HAVE_MPI
  (void)launch;
  return std::nullopt;
#else
  if (!launch.as_rank) return std::nullopt;
  return "started by " + launch.launcher + " as rank " + std::to_string(launch.rank) + " of " +
         std::to_string(launch.size) +
         ", but this tally was built without MPI (TALLY_MPI): each rank would count every "
         "input. Run tally without " +
         launch.launcher + ", or build it where CMake finds MPI (scripts/install-deps).";
#endif
}

#ifdef TALLY_HAVE_MPI
namespace {

// MPI from a successful MPI_Init_thread: MPI_Finalize once the communicator is freed. A
// session ended by an exception aborts the job instead: the other ranks may be waiting in a
// collective step for this one, and MPI_Finalize would wait for them in turn.
class InitializedSession final : public MpiSession {
 public:
  InitializedSession() { world_.emplace(MPI_COMM_WORLD); }
  ~InitializedSession() override {
    if (std::uncaught_exceptions() > 0) MPI_Abort(MPI_COMM_WORLD, kExitJobFailed);
    world_.reset();
    MPI_Finalize();
  }
  InitializedSession(const InitializedSession&) = delete;
  InitializedSession& operator=(const InitializedSession&) = delete;
  mpi::Communicator& world() override { return *world_; }

 private:
  std::optional<mpi::MpiCommunicator> world_;
};

}  // namespace

Result<std::unique_ptr<MpiSession>> MpiSession::start(const Launch& launch) {
  int provided = 0;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
    return Status::Unavailable("cannot initialize MPI");
  }
  auto session = std::make_unique<InitializedSession>();
  if (provided < MPI_THREAD_SERIALIZED) {
    return Status::Unavailable("MPI provides thread level " + std::to_string(provided) +
                               ", below MPI_THREAD_SERIALIZED, which tally needs");
  }
  if (launch.size != 0 && session->world().size() != launch.size) {
    return Status::Unavailable(
        launch.launcher + " started " + std::to_string(launch.size) + " ranks, but MPI sees " +
        std::to_string(session->world().size()) +
        " (is this MPI the one the launcher belongs to? With srun, try --mpi=pmix)");
  }
  return std::unique_ptr<MpiSession>(std::move(session));
}
#else
Result<std::unique_ptr<MpiSession>> MpiSession::start(const Launch&) {
  return Status::Unavailable("this tally was built without MPI");
}
#endif

}  // namespace tally::cli
