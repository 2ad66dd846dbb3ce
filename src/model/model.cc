// Model assembly: checkpoint tensors -> one parameter buffer -> typed weight views -> forward.
#include "ernie/model.h"

#include <cmath>
#include <cstring>
#include <mutex>

#include "ernie/checkpoint.h"
#include "ernie/error.h"
#include "ernie/init.h"
#include "ernie/params.h"
#include "kernels/kernels.h"
#include "kernels/mapped.h"
#include "model/layers.h"

namespace ernie {

namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Maps a checkpoint name to the name parameter_specs uses, or "" for tensors that are not
// parameters (buffers, tied copies). Accepts any of the ernie./bert./roberta. prefixes or none
// on the encoder, and TF-era LayerNorm.gamma/beta spellings.
std::string canonical_name(std::string name, const Config& cfg, const std::string& base,
                           const std::map<std::string, Tensor>& all) {
  if (ends_with(name, "position_ids") || ends_with(name, "embeddings.token_type_ids")) return "";
  static const std::pair<std::string, std::string> kOldSpellings[] = {{"LayerNorm.gamma", "LayerNorm.weight"},
                                                                      {"LayerNorm.beta", "LayerNorm.bias"}};
  for (const auto& [old, now] : kOldSpellings)
    if (ends_with(name, old)) name = name.substr(0, name.size() - old.size()) + now;
  for (const char* prefix : {"ernie.", "bert.", "roberta."}) {
    if (starts_with(name, prefix)) {
      name = name.substr(std::strlen(prefix));
      break;
    }
  }
  if (starts_with(name, "embeddings.") || starts_with(name, "encoder.") || starts_with(name, "pooler."))
    return base + name;
  for (const char* head : {"cls.predictions.", "lm_head."}) {
    const std::string h = head;
    if (name == h + "decoder.weight" && cfg.tie_word_embeddings) return "";   // tied to word embeddings
    if (name == h + "decoder.bias") return all.count(h + "bias") ? "" : h + "bias";
  }
  return name;
}

// int8 checkpoints (`ernie quantize`): NAME.weight is I8 [N, K] with NAME.weight_scale F32 [N].
const Tensor* int8_scale_of(const std::string& name, const Tensor& t, const std::map<std::string, Tensor>& all) {
  if (t.dtype() != DType::I8 || t.rank() != 2) return nullptr;
  auto it = all.find(name + "_scale");
  if (it == all.end() || it->second.dtype() != DType::F32 || it->second.rank() != 1 || it->second.dim(0) != t.dim(0))
    return nullptr;
  return &it->second;
}
bool is_int8_scale(const std::string& name, const std::map<std::string, Tensor>& all) {
  if (!ends_with(name, ".weight_scale")) return false;
  auto w = all.find(name.substr(0, name.size() - 6));
  return w != all.end() && int8_scale_of(w->first, w->second, all) != nullptr;
}
void dequantize_rows(const Tensor& q, const Tensor& scale, float* dst) {
  const int64_t N = q.dim(0), K = q.dim(1);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k) dst[n * K + k] = q.data<int8_t>()[n * K + k] * scale.data<float>()[n];
}

std::string first_bad_value(const float* p, int64_t n) {
  float zero = 0.0f;   // v * 0 is NaN exactly for NaN and Inf: one vectorized pass, then the index
#pragma omp simd reduction(+ : zero)
  for (int64_t i = 0; i < n; ++i) zero += p[i] * 0.0f;
  if (zero == 0.0f) return "";
  for (int64_t i = 0; i < n; ++i)
    if (!std::isfinite(p[i])) return (std::isnan(p[i]) ? "NaN" : "Inf") + std::string(" at index ") + std::to_string(i);
  return "";
}

}  // namespace

Model Model::load(const std::filesystem::path& dir) { return load_folder(dir, std::nullopt); }
Model Model::load(const std::filesystem::path& dir, ComputeType only) { return load_folder(dir, only); }

