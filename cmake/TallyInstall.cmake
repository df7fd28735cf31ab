# Install rules and the CMake package config, so that another project can do
#
#   find_package(tally 0.1 CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE tally::engine)
#
# Headers install under <prefix>/include/tally/ with the same layout as the source tree
# (lockfree/, engine/, jobs/), and <prefix>/include is the consumers' include directory, so
# `#include <tally/engine/engine.hpp>` means the same thing inside and outside the tree (in
# the tree, include/tally/ links to the layers), and cannot collide with a consumer's own
# engine/ or jobs/ folder.

include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(TALLY_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/tally")
set(TALLY_INSTALL_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}/tally")  # headers go here

set(tally_installed_libraries tally_lockfree tally_engine tally_jobs)
if(TARGET tally_mpi)
  list(APPEND tally_installed_libraries tally_mpi)
endif()
install(TARGETS ${tally_installed_libraries}
  EXPORT tallyTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})

foreach(layer lockfree engine jobs)
  install(DIRECTORY "${PROJECT_SOURCE_DIR}/${layer}/"
    DESTINATION "${TALLY_INSTALL_INCLUDEDIR}/${layer}"
    FILES_MATCHING PATTERN "*.hpp")
endforeach()
install(DIRECTORY "${PROJECT_BINARY_DIR}/generated/tally/"
  DESTINATION "${TALLY_INSTALL_INCLUDEDIR}"
  FILES_MATCHING PATTERN "*.hpp")

if(TARGET tally)
  install(TARGETS tally RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

install(EXPORT tallyTargets
  NAMESPACE tally::
  DESTINATION "${TALLY_INSTALL_CMAKEDIR}")

configure_package_config_file(
  "${PROJECT_SOURCE_DIR}/cmake/tallyConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/tallyConfig.cmake"
  INSTALL_DESTINATION "${TALLY_INSTALL_CMAKEDIR}")
# Before 1.0 a minor version may break the API, so only the same minor version is compatible.
write_basic_package_version_file(
  "${PROJECT_BINARY_DIR}/tallyConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/tallyConfig.cmake"
  "${PROJECT_BINARY_DIR}/tallyConfigVersion.cmake"
  DESTINATION "${TALLY_INSTALL_CMAKEDIR}")
