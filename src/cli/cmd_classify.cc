// ernie classify: texts -> tokenizer -> classification model -> label + probability, or with a
// token-classification model a tag per word (`word/TAG ...`).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <numeric>
#include <optional>

#include "cli/batch_flags.h"
#include "cli/commands.h"
#include "cli/tokenizer_io.h"
#include "ernie/dist.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "pipeline/lines.h"
#include "ernie/pipeline.h"
#include "pipeline/sharded_output.h"

namespace ernie::cli {

namespace {

struct ClassifyOptions {
  BatchFlags in;
  std::string output;
  std::vector<std::string> texts;
  bool json = false;
  int top_k = 1;
};

// One text's words with the tag of each word's first piece: `word/TAG ...`, or JSON
// {"words":[..],"tags":[..],"scores":[..]} (score: the tag's softmax probability). A word without a
// piece (a control character, or cut off by --max-len) has no tag: bare in text, null in JSON.
std::string tagged_words(const Config& cfg, const std::vector<std::string>& words,
                         const std::vector<int64_t>& first_piece, const float* logits /* [tokens, N] */, bool json) {
  const int64_t N = cfg.num_labels();
  std::string out = json ? "{\"words\":[" : "", tags, scores;
  for (size_t w = 0; w < words.size(); ++w) {
    const bool tagged = first_piece[w] >= 0;
    std::vector<double> p;
    int64_t best = 0;
    if (tagged) {
      p = pipeline::apply_function(logits + first_piece[w] * N, N, pipeline::Function::Softmax, cfg);
      best = std::max_element(p.begin(), p.end()) - p.begin();
    }
    if (!json) {
      out += (w ? " " : "") + words[w] + (tagged ? "/" + cfg.id2label[best] : "");
      continue;
    }
    if (w) out += ',', tags += ',', scores += ',';
    append_json_string(out, words[w]);
    if (tagged) append_json_string(tags, cfg.id2label[best]);
    tags += tagged ? "" : "null";
    scores += tagged ? std::to_string(p[best]) : "null";
  }
  return json ? out + "],\"tags\":[" + tags + "],\"scores\":[" + scores + "]}\n" : out + "\n";
}

// The model, tokenizer and settings, loaded once; answers a batch of texts at a time.
struct Classifier {
  Model model;
  Tokenizer tok;
  EncodeOptions eo;
  bool per_token = false, multi = false, json = false;
  int64_t N = 0;
  int k = 1;

  Classifier(const ClassifyOptions& o, bool json_out)
      : model(o.in.load_model()), tok(Tokenizer::from_folder(o.in.model)), json(json_out) {
    const Config& cfg = model.config();
    per_token = cfg.head() == Head::TokenClassification;
    if ((cfg.head() != Head::SequenceClassification && !per_token) || cfg.num_labels() < 1)
      throw Error(o.in.model + " is not a sequence- or token-classification model (architectures: " +
                  (cfg.architectures.empty() ? std::string("none") : cfg.architectures[0]) + ")");
    eo = o.in.encode_options(cfg);
    multi = cfg.problem_type == "multi_label_classification";
    N = cfg.num_labels();
    k = std::clamp<int>(o.top_k, 1, static_cast<int>(N));
  }

