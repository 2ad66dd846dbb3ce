// Text helpers of `ernie config explain`, shared by the ERNIE explainer (explain.cc), the BART-family
// explainer (seq2seq_explain.cc) and `config doctor` (doctor.cc), so numbers read the same in all.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ernie::config_detail {

std::string fixed1(double v);                 // "12.3"
std::string format_bytes(int64_t bytes);      // "531.9 MiB"
std::string format_si(int64_t v);             // "170.1 M"
std::string format_zh_magnitude(int64_t n);   // "约 9,988 万", "约 1.39 亿"
// true for "zh", false for "en"; anything else throws ernie::Error.
bool zh_lang(const std::string& lang);
// A value short enough for one line: label maps summarized ("3 labels: ..."), long JSON cut.
std::string show_field_value(const std::string& key, const nlohmann::json& v, bool zh);
// Display columns of UTF-8 text: CJK and full-width characters take two.
size_t display_width(const std::string& s);
// The last lines of an explanation: a note when seq_len exceeds the longest input, and the
// unknown keys ("  Unknown keys: none").
std::string seq_len_note(int64_t seq_len, int64_t longest, bool zh);
std::string unknown_keys_line(const std::vector<std::string>& keys, bool zh);

}  // namespace ernie::config_detail
