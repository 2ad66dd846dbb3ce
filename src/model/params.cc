// The parameter list, named and shaped as transformers' state_dict for each model type and head.
#include "ernie/params.h"

#include "ernie/error.h"

namespace ernie {

bool has_pooler(const Config& cfg) {
  switch (cfg.head()) {
    case Head::Base:
    case Head::MultipleChoice:
    case Head::PreTraining:
      return true;
    case Head::SequenceClassification:
      return cfg.model_type != ModelType::Roberta;  // RoBERTa classifies from token 0 itself
    case Head::TokenClassification:
    case Head::QuestionAnswering:
    case Head::MaskedLM:
      return false;
  }
  return false;
}

namespace {

class SpecList {
 public:
  explicit SpecList(std::vector<ParamSpec>* out) : out_(out) {}
  void add(std::string name, Shape shape, InitRule init, const std::string& part, bool trainable = true) {
    out_->push_back({std::move(name), std::move(shape), init, part, trainable});
  }
  // A Linear layer: weight [out, in] ~ N(0, range), bias [out] = 0.
  void linear(const std::string& name, int64_t in, int64_t out, const std::string& part) {
    add(name + ".weight", {out, in}, InitRule::Normal, part);
    add(name + ".bias", {out}, InitRule::Zeros, part);
  }
  void layer_norm(const std::string& name, int64_t dim, const std::string& part) {
    add(name + ".weight", {dim}, InitRule::Ones, part);
    add(name + ".bias", {dim}, InitRule::Zeros, part);
  }

 private:
  std::vector<ParamSpec>* out_;
};

void add_embeddings(SpecList& s, const Config& c, const std::string& p) {
  const int64_t H = c.hidden_size;
  s.add(p + "embeddings.word_embeddings.weight", {c.vocab_size, H}, InitRule::NormalPadZero, "embeddings");
  // RoBERTa's position table also has padding_idx = pad_token_id, so HF zeroes that row too.
  if (c.position_kind == PositionKind::Sinusoidal)
    s.add(p + "embeddings.position_embeddings.weight", {c.max_position_embeddings, H}, InitRule::Sinusoidal,
          "embeddings", /*trainable=*/false);
  else
    s.add(p + "embeddings.position_embeddings.weight", {c.max_position_embeddings, H},
          c.model_type == ModelType::Roberta ? InitRule::NormalPadZero : InitRule::Normal, "embeddings");
  s.add(p + "embeddings.token_type_embeddings.weight", {c.type_vocab_size, H}, InitRule::Normal, "embeddings");
  if (c.use_task_id)
    s.add(p + "embeddings.task_type_embeddings.weight", {c.task_type_vocab_size, H}, InitRule::Normal, "embeddings");
  s.layer_norm(p + "embeddings.LayerNorm", H, "embeddings");
}

void add_layer(SpecList& s, const Config& c, const std::string& p, int64_t i) {
  const int64_t H = c.hidden_size, I = c.intermediate_size;
  const std::string l = p + "encoder.layer." + std::to_string(i) + ".";
  s.linear(l + "attention.self.query", H, H, "encoder");
  s.linear(l + "attention.self.key", H, H, "encoder");
  s.linear(l + "attention.self.value", H, H, "encoder");
  if (c.position_kind == PositionKind::RelativeKey || c.position_kind == PositionKind::RelativeKeyQuery)
    s.add(l + "attention.self.distance_embedding.weight", {2 * c.max_position_embeddings - 1, c.head_dim()},
          InitRule::Normal, "encoder");
  s.linear(l + "attention.output.dense", H, H, "encoder");
  s.layer_norm(l + "attention.output.LayerNorm", H, "encoder");
  s.linear(l + "intermediate.dense", H, I, "encoder");
  s.linear(l + "output.dense", I, H, "encoder");
  s.layer_norm(l + "output.LayerNorm", H, "encoder");
}

void add_lm_head(SpecList& s, const Config& c) {
  const int64_t H = c.hidden_size, V = c.vocab_size;
  const bool roberta = c.model_type == ModelType::Roberta;
  const std::string h = roberta ? "lm_head." : "cls.predictions.";
  s.linear(roberta ? "lm_head.dense" : "cls.predictions.transform.dense", H, H, "head");
  s.layer_norm(roberta ? "lm_head.layer_norm" : "cls.predictions.transform.LayerNorm", H, "head");
  if (!c.tie_word_embeddings) s.add(h + "decoder.weight", {V, H}, InitRule::Normal, "head");
  s.add(h + "bias", {V}, InitRule::Zeros, "head");
}

}  // namespace

std::vector<ParamSpec> parameter_specs(const Config& c) {
  std::vector<ParamSpec> specs;
  SpecList s(&specs);
  const Head head = c.head();
  const std::string p = head == Head::Base ? "" : c.base_prefix() + ".";
  const int64_t H = c.hidden_size, N = c.num_labels();

  add_embeddings(s, c, p);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) add_layer(s, c, p, i);
  if (has_pooler(c)) s.linear(p + "pooler.dense", H, H, "pooler");

  switch (head) {
    case Head::Base:
      break;
    case Head::SequenceClassification:
      if (c.model_type == ModelType::Roberta) {
        s.linear("classifier.dense", H, H, "head");
        s.linear("classifier.out_proj", H, N, "head");
      } else {
        s.linear("classifier", H, N, "head");
      }
      break;
    case Head::TokenClassification:
      s.linear("classifier", H, N, "head");
      break;
    case Head::QuestionAnswering:
      s.linear("qa_outputs", H, 2, "head");
      break;
    case Head::MaskedLM:
      add_lm_head(s, c);
      break;
    case Head::MultipleChoice:
      s.linear("classifier", H, 1, "head");
      break;
    case Head::PreTraining:
      if (c.model_type == ModelType::Roberta) throw Error("RoBERTa has no ForPreTraining head in transformers");
      add_lm_head(s, c);
      s.linear("cls.seq_relationship", H, 2, "head");
      break;
  }
  return specs;
}

int64_t count_parameters(const std::vector<ParamSpec>& specs, const std::string& part) {
  int64_t n = 0;
  for (const auto& s : specs)
    if (part.empty() || s.part == part) n += shape_numel(s.shape);
  return n;
}

}  // namespace ernie
