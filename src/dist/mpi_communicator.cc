// dist::Communicator over MPI. Counts above INT_MAX are sent in pieces. Any MPI failure aborts
// the whole job (MPI_ERRORS_ARE_FATAL): a rank that dies must not leave the others waiting.
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>

#include "dist/mpi.h"
#include "ernie/error.h"

namespace ernie::dist {

namespace {

constexpr int64_t kPiece = INT_MAX / 8;   // elements per MPI call (counts are int)

template <class T>
MPI_Datatype type_of();
template <>
MPI_Datatype type_of<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype type_of<double>() { return MPI_DOUBLE; }
template <>
MPI_Datatype type_of<int64_t>() { return MPI_INT64_T; }

class Mpi final : public Communicator {
 public:
  explicit Mpi(int thread_level) : thread_level_(thread_level) {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    char version[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(version, &len);
    library_.assign(version, static_cast<size_t>(len));
    library_ = library_.substr(0, library_.find_first_of(",\n"));
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  std::string describe() const override {
    return "MPI, " + std::to_string(size_) + " ranks (" + std::to_string(local_size_) + " on this machine), " + library_;
  }
  bool concurrent_ok() const override { return thread_level_ >= MPI_THREAD_SERIALIZED; }

  void barrier() override { MPI_Barrier(MPI_COMM_WORLD); }
  void allreduce_sum(float* d, int64_t n) override { allreduce(d, n); }
  void allreduce_sum(double* d, int64_t n) override { allreduce(d, n); }
  void allreduce_sum(int64_t* d, int64_t n) override { allreduce(d, n); }

  // Shares are counted in ints: a share of 2^31 floats or more (8 GiB) is refused.
  void reduce_scatter_sum(float* data, int64_t n) override {
    const std::vector<int> counts = share_counts(n), displs = share_displs(counts);
    MPI_Reduce_scatter(MPI_IN_PLACE, data, counts.data(), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
    // MPI_IN_PLACE leaves this rank's result at the front of data.
    if (rank_ > 0) std::memmove(data + displs[rank_], data, static_cast<size_t>(counts[rank_]) * sizeof(float));
  }

  void allgather(float* data, int64_t n) override {
    const std::vector<int> counts = share_counts(n), displs = share_displs(counts);
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, data, counts.data(), displs.data(), MPI_FLOAT, MPI_COMM_WORLD);
  }

  std::vector<std::string> allgather_bytes(const std::string& mine) override {
    if (mine.size() > static_cast<size_t>(INT_MAX)) throw Error("allgather_bytes: message too large");
    const int len = static_cast<int>(mine.size());
    std::vector<int> lens(size_), offsets(size_);
    MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, MPI_COMM_WORLD);
    int64_t total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets[r] = static_cast<int>(total);
      total += lens[r];
    }
    if (total > INT_MAX) throw Error("allgather_bytes: messages too large");
    std::string all(static_cast<size_t>(total), '\0');
    MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), offsets.data(), MPI_CHAR, MPI_COMM_WORLD);
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r) out.push_back(all.substr(offsets[r], lens[r]));
    return out;
  }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  std::vector<int> share_counts(int64_t n) const {
    if (dist::share(n, 0, size_).size() > INT_MAX || n > INT_MAX)
      throw Error("a collective over " + std::to_string(n) + " floats is beyond MPI's int counts");
    std::vector<int> counts(size_);
    for (int r = 0; r < size_; ++r) counts[r] = static_cast<int>(dist::share(n, r, size_).size());
    return counts;
  }
  static std::vector<int> share_displs(const std::vector<int>& counts) {
    std::vector<int> displs(counts.size(), 0);
    for (size_t r = 1; r < counts.size(); ++r) displs[r] = displs[r - 1] + counts[r - 1];
    return displs;
  }

  template <class T>
  void allreduce(T* d, int64_t n) {
    for (int64_t at = 0; at < n; at += kPiece)
      MPI_Allreduce(MPI_IN_PLACE, d + at, static_cast<int>(std::min(n - at, kPiece)), type_of<T>(), MPI_SUM,
                    MPI_COMM_WORLD);
  }

  int rank_ = 0, size_ = 1, local_size_ = 1, thread_level_ = MPI_THREAD_SINGLE;
  std::string library_;
};

}  // namespace

bool launched_by_mpi() {
  const char* force = std::getenv("ERNIE_MPI");
  if (force) return std::strcmp(force, "0") != 0;
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(v)) return true;
  return false;
}

std::unique_ptr<Communicator> make_mpi_communicator(int& argc, char**& argv) {
  int provided = MPI_THREAD_SINGLE;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  return std::make_unique<Mpi>(provided);
}

void finalize_mpi() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

}  // namespace ernie::dist