Model Model::load_folder(const std::filesystem::path& dir, std::optional<ComputeType> only) {
  if (!std::filesystem::is_directory(dir)) throw Error("model folder " + dir.string() + " does not exist");
  Config cfg = load_config(dir);
  LoadedWeights w = load_weights(dir, cfg);   // any format; PaddleNLP layout mapped to HF names
  Model m = from_tensors(std::move(cfg), w.checkpoint.tensors, only);
  m.mask_rule_ = ernie::default_mask_rule(w.layout);
  m.notes_.insert(m.notes_.begin(), "weights: " + w.checkpoint.files.front().string() + " (" +
                                        to_string(w.checkpoint.format) + ", " + to_string(w.layout) + " layout: " +
                                        w.layout_reason + ")");
  return m;
}

namespace {
kernels::MatType mat_type(ComputeType t) {
  return t == ComputeType::F32 ? kernels::MatType::F32 : t == ComputeType::BF16 ? kernels::MatType::BF16 : kernels::MatType::S8;
}
}  // namespace

struct Model::Unpacked {
  std::once_flag once;
  std::map<std::string, Tensor> all;
};

namespace {
// A checkpoint tensor as fp32: a view when it is F32, else a converted copy (int8 checkpoints:
// q · scale, with the stored int8 recorded). Copies of the big ones come from mmap (MappedBuffer).
struct Fp32 {
  const float* data = nullptr;
  Tensor keep;
};
// `buf` (grown as needed) holds int8 conversions, so that one buffer serves every layer.
Fp32 fp32_of(const std::string& source, const std::string& canon, const std::map<std::string, Tensor>& tensors,
             std::map<std::string, model::StoredInt8>& int8, kernels::MappedBuffer<float>& buf) {
  const Tensor& t = tensors.at(source);
  Fp32 f;
  if (t.dtype() == DType::F32) {
    f.data = t.data<float>();
  } else if (const Tensor* scale = int8_scale_of(source, t, tensors)) {   // `ernie quantize` output
    if (buf.size() < static_cast<size_t>(t.numel())) buf.allocate(t.numel());
    dequantize_rows(t, *scale, buf.data());
    f.data = buf.data();
    int8[canon] = {t.data<int8_t>(), scale->data<float>()};
  } else {
    f.keep = t.to_f32();   // throws for integer dtypes, naming them
    f.data = f.keep.data<float>();
  }
  return f;
}
}  // namespace

