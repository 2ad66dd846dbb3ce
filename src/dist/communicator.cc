// The single-process communicator, the world registry and work shares.
#include <algorithm>
#include <cstdlib>

#include <omp.h>

#include "dist/mpi.h"
#include "ernie/dist.h"

namespace ernie::dist {

namespace {

// Every collective of one process is the identity.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  int local_size() const override { return 1; }
  std::string describe() const override { return "single process"; }
  bool concurrent_ok() const override { return true; }
  void barrier() override {}
  void allreduce_sum(float*, int64_t) override {}
  void allreduce_sum(double*, int64_t) override {}
  void allreduce_sum(int64_t*, int64_t) override {}
  void reduce_scatter_sum(float*, int64_t) override {}
  void allgather(float*, int64_t) override {}
  std::vector<std::string> allgather_bytes(const std::string& mine) override { return {mine}; }
  [[noreturn]] void abort(int code) override { std::_Exit(code); }
};

Communicator* current = nullptr;

}  // namespace

Communicator& single_process() {
  static SingleProcess one;
  return one;
}

Communicator& world() { return current ? *current : single_process(); }

World::World(int& argc, char**& argv) {
  if (launched_by_mpi()) comm_ = make_mpi_communicator(argc, argv);
  current = comm_.get();
}

World::~World() {
  current = nullptr;
  if (comm_) finalize_mpi();
}

void set_threads(int threads, const Communicator& comm) {
  if (threads > 0) omp_set_num_threads(threads);
  else if (comm.local_size() > 1 && !std::getenv("OMP_NUM_THREADS"))
    omp_set_num_threads(std::max(1, omp_get_num_procs() / comm.local_size()));
}

Range share(int64_t n, int rank, int size) {
  const int64_t base = n / size, extra = n % size;
  Range r;
  r.begin = rank * base + std::min<int64_t>(rank, extra);
  r.end = r.begin + base + (rank < extra ? 1 : 0);
  return r;
}

}  // namespace ernie::dist