  // One answer line per text appended to `out`; errors name text i as `name` + (first + i + 1).
  void run(const std::vector<std::string>& texts, const std::string& name, int64_t first, std::string& out) const;
  void append_labels(const std::string& text, const float* logits, std::string& out) const;
};

void Classifier::run(const std::vector<std::string>& texts, const std::string& name, int64_t first,
                     std::string& out) const {
  const Config& cfg = model.config();
  std::vector<Encoding> encs;
  std::vector<std::vector<std::string>> words;      // token classification: each text's words
  std::vector<std::vector<int64_t>> first_pieces;   // and the token of each word's first piece
  for (size_t i = 0; i < texts.size(); ++i) {
    try {
      if (per_token) {
        words.push_back(Tokenizer::split_words(texts[i]));
        encs.push_back(tok.encode_words(words.back(), eo, first_pieces.emplace_back()));
      } else {
        encs.push_back(tok.encode(texts[i], eo));
      }
    } catch (const Error& e) {
      throw Error(name + std::to_string(first + static_cast<int64_t>(i) + 1) + ": " + e.what());
    }
  }
  const Batch batch = pack_encodings(encs, cfg);
  const Outputs res = model.forward(batch);
  for (size_t r = 0; r < encs.size(); ++r) {
    if (per_token)   // logits [T, N]: row r's tokens start at offsets[r] (every token attended)
      out += tagged_words(cfg, words[r], first_pieces[r], res.logits.data<float>() + batch.offsets[r] * N, json);
    else
      append_labels(texts[r], res.logits.data<float>() + static_cast<int64_t>(r) * N, out);
  }
}

// The k best labels with their probabilities (tab-separated), or the JSON line of --json.
void Classifier::append_labels(const std::string& text, const float* logits, std::string& out) const {
  const Config& cfg = model.config();
  const auto p = pipeline::apply_function(logits, N, multi ? pipeline::Function::Sigmoid : pipeline::Function::Softmax, cfg);
  std::vector<int64_t> order(static_cast<size_t>(N));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
  if (!json) {
    for (int j = 0; j < k; ++j) {
      if (j) out += '\t';
      char prob[32];
      std::snprintf(prob, sizeof prob, "%.4f", p[order[j]]);
      out += cfg.id2label[order[j]] + '\t' + prob;
    }
    out += '\n';
    return;
  }
  out += "{\"text\":";
  append_json_string(out, text);
  out += ",\"label\":";
  append_json_string(out, cfg.id2label[order[0]]);
  out += ",\"score\":" + std::to_string(p[order[0]]) + ",\"top\":[";
  for (int j = 0; j < k; ++j) {
    if (j) out += ',';
    out += "{\"label\":";
    append_json_string(out, cfg.id2label[order[j]]);
    out += ",\"score\":" + std::to_string(p[order[j]]) + "}";
  }
  out += "],\"scores\":{";
  for (int64_t j = 0; j < N; ++j) {
    if (j) out += ',';
    append_json_string(out, cfg.id2label[j]);
    out += ":" + std::to_string(p[j]);
  }
  out += "}}\n";
}

// Texts from the arguments, stdin or --input (this rank's lines); answers to stdout or --output
// (JSON lines, one file in input order whatever the number of ranks).
void run(const ClassifyOptions& o) {
  dist::Communicator& comm = dist::world();
  const std::string& input = o.in.input;
  if (!input.empty() && !o.texts.empty()) throw Error("give texts or --input FILE, not both");
  if (!o.output.empty() && input.empty()) throw Error("--output needs --input FILE");
  if (comm.size() > 1 && o.output.empty()) throw Error("under mpirun, classify needs --input FILE and --output FILE");
  std::optional<pipeline::LineShard> shard;
  if (!input.empty()) shard = pipeline::plan_lines(input, comm);
  dist::set_threads(o.in.threads, comm);
  const Classifier c(o, o.json || !o.output.empty());

  std::unique_ptr<pipeline::BatchReader> lines;   // --input
  std::unique_ptr<pipeline::LineReader> stdin_lines;
  if (shard) lines = std::make_unique<pipeline::BatchReader>(*shard, o.in.batch);
  else if (o.texts.empty()) stdin_lines = std::make_unique<pipeline::LineReader>(0);
  std::unique_ptr<pipeline::ShardedText> file;
  if (!o.output.empty()) file = std::make_unique<pipeline::ShardedText>(o.output, comm);
  const std::string name = shard ? input + ": line " : stdin_lines ? "line " : "text ";

  std::vector<std::string> texts;
  std::string out;
  size_t next_text = 0;   // texts from the arguments
  auto next_batch = [&] {
    if (lines) return lines->next(texts);
    if (stdin_lines) return stdin_lines->next_batch(o.in.batch, texts);
    const size_t last = std::min(o.texts.size(), next_text + o.in.batch);
    texts.assign(o.texts.begin() + static_cast<std::ptrdiff_t>(next_text), o.texts.begin() + static_cast<std::ptrdiff_t>(last));
    next_text = last;
    return !texts.empty();
  };
  for (int64_t first = lines ? lines->first_line() : 0; next_batch(); first += static_cast<int64_t>(texts.size())) {
    out.clear();
    c.run(texts, name, first, out);
    if (file) file->write(out);
    else std::cout << out << std::flush;
  }
  if (file) file->commit();
}

}  // namespace

void add_classify_command(CLI::App& app) {
  auto o = std::make_shared<ClassifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "classify",
      "Classify texts with a sequence-classification model folder (config.json, model.safetensors, vocab.txt), or tag "
      "their words with a token-classification model (word/TAG ...)");
  add_batch_flags(cmd, o->in, false);
  cmd->add_option("texts", o->texts,
                  "Texts to classify (default: one per line from stdin, or --input); token classification splits them into "
                  "words at whitespace, each CJK character a word");
  cmd->add_flag("--json", o->json,
                "JSON lines: label, score, top-k and every label's score (token classification: words, tags, scores)");
  cmd->add_option("--top-k", o->top_k, "Print the k most probable labels (default 1; sequence classification)");
  cmd->add_option("--output", o->output,
                  "JSON lines file (as --json), one line per input line in input order, written atomically; needs "
                  "--input");
  cmd->callback([o] { run(*o); });
}

}  // namespace ernie::cli
