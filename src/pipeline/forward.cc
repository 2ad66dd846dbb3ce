// Tasks of a head, forward passes for the pipelines, and what each task reads from them.
#include <algorithm>
#include <map>

#include "ernie/error.h"
#include "ernie/pipeline.h"

namespace ernie::pipeline {

const char* task_name(Task t) {
  switch (t) {
    case Task::TextClassification: return "text-classification";
    case Task::TokenClassification: return "token-classification";
    case Task::QuestionAnswering: return "question-answering";
    case Task::FillMask: return "fill-mask";
    case Task::FeatureExtraction: return "feature-extraction";
    case Task::Rerank: return "rerank";
  }
  return "?";
}

Task parse_task(const std::string& name) {
  static const std::map<std::string, Task> names = {
      {"text-classification", Task::TextClassification}, {"sentiment-analysis", Task::TextClassification},
      {"classify", Task::TextClassification},            {"token-classification", Task::TokenClassification},
      {"ner", Task::TokenClassification},                {"question-answering", Task::QuestionAnswering},
      {"qa", Task::QuestionAnswering},                   {"fill-mask", Task::FillMask},
      {"feature-extraction", Task::FeatureExtraction},   {"embeddings", Task::FeatureExtraction},
      {"sentence-similarity", Task::FeatureExtraction},  {"rerank", Task::Rerank},
      {"text-ranking", Task::Rerank}};
  const auto it = names.find(name);
  if (it == names.end())
    throw Error("unknown task '" + name +
                "' (text-classification, token-classification, question-answering, fill-mask, feature-extraction, rerank)");
  return it->second;
}

std::vector<Task> supported_tasks(const Config& cfg) {
  switch (cfg.head()) {
    case Head::SequenceClassification: return {Task::TextClassification, Task::Rerank, Task::FeatureExtraction};
    case Head::TokenClassification: return {Task::TokenClassification, Task::FeatureExtraction};
    case Head::QuestionAnswering: return {Task::QuestionAnswering, Task::FeatureExtraction};
    case Head::MaskedLM:
    case Head::PreTraining: return {Task::FillMask, Task::FeatureExtraction};
    default: return {Task::FeatureExtraction};
  }
}

namespace {

SequenceOutput rows_of(const float* base, int64_t first, int64_t rows, int64_t cols) {
  SequenceOutput o;
  o.rows = rows;
  o.cols = cols;
  o.values.assign(base + first * cols, base + (first + rows) * cols);
  return o;
}

}  // namespace

SequenceOutput extract(const Outputs& out, const Batch& batch, const Encoding& enc, int64_t r, Need need,
                       const Config& cfg, int32_t mask_id) {
  const int64_t first = batch.offsets[r], len = batch.length(r);
  auto need_tensor = [&](const Tensor& t, const char* what) {
    if (!t.defined()) throw Error(cfg.class_name() + " gives no " + what);
  };
  switch (need) {
    case Need::SequenceLogits: {
      need_tensor(out.logits, "sequence-classification logits");
      if (out.logits_per_token || out.logits.rank() != 2 || out.logits.dim(0) != batch.rows)
        throw Error(cfg.class_name() + " gives no sequence-classification logits");
      return rows_of(out.logits.data<float>(), r, 1, out.logits.dim(1));
    }
    case Need::TokenLogits: {
      need_tensor(out.logits, "per-token logits");
      if (!out.logits_per_token) throw Error(cfg.class_name() + " gives no per-token logits");
      return rows_of(out.logits.data<float>(), first, len, out.logits.dim(1));
    }
    case Need::StartEnd: {
      need_tensor(out.start_logits, "start/end logits");
      SequenceOutput o;
      o.rows = 2;
      o.cols = len;
      const float* s = out.start_logits.data<float>() + first;
      const float* e = out.end_logits.data<float>() + first;
      o.values.assign(s, s + len);
      o.values.insert(o.values.end(), e, e + len);
      return o;
    }
    case Need::Hidden: return rows_of(out.last_hidden_state.data<float>(), first, len, cfg.hidden_size);
    case Need::MaskLogits: {
      need_tensor(out.logits, "masked-LM logits");
      if (!out.logits_per_token) throw Error(cfg.class_name() + " gives no masked-LM logits");
      const int64_t V = out.logits.dim(1);
      SequenceOutput o;
      o.cols = V;
      // The packed sequence holds the encoding's attended tokens, in order.
      int64_t t = 0;
      for (size_t k = 0; k < enc.ids.size() && t < len; ++k) {
        if (!enc.attention_mask[k]) continue;
        if (enc.ids[k] == mask_id) {
          const float* z = out.logits.data<float>() + (first + t) * V;
          o.values.insert(o.values.end(), z, z + V);
          ++o.rows;
        }
        ++t;
      }
      return o;
    }
  }
  throw Error("unknown output kind");
}

Runner direct_runner(const Model& model, int32_t mask_id, size_t max_batch_tokens) {
  return [&model, mask_id, max_batch_tokens](const std::vector<Encoding>& encs, Need need) {
    const Config& cfg = model.config();
    std::vector<SequenceOutput> outs(encs.size());
    std::vector<Encoding> chunk;
    size_t first = 0, tokens = 0;
    auto flush = [&](size_t end) {
      if (chunk.empty()) return;
      const Batch batch = pack_encodings(chunk, cfg);
      const Outputs out = model.forward(batch);
      for (size_t r = 0; r < chunk.size(); ++r)
        outs[first + r] = extract(out, batch, chunk[r], static_cast<int64_t>(r), need, cfg, mask_id);
      chunk.clear();
      first = end;
      tokens = 0;
    };
    for (size_t i = 0; i < encs.size(); ++i) {
      // Only attended tokens enter the packed batch: padding costs nothing.
      const size_t n = static_cast<size_t>(std::count(encs[i].attention_mask.begin(), encs[i].attention_mask.end(), 1));
      if (!chunk.empty() && tokens + n > max_batch_tokens) flush(i);
      chunk.push_back(encs[i]);
      tokens += n;
    }
    flush(encs.size());
    return outs;
  };
}

Engine make_engine(const Model& model, const Tokenizer& tok, size_t max_batch_tokens) {
  Engine e;
  e.config = &model.config();
  e.tokenizer = &tok;
  e.run = direct_runner(model, tok.mask_id(), max_batch_tokens);
  e.max_length = static_cast<size_t>(std::max<int64_t>(2, model.config().max_sequence_length()));
  if (tok.vocab().size() > static_cast<size_t>(model.config().vocab_size))
    throw Error("the tokenizer has " + std::to_string(tok.vocab().size()) + " tokens but the model's vocab_size is " +
                std::to_string(model.config().vocab_size));
  return e;
}

}  // namespace ernie::pipeline
