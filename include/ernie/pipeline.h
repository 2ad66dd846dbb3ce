// Task pipelines with transformers' semantics: text -> encodings -> forward passes -> answers.
// One implementation shared by `ernie pipeline`, `ernie serve` and the Python package; the rules
// (and where they differ from transformers) are documented option by option in docs/PIPELINES.md.
//
// Each task has a pure post-processing function over one forward pass's outputs (tested against
// transformers' rules transcribed in tools/pipeline_reference.py) and a driver that tokenizes,
// runs the forward passes through a Runner and post-processes.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ernie/batch.h"
#include "ernie/config.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/tokenizer.h"

namespace ernie::pipeline {

enum class Task { TextClassification, TokenClassification, QuestionAnswering, FillMask, FeatureExtraction, Rerank };
const char* task_name(Task t);   // "text-classification", "token-classification", ..., "rerank"
// transformers' names and aliases (sentiment-analysis, ner, embeddings, sentence-similarity...);
// throws ernie::Error listing the tasks otherwise.
Task parse_task(const std::string& name);
// What the model's head can answer, the first being its default task.
std::vector<Task> supported_tasks(const Config& cfg);

// A bad input of a pipeline call (names the input): too long for the model without truncation,
// or not tokenizable (invalid UTF-8, no mask token, ...). The server answers 413 / 422.
struct InputError : Error {
  InputError(const std::string& what, bool too_long) : Error(what), too_long(too_long) {}
  bool too_long;
};

// ---- forward passes ------------------------------------------------------------------------

// What a task reads from each sequence's forward pass.
enum class Need {
  SequenceLogits,  // [1, labels]
  TokenLogits,     // [L, labels]
  StartEnd,        // [2, L]: start logits, then end logits
  Hidden,          // [L, H] last hidden state
  MaskLogits,      // [masks, vocab]: the MLM logits at the tokenizer's mask token positions
};
struct SequenceOutput {
  std::vector<float> values;   // [rows, cols] row-major
  int64_t rows = 0, cols = 0;
  const float* row(int64_t r) const { return values.data() + r * cols; }
};
// Sequence r of a forward pass over `batch` (built from encodings; `enc` is the r-th).
SequenceOutput extract(const Outputs& out, const Batch& batch, const Encoding& enc, int64_t r, Need need,
                       const Config& cfg, int32_t mask_id);

// Runs encodings through the model: one output per encoding. The CLI and Python use
// direct_runner; the server hands requests to its dynamic batcher instead.
using Runner = std::function<std::vector<SequenceOutput>(const std::vector<Encoding>& encs, Need need)>;
// Packs the encodings into forward passes of at most max_batch_tokens tokens.
Runner direct_runner(const Model& model, int32_t mask_id, size_t max_batch_tokens = 8192);

struct Engine {
  const Config* config = nullptr;
  const Tokenizer* tokenizer = nullptr;
  Runner run;
  size_t max_length = 512;   // the model's longest input in tokens (specials included)
  bool truncate = true;      // cut longer inputs (else: an error naming the input and its length)
};
// An engine over a loaded model and its tokenizer (max_length: the model's longest input).
Engine make_engine(const Model& model, const Tokenizer& tok, size_t max_batch_tokens = 8192);

// ---- text classification (and cross-encoder reranking) -----------------------------------

enum class Function { Default, Softmax, Sigmoid, None };   // transformers' function_to_apply
Function parse_function(const std::string& name);        // default|softmax|sigmoid|none
// Default: sigmoid for multi_label_classification or a single label, softmax otherwise.
std::vector<double> apply_function(const float* logits, int64_t n, Function f, const Config& cfg);

struct Label {
  std::string label;
  double score;
};
struct TextInput {
  std::string text, text_pair;   // text_pair empty: a single text
  bool has_pair = false;
};
struct TextClassificationOptions {
  int64_t top_k = 1;   // labels per input, best first; 0: all (transformers' top_k=None)
  Function function_to_apply = Function::Default;
};
// scores -> labels sorted by score (stable), at most top_k (0: all).
std::vector<Label> rank_labels(const std::vector<double>& scores, const Config& cfg, int64_t top_k);
std::vector<std::vector<Label>> text_classification(const Engine& e, const std::vector<TextInput>& inputs,
                                                    const TextClassificationOptions& o = {});

struct RerankOptions {
  bool return_text = false;
  bool raw_scores = false;   // the logit itself instead of its sigmoid (softmax's last label for 2+ labels)
};
struct RerankHit {
  size_t index;
  double score;
  std::string text;   // when return_text
};
// The query paired with every text by a sequence classifier, sorted by score (best first).
std::vector<RerankHit> rerank(const Engine& e, const std::string& query, const std::vector<std::string>& texts,
                              const RerankOptions& o = {});

// ---- token classification ------------------------------------------------------------------

enum class Aggregation { None, Simple, First, Average, Max };
Aggregation parse_aggregation(const std::string& name);   // none|simple|first|average|max

struct Entity {
  std::string entity;    // the label (aggregation none) or the group without its B-/I- prefix
  double score;
  int64_t index = -1;    // token index (aggregation none only)
  std::string word;      // the tokens joined back to text (WordPiece decoding)
  int64_t start, end;    // character (code point) span in the text
};
struct TokenClassificationOptions {
  Aggregation aggregation_strategy = Aggregation::None;
  std::vector<std::string> ignore_labels = {"O"};
};
// One text's encoding and its per-token logits [L, labels] -> entities, with transformers' rules
// (gather_pre_entities, aggregate_words, group_entities).
std::vector<Entity> token_entities(const Tokenizer& tok, std::string_view text, const Encoding& enc,
                                   const SequenceOutput& logits, const Config& cfg,
                                   const TokenClassificationOptions& o);
std::vector<std::vector<Entity>> token_classification(const Engine& e, const std::vector<std::string>& texts,
                                                      const TokenClassificationOptions& o = {});

// ---- question answering --------------------------------------------------------------------

struct Answer {
  double score;
  int64_t start, end;    // character span of the context
  std::string answer;    // that span of the context
};
struct QuestionAnsweringOptions {
  int64_t top_k = 1;
  int64_t doc_stride = -1;         // -1: min(max_seq_len / 2, 128)
  int64_t max_answer_len = 15;     // tokens
  int64_t max_seq_len = -1;        // -1: min(the model's longest input, 384)
  int64_t max_question_len = 64;   // tokens; longer questions are cut
  bool handle_impossible_answer = false;
  bool align_to_words = true;
};
// The windows of one (question, context) encoding with their start/end logits -> answers, best
// first (transformers' select_starts_ends + decode_spans over each window, then sorted).
struct QaWindow {
  Encoding enc;                    // [CLS] question [SEP] context-window [SEP]
  std::vector<float> start, end;   // [L] logits
};
std::vector<Answer> qa_answers(const std::vector<QaWindow>& windows, std::string_view context,
                               const QuestionAnsweringOptions& o);
struct QaInput {
  std::string question, context;
};
std::vector<std::vector<Answer>> question_answering(const Engine& e, const std::vector<QaInput>& inputs,
                                                    const QuestionAnsweringOptions& o = {});

// ---- fill-mask ----------------------------------------------------------------------------

struct MaskFill {
  double score;
  int32_t token;
  std::string token_str, sequence;
};
struct FillMaskOptions {
  int64_t top_k = 5;
  std::vector<std::string> targets;   // restrict the candidates to these words (first piece of each)
};
// One text's ids and the logits at its mask tokens [masks, vocab] -> per mask the best candidates.
std::vector<std::vector<MaskFill>> fill_mask_results(const Tokenizer& tok, const Encoding& enc,
                                                     const SequenceOutput& mask_logits, const FillMaskOptions& o);
// Per text, per mask token in it, the candidates (a text must hold at least one mask token).
std::vector<std::vector<std::vector<MaskFill>>> fill_mask(const Engine& e, const std::vector<std::string>& texts,
                                                          const FillMaskOptions& o = {});

// ---- feature extraction / sentence embeddings -----------------------------------------------

enum class Pooling { Cls, Mean, Max, None };   // None: every token's vector
Pooling parse_pooling(const std::string& name);  // cls|mean|max|none; throws otherwise
const char* pooling_name(Pooling p);
struct EmbeddingOptions {
  Pooling pooling = Pooling::Cls;
  bool normalize = false;   // L2-normalize each vector
};
// [L, H] hidden states of one sequence -> [1, H] pooled (Cls: token 0; Mean/Max over every token
// of the sequence, special tokens included, as sentence-transformers with its attention mask) or
// [L, H] (None).
SequenceOutput pool(const SequenceOutput& hidden, const EmbeddingOptions& o);
// `tokens` (optional): the tokens of the texts' encodings, added up (OpenAI's usage counts).
std::vector<SequenceOutput> embed(const Engine& e, const std::vector<std::string>& texts, const EmbeddingOptions& o,
                                  int64_t* tokens = nullptr);
// Cosine similarity of the source sentence's embedding with each other sentence's.
std::vector<double> similarity(const Engine& e, const std::string& source, const std::vector<std::string>& sentences,
                               const EmbeddingOptions& o);
void l2_normalize(float* v, int64_t n);

}  // namespace ernie::pipeline
