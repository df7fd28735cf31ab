// TALLY_TEST_SANITIZED: defined when this test is built with AddressSanitizer or
// ThreadSanitizer, for the few tests that cannot run under one (address-space limits, no
// descriptors left for the runtime) or must do less there. g++ says so with
// __SANITIZE_ADDRESS__ / __SANITIZE_THREAD__, clang through __has_feature.
#pragma once

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TALLY_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TALLY_TEST_SANITIZED 1
#endif
#endif
