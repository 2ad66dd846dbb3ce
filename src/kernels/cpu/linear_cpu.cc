// Linear layers through oneDNN's matmul. Weights stay in PyTorch's [out, in] layout: oneDNN reads
// them as a [K, N] matrix with strides {1, K}, so nothing is transposed or copied.
#include <memory>
#include <mutex>
#include <tuple>
#include <unordered_map>

#include <oneapi/dnnl/dnnl.hpp>

#include "kernels/kernels.h"

namespace ernie::kernels {

namespace {

using dnnl::memory;

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// Streams are not thread-safe: one per calling thread.
dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

struct Key {
  int64_t M, K, N;
  bool bias;
  bool operator==(const Key& o) const { return M == o.M && K == o.K && N == o.N && bias == o.bias; }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    return std::hash<int64_t>()(k.M * 1000003 ^ k.K * 10007 ^ k.N * 31 ^ k.bias);
  }
};

struct Prim {
  dnnl::matmul matmul;
  memory::desc src, weights, bias, dst;
};

// Primitive creation costs far more than a small matmul: cache them by shape. The cache is
// bounded because ragged batches bring many distinct row counts; entries are shared_ptrs so a
// clear() never pulls a primitive from under a running call.
std::shared_ptr<const Prim> primitive(const Key& key) {
  static std::mutex mu;
  static std::unordered_map<Key, std::shared_ptr<const Prim>, KeyHash> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 512) cache.clear();
  auto p = std::make_shared<Prim>();
  p->src = memory::desc({key.M, key.K}, memory::data_type::f32, memory::dims{key.K, 1});
  p->weights = memory::desc({key.K, key.N}, memory::data_type::f32, memory::dims{1, key.K});
  p->bias = key.bias ? memory::desc({1, key.N}, memory::data_type::f32, memory::dims{key.N, 1}) : memory::desc();
  p->dst = memory::desc({key.M, key.N}, memory::data_type::f32, memory::dims{key.N, 1});
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(p->src, p->weights, p->bias, p->dst), engine());
  p->matmul = dnnl::matmul(pd);
  cache.emplace(key, p);
  return p;
}

}  // namespace

void linear(const float* x, const float* W, const float* b, float* y, int64_t M, int64_t K, int64_t N) {
  if (M == 0) return;
  const auto p = primitive({M, K, N, b != nullptr});
  std::unordered_map<int, memory> args = {
      {DNNL_ARG_SRC, memory(p->src, engine(), const_cast<float*>(x))},
      {DNNL_ARG_WEIGHTS, memory(p->weights, engine(), const_cast<float*>(W))},
      {DNNL_ARG_DST, memory(p->dst, engine(), y)},
  };
  if (b) args.emplace(DNNL_ARG_BIAS, memory(p->bias, engine(), const_cast<float*>(b)));
  p->matmul.execute(stream(), args);
  stream().wait();
}

}  // namespace ernie::kernels
