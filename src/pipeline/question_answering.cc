// Extractive question answering with transformers' QuestionAnsweringPipeline rules: the context
// in windows of max_seq_len tokens with doc_stride overlap, per window a softmax over the context
// tokens (and [CLS]), the best start x end products with end - start < max_answer_len, spans
// widened to whole words, answers of all windows sorted together.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ernie/error.h"
#include "ernie/pipeline.h"
#include "pipeline/encode.h"

namespace ernie::pipeline {

namespace {

std::vector<double> masked_softmax(const std::vector<float>& z, const std::vector<char>& keep) {
  std::vector<double> p(z.size());
  for (size_t i = 0; i < z.size(); ++i) p[i] = keep[i] ? z[i] : -10000.0;   // as transformers masks
  const double mx = *std::max_element(p.begin(), p.end());
  double sum = 0;
  for (double& v : p) sum += v = std::exp(v - mx);
  for (double& v : p) v /= sum;
  return p;
}

// Character span of the words of tokens s and e in the context (tokenizers' word_to_chars over
// this window), or the tokens' own spans when a token belongs to no word.
std::pair<int64_t, int64_t> answer_span(const Encoding& enc, const std::vector<std::pair<uint32_t, uint32_t>>& chars,
                                        size_t s, size_t e, bool align_to_words) {
  if (align_to_words && enc.word_ids[s] >= 0 && enc.word_ids[e] >= 0) {
    auto word_chars = [&](int32_t w, bool first) {
      int64_t begin = -1, end = -1;
      for (size_t k = 0; k < enc.size(); ++k)
        if (enc.sequence_ids[k] == 1 && enc.word_ids[k] == w) {
          if (begin < 0) begin = chars[k].first;
          end = chars[k].second;
        }
      return first ? begin : end;
    };
    return {word_chars(enc.word_ids[s], true), word_chars(enc.word_ids[e], false)};
  }
  return {chars[s].first, chars[e].second};
}

}  // namespace

std::vector<Answer> qa_answers(const std::vector<QaWindow>& windows, std::string_view context,
                               const QuestionAnsweringOptions& o) {
  if (o.top_k < 1) throw Error("top_k must be >= 1");
  if (o.max_answer_len < 1) throw Error("max_answer_len must be >= 1");
  // Code point -> byte, to cut answers out of the context.
  std::vector<size_t> byte_at;
  for (size_t i = 0; i < context.size(); ++i)
    if ((static_cast<unsigned char>(context[i]) & 0xC0) != 0x80) byte_at.push_back(i);
  byte_at.push_back(context.size());
  double min_null = 1000000.0;
  std::vector<Answer> answers;
  for (const QaWindow& w : windows) {
    const Encoding& enc = w.enc;
    const size_t L = enc.size();
    if (w.start.size() != L || w.end.size() != L) throw Error("question answering: logits and window differ in length");
    // Candidates: context tokens and [CLS] (kept for the no-answer score), attended.
    std::vector<char> keep(L);
    for (size_t k = 0; k < L; ++k)
      keep[k] = enc.attention_mask[k] && (enc.sequence_ids[k] == 1 || (enc.special_tokens_mask[k] && k == 0));
    std::vector<double> ps = masked_softmax(w.start, keep), pe = masked_softmax(w.end, keep);
    if (o.handle_impossible_answer) min_null = std::min(min_null, ps[0] * pe[0]);
    ps[0] = pe[0] = 0.0;
    struct Cand {
      double score;
      size_t s, e;
    };
    std::vector<Cand> cands;
    for (size_t s = 1; s < L; ++s) {
      if (!keep[s]) continue;
      for (size_t e = s; e < L && e - s < static_cast<size_t>(o.max_answer_len); ++e)
        if (keep[e] && ps[s] * pe[e] > 0) cands.push_back({ps[s] * pe[e], s, e});
    }
    // The best top_k, ties in (start, end) order as numpy's argmax over the flattened matrix.
    const size_t k = std::min(cands.size(), static_cast<size_t>(o.top_k));
    std::partial_sort(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(k), cands.end(),
                      [](const Cand& a, const Cand& b) { return a.score > b.score || (a.score == b.score && (a.s < b.s || (a.s == b.s && a.e < b.e))); });
    const auto chars = enc.char_offsets(std::string_view(), context);
    for (size_t i = 0; i < k; ++i) {
      const auto [begin, end] = answer_span(enc, chars, cands[i].s, cands[i].e, o.align_to_words);
      const size_t b = byte_at[static_cast<size_t>(begin)], e = byte_at[static_cast<size_t>(end)];
      answers.push_back({cands[i].score, begin, end, std::string(context.substr(b, e - b))});
    }
  }
  if (o.handle_impossible_answer) answers.push_back({min_null, 0, 0, ""});
  std::stable_sort(answers.begin(), answers.end(), [](const Answer& a, const Answer& b) { return a.score > b.score; });
  if (answers.size() > static_cast<size_t>(o.top_k)) answers.resize(static_cast<size_t>(o.top_k));
  return answers;
}

std::vector<std::vector<Answer>> question_answering(const Engine& e, const std::vector<QaInput>& inputs,
                                                    const QuestionAnsweringOptions& o) {
  const int64_t max_seq = o.max_seq_len > 0 ? o.max_seq_len : std::min<int64_t>(static_cast<int64_t>(e.max_length), 384);
  if (static_cast<size_t>(max_seq) > e.max_length)
    throw Error("max_seq_len " + std::to_string(max_seq) + " exceeds the model's longest input (" +
                std::to_string(e.max_length) + ")");
  const int64_t stride = o.doc_stride >= 0 ? o.doc_stride : std::min<int64_t>(max_seq / 2, 128);
  EncodeOptions eo;
  eo.max_length = static_cast<size_t>(max_seq);
  eo.truncation = Truncation::OnlySecond;
  eo.stride = static_cast<size_t>(stride);
  std::vector<std::vector<Answer>> result;
  // All windows of all inputs in one run, then answers per input.
  std::vector<Encoding> encs;
  std::vector<size_t> first_window;
  std::vector<std::string> questions;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const QaInput& in = inputs[i];
    if (in.question.empty() || in.context.empty())
      throw InputError("input " + std::to_string(i) + ": question and context must not be empty", false);
    std::string q = in.question;
    try {
      if (o.max_question_len > 0) {   // cut the question after its max_question_len-th token
        EncodeOptions plain;
        plain.add_special_tokens = false;
        const Encoding qe = e.tokenizer->encode(q, plain);
        if (qe.size() > static_cast<size_t>(o.max_question_len)) q.resize(qe.offsets[o.max_question_len - 1].second);
      }
      first_window.push_back(encs.size());
      for (Encoding& w : e.tokenizer->encode_pair_windows(q, in.context, eo)) {
        fit_token_types(e, w);
        encs.push_back(std::move(w));
      }
    } catch (const std::exception& ex) {
      throw InputError("input " + std::to_string(i) + ": " + ex.what(), false);
    }
  }
  first_window.push_back(encs.size());
  const auto outs = e.run(encs, Need::StartEnd);
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::vector<QaWindow> windows;
    for (size_t k = first_window[i]; k < first_window[i + 1]; ++k) {
      const auto& z = outs[k];
      windows.push_back({encs[k], std::vector<float>(z.row(0), z.row(0) + z.cols),
                         std::vector<float>(z.row(1), z.row(1) + z.cols)});
    }
    result.push_back(qa_answers(windows, inputs[i].context, o));
  }
  return result;
}

}  // namespace ernie::pipeline
