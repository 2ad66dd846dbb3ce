// ernie train's checkpoints: the trainer state (parameters, AdamW moments, loop state) written
// atomically for --resume, the model folder, and the curves' data.
#include <cmath>
#include <cstring>

#include "ernie/atomic_file.h"
#include "ernie/error.h"
#include "ernie/safetensors.h"
#include "train/loop.h"

namespace ernie::train {


json history_json(const History& h) {
  json steps = json::array();
  for (const auto& [s, l] : h.step_loss) steps.push_back({s, l});
  return {{"step_loss", steps}, {"epochs", h.epochs}, {"best_score", std::isfinite(h.best_score) ? json(h.best_score) : json()},
          {"best_epoch", h.best_epoch}, {"bad_epochs", h.bad_epochs}};
}

History history_from(const json& j) {
  History h;
  for (const auto& s : j.at("step_loss")) h.step_loss.emplace_back(s.at(0).get<int64_t>(), s.at(1).get<double>());
  for (const auto& e : j.at("epochs")) h.epochs.push_back(e);
  h.best_score = j.at("best_score").is_null() ? -INFINITY : j.at("best_score").get<double>();
  h.best_epoch = j.at("best_epoch").get<int>();
  h.bad_epochs = j.at("bad_epochs").get<int>();
  return h;
}

// What must not change between a run and its resumption.
json fingerprint(const TrainOptions& o, int64_t params, int64_t train_rows, int64_t eval_rows) {
  return {{"parameters", params}, {"train_rows", train_rows}, {"eval_rows", eval_rows}, {"seed", o.seed},
          {"batch_size", o.batch_size}, {"grad_accum", o.grad_accum}, {"epochs", o.epochs}, {"lr", o.lr},
          {"warmup_ratio", o.warmup_ratio}, {"weight_decay", o.weight_decay}, {"schedule", o.schedule},
          {"max_seq_len", o.max_seq_len}, {"max_grad_norm", o.max_grad_norm},
          {"storage_layout", "gradient-groups"}};   // TrainableModel's order of the flat buffers
}

fs::path state_file(const TrainOptions& o) { return o.out / "checkpoint" / "trainer_state.safetensors"; }

void save_state(const TrainOptions& o, TrainableModel& model, AdamW& opt, int64_t step, const History& h,
                const json& fp, dist::Communicator& comm) {
  Tensor m = opt.first_moment(), v = opt.second_moment();   // views of this rank's moments
  const int64_t total = model.parameter_storage().numel();
  if (opt.shard().size() != total) {   // --shard-optimizer: every rank's slice, gathered
    m = Tensor::zeros(DType::F32, {total});
    v = Tensor::zeros(DType::F32, {total});
    std::memcpy(m.data<float>() + opt.shard().begin, opt.first_moment().raw(), opt.first_moment().nbytes());
    std::memcpy(v.data<float>() + opt.shard().begin, opt.second_moment().raw(), opt.second_moment().nbytes());
    comm.allgather(m.data<float>(), total);
    comm.allgather(v.data<float>(), total);
  }
  if (!comm.is_root()) return;
  fs::create_directories(o.out / "checkpoint");
  const json state = {{"step", step}, {"history", history_json(h)}, {"fingerprint", fp}};
  write_safetensors(state_file(o),
                    {{"parameters", model.parameter_storage()}, {"adamw.exp_avg", m}, {"adamw.exp_avg_sq", v}},
                    {{"format", "ernie-trainer-state"}, {"state", state.dump()}});
}

int64_t load_state(const TrainOptions& o, TrainableModel& model, AdamW& opt, History& h, const json& fp) {
  const fs::path file = state_file(o);
  if (!fs::exists(file)) throw Error("--resume: no checkpoint at " + file.string());
  const TensorFile tf = read_safetensors(file);
  auto meta = tf.metadata.find("state");
  if (meta == tf.metadata.end()) throw Error(file.string() + ": not a trainer state (no 'state' metadata)");
  History saved;
  int64_t step = 0;
  try {
    const json state = json::parse(meta->second);
    if (state.at("fingerprint") != fp)
      throw Error("--resume: " + file.string() + " was written by a run with other settings or data (saved " +
                  state.at("fingerprint").dump() + ", now " + fp.dump() + ")");
    saved = history_from(state.at("history"));
    step = state.at("step").get<int64_t>();
  } catch (const json::exception& e) {
    throw Error(file.string() + ": the trainer state's metadata is malformed (" + e.what() + ")");
  }
  const int64_t total = model.parameter_storage().numel();
  // dst = elements [begin, begin + dst.numel()) of the saved tensor (moments: this rank's slice).
  auto restore = [&](const char* name, Tensor& dst, int64_t begin) {
    auto it = tf.tensors.find(name);
    if (it == tf.tensors.end() || it->second.dtype() != DType::F32 || it->second.numel() != total)
      throw Error(file.string() + ": tensor " + name + " is missing or has the wrong size");
    std::memcpy(dst.raw(), it->second.data<float>() + begin, dst.nbytes());
  };
  restore("parameters", model.parameter_storage(), 0);
  restore("adamw.exp_avg", opt.first_moment(), opt.shard().begin);
  restore("adamw.exp_avg_sq", opt.second_moment(), opt.shard().begin);
  h = std::move(saved);
  opt.set_steps(step);
  return step;
}

// The model folder: config.json (labels from the data), model.safetensors, the tokenizer.
void save_model(const TrainOptions& o, const TrainableModel& model, const Tokenizer& tok) {
  save_config(model.config(), o.out / "config.json");
  write_safetensors(o.out / "model.safetensors", model.parameters());
  tok.save(o.out);
}

TrainingCurves curves_of(const History& h, const TrainOptions& o) {
  TrainingCurves c;
  c.subtitle = "model " + o.out.string() + " · data " + o.train_file.filename().string() + " · " +
               std::to_string(o.epochs) + " epochs";
  c.step_loss = h.step_loss;
  auto number = [](const json& j, const char* key) {
    return j.contains(key) && j[key].is_number() ? j[key].get<double>() : NAN;
  };
  for (const json& e : h.epochs)
    c.epochs.push_back({e.at("epoch").get<int>(), e.at("step").get<int64_t>(), number(e, "train_loss"),
                        number(e, "eval_loss"), number(e, "eval_accuracy"), number(e, "eval_macro_f1")});
  return c;
}

uint64_t fnv1a(const void* data, size_t n, uint64_t h) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

void check_ranks_agree(dist::Communicator& comm, const json& mine_in) {
  if (comm.size() == 1) return;
  json mine = mine_in;
  mine["ernie version"] = ERNIE_VERSION;
  const std::vector<std::string> all = comm.allgather_bytes(mine.dump());
  const json root = json::parse(all[0]);
  for (size_t r = 1; r < all.size(); ++r) {
    const json other = json::parse(all[r]);
    for (const auto& [what, value] : root.items())
      if (other.value(what, json()) != value)
        throw Error("rank " + std::to_string(r) + " disagrees with rank 0 on the " + what + " (" +
                    other.value(what, json()).dump() + " vs " + value.dump() +
                    "): every rank must run the same build with the same files and options");
  }
}

}  // namespace ernie::train
