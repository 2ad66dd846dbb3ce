// ernie classify: texts -> tokenizer -> sequence-classification model -> label + probability.
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

void run(const ClassifyOptions& o) {
  const Model model = Model::load(o.model);
  const Config& cfg = model.config();
  if (cfg.head() != Head::SequenceClassification || cfg.num_labels() < 1)
    throw Error(o.model + " is not a sequence-classification model (architectures: " +
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
    for (size_t i = first; i < last; ++i) {
      try {
        encs.push_back(tok.encode(texts[i], eo));
      } catch (const Error& e) {
        throw Error((o.texts.empty() ? "line " : "text ") + std::to_string(i + 1) + ": " + e.what());
      }
    }
    const Batch batch = pack_encodings(encs, cfg);
    const Outputs res = model.forward(batch);
    for (size_t r = 0; r < encs.size(); ++r) {
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
      "classify", "Classify texts with a sequence-classification model folder (config.json, model.safetensors, vocab.txt)");
  cmd->add_option("--model", o->model, "Model folder with its vocab.txt (or tokenizer.json)")->required();
  cmd->add_option("texts", o->texts, "Texts to classify (default: one per line from stdin)");
  cmd->add_flag("--json", o->json, "JSON lines: label, score, top-k and every label's score");
  cmd->add_option("--top-k", o->top_k, "Print the k most probable labels (default 1)");
  cmd->add_option("--max-len", o->max_len, "Truncate to this many tokens (default: the model's longest input)");
  cmd->add_option("--batch", o->batch, "Texts per forward pass (default 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--errors", o->errors, "Invalid UTF-8: strict (default) | replace");
  cmd->callback([o] { run(*o); });
}

}  // namespace ernie::cli
