// tally-mpi.so: the tally program's MPI session behind the C interface of mpi_module.hpp.
// Every exception stops here and leaves as a TallyMpiError.
#include "tools/tally/mpi_module.hpp"

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "tally/engine/mpi/mpi_communicator.hpp"
#include "tools/tally/exit_status.hpp"

namespace {

using tally::mpi::MpiCommunicator;

struct Session {
  std::optional<MpiCommunicator> world;
};

Session& session_of(void* session) { return *static_cast<Session*>(session); }
const Session& session_of(const void* session) { return *static_cast<const Session*>(session); }

void report(TallyMpiError* error, TallyMpiFailure failure, const char* message) {
  error->failure = failure;
  const std::size_t n =
      std::min(std::char_traits<char>::length(message), sizeof error->message - 1);
  std::copy_n(message, n, error->message);
  error->message[n] = '\0';
}

// Runs fn; false, with the exception's kind and message in *error, if it throws.
template <typename Fn>
bool guarded(TallyMpiError* error, Fn&& fn) {
  try {
    fn();
    error->failure = kTallyMpiOk;
    return true;
  } catch (const std::length_error& e) {
    report(error, kTallyMpiLengthError, e.what());
  } catch (const std::invalid_argument& e) {
    report(error, kTallyMpiInvalidArgument, e.what());
  } catch (const std::bad_alloc& e) {
    report(error, kTallyMpiOutOfMemory, e.what());
  } catch (const std::exception& e) {
    report(error, kTallyMpiOtherFailure, e.what());
  } catch (...) {
    report(error, kTallyMpiOtherFailure, "unknown exception in the MPI module");
  }
  return false;
}

// Each message handed to the program's receive, as a view of MPI's buffer.
MpiCommunicator::Receive forward(TallyMpiReceive receive, void* context) {
  return [receive, context](std::string_view m) { receive(context, m.data(), m.size()); };
}

void* start(int* provided, bool* serialized, TallyMpiError* error) {
  *provided = 0;
  // Allocated before MPI_Init_thread: once it has run, a failure here could only abort.
  std::unique_ptr<Session> session;
  if (!guarded(error, [&] { session = std::make_unique<Session>(); })) return nullptr;
  if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, provided) != MPI_SUCCESS) {
    report(error, kTallyMpiOtherFailure, "cannot initialize MPI");
    return nullptr;
  }
  *serialized = *provided >= MPI_THREAD_SERIALIZED;
  if (!guarded(error, [&] { session->world.emplace(MPI_COMM_WORLD); })) {
    // The other ranks may be duplicating the world's communicator with this one: only an
    // abort ends them.
    std::fprintf(stderr, "tally: %s\n", error->message);
    MPI_Abort(MPI_COMM_WORLD, tally::cli::kExitJobFailed);
  }
  return session.release();
}

// The members that cannot fail are noexcept: an exception there ends the process here
// rather than cross into the program.
//
// A session that ends in failure aborts the job instead of finalizing: the other ranks may be
// waiting in a collective step for this one, and MPI_Finalize would wait for them in turn.
void end(void* session, bool abort_job, int exit_status) noexcept {
  if (abort_job) MPI_Abort(MPI_COMM_WORLD, exit_status);
  delete static_cast<Session*>(session);  // frees the communicator first
  MPI_Finalize();
}

int rank(const void* session) noexcept { return session_of(session).world->rank(); }
int size(const void* session) noexcept { return session_of(session).world->size(); }

bool all_gather(void* session, TallyMpiBytes mine, TallyMpiReceive receive, void* context,
                TallyMpiError* error) {
  return guarded(error, [&] {
    session_of(session).world->all_gather({mine.data, mine.size}, forward(receive, context));
  });
}

bool all_to_all(void* session, const TallyMpiBytes* to, std::size_t ranks, TallyMpiReceive receive,
                void* context, TallyMpiError* error) {
  return guarded(error, [&] {
    std::vector<std::string_view> messages;
    messages.reserve(ranks);
    for (std::size_t r = 0; r < ranks; ++r) messages.emplace_back(to[r].data, to[r].size);
    session_of(session).world->all_to_all(messages, forward(receive, context));
  });
}

bool watch_for_alerts(void* session, void (*on_alert)(void*), void* context, TallyMpiError* error) {
  return guarded(error, [&] {
    session_of(session).world->watch_for_alerts([on_alert, context] { on_alert(context); });
  });
}

void stop_watching(void* session) noexcept { session_of(session).world->stop_watching(); }

bool alert_others(void* session, TallyMpiError* error) {
  return guarded(error, [&] { session_of(session).world->alert_others(); });
}

constexpr TallyMpiModule kModule{
    .version = kTallyMpiModuleVersion,
    .start = start,
    .end = end,
    .rank = rank,
    .size = size,
    .all_gather = all_gather,
    .all_to_all = all_to_all,
    .watch_for_alerts = watch_for_alerts,
    .stop_watching = stop_watching,
    .alert_others = alert_others,
};

}  // namespace

extern "C" __attribute__((visibility("default"))) const TallyMpiModule* tally_mpi_module() {
  return &kModule;
}
