// ernie tokenize: one text (or TAB-separated pair) per input line -> one JSON object per line,
// streamed in chunks of lines.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/tokenizer_io.h"
#include "pipeline/lines.h"
#include "ernie/error.h"

namespace ernie::cli {

namespace {

struct TokenizeOptions {
  TokenizerFlags tok;
  bool pair = false, ids_only = false, no_special = false, overflowing = false;
  bool decode = false, keep_special = false, clean_up_spaces = false;
  size_t max_len = 0, stride = 0;
  std::string truncation = "longest_first", padding = "none", errors = "strict";
  std::string truncation_side = "right", padding_side = "right";
  std::string input = "-", output = "-";
  unsigned threads = 0;
};

template <class T>
void append_array(std::string& out, const std::vector<T>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(v[i]);
  }
  out += ']';
}

void append_spans(std::string& out, const std::vector<std::pair<uint32_t, uint32_t>>& v) {
  out += '[';
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    out += '[' + std::to_string(v[i].first) + ',' + std::to_string(v[i].second) + ']';
  }
  out += ']';
}

// sample >= 0: the input line of a window (--return-overflowing), written as "sample".
void append_encoding(std::string& out, const Tokenizer& tok, const Encoding& e, std::string_view a,
                     std::string_view b, bool ids_only, int64_t sample = -1) {
  if (ids_only) {
    append_array(out, e.ids);
    out += '\n';
    return;
  }
  out += '{';
  if (sample >= 0) out += "\"sample\":" + std::to_string(sample) + ',';
  out += "\"input_ids\":";
  append_array(out, e.ids);
  out += ",\"token_type_ids\":";
  append_array(out, e.type_ids);
  out += ",\"attention_mask\":";
  append_array(out, e.attention_mask);
  out += ",\"special_tokens_mask\":";
  append_array(out, e.special_tokens_mask);
  out += ",\"word_ids\":";
  append_array(out, e.word_ids);
  out += ",\"sequence_ids\":";
  std::vector<int32_t> seq(e.sequence_ids.begin(), e.sequence_ids.end());
  append_array(out, seq);
  out += ",\"tokens\":[";
  for (size_t i = 0; i < e.ids.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, tok.vocab().token(e.ids[i]));
  }
  out += "],\"offsets\":";
  append_spans(out, e.char_offsets(a, b));
  out += ",\"byte_offsets\":";
  append_spans(out, e.offsets);
  out += "}\n";
}

Truncation parse_truncation(const std::string& s) {
  if (s == "longest_first") return Truncation::LongestFirst;
  if (s == "only_first") return Truncation::OnlyFirst;
  if (s == "only_second") return Truncation::OnlySecond;
  throw Error("--truncation must be longest_first, only_first or only_second");
}

Padding parse_padding(const std::string& s) {
  if (s == "none") return Padding::None;
  if (s == "longest") return Padding::Longest;
  if (s == "max_length") return Padding::MaxLength;
  throw Error("--padding must be none, longest or max_length");
}

Side parse_side(const std::string& s, const char* flag) {
  if (s == "right") return Side::Right;
  if (s == "left") return Side::Left;
  throw Error(std::string(flag) + " must be right or left, not '" + s + "'");
}

// --decode: one JSON array of ids per line -> {"text": ...} per line.
void run_decode(const TokenizeOptions& o, const Tokenizer& tok, const std::vector<std::string_view>& lines,
                std::ostream& out, size_t first) {
  std::string buf;
  for (size_t i = 0; i < lines.size(); ++i) {
    std::vector<int32_t> ids;
    try {
      for (const auto& v : nlohmann::json::parse(lines[i])) ids.push_back(v.get<int32_t>());
    } catch (const std::exception&) {
      throw Error("line " + std::to_string(first + i + 1) + ": --decode reads one JSON array of token ids per line");
    }
    buf = "{\"text\":";
    append_json_string(buf, tok.decode(ids, !o.keep_special, o.clean_up_spaces));
    buf += "}\n";
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  }
}

// One chunk of input lines (the first is line `first` of the input, 0-based) -> its JSON lines.
void run_chunk(const TokenizeOptions& o, const Tokenizer& tok, const EncodeOptions& eo,
               const std::vector<std::string>& chunk, size_t first, std::ostream& out) {
  const std::vector<std::string_view> lines(chunk.begin(), chunk.end());
  if (o.decode) return run_decode(o, tok, lines, out, first);
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  if (o.pair) {
    pairs.reserve(lines.size());
    for (size_t i = 0; i < lines.size(); ++i) {
      const size_t tab = lines[i].find('\t');
      if (tab == std::string_view::npos)
        throw Error("line " + std::to_string(first + i + 1) + ": --pair needs two texts separated by a TAB");
      pairs.emplace_back(lines[i].substr(0, tab), lines[i].substr(tab + 1));
    }
  }
  std::string buf;
  if (o.overflowing) {   // every window of every line, line by line
    for (size_t i = 0; i < lines.size(); ++i) {
      std::vector<Encoding> wins;
      try {
        wins = o.pair ? tok.encode_pair_windows(pairs[i].first, pairs[i].second, eo) : tok.encode_windows(lines[i], eo);
      } catch (const Error& e) {
        throw Error("line " + std::to_string(first + i + 1) + ": " + e.what());
      }
      buf.clear();
      for (const Encoding& w : wins)
        append_encoding(buf, tok, w, o.pair ? pairs[i].first : lines[i], o.pair ? pairs[i].second : std::string_view(),
                        false, static_cast<int64_t>(first + i));
      out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    }
    return;
  }
  std::vector<Encoding> encs;
  try {
    encs = o.pair ? tok.encode_pair_batch(pairs, eo, o.threads) : tok.encode_batch(lines, eo, o.threads);
  } catch (const Error& e) {
    // "line N: ..." counts within the chunk: report the line of the whole input.
    const std::string msg = e.what();
    size_t n = 0, colon = msg.find(':');
    if (msg.rfind("line ", 0) == 0 && colon != std::string::npos) n = std::stoul(msg.substr(5, colon - 5));
    if (n == 0) throw;
    throw Error("line " + std::to_string(first + n) + msg.substr(colon));
  }
  for (size_t i = 0; i < lines.size(); ++i)
    append_encoding(buf, tok, encs[i], o.pair ? pairs[i].first : lines[i], o.pair ? pairs[i].second : std::string_view(),
                    o.ids_only);
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
}