Model Model::from_tensors(Config cfg, const std::map<std::string, Tensor>& tensors, std::optional<ComputeType> only) {
  Model m;
  const FilePageReleaser release_file_pages;   // the tensors are mapped already
  const std::vector<ParamSpec> specs = parameter_specs(cfg);
  const std::string base = cfg.head() == Head::Base ? "" : cfg.base_prefix() + ".";

  std::map<std::string, std::string> source_of;   // canonical name -> checkpoint name
  for (const auto& [name, t] : tensors) {
    if (is_int8_scale(name, tensors)) continue;   // read with its int8 weight below
    const std::string canon = canonical_name(name, cfg, base, tensors);
    if (canon.empty()) {
      m.notes_.push_back("ignored " + name + " (buffer or tied weight)");
      continue;
    }
    auto [it, fresh] = source_of.emplace(canon, name);
    if (!fresh) throw Error("tensors " + it->second + " and " + name + " are the same parameter " + canon);
  }

  // The encoder's Linear weights are packed below, straight from the checkpoint; every other
  // parameter goes into one buffer.
  int64_t total = 0;
  for (const auto& s : specs)
    if (!model::is_packed_encoder_weight(s.name)) total += shape_numel(s.shape);
  float* storage = static_cast<float*>(std::aligned_alloc(64, ((total * sizeof(float)) / 64 + 1) * 64));
  if (!storage) throw Error("out of memory allocating " + std::to_string(total) + " parameters");
  m.storage_ = std::shared_ptr<float>(storage, std::free);

  int64_t offset = 0;
  std::map<std::string, model::StoredInt8> int8;   // canonical weight name -> stored int8 + scales
  std::map<std::string, std::string> packed_source;   // canonical encoder Linear weight -> checkpoint name
  for (const ParamSpec& spec : specs) {
    auto src = source_of.find(spec.name);
    if (src == source_of.end() && spec.init != InitRule::Sinusoidal)
      throw Error("checkpoint is missing tensor " + spec.name + " " + shape_str(spec.shape) + " (needed by " +
                  cfg.base_prefix() + " " + to_string(cfg.head()) + ")");
    if (src != source_of.end() && tensors.at(src->second).shape() != spec.shape)
      throw Error("tensor " + src->second + " has shape " + shape_str(tensors.at(src->second).shape()) +
                  " but the config implies " + shape_str(spec.shape));
    if (model::is_packed_encoder_weight(spec.name)) {
      packed_source[spec.name] = src->second;
      source_of.erase(src);
      continue;
    }
    float* dst = storage + offset;
    const int64_t n = shape_numel(spec.shape);
    offset += n;
    if (src == source_of.end()) {
      fill_sinusoidal(dst, spec.shape[0], spec.shape[1]);   // fixed table: computed, not stored
    } else {
      kernels::MappedBuffer<float> none;
      const Fp32 f = fp32_of(src->second, spec.name, tensors, int8, none);
      std::memcpy(dst, f.data, n * sizeof(float));
      release_file_pages(tensors.at(src->second));
      const std::string bad = first_bad_value(dst, n);
      if (!bad.empty()) throw Error("tensor " + src->second + " contains " + bad);
      source_of.erase(src);
    }
    m.params_.emplace(spec.name, Tensor::borrow(DType::F32, spec.shape, dst, m.storage_));
  }
  for (const auto& [canon, name] : source_of) m.notes_.push_back("unused tensor " + name + " (not part of this model)");

  // Pack the encoder's Linear weights, one layer at a time (converted copies live only while packed).
  // Loaded for bf16 or int8 only, each layer's fp32 pack lives only until its copy in that type
  // is made, so at most one layer's fp32 weights are resident at a time.
  const bool lower_only = only && *only != ComputeType::F32;
  auto packed = std::make_shared<model::PackedEncoder>();
  auto weights = std::make_shared<model::ModelWeights>(model::bind_weights(cfg, m.params_, /*packed_encoder=*/true));
  {
    kernels::MappedBuffer<float> converted, qkv_rows;   // reused by every layer, freed after
    for (model::EncoderLayerW& layer : weights->layers) {
      auto weight = [&](const char* name) {
        const std::string canon = layer.prefix + name + ".weight";
        Fp32 f = fp32_of(packed_source.at(canon), canon, tensors, int8, converted);
        const std::string bad = first_bad_value(f.data, tensors.at(packed_source.at(canon)).numel());
        if (!bad.empty()) throw Error("tensor " + packed_source.at(canon) + " contains " + bad);
        return f;
      };
      auto pack = [&](const char* name, const model::LinearW& lin) {
        const Fp32 f = weight(name);
        const Tensor& t = tensors.at(packed_source.at(layer.prefix + name + ".weight"));
        auto p = kernels::pack_linear(f.data, lin.b, t.dim(1), t.dim(0), kernels::MatType::F32);
        release_file_pages(t);
        return p;
      };
      model::PackedEncoder::Layer l;
      {   // Q, K, V as one [3H, H] product
        const model::LinearW* parts[] = {&layer.query, &layer.key, &layer.value};
        const auto& names = model::kEncoderLinears;   // Q, K, V first
        const int64_t H = cfg.hidden_size;
        if (qkv_rows.size() < static_cast<size_t>(3 * H * H)) qkv_rows.allocate(3 * H * H);
        float* w = qkv_rows.data();
        std::vector<float> b(3 * H);
        for (int i = 0; i < 3; ++i) {
          const Fp32 f = weight(names[i]);
          std::memcpy(w + i * H * H, f.data, H * H * sizeof(float));
          release_file_pages(tensors.at(packed_source.at(layer.prefix + names[i] + ".weight")));
          std::memcpy(b.data() + i * H, parts[i]->b, H * sizeof(float));
        }
        l.qkv = kernels::pack_linear(w, b.data(), H, 3 * H, kernels::MatType::F32);
      }
      l.attn_out = pack("attention.output.dense", layer.attn_out);
      l.intermediate = pack("intermediate.dense", layer.intermediate);
      l.output = pack("output.dense", layer.output);
      if (lower_only) {
        model::prepare_layer(layer, l, mat_type(*only), &int8);
        // An int8 checkpoint's stored weights and scales were read again: release them again.
        for (const char* name : model::kEncoderLinears) {
          const std::string& source = packed_source.at(layer.prefix + name + ".weight");
          release_file_pages(tensors.at(source));
          if (auto scale = tensors.find(source + "_scale"); scale != tensors.end()) release_file_pages(scale->second);
        }
      } else {
        packed->layers.push_back(std::move(l));
      }
    }
  }
  m.unpacked_ = std::make_shared<Unpacked>();
  if (!lower_only) m.packed_ = packed;

  if (lower_only) {
    m.compute_ = *only;
  } else if (!only && !int8.empty()) {   // an int8 checkpoint runs in int8 with exactly its stored weights
    model::prepare_weights(*weights, *packed, kernels::MatType::S8, &int8);
    m.compute_ = ComputeType::Int8;
  } else {   // fp32 (only = F32 also for an int8 checkpoint: its dequantized values)
    model::prepare_weights(*weights, *packed, kernels::MatType::F32);
  }
  m.weights_ = std::move(weights);
  m.cfg_ = std::make_shared<const Config>(std::move(cfg));
  return m;
}

