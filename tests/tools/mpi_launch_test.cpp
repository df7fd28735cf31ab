// detect_launch and unsupported_launch (tools/tally/mpi_launch.hpp) against the variables each
// launcher sets. This test compiles mpi_launch.cpp without TALLY_HAVE_MPI: the build of a
// tally without MPI, whose refusal to run as a rank is what it checks.
#include "tools/tally/mpi_launch.hpp"

#include <gtest/gtest.h>

#include <cstdlib>

namespace {

using tally::cli::detect_launch;
using tally::cli::unsupported_launch;

class LaunchTest : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                             "PMI_SIZE", "PMI_RANK", "SLURM_STEP_NUM_TASKS", "SLURM_PROCID"}) {
      ::unsetenv(name);
    }
  }
  static void set(const char* name, const char* value) { ::setenv(name, value, 1); }
};

TEST_F(LaunchTest, NoLauncherVariablesMeanAProcessAlone) {
  const auto launch = detect_launch();
  EXPECT_FALSE(launch.as_rank);
  EXPECT_EQ(launch.rank, 0);
  EXPECT_EQ(launch.size, 1);
  EXPECT_FALSE(unsupported_launch(launch).has_value());
}

TEST_F(LaunchTest, OpenMpisMpirun) {
  set("OMPI_COMM_WORLD_SIZE", "4");
  set("OMPI_COMM_WORLD_RANK", "2");
  set("PMIX_RANK", "2");
  const auto launch = detect_launch();
  EXPECT_TRUE(launch.as_rank);
  EXPECT_EQ(launch.rank, 2);
  EXPECT_EQ(launch.size, 4);
  EXPECT_EQ(launch.launcher, "mpirun");
}

TEST_F(LaunchTest, SrunWithPmix) {
  set("SLURM_STEP_NUM_TASKS", "3");
  set("SLURM_PROCID", "1");
  set("PMIX_RANK", "1");
  const auto launch = detect_launch();
  EXPECT_TRUE(launch.as_rank);
  EXPECT_EQ(launch.rank, 1);
  EXPECT_EQ(launch.size, 3);
  EXPECT_EQ(launch.launcher, "srun");
}

TEST_F(LaunchTest, PmiLaunchers) {
  set("PMI_SIZE", "5");
  set("PMI_RANK", "4");
  const auto launch = detect_launch();
  EXPECT_TRUE(launch.as_rank);
  EXPECT_EQ(launch.rank, 4);
  EXPECT_EQ(launch.size, 5);
}

// A batch script's shell, or `srun -n1 tally ...`: one task is a process alone.
TEST_F(LaunchTest, OneSlurmTaskIsAProcessAlone) {
  set("SLURM_STEP_NUM_TASKS", "1");
  set("SLURM_PROCID", "0");
  EXPECT_FALSE(detect_launch().as_rank);
}

TEST_F(LaunchTest, MalformedVariablesAreIgnored) {
  set("OMPI_COMM_WORLD_SIZE", "four");
  set("SLURM_STEP_NUM_TASKS", "-2");
  set("SLURM_PROCID", "0");
  EXPECT_FALSE(detect_launch().as_rank);
}

TEST_F(LaunchTest, ATallyWithoutMpiRefusesToRunAsARank) {
  set("OMPI_COMM_WORLD_SIZE", "2");
  set("OMPI_COMM_WORLD_RANK", "0");
  const auto why = unsupported_launch(detect_launch());
  ASSERT_TRUE(why.has_value());
  EXPECT_NE(why->find("built without MPI"), std::string::npos) << *why;
  EXPECT_NE(why->find("started by mpirun as rank 0 of 2"), std::string::npos) << *why;
}

}  // namespace
