# Project-wide build settings.
#
# tally::warnings is an INTERFACE target that carries the warning flags. Every tally target
# links it PRIVATE (wrapped in BUILD_INTERFACE so it never reaches the export set): the flags
# apply to tally's own sources and never leak to a program that embeds the library.

add_library(tally_warnings INTERFACE)
add_library(tally::warnings ALIAS tally_warnings)
# TALLY_SANITIZER may hold a comma ("address,undefined"), which a generator expression cannot
# take as one argument: test it here.
if(TALLY_SANITIZER)
  set(_tally_sanitized ON)
else()
  set(_tally_sanitized OFF)
endif()
target_compile_options(tally_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
    -Wold-style-cast -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough>
  # Not -Wnull-dereference: with sanitizers at -O1, g++ 12 reports it inside libstdc++'s own
  # vector/string code (false positives we cannot fix).
  # g++ 12 at -O3 reports false -Wrestrict errors inside std::string concatenation (GCC bugs
  # 105329, 105651; fixed in 13). Off for g++ < 13 only.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<VERSION_LESS:$<CXX_COMPILER_VERSION>,13>>:-Wno-restrict>
  # Under sanitizers g++ 12 reports -Wmaybe-uninitialized inside libstdc++'s std::regex and
  # std::function (its flow analysis is unreliable on instrumented code; GCC documents that
  # sanitizers cause false positives). Kept on in the plain builds, where it is accurate.
  $<$<AND:$<CXX_COMPILER_ID:GNU>,$<BOOL:${_tally_sanitized}>>:-Wno-maybe-uninitialized>
  # Clang's static lock analysis (GUARDED_BY, REQUIRES); g++ ignores the annotations.
  $<$<CXX_COMPILER_ID:Clang>:-Wthread-safety>
  $<$<BOOL:${TALLY_WERROR}>:-Werror>)

# Sanitizers apply to every target, tests included, so that instrumented and uninstrumented
# code never share a data structure.
if(TALLY_SANITIZER)
  set(_tally_san_flags -fsanitize=${TALLY_SANITIZER} -fno-omit-frame-pointer -g1)
  if(TALLY_SANITIZER MATCHES "undefined")
    # Make every UBSan finding fatal ("halt on error"), not a printed warning.
    list(APPEND _tally_san_flags -fno-sanitize-recover=all)
  endif()
  add_compile_options(${_tally_san_flags})
  add_link_options(-fsanitize=${TALLY_SANITIZER})
  message(STATUS "tally: sanitizers enabled: ${TALLY_SANITIZER}")
endif()

# Fuzzing: libFuzzer's coverage instrumentation on every target, so that the fuzzer is guided by
# the library code it exercises. Only the fuzz targets link libFuzzer itself (-fsanitize=fuzzer,
# tests/fuzz/CMakeLists.txt), which brings its main().
if(TALLY_BUILD_FUZZERS)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "TALLY_BUILD_FUZZERS needs clang (libFuzzer); use the fuzz preset")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# ccache only speeds up rebuilds on a developer machine; CI starts cold and does not need it.
find_program(TALLY_CCACHE ccache)
if(TALLY_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_CXX_COMPILER_LAUNCHER "${TALLY_CCACHE}")
endif()