const std::map<std::string, Tensor>& Model::parameters() const {
  if (!unpacked_) return params_;   // a default-constructed Model
  if (!packed_)
    throw Error(std::string("this model was loaded for ") + compute_type_name(compute_) +
                " only and keeps no fp32 copy of its encoder weights; load it without a compute type to read or "
                "save its parameters");
  std::call_once(unpacked_->once, [this] {
    std::map<std::string, Tensor> all = params_;
    const int64_t layers = static_cast<int64_t>(packed_->layers.size());
    for (int64_t i = 0; i < layers; ++i) {
      const model::PackedEncoder::Layer& l = packed_->layers[i];
      const std::string p = weights_->layers[i].prefix;
      auto unpack = [&](const kernels::PackedLinear& w) {
        Tensor t = Tensor::empty(DType::F32, {kernels::packed_out(w), kernels::packed_in(w)});
        kernels::unpack_linear(w, t.data<float>());
        return t;
      };
      const int64_t H = kernels::packed_in(*l.qkv), N = kernels::packed_out(*l.qkv) / 3;
      kernels::MappedBuffer<float> qkv(3 * N * H);   // a temporary: kept out of the heap
      kernels::unpack_linear(*l.qkv, qkv.data());
      const auto& names = model::kEncoderLinears;   // Q, K, V first
      for (int j = 0; j < 3; ++j) {
        Tensor t = Tensor::empty(DType::F32, {N, H});
        std::memcpy(t.data<float>(), qkv.data() + j * N * H, N * H * sizeof(float));
        all[p + names[j] + ".weight"] = std::move(t);
      }
      all[p + "attention.output.dense.weight"] = unpack(*l.attn_out);
      all[p + "intermediate.dense.weight"] = unpack(*l.intermediate);
      all[p + "output.dense.weight"] = unpack(*l.output);
    }
    unpacked_->all = std::move(all);
  });
  return unpacked_->all;
}

