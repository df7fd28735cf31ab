// The SIGBUS guard: a registry of the input files tally has mapped, and a SIGBUS handler that
// looks a fault's address up in it. A file that shrinks while mapped raises SIGBUS on the
// next read past its new end; the guard turns that into a message naming the file.
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
//
// If every slot is taken the mapping simply is not covered: a shrink then raises the plain
// SIGBUS, as it would without the guard.
#pragma once

#include <cstddef>

namespace tally {

// Installs (once per process) a SIGBUS handler that reports a shrunken mapped input by name
// and exits with status 3. Safe to call more than once and from any thread.
void install_sigbus_guard();

namespace detail {

// Registers [addr, addr + len) as the mapping of the input `name` (invariants 3 and 4).
// Returns the slot index, or -1 when the table is full (the mapping is then not covered).
int register_mapping(const void* addr, std::size_t len, const char* name) noexcept;

// Releases a slot returned by register_mapping; -1 is ignored.
void unregister_mapping(int slot) noexcept;

}  // namespace detail
}  // namespace tally
