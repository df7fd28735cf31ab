# Script mode (cmake -P): install, configure + build the consumer, run it, check its output.
file(REMOVE_RECURSE "${WORK_DIR}")
set(prefix "${WORK_DIR}/prefix")

function(run_step what)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${out}\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

run_step("install" ${CMAKE_COMMAND} --install "${TALLY_BUILD_DIR}" --prefix "${prefix}")
foreach(f lib/cmake/tally/tallyConfig.cmake lib/cmake/tally/tallyConfigVersion.cmake
          include/tally/engine/version.hpp)
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "install did not produce ${f}")
  endif()
endforeach()

run_step("configure consumer" ${CMAKE_COMMAND} -S "${CONSUMER_SOURCE_DIR}"
  -B "${WORK_DIR}/build" -G "${GENERATOR}" -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
  -DCMAKE_PREFIX_PATH=${prefix} -DTALLY_EXPECTED_VERSION=${EXPECTED_VERSION})
run_step("build consumer" ${CMAKE_COMMAND} --build "${WORK_DIR}/build")
run_step("run consumer" "${WORK_DIR}/build/consumer")
if(NOT step_output MATCHES "tally ${EXPECTED_VERSION} ok")
  message(FATAL_ERROR "consumer printed unexpected output:\n${step_output}")
endif()
message(STATUS "consumer: ${step_output}")