void Model::set_compute_type(ComputeType t) {
  if (t == compute_) return;
  if (!packed_)
    throw Error(std::string("this model was loaded for ") + compute_type_name(compute_) + " only; load it again for " +
                compute_type_name(t));
  auto weights = std::make_shared<model::ModelWeights>(model::bind_weights(*cfg_, params_, /*packed_encoder=*/true));
  model::prepare_weights(*weights, *packed_, mat_type(t));
  weights_ = std::move(weights);
  compute_ = t;
}

const char* compute_type_name(ComputeType t) {
  switch (t) {
    case ComputeType::F32: return "f32";
    case ComputeType::BF16: return "bf16";
    case ComputeType::Int8: return "int8";
  }
  return "?";
}

ComputeType parse_compute_type(const std::string& name) {
  if (name == "f32" || name == "fp32" || name == "float32") return ComputeType::F32;
  if (name == "bf16" || name == "bfloat16") return ComputeType::BF16;
  if (name == "int8" || name == "i8") return ComputeType::Int8;
  throw Error("unknown dtype '" + name + "' (expected f32, bf16 or int8)");
}

namespace {

// Checks a batch built by hand (pack_padded's batches are valid by construction).
void check_batch(const Batch& b, const Config& cfg) {
  const size_t T = b.input_ids.size();
  if (b.rows < 0 || b.offsets.size() != static_cast<size_t>(b.rows + 1) || b.offsets.front() != 0 ||
      b.offsets.back() != static_cast<int64_t>(T) || b.token_type_ids.size() != T || b.task_type_ids.size() != T ||
      b.position_ids.size() != T || b.column.size() != T)
    throw Error("malformed batch: offsets and per-token arrays disagree");
  for (int64_t s = 0; s < b.rows; ++s)
    if (b.length(s) <= 0) throw Error("malformed batch: sequence " + std::to_string(s) + " is empty");
  for (size_t t = 0; t < T; ++t) {
    if (b.input_ids[t] < 0 || b.input_ids[t] >= cfg.vocab_size ||
        b.token_type_ids[t] < 0 || b.token_type_ids[t] >= cfg.type_vocab_size ||
        b.position_ids[t] < 0 || b.position_ids[t] >= cfg.max_position_embeddings ||
        b.column[t] < 0 || b.column[t] >= cfg.max_position_embeddings ||
        (cfg.use_task_id && (b.task_type_ids[t] < 0 || b.task_type_ids[t] >= cfg.task_type_vocab_size)))
      throw Error("malformed batch: token " + std::to_string(t) + " has an id outside its table");
  }
}

Tensor copy_of(const float* p, Shape shape) {
  Tensor t = Tensor::empty(DType::F32, std::move(shape));
  std::memcpy(t.data<float>(), p, t.nbytes());
  return t;
}

}  // namespace

Outputs Model::forward(const Batch& batch) const {
  const Config& cfg = *cfg_;
  check_batch(batch, cfg);
  const int64_t T = batch.tokens(), H = cfg.hidden_size;

  Outputs out;
  Tensor hidden = Tensor::empty(DType::F32, {T, H});
  float* x = hidden.data<float>();
  model::embeddings_forward(cfg, weights_->embeddings, batch, x);
  out.embedding_output = copy_of(x, {T, H});

  model::Activations act(T, cfg);
  for (const auto& layer : weights_->layers) model::encoder_layer_forward(cfg, layer, batch, x, act);

  model::heads_forward(cfg, weights_->head, batch, x, out);
  out.last_hidden_state = std::move(hidden);
  return out;
}

