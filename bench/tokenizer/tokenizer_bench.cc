// Single-thread (or N-thread) encode throughput of ernie::Tokenizer on a corpus, measured the
// way ../shared/tools/tok_ref.js measures HF tokenizers: encode_batch over all lines, in memory.
// usage: tokenizer_bench VOCAB LOWERCASE(1|0) CORPUS [THREADS=1] [REPEATS=5]  -> JSON (best run)
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "ernie/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s VOCAB LOWERCASE(1|0) CORPUS [THREADS=1] [REPEATS=5]\n", argv[0]);
    return 2;
  }
  ernie::TokenizerOptions o;
  o.lowercase = std::string(argv[2]) == "1";
  o.split_special_tokens = true;   // as tok_ref.js, which registers no added tokens
  const ernie::Tokenizer tok = ernie::Tokenizer::from_vocab_file(argv[1], o);
  std::ifstream in(argv[3], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<std::string_view> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(std::string_view(text).substr(pos, nl - pos));
    pos = nl + 1;
  }
  const unsigned threads = argc > 4 ? static_cast<unsigned>(std::stoul(argv[4])) : 1;
  const int repeats = argc > 5 ? std::stoi(argv[5]) : 5;
  size_t bytes = 0, tokens = 0;
  for (auto l : lines) bytes += l.size() + 1;
  bytes -= lines.empty() ? 0 : 1;   // tok_ref.js counts texts.join('\n')
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const auto encs = tok.encode_batch(lines, {}, threads);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    tokens = 0;
    for (const auto& e : encs) tokens += e.size();
  }
  std::printf("{\"texts\":%zu,\"tokens\":%zu,\"seconds\":%.6f,\"mb_per_s\":%.3f,\"threads\":%u}\n", lines.size(), tokens,
              best, bytes / 1e6 / best, threads);
}
