// ernie classify: texts -> tokenizer -> classification model -> label + probability, or with a
// token-classification model a tag per word (`word/TAG ...`).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>

#include "cli/commands.h"
#include "cli/tokenizer_io.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "serve/inference.h"

namespace ernie::cli {

namespace {

struct ClassifyOptions {
  std::string model;
  std::vector<std::string> texts;
  bool json = false;
  int top_k = 1;
  size_t max_len = 0, batch = 32;
  std::string errors = "strict";
  unsigned threads = 0;
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
      p = serve::label_probabilities(logits + first_piece[w] * N, N, false);
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

void run(const ClassifyOptions& o) {
  const Model model = Model::load(o.model);
  const Config& cfg = model.config();
  const bool per_token = cfg.head() == Head::TokenClassification;
  if ((cfg.head() != Head::SequenceClassification && !per_token) || cfg.num_labels() < 1)
    throw Error(o.model + " is not a sequence- or token-classification model (architectures: " +
                (cfg.architectures.empty() ? std::string("none") : cfg.architectures[0]) + ")");
  const Tokenizer tok = Tokenizer::from_folder(o.model);
  EncodeOptions eo;
  eo.max_length = o.max_len ? o.max_len : static_cast<size_t>(cfg.max_sequence_length());
  eo.utf8_errors = parse_errors_flag(o.errors);
  const bool multi = cfg.problem_type == "multi_label_classification";
  const int64_t N = cfg.num_labels();
  const int k = std::clamp<int>(o.top_k, 1, static_cast<int>(N));

  std::string stdin_text;
  std::vector<std::string_view> texts(o.texts.begin(), o.texts.end());
  if (texts.empty()) {
    stdin_text = read_input("-");
    texts = split_lines(stdin_text);
  }
  std::string out;
  for (size_t first = 0; first < texts.size(); first += o.batch) {
    const size_t last = std::min(texts.size(), first + o.batch);
    std::vector<Encoding> encs;
    std::vector<std::vector<std::string>> words;      // token classification: each text's words
    std::vector<std::vector<int64_t>> first_pieces;   // and the token of each word's first piece
    for (size_t i = first; i < last; ++i) {
      try {
        if (per_token) {
          words.push_back(Tokenizer::split_words(texts[i]));
          encs.push_back(tok.encode_words(words.back(), eo, first_pieces.emplace_back()));
        } else {
          encs.push_back(tok.encode(texts[i], eo));
        }
      } catch (const Error& e) {
        throw Error((o.texts.empty() ? "line " : "text ") + std::to_string(i + 1) + ": " + e.what());
      }
    }
    const Batch batch = pack_encodings(encs, cfg);
    const Outputs res = model.forward(batch);
    for (size_t r = 0; r < encs.size(); ++r) {
      if (per_token) {   // logits [T, N]: row r's tokens start at offsets[r] (every token attended)
        std::cout << tagged_words(cfg, words[r], first_pieces[r], res.logits.data<float>() + batch.offsets[r] * N,
                                  o.json);
        continue;
      }
      const auto p = serve::label_probabilities(res.logits.data<float>() + static_cast<int64_t>(r) * N, N, multi);
      std::vector<int64_t> order(static_cast<size_t>(N));
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
      out.clear();
      if (o.json) {
        out += "{\"text\":";
        append_json_string(out, texts[first + r]);
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
      } else {
        for (int j = 0; j < k; ++j) {
          if (j) out += '\t';
          char prob[32];
          std::snprintf(prob, sizeof prob, "%.4f", p[order[j]]);
          out += cfg.id2label[order[j]] + '\t' + prob;
        }
        out += '\n';
      }
      std::cout << out;
    }
  }
  std::cout.flush();
}

}  // namespace

void add_classify_command(CLI::App& app) {
  auto o = std::make_shared<ClassifyOptions>();
  CLI::App* cmd = app.add_subcommand(
      "classify",
      "Classify texts with a sequence-classification model folder (config.json, model.safetensors, vocab.txt), or tag "
      "their words with a token-classification model (word/TAG ...)");
  cmd->add_option("--model", o->model, "Model folder with its vocab.txt (or tokenizer.json)")->required();
  cmd->add_option("texts", o->texts,
                  "Texts to classify (default: one per line from stdin); token classification splits them into "
                  "words at whitespace, each CJK character a word");
  cmd->add_flag("--json", o->json,
                "JSON lines: label, score, top-k and every label's score (token classification: words, tags, scores)");
  cmd->add_option("--top-k", o->top_k, "Print the k most probable labels (default 1; sequence classification)");
  cmd->add_option("--max-len", o->max_len, "Truncate to this many tokens (default: the model's longest input)");
  cmd->add_option("--batch", o->batch, "Texts per forward pass (default 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--errors", o->errors, "Invalid UTF-8: strict (default) | replace");
  cmd->callback([o] { run(*o); });
}

}  // namespace ernie::cli
