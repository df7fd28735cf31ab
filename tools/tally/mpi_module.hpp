// The interface between the tally program and its MPI module (tally-mpi.so, built from
// mpi_module.cpp), which the program loads only when an MPI launcher started it
// (mpi_launch.cpp). Linking MPI into the program would load Open MPI's libraries, and
// relocate them, at every start, alone or not: the process rows of
// bench/jobs/wordcount_bench.cpp time that start.
//
// Only C types cross it. The program carries its own copy of libstdc++ (linked statically,
// tools/CMakeLists.txt) and the module uses the shared one, so no C++ object, and no
// exception, may pass from one to the other: the module catches every exception and
// reports its kind and message, which the program throws again as its own.
#pragma once

#include <cstddef>

extern "C" {

// Raised whenever TallyMpiModule changes, so that a program refuses a module built for
// another version of this interface.
constexpr int kTallyMpiModuleVersion = 1;

// The name of the function the module exports, which returns its TallyMpiModule.
constexpr const char* kTallyMpiModuleEntry = "tally_mpi_module";

// What a call failed with: the exception the module caught, by kind.
enum TallyMpiFailure : int {
  kTallyMpiOk = 0,
  kTallyMpiLengthError,      // std::length_error: a message over Communicator::kMaxRoundBytes
  kTallyMpiInvalidArgument,  // std::invalid_argument
  kTallyMpiOutOfMemory,      // std::bad_alloc
  kTallyMpiOtherFailure,     // any other exception
};

// A failure's kind and message (truncated to fit, always terminated).
struct TallyMpiError {
  TallyMpiFailure failure;
  char message[256];
};

struct TallyMpiBytes {
  const char* data;
  std::size_t size;
};

// Takes one rank's message of a collective call: called once per rank, in rank order, before
// the call returns. The bytes are valid only during the call. It must not throw: it runs
// inside the module.
using TallyMpiReceive = void (*)(void* context, const char* data, std::size_t size);

// One MPI session: MPI_Init_thread to MPI_Finalize, with the world's communicator
// (mpi::MpiCommunicator over MPI_COMM_WORLD). The members mirror mpi::Communicator
// (engine/mpi/communicator.hpp) and keep its threading rules.
struct TallyMpiModule {
  int version;  // kTallyMpiModuleVersion
  // Initializes MPI, asking for MPI_THREAD_SERIALIZED, and returns the session, with the
  // thread level MPI provides in *provided and whether it is at least that in *serialized;
  // nullptr if MPI_Init_thread fails.
  void* (*start)(int* provided, bool* serialized, TallyMpiError* error);
  // Frees the communicator, then MPI_Finalize; or, with abort_job, MPI_Abort(exit_status).
  void (*end)(void* session, bool abort_job, int exit_status);
  int (*rank)(const void* session);
  int (*size)(const void* session);
  bool (*all_gather)(void* session, TallyMpiBytes mine, TallyMpiReceive receive, void* context,
                     TallyMpiError* error);
  bool (*all_to_all)(void* session, const TallyMpiBytes* to, std::size_t ranks,
                     TallyMpiReceive receive, void* context, TallyMpiError* error);
  // on_alert(context) runs on the module's watcher thread; it must not throw.
  bool (*watch_for_alerts)(void* session, void (*on_alert)(void* context), void* context,
                           TallyMpiError* error);
  void (*stop_watching)(void* session);
  bool (*alert_others)(void* session, TallyMpiError* error);
};

}  // extern "C"
