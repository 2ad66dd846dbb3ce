// A small synthetic classification corpus for the training tests, with the arguments of a run.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>

#include "test_util.h"

namespace ernie::testing {

// Three topics, each with its own 12 words plus shared filler words: learnable, not trivial.
struct Corpus {
  TempDir dir;
  explicit Corpus(int train_rows = 240, int eval_rows = 60) {
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n";
    for (int i = 0; i < 48; ++i) vocab += "w" + std::to_string(i) + "\n";
    write_file(dir / "vocab.txt", vocab);
    const char* names[] = {"sports", "finance", "science"};
    uint64_t state = 12345;
    auto next = [&state](int n) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<int>((state >> 33) % static_cast<uint64_t>(n));
    };
    auto rows = [&](int count) {
      std::string out;
      for (int r = 0; r < count; ++r) {
        const int label = next(3);
        std::string text;
        const int len = 4 + next(8);
        for (int j = 0; j < len; ++j) {
          const int word = next(3) == 0 ? 36 + next(12) : label * 12 + next(12);   // a third filler
          text += (j ? " w" : "w") + std::to_string(word);
        }
        out += text + "\t" + names[label] + "\n";
      }
      return out;
    };
    write_file(dir / "train.tsv", rows(train_rows));
    write_file(dir / "eval.tsv", rows(eval_rows));
    write_file(dir / "config.json", R"({"model_type": "ernie", "vocab_size": 53, "hidden_size": 32,
      "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "relu",
      "max_position_embeddings": 64, "type_vocab_size": 2, "hidden_dropout_prob": 0.1,
      "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02})");
  }
  std::string args(const std::filesystem::path& out, const std::string& extra = "", const std::string& eval = "eval.tsv") const {
    return "train --config " + (dir / "config.json").string() + " --vocab " + (dir / "vocab.txt").string() +
           " --train " + (dir / "train.tsv").string() + " --eval " + (dir / eval).string() + " --out " +
           out.string() + " --batch-size 16 --lr 3e-3 --warmup-ratio 0.1 --seed 5 --quiet " +
           (extra.find("--threads") == std::string::npos ? "--threads 2 " : "") + extra;
  }
};

}  // namespace ernie::testing
