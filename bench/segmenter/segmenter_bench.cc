// Single-thread throughput of ernie::Segmenter on a corpus (one text per line), measured like
// jieba_bench.py measures jieba: dictionary loaded first, only the cutting timed, best run.
// usage: segmenter_bench DICT CORPUS [REPEATS=3]  -> JSON
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ernie/segmenter.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s DICT CORPUS [REPEATS=3]\n", argv[0]);
    return 2;
  }
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  const ernie::Segmenter seg = ernie::Segmenter::from_file(argv[1]);
  const double load_s = std::chrono::duration<double>(clock::now() - t0).count();
  std::ifstream in(argv[2], std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<std::string_view> lines;
  size_t chars = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(std::string_view(text).substr(pos, nl - pos));
    pos = nl + 1;
  }
  for (auto l : lines)
    for (char c : l) chars += (static_cast<unsigned char>(c) & 0xC0) != 0x80;   // code points, as len(str)
  const int repeats = argc > 3 ? std::stoi(argv[3]) : 3;
  std::vector<std::string_view> words;
  size_t n_words = 0;
  double best = 1e30;
  for (int r = 0; r < repeats; ++r) {
    n_words = 0;
    const auto t1 = clock::now();
    for (auto l : lines) {
      seg.cut(l, words);
      n_words += words.size();
    }
    best = std::min(best, std::chrono::duration<double>(clock::now() - t1).count());
  }
  std::printf("{\"texts\":%zu,\"chars\":%zu,\"words\":%zu,\"seconds\":%.6f,\"chars_per_s\":%.0f,\"load_s\":%.3f,"
              "\"entries\":%zu,\"memory_mb\":%.1f}\n",
              lines.size(), chars, n_words, best, chars / best, load_s, seg.entries(), seg.memory_bytes() / 1e6);
}