namespace model {

Activations::Activations(int64_t tokens, const Config& cfg) {
  const int64_t H = cfg.hidden_size, I = cfg.intermediate_size;
  arena = Tensor::empty(DType::F32, {tokens * (5 * H + I)});
  float* p = arena.data<float>();
  q = p;
  k = q + tokens * H;
  v = k + tokens * H;
  ctx = v + tokens * H;
  tmp = ctx + tokens * H;
  ffn = tmp + tokens * H;
}

namespace {
struct Binder {
  const std::map<std::string, Tensor>& params;
  bool packed_encoder = false;   // encoder Linear weights may be absent (packed)
  const float* get(const std::string& name) const {
    auto it = params.find(name);
    if (it == params.end()) throw Error("internal: parameter " + name + " was not loaded");
    return it->second.data<float>();
  }
  const float* maybe(const std::string& name) const {
    auto it = params.find(name);
    return it == params.end() ? nullptr : it->second.data<float>();
  }
  LinearW linear(const std::string& name) const {
    auto it = params.find(name + ".weight");
    if (it == params.end() && packed_encoder && is_packed_encoder_weight(name + ".weight"))
      return {nullptr, get(name + ".bias"), 0, 0, nullptr};   // prepare_weights fills it
    if (it == params.end()) throw Error("internal: parameter " + name + ".weight was not loaded");
    const Tensor& w = it->second;
    return {w.data<float>(), get(name + ".bias"), w.dim(1), w.dim(0), nullptr};
  }
  LayerNormW norm(const std::string& name) const { return {get(name + ".weight"), get(name + ".bias")}; }
};
}  // namespace

ModelWeights bind_weights(const Config& cfg, const std::map<std::string, Tensor>& params, bool packed_encoder) {
  const Binder b{params, packed_encoder};
  const std::string p = cfg.head() == Head::Base ? "" : cfg.base_prefix() + ".";
  ModelWeights w;
  w.embeddings.word = b.get(p + "embeddings.word_embeddings.weight");
  w.embeddings.position = b.get(p + "embeddings.position_embeddings.weight");
  w.embeddings.token_type = b.get(p + "embeddings.token_type_embeddings.weight");
  w.embeddings.task_type = b.maybe(p + "embeddings.task_type_embeddings.weight");
  w.embeddings.norm = b.norm(p + "embeddings.LayerNorm");
  for (int64_t i = 0; i < cfg.num_hidden_layers; ++i) {
    const std::string l = p + "encoder.layer." + std::to_string(i) + ".";
    EncoderLayerW e;
    e.prefix = l;
    e.query = b.linear(l + "attention.self.query");
    e.key = b.linear(l + "attention.self.key");
    e.value = b.linear(l + "attention.self.value");
    e.distance = b.maybe(l + "attention.self.distance_embedding.weight");
    e.attn_out = b.linear(l + "attention.output.dense");
    e.attn_norm = b.norm(l + "attention.output.LayerNorm");
    e.intermediate = b.linear(l + "intermediate.dense");
    e.output = b.linear(l + "output.dense");
    e.out_norm = b.norm(l + "output.LayerNorm");
    w.layers.push_back(e);
  }
  HeadW& h = w.head;
  if (has_pooler(cfg)) h.pooler = b.linear(p + "pooler.dense");
  const bool roberta = cfg.model_type == ModelType::Roberta;
  switch (cfg.head()) {
    case Head::Base:
      break;
    case Head::SequenceClassification:
      if (roberta) {
        h.cls_dense = b.linear("classifier.dense");
        h.classifier = b.linear("classifier.out_proj");
      } else {
        h.classifier = b.linear("classifier");
      }
      break;
    case Head::TokenClassification:
    case Head::MultipleChoice:
      h.classifier = b.linear("classifier");
      break;
    case Head::QuestionAnswering:
      h.qa = b.linear("qa_outputs");
      break;
    case Head::PreTraining:
      h.seq_relationship = b.linear("cls.seq_relationship");
      [[fallthrough]];
    case Head::MaskedLM: {
      const std::string lm = roberta ? "lm_head." : "cls.predictions.";
      h.lm_transform = b.linear(roberta ? "lm_head.dense" : "cls.predictions.transform.dense");
      h.lm_norm = b.norm(roberta ? "lm_head.layer_norm" : "cls.predictions.transform.LayerNorm");
      h.lm_decoder = cfg.tie_word_embeddings ? w.embeddings.word : b.get(lm + "decoder.weight");
      h.lm_bias = b.get(lm + "bias");
      break;
    }
  }
  return w;
}

}  // namespace model
}  // namespace ernie
