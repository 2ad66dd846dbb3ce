// Collectives between the processes of one job, behind one small interface. Single process and
// MPI implement it today (NCCL could later). The trainer and the batch commands know only this
// interface; the model and kernels know nothing of it.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ernie::dist {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_size() const = 0;     // ranks on this machine (for the default thread count)
  virtual std::string describe() const = 0;
  // Whether one other thread may run collectives while this one computes (the gradient reducer's
  // overlap); the thread that calls must then be the only one using the communicator.
  virtual bool concurrent_ok() const = 0;

  virtual void barrier() = 0;
  // In place: data[i] = sum over ranks of data[i]. Every rank gets the same bits.
  virtual void allreduce_sum(float* data, int64_t n) = 0;
  virtual void allreduce_sum(double* data, int64_t n) = 0;
  virtual void allreduce_sum(int64_t* data, int64_t n) = 0;
  // In place over data[n], cut into shares (share(n, r, size())): afterwards this rank's share
  // holds the sum over ranks of that share; the rest of data is unspecified.
  virtual void reduce_scatter_sum(float* data, int64_t n) = 0;
  // In place over data[n]: each rank's share is its own; afterwards data holds every share.
  virtual void allgather(float* data, int64_t n) = 0;
  // Every rank's bytes, in rank order (small messages: settings, hashes, counts).
  virtual std::vector<std::string> allgather_bytes(const std::string& mine) = 0;
  // Ends every process of the job now (a rank that failed must not leave the others waiting).
  [[noreturn]] virtual void abort(int code) = 0;

  bool is_root() const { return rank() == 0; }
};

Communicator& world();

// The job this process belongs to. Under an MPI launcher (mpirun, srun with PMI/PMIx) MPI is
// initialized; otherwise a single process, with no MPI call at all.
class World {
 public:
  World(int& argc, char**& argv);
  ~World();   // MPI_Finalize
  Communicator& comm() { return world(); }

 private:
  std::unique_ptr<Communicator> comm_;
};

// world(): the process-wide communicator (single process until a World exists).
// A communicator of one process, for library users that run alone.
Communicator& single_process();

// OpenMP threads of this rank: `threads` when positive, else OMP_NUM_THREADS when set, else the
// machine's cores divided among the ranks on it.
void set_threads(int threads, const Communicator& comm);

// Contiguous share [begin, end) of n items for `rank` of `size`: the first n % size ranks get one more.
struct Range {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
};
Range share(int64_t n, int rank, int size);

}  // namespace ernie::dist
