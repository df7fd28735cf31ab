// An MPI program that does nothing: MPI_Init, then MPI_Finalize. bench/mpi/mpi_bench.cpp runs
// it under mpirun to state what every MPI job pays to start and stop beyond launching its
// processes (`mpirun true`): connecting the ranks and choosing their transports. Not part of
// tally.
#include <mpi.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Finalize();
  return 0;
}
