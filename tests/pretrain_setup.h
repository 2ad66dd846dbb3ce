// The tiny masked-LM setup of the pretraining tests: a config, the pipeline fixture's vocabulary
// and a corpus of 240 lines in documents of 40 whose word order can be learnt.
#pragma once
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace ernie::testing {

// The JSON lines of a command's output.
inline std::vector<nlohmann::json> lines_of(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);)
    if (!l.empty() && l[0] == '{') v.push_back(nlohmann::json::parse(l));
  return v;
}

struct PretrainSetup {
  TempDir tmp;
  std::filesystem::path vocab = fixtures_dir() / "pipeline" / "vocab.txt";
  std::filesystem::path config = tmp.path() / "config.json", corpus = tmp.path() / "corpus.txt";
  PretrainSetup() {
    std::vector<std::string> words;
    std::ifstream v(vocab);
    for (std::string w; std::getline(v, w);)
      if (w.size() > 1 && w[0] != '[' && w[0] != '#') words.push_back(w);
    // Sentences with structure to learn: word i is followed by word i+1.
    std::ofstream c(corpus);
    for (int s = 0; s < 240; ++s) {
      const size_t first = static_cast<size_t>(s * 7) % (words.size() - 8);
      for (size_t k = 0; k < 8; ++k) c << (k ? " " : "") << words[first + k];
      c << (s % 40 == 39 ? "\n\n" : "\n");   // documents of 40 lines
    }
    const nlohmann::json cfg = {{"architectures", {"BertForMaskedLM"}}, {"model_type", "bert"}, {"vocab_size", 160},
                      {"hidden_size", 32}, {"num_hidden_layers", 2}, {"num_attention_heads", 2},
                      {"intermediate_size", 64}, {"max_position_embeddings", 64}, {"type_vocab_size", 2}};
    std::ofstream(config) << cfg.dump();
  }
  std::string args(const std::filesystem::path& out, const std::string& extra = "") const {
    return "pretrain --config '" + config.string() + "' --vocab '" + vocab.string() + "' --corpus '" + corpus.string() +
           "' --out '" + out.string() + "' --lr 3e-3 --quiet " +
           (extra.find("--max-seq-len") == std::string::npos ? "--max-seq-len 16 " : "") +
           (extra.find("--batch-size") == std::string::npos ? "--batch-size 16 " : "") +
           (extra.find("--threads") == std::string::npos ? "--threads 2 " : "") + extra;
  }
};

}  // namespace ernie::testing
