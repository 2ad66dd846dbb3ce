// ernie vocab train: a WordPiece vocab from a corpus (one text per line).
#include <iostream>

#include "cli/commands.h"
#include "cli/tokenizer_io.h"
#include "ernie/error.h"
#include "ernie/vocab_trainer.h"

namespace ernie::cli {

namespace {

struct TrainOptions {
  std::vector<std::string> corpus;
  std::string out, errors = "strict";
  size_t size = 30000, limit_alphabet = 1000;
  uint64_t min_frequency = 2;
  bool no_lower_case = false;
};

void train(const TrainOptions& o) {
  VocabTrainOptions t;
  t.vocab_size = o.size;
  t.min_frequency = o.min_frequency;
  t.limit_alphabet = o.limit_alphabet;
  t.normalizer.lowercase = !o.no_lower_case;
  t.utf8_errors = parse_errors_flag(o.errors);
  std::vector<std::string> texts;
  std::vector<std::string_view> lines;
  for (const auto& f : o.corpus) texts.push_back(read_input(f));
  for (const auto& text : texts)
    for (auto line : split_lines(text)) lines.push_back(line);
  const Vocab v = train_wordpiece(lines, t);
  v.save(o.out);
  std::cerr << "wrote " << o.out << ": " << v.size() << " tokens from " << lines.size() << " lines\n";
}

}  // namespace

void add_vocab_command(CLI::App& app) {
  CLI::App* vocab = app.add_subcommand("vocab", "WordPiece vocabularies");
  vocab->require_subcommand(1);
  auto o = std::make_shared<TrainOptions>();
  CLI::App* cmd = vocab->add_subcommand("train", "Train a WordPiece vocab.txt on a corpus (one text per line)");
  cmd->add_option("--corpus", o->corpus, "Corpus file(s), '-' for stdin")->required();
  cmd->add_option("--size", o->size, "Vocabulary size, special tokens included (default 30000)");
  cmd->add_option("--out", o->out, "vocab.txt to write (one token per line)")->required();
  cmd->add_option("--min-frequency", o->min_frequency, "Merge only pairs seen at least this often (default 2)");
  cmd->add_option("--limit-alphabet", o->limit_alphabet, "Keep the N most frequent chars (default 1000; 0: all)");
  cmd->add_flag("--no-lower-case", o->no_lower_case, "Cased vocabulary");
  cmd->add_option("--errors", o->errors, "Invalid UTF-8: strict (default) | replace");
  cmd->callback([o] { train(*o); });
}

}  // namespace ernie::cli
