// AdamW with decoupled weight decay (as torch.optim.AdamW), the learning-rate schedules of
// transformers (linear warmup, then linear or cosine decay to 0), and global-norm clipping.
#pragma once
#include <cstdint>
#include <string>

#include "ernie/dist.h"
#include "ernie/tensor.h"
#include "ernie/trainable.h"

namespace ernie {

enum class Schedule { Linear, Cosine, Constant, Polynomial };
Schedule parse_schedule(const std::string& name);   // linear | cosine | constant | polynomial; throws otherwise

// Multiplier of the peak learning rate at optimizer step `step` (0-based) of `total`, with
// `warmup` warmup steps: step / warmup during warmup, then the decay (transformers'
// get_{linear,cosine,constant}_schedule_with_warmup: the first step of a warmup has rate 0).
// Polynomial: transformers' get_polynomial_decay_schedule_with_warmup, as a factor of the peak:
// end + (1 - end) * (1 - progress)^power after warmup (end = lr_end / lr, BERT's pretraining decay
// with power 1), `end` once past `total`.
double schedule_factor(Schedule s, int64_t step, int64_t warmup, int64_t total, double power = 1.0, double end = 0.0);

// Scales every gradient so that their global L2 norm is at most max_norm (max_norm <= 0: no
// clipping). Returns the norm before clipping (as torch.nn.utils.clip_grad_norm_).
double clip_grad_norm(TrainableModel& model, double max_norm);
// The same over g[n], one rank's slice of the gradients: the squares are summed over comm.
double clip_grad_norm(float* g, int64_t n, double max_norm, dist::Communicator& comm);

struct AdamWOptions {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0.01;
  // LAMB (You et al., "Large Batch Optimization for Deep Learning: Training BERT in 76 minutes",
  // 2020, Algorithm 2): the same bias-corrected moments, the update u = m̂ / (sqrt(v̂) + eps) + wd p
  // (decay included in u), scaled per parameter tensor by the trust ratio ||p|| / ||u|| (1 when
  // either is 0): p -= lr * ratio * u. Needs whole tensors (no optimizer sharding).
  bool lamb = false;
};

class AdamW {
 public:
  // Updates elements [shard.begin, shard.end) of the parameter storage (default: all of it) and
  // keeps moments for those only (ZeRO stage 1: each rank of a job owns one slice).
  AdamW(TrainableModel& model, AdamWOptions o, dist::Range shard = {0, -1});
  // One update of every trainable parameter from its gradient at learning rate lr. Parameters
  // that TrainableModel::decays() lose lr * weight_decay of themselves first; the rest do not.
  void step(double lr);

  int64_t steps() const { return steps_; }
  const dist::Range& shard() const { return shard_; }
  // The moment estimates of the shard, laid out as that part of the parameter storage.
  Tensor& first_moment() { return m_; }
  Tensor& second_moment() { return v_; }
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  struct Range {
    int64_t begin, size;
    bool decay;
  };
  void lamb_step(double lr, float inv_bc1, float inv_bc2);
  TrainableModel& model_;
  AdamWOptions o_;
  dist::Range shard_;
  Tensor m_, v_;
  std::vector<Range> ranges_;
  int64_t steps_ = 0;
};

}  // namespace ernie
