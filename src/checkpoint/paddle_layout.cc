// PaddleNLP's parameter names and layout <-> transformers'.
//
// PaddleNLP (paddlenlp/transformers/{ernie,bert,roberta}/modeling.py) builds the encoder from
// paddle.nn.TransformerEncoderLayer: encoder.layers.N.self_attn.{q,k,v,out}_proj, linear1,
// linear2, norm1, norm2; embeddings.layer_norm; the LM head is cls.predictions.{transform,
// layer_norm, decoder_weight, decoder_bias}; the QA head is `classifier` with 2 outputs.
// paddle.nn.Linear stores its weight as [in, out], transformers' nn.Linear as [out, in]:
// every Linear weight is transposed, embedding tables (and decoder_weight, an embedding-shaped
// [vocab, hidden] parameter) never are.
#include <cctype>
#include <cstring>

#include "ernie/checkpoint.h"
#include "ernie/error.h"

namespace ernie {

namespace {

struct Pair {
  const char* paddle;
  const char* hf;
};

// Inside encoder.layers.N. / encoder.layer.N.
constexpr Pair kLayer[] = {
    {"self_attn.q_proj.", "attention.self.query."},   {"self_attn.k_proj.", "attention.self.key."},
    {"self_attn.v_proj.", "attention.self.value."},   {"self_attn.out_proj.", "attention.output.dense."},
    {"norm1.", "attention.output.LayerNorm."},         {"linear1.", "intermediate.dense."},
    {"linear2.", "output.dense."},                      {"norm2.", "output.LayerNorm."},
};

// Anywhere else (matched at the start of the name or after a '.').
constexpr Pair kOther[] = {
    {"embeddings.layer_norm.", "embeddings.LayerNorm."},
    {"cls.predictions.layer_norm.", "cls.predictions.transform.LayerNorm."},
    {"cls.predictions.transform.", "cls.predictions.transform.dense."},
    {"cls.predictions.decoder_weight", "cls.predictions.decoder.weight"},
    {"cls.predictions.decoder_bias", "cls.predictions.bias"},
};

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

// Position of `key` in `name` at the start or right after a '.', else npos.
size_t find_part(const std::string& name, const std::string& key) {
  for (size_t pos = name.find(key); pos != std::string::npos; pos = name.find(key, pos + 1))
    if (pos == 0 || name[pos - 1] == '.') return pos;
  return std::string::npos;
}

std::string map_name(const std::string& name, bool to_hf, bool qa) {
  const std::string layers = to_hf ? "encoder.layers." : "encoder.layer.";
  const size_t lp = find_part(name, layers);
  if (lp != std::string::npos) {
    size_t p = lp + layers.size();
    size_t q = p;
    while (q < name.size() && std::isdigit(static_cast<unsigned char>(name[q]))) ++q;
    if (q > p && q < name.size() && name[q] == '.') {
      const std::string head = name.substr(0, lp) + (to_hf ? "encoder.layer." : "encoder.layers.") + name.substr(p, q - p) + ".";
      const std::string rest = name.substr(q + 1);
      for (const Pair& m : kLayer) {
        const std::string from = to_hf ? m.paddle : m.hf;
        if (starts_with(rest, from)) return head + (to_hf ? m.hf : m.paddle) + rest.substr(from.size());
      }
      return head + rest;
    }
  }
  for (const Pair& m : kOther) {
    const std::string from = to_hf ? m.paddle : m.hf;
    const size_t pos = find_part(name, from);
    if (pos != std::string::npos) return name.substr(0, pos) + (to_hf ? m.hf : m.paddle) + name.substr(pos + from.size());
  }
  if (qa) {
    const std::string from = to_hf ? "classifier." : "qa_outputs.";
    if (starts_with(name, from)) return (to_hf ? "qa_outputs." : "classifier.") + name.substr(from.size());
  }
  return name;
}

// A 2-D Linear weight (in HF spelling): transposed between the layouts.
bool is_linear_weight(const std::string& hf_name, const Tensor& t) {
  if (t.rank() != 2 || !ends_with(hf_name, ".weight")) return false;
  if (hf_name.find("embeddings.") != std::string::npos || hf_name.find("distance_embedding.") != std::string::npos)
    return false;
  if (ends_with(hf_name, "decoder.weight")) return false;   // [vocab, hidden] like the word embeddings
  return true;
}

Tensor transposed(const Tensor& t) {
  const int64_t r = t.dim(0), c = t.dim(1);
  const size_t es = dtype_size(t.dtype());
  Tensor out = Tensor::empty(t.dtype(), {c, r});
  const uint8_t* src = static_cast<const uint8_t*>(t.raw());
  uint8_t* dst = static_cast<uint8_t*>(out.raw());
  for (int64_t i = 0; i < r; ++i)
    for (int64_t j = 0; j < c; ++j) std::memcpy(dst + (j * r + i) * es, src + (i * c + j) * es, es);
  return out;
}

}  // namespace

const char* to_string(WeightLayout l) { return l == WeightLayout::Paddle ? "paddle" : "hf"; }

MaskRule default_mask_rule(WeightLayout layout) {
  return layout == WeightLayout::Paddle ? MaskRule::MaskPadIds : MaskRule::AttendAll;
}

WeightLayout detect_layout(const std::map<std::string, Tensor>& tensors, const std::map<std::string, std::string>& metadata,
                           std::string* reason) {
  static const char* kPaddle[] = {"self_attn.q_proj.", "encoder.layers.", "embeddings.layer_norm.", "decoder_weight"};
  static const char* kHf[] = {"encoder.layer.", "attention.self.query.", "embeddings.LayerNorm.", "LayerNorm.gamma"};
  std::string paddle_example, hf_example;
  size_t paddle = 0, hf = 0;
  for (const auto& [name, t] : tensors) {
    for (const char* k : kPaddle)
      if (name.find(k) != std::string::npos) {
        if (!paddle++) paddle_example = name;
        break;
      }
    for (const char* k : kHf)
      if (name.find(k) != std::string::npos) {
        if (!hf++) hf_example = name;
        break;
      }
  }
  auto fmt = metadata.find("format");
  const std::string format = fmt == metadata.end() ? "" : fmt->second;
  auto say = [&](const std::string& s) {
    if (reason) *reason = s;
  };
  if (paddle > hf) {
    say("PaddleNLP names (e.g. " + paddle_example + ")" + (hf ? " (also " + std::to_string(hf) + " transformers names)" : ""));
    return WeightLayout::Paddle;
  }
  if (hf > paddle) {
    say("transformers names (e.g. " + hf_example + ")" + (paddle ? " (also " + std::to_string(paddle) + " PaddleNLP names)" : ""));
    return WeightLayout::HuggingFace;
  }
  if (format == "np" || format == "paddle") {
    say("safetensors metadata format=" + format);
    return WeightLayout::Paddle;
  }
  if (format == "pt") {
    say("safetensors metadata format=pt");
    return WeightLayout::HuggingFace;
  }
  say("no layout evidence in names or metadata: assuming transformers");
  return WeightLayout::HuggingFace;
}

std::map<std::string, Tensor> paddle_to_hf(const std::map<std::string, Tensor>& tensors, const Config& cfg) {
  const bool qa = cfg.head() == Head::QuestionAnswering;
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors) {
    const std::string hf = map_name(name, true, qa);
    Tensor v = is_linear_weight(hf, t) ? transposed(t) : t;
    if (!out.emplace(hf, std::move(v)).second)
      throw Error("checkpoint has two tensors that map to " + hf + " (one is " + name + ")");
  }
  return out;
}

std::map<std::string, Tensor> hf_to_paddle(const std::map<std::string, Tensor>& tensors, const Config& cfg) {
  const bool qa = cfg.head() == Head::QuestionAnswering;
  std::map<std::string, Tensor> out;
  for (const auto& [name, t] : tensors) {
    const std::string pd = map_name(name, false, qa);
    Tensor v = is_linear_weight(name, t) ? transposed(t) : t;
    if (!out.emplace(pd, std::move(v)).second)
      throw Error("two tensors map to the PaddleNLP name " + pd + " (one is " + name + ")");
  }
  // PaddleNLP's LM head holds decoder_weight as a parameter shared with the word embeddings: its
  // state dict lists it under both names.
  const bool lm = cfg.head() == Head::MaskedLM || cfg.head() == Head::PreTraining;
  if (lm && cfg.model_type != ModelType::Roberta && cfg.tie_word_embeddings && !out.count("cls.predictions.decoder_weight")) {
    const std::string word = cfg.base_prefix() + ".embeddings.word_embeddings.weight";
    auto it = out.find(word);
    if (it != out.end()) out.emplace("cls.predictions.decoder_weight", it->second);
  }
  return out;
}

}  // namespace ernie
