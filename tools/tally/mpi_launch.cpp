#include "tools/tally/mpi_launch.hpp"

#include <charconv>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "tools/tally/exit_status.hpp"

#ifdef TALLY_HAVE_MPI
#include <dlfcn.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <new>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "tools/tally/mpi_module.hpp"
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

constexpr const char* kModuleFile = "tally-mpi.so";

// Where the module lives relative to this executable: beside it in the build tree, in
// TALLY_MPI_MODULE_DIR (relative to the executable's directory) once installed.
std::vector<std::filesystem::path> module_candidates(const std::filesystem::path& exe) {
  const std::filesystem::path dir = exe.parent_path();
  return {dir / kModuleFile, (dir / TALLY_MPI_MODULE_DIR / kModuleFile).lexically_normal()};
}

// The module's interface. The module is never unloaded: Open MPI does not support being
// unloaded and initialized again.
Result<const TallyMpiModule*> load_module() {
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return Status::Unavailable("cannot find this executable's path: " + ec.message());
  std::string tried;
  for (const auto& path : module_candidates(exe)) {
    if (::access(path.c_str(), F_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path.string();
      continue;
    }
    // RTLD_GLOBAL: the components Open MPI loads itself resolve against its libraries.
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (handle == nullptr) {
      // glibc keeps dlerror's state per thread.
      const char* why = ::dlerror();  // NOLINT(concurrency-mt-unsafe)
      return Status::Unavailable("cannot load the MPI module " + path.string() + ": " + why);
    }
    using Entry = const TallyMpiModule* (*)();
    const auto entry = reinterpret_cast<Entry>(::dlsym(handle, kTallyMpiModuleEntry));
    const TallyMpiModule* module = entry == nullptr ? nullptr : entry();
    if (module == nullptr || module->version != kTallyMpiModuleVersion) {
      return Status::Unavailable("the MPI module " + path.string() +
                                 " belongs to another build of tally");
    }
    return module;
  }
  return Status::Unavailable(std::string("the MPI module ") + kModuleFile +
                             " is not installed (looked at " + tried + ")");
}

// The exception the module caught, thrown again on this side of the interface. Out of
// memory goes first to the program's new-handler, as an allocation of its own would.
[[noreturn]] void rethrow(const TallyMpiError& error) {
  switch (error.failure) {
    case kTallyMpiLengthError:
      throw std::length_error(error.message);
    case kTallyMpiInvalidArgument:
      throw std::invalid_argument(error.message);
    case kTallyMpiOutOfMemory:
      if (const std::new_handler handler = std::get_new_handler()) handler();
      throw std::bad_alloc();
    case kTallyMpiOk:
    case kTallyMpiOtherFailure:
      break;
  }
  throw std::runtime_error(error.message);
}

// The messages of one collective call, copied out of the module's buffer. The copy runs
// inside the module, so a failure is kept and thrown once the call has returned.
struct Collected {
  std::vector<std::string> messages;
  std::exception_ptr failure;

  static void receive(void* context, const char* data, std::size_t size) noexcept {
    auto& self = *static_cast<Collected*>(context);
    if (self.failure) return;
    try {
      self.messages.emplace_back(data, size);
    } catch (...) {
      self.failure = std::current_exception();
    }
  }
  std::vector<std::string> take() {
    if (failure) std::rethrow_exception(failure);
    return std::move(messages);
  }
};

// The module's session: the world's communicator until destruction, then MPI_Finalize; a
// session ended by an exception aborts the job instead (TallyMpiModule::end).
class ModuleSession final : public MpiSession, public mpi::Communicator {
 public:
  ModuleSession(const TallyMpiModule& module, void* session) : module_(module), session_(session) {}
  ~ModuleSession() override {
    module_.end(session_, std::uncaught_exceptions() > 0, kExitJobFailed);
  }
  ModuleSession(const ModuleSession&) = delete;
  ModuleSession& operator=(const ModuleSession&) = delete;

  mpi::Communicator& world() override { return *this; }

  int rank() const override { return module_.rank(session_); }
  int size() const override { return module_.size(session_); }
  std::vector<std::string> all_gather(std::string_view mine) override {
    Collected out;
    TallyMpiError error{};
    if (!module_.all_gather(session_, {mine.data(), mine.size()}, Collected::receive, &out,
                            &error)) {
      rethrow(error);
    }
    return out.take();
  }
  std::vector<std::string> all_to_all(const std::vector<std::string>& to) override {
    std::vector<TallyMpiBytes> bytes;
    bytes.reserve(to.size());
    for (const std::string& m : to) bytes.push_back({m.data(), m.size()});
    Collected out;
    TallyMpiError error{};
    if (!module_.all_to_all(session_, bytes.data(), bytes.size(), Collected::receive, &out,
                            &error)) {
      rethrow(error);
    }
    return out.take();
  }
  void watch_for_alerts(std::function<void()> on_alert) override {
    on_alert_ = std::move(on_alert);
    TallyMpiError error{};
    // noexcept: an alert handler that threw would end the process here, not in the module.
    const auto call = [](void* self) noexcept { static_cast<ModuleSession*>(self)->on_alert_(); };
    if (!module_.watch_for_alerts(session_, call, this, &error)) rethrow(error);
  }
  void stop_watching() override { module_.stop_watching(session_); }
  void alert_others() override {
    TallyMpiError error{};
    if (!module_.alert_others(session_, &error)) rethrow(error);
  }

 private:
  const TallyMpiModule& module_;
  void* session_;
  std::function<void()> on_alert_;  // the current watch's; called on the module's thread
};

}  // namespace

Result<std::unique_ptr<MpiSession>> MpiSession::start(const Launch& launch) {
  auto module = load_module();
  if (!module.ok()) return module.status();
  int provided = 0;
  bool serialized = false;
  TallyMpiError error{};
  void* started = (*module)->start(&provided, &serialized, &error);
  if (started == nullptr) return Status::Unavailable(error.message);
  auto session = std::make_unique<ModuleSession>(**module, started);
  if (!serialized) {
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
