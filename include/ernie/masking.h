// Masked-language-model inputs as transformers' collators make them, deterministic from
// (seed, epoch, example): DataCollatorForLanguageModeling (each non-special token chosen with
// probability mlm_probability) and DataCollatorForWholeWordMask (units chosen whole until
// round(tokens * mlm_probability) tokens are covered), then 80 % of the chosen tokens become
// [MASK], 10 % a random token, 10 % stay. Units: WordPiece continuations (`##`) join the previous
// token, and with a segmenter the tokens of one Chinese word are one unit (whole-word masking
// for Chinese, ERNIE's phrase level); entity spans (ERNIE's entity level) are units too.
#pragma once
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "ernie/segmenter.h"
#include "ernie/tokenizer.h"

namespace ernie {

enum class MaskingKind {
  Token,       // every token on its own (BERT)
  WholeWord,   // units: ## continuations, plus segmenter words when a segmenter is given
  Knowledge,   // ERNIE 1.0: whole words (phrases) and entity spans as units
};
MaskingKind parse_masking(const std::string& name);   // token | whole-word | knowledge

struct MaskingOptions {
  MaskingKind kind = MaskingKind::Token;
  double mlm_probability = 0.15;
  double mask_fraction = 0.8;     // of the chosen tokens: [MASK]
  double random_fraction = 0.1;   // of the chosen tokens: a random token (the rest stay)
  uint64_t seed = 42;
};

// The token units of an encoding: each a run of token indices masked together (specials and
// padding belong to none). `segmenter` (optional) joins the tokens of one word of `text`;
// `spans` (optional) are [start, end) character spans of text (entities) whose tokens form one unit.
// `continuations` (optional, HF run_mlm_wwm's --ref-file): token indices (in the encoding, [CLS]
// at 0) that continue the word of the token before them.
std::vector<std::vector<int32_t>> masking_units(const Tokenizer& tok, const Encoding& enc, std::string_view text,
                                                MaskingKind kind, const Segmenter* segmenter,
                                                const std::vector<std::pair<int64_t, int64_t>>& spans = {},
                                                const std::vector<int32_t>& continuations = {});

// Masks enc.ids in place; returns the labels [L]: the original id where a token was chosen, -100
// elsewhere. (epoch, example) select the random stream: new masks every epoch, the same on resume.
std::vector<int32_t> mask_encoding(const Tokenizer& tok, Encoding& enc, const std::vector<std::vector<int32_t>>& units,
                                   const MaskingOptions& o, uint64_t epoch, uint64_t example);

}  // namespace ernie
