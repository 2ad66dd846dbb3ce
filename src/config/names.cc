// Names of the config enums: activations (with Hugging Face's aliases), heads, positions, sources.
#include <array>
#include <utility>

#include "ernie/config.h"

namespace ernie {

namespace {

// Every accepted spelling, in the order `supported_activations` lists them. Meanings follow
// transformers.activations.ACT2FN.
constexpr std::array<std::pair<const char*, Activation>, 12> kActivations = {{
    {"gelu", Activation::Gelu},
    {"gelu_python", Activation::Gelu},
    {"gelu_new", Activation::GeluNew},
    {"gelu_pytorch_tanh", Activation::GeluNew},
    {"gelu_fast", Activation::GeluFast},
    {"quick_gelu", Activation::QuickGelu},
    {"relu", Activation::Relu},
    {"silu", Activation::Silu},
    {"swish", Activation::Silu},
    {"tanh", Activation::Tanh},
    {"sigmoid", Activation::Sigmoid},
    {"linear", Activation::Linear},
}};

constexpr std::array<std::pair<const char*, Head>, 8> kHeadSuffixes = {{
    {"Model", Head::Base},
    {"ForSequenceClassification", Head::SequenceClassification},
    {"ForTokenClassification", Head::TokenClassification},
    {"ForQuestionAnswering", Head::QuestionAnswering},
    {"ForMaskedLM", Head::MaskedLM},
    {"ForMultipleChoice", Head::MultipleChoice},
    {"ForPreTraining", Head::PreTraining},
    {"ForPretraining", Head::PreTraining},  // PaddleNLP's spelling
}};

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

const char* to_string(ModelType t) {
  switch (t) {
    case ModelType::Ernie: return "ernie";
    case ModelType::Bert: return "bert";
    case ModelType::Roberta: return "roberta";
  }
  return "?";
}

const char* class_prefix(ModelType t) {
  switch (t) {
    case ModelType::Ernie: return "Ernie";
    case ModelType::Bert: return "Bert";
    case ModelType::Roberta: return "Roberta";
  }
  return "?";
}

const char* to_string(ConfigSource s) {
  return s == ConfigSource::PaddleNLP ? "paddlenlp" : "huggingface";
}

const char* to_string(Activation a) {
  switch (a) {
    case Activation::Relu: return "relu";
    case Activation::Gelu: return "gelu";
    case Activation::GeluNew: return "gelu_new";
    case Activation::GeluFast: return "gelu_fast";
    case Activation::QuickGelu: return "quick_gelu";
    case Activation::Silu: return "silu";
    case Activation::Tanh: return "tanh";
    case Activation::Sigmoid: return "sigmoid";
    case Activation::Linear: return "linear";
  }
  return "?";
}

const char* to_string(PositionKind p) {
  switch (p) {
    case PositionKind::Absolute: return "absolute";
    case PositionKind::Sinusoidal: return "sinusoidal";
    case PositionKind::RelativeKey: return "relative_key";
    case PositionKind::RelativeKeyQuery: return "relative_key_query";
  }
  return "?";
}

const char* to_string(Head h) {
  for (const auto& [suffix, head] : kHeadSuffixes)
    if (head == h) return suffix;
  return "?";
}

bool activation_from_string(const std::string& name, Activation* out) {
  for (const auto& [n, a] : kActivations) {
    if (name == n) {
      if (out) *out = a;
      return true;
    }
  }
  return false;
}

std::vector<std::string> supported_activations() {
  std::vector<std::string> names;
  for (const auto& [n, a] : kActivations) names.emplace_back(n);
  return names;
}

bool head_from_architecture(const std::string& architecture, Head* out) {
  // "...Model" only when nothing else matches ("ErnieForSequenceClassification" ends differently).
  for (const auto& [suffix, head] : kHeadSuffixes) {
    if (head == Head::Base) continue;
    if (ends_with(architecture, suffix)) {
      if (out) *out = head;
      return true;
    }
  }
  if (ends_with(architecture, "Model") && architecture.find("For") == std::string::npos) {
    if (out) *out = Head::Base;
    return true;
  }
  return false;
}

}  // namespace ernie
