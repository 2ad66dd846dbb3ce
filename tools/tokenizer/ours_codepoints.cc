// The same table as hf_codepoints.js from ernie's normalizer + pre-tokenizer (see codepoints.sh).
#include <cstdio>
#include <string>
#include "ernie/tokenizer.h"
#include "tokenizer/pretokenizer.h"
using namespace ernie; using namespace ernie::tokenizer;
static std::string fmt(const Words& w) {
  std::string s; char b[16];
  for (size_t k = 0; k < w.count(); ++k) { if (k) s += '|';
    for (uint32_t i = w.starts[k]; i < w.starts[k+1]; ++i) { snprintf(b, 16, i == w.starts[k] ? "%x" : " %x", (unsigned)w.chars[i].c); s += b; } }
  return s;
}
int main() {
  TokenizerOptions lo; lo.lowercase = true;
  TokenizerOptions co; co.lowercase = false;
  Normalizer nl(lo), nc(co);
  Words w;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::string s = "a"; char b[4]; s.append(b, utf8_encode(cp, b)); s += "a";
    split_words(s, 0, nl, Utf8Errors::Strict, w); std::string x = fmt(w);
    split_words(s, 0, nc, Utf8Errors::Strict, w); std::string y = fmt(w);
    printf("%x\t%s\t%s\n", (unsigned)cp, x.c_str(), y.c_str());
  }
}
