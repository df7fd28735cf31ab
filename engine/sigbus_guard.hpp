// The SIGBUS guard: a registry of the input files tally has mapped, and a SIGBUS handler that
// looks a fault's address up in it. A file that shrinks while mapped raises SIGBUS on the
// next read of a page past its new end. The guard maps a zero-filled page over the faulting
// page, so the read goes on (and sees zeros), and flags the mapping; the run then fails with
// a status naming the file (Inputs::check_intact in input.hpp). The library never exits the
// process and never installs the handler on its own: see install_sigbus_guard.
//
// Users include engine/input.hpp, which includes this header; the registry in tally::detail
// is used by the input sources (input.cpp) only.
//
// Concurrency contract:
//  - register_mapping / unregister_mapping are called by whichever thread opens or destroys an
//    Inputs, concurrently with each other and with the signal handler on any thread.
//  - The handler only reads the registry. It never blocks, allocates or takes a lock: it may
//    run on a thread interrupted in the middle of a registration, so a lock could deadlock it.
//
// Invariants:
//  1. A slot is written only by the thread that owns it: the one whose exchange on `claimed`
//     turned it from false to true, until it stores false again.
//  2. Every write of a slot's range and name is bracketed by `seq` going odd (before) and even
//     (after): a seqlock. A reader that sees the same even `seq` before and after reading the
//     fields has read one registration, never a mix of two.
//  3. A mapping is registered after mmap succeeds and before any of its bytes are handed out,
//     and unregistered before munmap. So while a thread can legitimately touch a mapped byte,
//     that mapping's slot holds it, stable.
//  4. The name pointer stays valid while registered: it points into the Source that owns the
//     mapping, which unregisters before it is destroyed.
//  5. A slot's `faulted` flag is cleared by its owner when it registers a mapping, and set
//     only by the handler, for a fault inside that mapping. By invariant 3 such a fault comes
//     from a thread that may read the mapping, so it happens while the slot is registered: a
//     handler never flags a slot for its previous or next owner.
//
// If every slot is taken the mapping simply is not covered: a shrink then raises the plain
// SIGBUS, as it would without the guard.
#pragma once

#include <cstddef>

namespace tally {

// Installs (once per process) the SIGBUS handler that turns a shrunken mapped input into an
// error status instead of a crash. Safe to call more than once and from any thread, but a
// SIGBUS handler that another thread installs while this call runs may be replaced without
// being chained: install signal handlers from one thread.
//
// A signal handler is process-wide policy, so tally's library never installs it on its own:
// the embedding program calls this (the tally CLI does, after opening its inputs). Without
// it, a mapped input that shrinks under a run kills the process with a plain SIGBUS.
//
// With it, a fault on a page of a registered mapping is patched over with a zero-filled page
// and flagged; Inputs::check_intact() (and so Engine::run and run_map_only) then returns
// kIoError "input '<path>' shrank while it was being read (truncated by another process?)".
// Any other SIGBUS (a fault outside tally's mappings, or one sent by kill or raise) goes to
// the disposition installed before this call, as the kernel would have delivered it: a
// handler is called with its flags honoured (SA_SIGINFO, SA_RESETHAND, SA_NODEFER, sa_mask);
// the default action, or an ignored fault, kills the process with SIGBUS; an ignored sent
// signal is dropped. Handlers that the program installs after this call replace the guard.
// Only pages wholly past the new end fault: the bytes between the new end and the end of its
// page read as zeros without a fault, which the guard cannot see. A file whose mapping did
// not fit in the registry (more than 4096 mapped at once) is not covered.
void install_sigbus_guard();

namespace detail {

// Registers [addr, addr + len) as the mapping of the input `name` (invariants 3 and 4).
// Returns the slot index, or -1 when the table is full (the mapping is then not covered).
int register_mapping(const void* addr, std::size_t len, const char* name) noexcept;

// Releases a slot returned by register_mapping; -1 is ignored.
void unregister_mapping(int slot) noexcept;

// Whether the handler patched a page of the mapping registered in `slot` since it was
// registered (false for -1). One relaxed load: cheap enough for a map loop's periodic check.
// A fault on another thread is seen for certain only once that thread's work is joined (for
// example by a TaskGroup's wait); on the faulting thread, at once.
// REQUIRES: the slot is still registered by the caller's mapping.
bool mapping_faulted(int slot) noexcept;

}  // namespace detail
}  // namespace tally
