#include "tokenizer/normalizer.h"

namespace ernie::tokenizer {

void Normalizer::append(char32_t c, uint32_t begin, uint32_t end, std::vector<NormChar>& word) const {
  NormChars d;
  decompose(c, strip_, d);
  for (int i = 0; i < d.n; ++i) word.push_back(NormChar{d.c[i], begin, end, d.ccc[i], d.mn[i], i > 0});
}

void Normalizer::finish(const std::vector<NormChar>& word, std::vector<NormChar>& out) const {
  for (NormChar nc : word) {
    if (nc.mn) continue;
    if (!lower_) {
      out.push_back(nc);
      continue;
    }
    char32_t low[2];
    const int k = to_lower(nc.c, low);
    nc.c = low[0];
    out.push_back(nc);
    if (k == 2) {   // U+0130 -> i + U+0307: both keep the original char's span
      nc.c = low[1];
      out.push_back(nc);
    }
  }
}

}  // namespace ernie::tokenizer