void run(const TokenizeOptions& o) {
  const Tokenizer tok = make_tokenizer(o.tok);
  EncodeOptions eo;
  eo.stride = o.stride;
  eo.truncation_side = parse_side(o.truncation_side, "--truncation-side");
  eo.padding_side = parse_side(o.padding_side, "--padding-side");
  eo.add_special_tokens = !o.no_special;
  eo.max_length = o.max_len;
  eo.truncation = parse_truncation(o.truncation);
  eo.padding = parse_padding(o.padding);
  eo.utf8_errors = parse_errors_flag(o.errors);
  if (eo.padding == Padding::MaxLength && o.max_len == 0) throw Error("--padding max_length needs --max-len");
  if (o.overflowing && o.ids_only) throw Error("--return-overflowing writes objects; drop --ids-only");

  // The input streams in chunks of lines (memory bounded whatever its size), except with
  // --padding longest: the longest line of the whole input sets every row's length.
  std::unique_ptr<pipeline::LineReader> reader =
      o.input == "-" ? std::make_unique<pipeline::LineReader>(0)
                     : std::make_unique<pipeline::LineReader>(pipeline::local_lines(o.input, 0, 1));
  std::ofstream file;
  if (o.output != "-") {
    file.open(o.output, std::ios::binary);
    if (!file) throw Error("cannot write " + o.output);
  }
  std::ostream& out = o.output == "-" ? std::cout : file;
  const size_t chunk = eo.padding == Padding::Longest && !o.decode && !o.overflowing ? SIZE_MAX : 1 << 15;
  std::vector<std::string> lines;
  for (size_t first = 0; reader->next_batch(chunk, lines); first += lines.size()) run_chunk(o, tok, eo, lines, first, out);
  out.flush();
  if (!out) throw Error("cannot write " + o.output);
}

}  // namespace

void add_tokenize_command(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize", "WordPiece-tokenize one text per line (BERT/ERNIE, identical to HF BertTokenizerFast) to JSON lines");
  cmd->add_option("--vocab", o->tok.vocab, "Vocab file: one token per line, or token<TAB>id");
  cmd->add_option("--model", o->tok.model,
                  "Model folder: tokenizer.json, or vocab.txt (+ tokenizer_config.json for casing and special tokens)");
  cmd->add_flag("--no-lower-case", o->tok.no_lower_case, "Cased: keep case and accents (do_lower_case=False)");
  cmd->add_option("--strip-accents", o->tok.strip_accents, "true|false (default: follows lower-casing)");
  cmd->add_flag("--split-special-tokens", o->tok.split_special_tokens,
                "Treat special tokens written in the text ([MASK], [SEP], ...) as plain text");
  cmd->add_flag("--pair", o->pair, "Each line holds two texts separated by a TAB: [CLS] A [SEP] B [SEP]");
  cmd->add_option("--max-len", o->max_len, "Truncate to this many tokens, special tokens included");
  cmd->add_option("--truncation", o->truncation, "longest_first (default) | only_first | only_second");
  cmd->add_option("--padding", o->padding, "none (default) | longest | max_length (to --max-len)");
  cmd->add_option("--truncation-side", o->truncation_side, "right (default: cut the end) | left (cut the start)");
  cmd->add_option("--padding-side", o->padding_side, "right (default) | left");
  cmd->add_flag("--return-overflowing", o->overflowing,
                "Write every window of a line longer than --max-len (one object per window, with \"sample\": its line)");
  cmd->add_option("--stride", o->stride, "Tokens shared by consecutive windows (with --return-overflowing)");
  cmd->add_flag("--decode", o->decode, "Decode instead: one JSON array of ids per line -> {\"text\": ...}");
  cmd->add_flag("--keep-special-tokens", o->keep_special, "With --decode: keep [CLS], [SEP], [PAD], ...");
  cmd->add_flag("--clean-up-spaces", o->clean_up_spaces,
                "With --decode: transformers' clean_up_tokenization_spaces (\"don ' t\" -> \"don't\")");
  cmd->add_flag("--no-special-tokens", o->no_special, "Do not add [CLS] and [SEP]");
  cmd->add_flag("--ids-only", o->ids_only, "Write only a JSON array of ids per line");
  cmd->add_option("--errors", o->errors, "Invalid UTF-8: strict (an error naming the line, default) | replace");
  cmd->add_option("--threads", o->threads, "Threads (default: all)");
  cmd->add_option("--input", o->input, "Input file, '-' for stdin (default)");
  cmd->add_option("--output", o->output, "Output file, '-' for stdout (default)");
  cmd->callback([o] { run(*o); });
}

}  // namespace ernie::cli
