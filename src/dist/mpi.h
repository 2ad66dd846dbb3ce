// The MPI implementation of dist::Communicator (mpi_communicator.cc); only dist/ sees MPI.
#pragma once
#include <memory>

#include "ernie/dist.h"

namespace ernie::dist {

// True when an MPI launcher started this process (Open MPI's mpirun, PMI or PMIx under srun or
// hydra), or ERNIE_MPI=1 asks for MPI anyway.
bool launched_by_mpi();
std::unique_ptr<Communicator> make_mpi_communicator(int& argc, char**& argv);
void finalize_mpi();

}  // namespace ernie::dist
