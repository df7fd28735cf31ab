// How the fuzz targets report a broken oracle: print which property broke to stderr and
// abort(), which libFuzzer reports as a crash, saving the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>

// Aborts with `what` (a string literal saying which property broke) when `cond` is false.
#define TALLY_FUZZ_CHECK(cond, what)                                                         \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz oracle failed: %s (%s)\n", __FILE__, __LINE__, what, \
                   #cond);                                                                   \
      std::abort();                                                                          \
    }                                                                                        \
  } while (false)
