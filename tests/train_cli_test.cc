// `ernie train` end to end on small synthetic corpora (texts and NER): it learns, writes a complete
// model folder that `ernie classify` loads, reports per epoch, refuses bad input, and --resume after
// a kill reaches exactly the weights of an uninterrupted run.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "ernie/safetensors.h"
#include "test_util.h"
#include "train_corpus.h"

extern char** environ;

namespace ernie {
namespace {

namespace fs = std::filesystem;
using testing::Corpus;
using testing::run_cli;
using testing::TempDir;
using testing::write_file;
using testing::read_file;

std::vector<nlohmann::json> json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  size_t begin = 0;
  while (begin < text.size()) {
    const size_t end = text.find('\n', begin);
    const std::string line = text.substr(begin, end - begin);
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return out;
}

TEST(TrainCli, LearnsAndWritesACompleteModelFolder) {
  Corpus c;
  const fs::path out = c.dir / "model";
  const auto r = run_cli(c.args(out, "--epochs 8"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 8u) << r.out;
  for (const auto& l : lines)
    for (const char* key : {"epoch", "train_loss", "eval_loss", "eval_accuracy", "eval_macro_f1", "seconds", "tokens_per_s"})
      EXPECT_TRUE(l.contains(key)) << key << " missing in " << l.dump();
  EXPECT_LT(lines.back()["train_loss"].get<double>(), lines.front()["train_loss"].get<double>());
  EXPECT_GE(lines.back()["eval_accuracy"].get<double>(), 0.9) << r.out;

  for (const char* f : {"config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json", "metrics.jsonl",
                        "eval_report.txt", "eval_report.json", "training_curves.svg"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  const auto cfg = nlohmann::json::parse(read_file(out / "config.json"));
  EXPECT_EQ(cfg["id2label"]["0"], "finance");   // labels derived from the data, sorted
  EXPECT_EQ(cfg["label2id"]["sports"], 2);
  EXPECT_EQ(cfg["architectures"][0], "ErnieForSequenceClassification");
  EXPECT_EQ(json_lines(read_file(out / "metrics.jsonl")).size(), 8u);
  EXPECT_NE(read_file(out / "eval_report.txt").find("macro avg"), std::string::npos);
  EXPECT_NE(read_file(out / "training_curves.svg").find("</svg>"), std::string::npos);

  // The folder is a model: classify a clear sports text (words w0..w11).
  const auto cls = run_cli("classify --model " + out.string() + " --json 'w1 w2 w3 w4 w5 w6'");
  ASSERT_EQ(cls.status, 0) << cls.err;
  EXPECT_EQ(nlohmann::json::parse(cls.out)["label"], "sports") << cls.out;
}

TEST(TrainCli, FineTunesFromItsOwnOutputWithANewHead) {
  Corpus c;
  const fs::path first = c.dir / "first", second = c.dir / "second";
  ASSERT_EQ(run_cli(c.args(first, "--epochs 1")).status, 0);
  // Two labels now: the 3-label head no longer fits and is re-initialized with a warning.
  std::string two;
  for (const auto& line : {"w1 w2 w3\tyes\n", "w13 w14\tno\n", "w4 w5\tyes\n", "w20 w21 w22\tno\n"}) two += line;
  write_file(c.dir / "two.tsv", two);
  const auto r = run_cli("train --init-from " + first.string() + " --train " + (c.dir / "two.tsv").string() +
                         " --out " + second.string() + " --epochs 1 --quiet");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find("re-initialized"), std::string::npos) << r.err;
  EXPECT_NE(read_file(second / "config.json").find("\"yes\""), std::string::npos);
}

TEST(TrainCli, BadInputIsAOneLineError) {
  Corpus c;
  write_file(c.dir / "bad.tsv", "w1 w2\tsports\nno label column here\n");
  auto r = run_cli("train --config " + (c.dir / "config.json").string() + " --vocab " + (c.dir / "vocab.txt").string() +
                   " --train " + (c.dir / "bad.tsv").string() + " --out " + (c.dir / "o").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("bad.tsv:2"), std::string::npos) << r.err;

  write_file(c.dir / "eval_unknown.tsv", "w1 w2\tcooking\n");
  r = run_cli(c.args(c.dir / "o2", "--epochs 1", "eval_unknown.tsv"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cooking"), std::string::npos) << r.err;

  r = run_cli(c.args(c.dir / "o3", "--epochs 0"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--epochs"), std::string::npos) << r.err;
  r = run_cli(c.args(c.dir / "o3", "--dropout 1.5"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("--dropout"), std::string::npos) << r.err;
  r = run_cli(c.args(c.dir / "o4", "--resume"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("no checkpoint"), std::string::npos) << r.err;
}

Tensor final_parameters(const fs::path& out) {
  return read_safetensors(out / "checkpoint" / "trainer_state.safetensors").tensors.at("parameters");
}

bool same_bytes(const Tensor& a, const Tensor& b) {
  return a.nbytes() == b.nbytes() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Stopping after a checkpoint (--max-steps, inside an epoch) and resuming gives the uninterrupted
// run's weights, and one metrics line per epoch.
template <class C>
void expect_stop_and_resume_match(const C& c, int epochs, int max_steps) {
  const fs::path whole = c.dir / "whole", parts = c.dir / "parts";
  const std::string n = "--epochs " + std::to_string(epochs);
  ASSERT_EQ(run_cli(c.args(whole, n)).status, 0);
  const auto stop = run_cli(c.args(parts, n + " --max-steps " + std::to_string(max_steps) + " --save-steps 4"));
  ASSERT_EQ(stop.status, 0) << stop.err;
  EXPECT_NE(stop.err.find("--resume continues"), std::string::npos) << stop.err;
  const auto rest = run_cli(c.args(parts, n + " --resume"));
  ASSERT_EQ(rest.status, 0) << rest.err;
  EXPECT_TRUE(same_bytes(final_parameters(whole), final_parameters(parts)));
  EXPECT_EQ(json_lines(read_file(parts / "metrics.jsonl")).size(), static_cast<size_t>(epochs));
}

TEST(TrainCli, ResumeAfterStopMatchesUninterrupted) {
  expect_stop_and_resume_match(Corpus(), 3, 20);   // mid-epoch 2
}

// A checkpoint whose state metadata was damaged (or written by hand) is refused with one line
// naming the file, not nlohmann's bare type_error.
TEST(TrainCli, ResumeRefusesDamagedStateMetadata) {
  const Corpus c;
  const fs::path out = c.dir / "damaged";
  ASSERT_EQ(run_cli(c.args(out, "--epochs 1 --max-steps 4 --save-steps 4")).status, 0);
  const fs::path file = out / "checkpoint" / "trainer_state.safetensors";
  TensorFile tf = read_safetensors(file);
  nlohmann::json state = nlohmann::json::parse(tf.metadata.at("state"));
  state["history"] = 5;   // same fingerprint, so the run gets past the settings check
  write_safetensors(file, tf.tensors, {{"state", state.dump()}});
  const auto r = run_cli(c.args(out, "--epochs 1 --resume"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(file.string() + ": the trainer state's metadata is malformed ("), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

// SIGKILL at an arbitrary moment: the last checkpoint is intact and --resume converges to the
// same bytes as the uninterrupted run.
TEST(TrainCli, ResumeAfterKillMatchesUninterrupted) {
  Corpus c;
  const fs::path whole = c.dir / "whole", killed = c.dir / "killed";
  const std::string extra = "--epochs 12 --save-steps 3";
  ASSERT_EQ(run_cli(c.args(whole, extra)).status, 0);

  const std::string cmd = "exec " + std::string(ERNIE_BIN) + " " + c.args(killed, extra) + " >/dev/null 2>&1";
  const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ), 0);
  const fs::path state = killed / "checkpoint" / "trainer_state.safetensors";
  for (int i = 0; i < 2000 && !fs::exists(state); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFSIGNALED(status)) GTEST_SKIP() << "training finished before the kill (machine too fast for this test)";

  const auto rest = run_cli(c.args(killed, extra + " --resume"));
  ASSERT_EQ(rest.status, 0) << rest.err;
  EXPECT_TRUE(same_bytes(final_parameters(whole), final_parameters(killed)));
}

// ------------------------------------------------------------------------------------------------
// Token classification (CoNLL)

// Sentences of filler words (O), cities (B-LOC; "Stockholm" is two pieces, stock ##holm) and
// two-word person names (B-PER I-PER), capitalized (the tokenizer lowercases). "Paris" and "Jordan"
// are both cities and first names: only the next word (a surname or not) tells which, so a perfect
// score needs context, which this tiny model learns only in part (entity F1 about 0.94).
struct NerCorpus {
  TempDir dir;
  NerCorpus() {
    const std::vector<std::string> cities = {"Paris", "London", "Berlin", "Tokyo", "Madrid", "Jordan", "Stockholm"};
    const std::vector<std::string> first = {"Anna", "John", "Maria", "Peter", "Paris", "Jordan"};
    const std::vector<std::string> last = {"Smith", "Jones", "Garcia", "Brown", "Khan", "Novak"};
    const std::vector<std::string> filler = {"the", "visited", "met", "in", "today", "and", "saw", "went",
                                             "to", "with", "yesterday", "from", "a", "friend"};
    std::string vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nstock\n##holm\n";
    std::set<std::string> seen = {"stockholm"};
    for (const auto* list : {&cities, &first, &last, &filler})
      for (const std::string& w : *list)
        if (seen.insert(lower(w)).second) vocab += lower(w) + "\n";
    write_file(dir / "vocab.txt", vocab);
    uint64_t state = 777;
    auto next = [&state](size_t n) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      return static_cast<size_t>((state >> 33) % n);
    };
    // Training: word<TAB>tag; held-out: CoNLL-2003's four columns with -DOCSTART- lines.
    auto sentences = [&](int count, bool conll2003) {
      std::string out = conll2003 ? "-DOCSTART- -X- -X- O\n\n" : "";
      for (int r = 0; r < count; ++r) {
        auto word = [&](const std::string& w, const char* tag) {
          out += w + (conll2003 ? " NNP B-NP " : "\t") + tag + "\n";
        };
        for (size_t slots = 3 + next(6), j = 0; j < slots; ++j) {
          const size_t kind = next(10);
          if (kind < 6) {
            word(filler[next(filler.size())], "O");
          } else if (kind < 8) {
            word(cities[next(cities.size())], "B-LOC");
          } else {
            word(first[next(first.size())], "B-PER");
            word(last[next(last.size())], "I-PER");
          }
        }
        out += "\n";
      }
      return out;
    };
    write_file(dir / "train.conll", sentences(400, false));
    write_file(dir / "heldout.bio", sentences(80, true));
    write_file(dir / "config.json", R"({"model_type": "bert", "vocab_size": 40, "hidden_size": 32,
      "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu",
      "max_position_embeddings": 64, "type_vocab_size": 2, "hidden_dropout_prob": 0.1,
      "attention_probs_dropout_prob": 0.1, "initializer_range": 0.02})");
  }
  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  std::string args(const fs::path& out, const std::string& extra = "", const std::string& eval = "heldout.bio") const {
    return "train --config " + (dir / "config.json").string() + " --vocab " + (dir / "vocab.txt").string() +
           " --train " + (dir / "train.conll").string() + " --eval " + (dir / eval).string() + " --out " +
           out.string() + " --batch-size 16 --lr 3e-3 --warmup-ratio 0.1 --seed 5 --threads 2 --quiet " + extra;
  }
};

TEST(TrainCliNer, LearnsEntitiesAndClassifyTagsWords) {
  NerCorpus c;
  const fs::path out = c.dir / "ner";
  const auto r = run_cli(c.args(out, "--epochs 12"));
  ASSERT_EQ(r.status, 0) << r.err;
  const auto lines = json_lines(r.out);
  ASSERT_EQ(lines.size(), 12u) << r.out;
  for (const auto& l : lines)
    for (const char* key : {"epoch", "train_loss", "eval_loss", "eval_accuracy", "eval_macro_f1",
                            "eval_entity_precision", "eval_entity_recall", "eval_entity_f1", "best_epoch"})
      EXPECT_TRUE(l.contains(key)) << key << " missing in " << l.dump();
  EXPECT_LT(lines.back()["train_loss"].get<double>(), lines.front()["train_loss"].get<double>());
  // The saved model is the best epoch's: the one with the highest entity F1.
  const auto& best = lines.at(lines.back()["best_epoch"].get<size_t>() - 1);
  for (const auto& l : lines) EXPECT_LE(l["eval_entity_f1"].get<double>(), best["eval_entity_f1"].get<double>());
  EXPECT_GE(best["eval_entity_f1"].get<double>(), 0.85) << r.out;
  EXPECT_GE(best["eval_accuracy"].get<double>(), 0.9) << r.out;

  const auto cfg = nlohmann::json::parse(read_file(out / "config.json"));
  EXPECT_EQ(cfg["architectures"][0], "BertForTokenClassification");
  EXPECT_EQ(cfg["id2label"], (nlohmann::json{{"0", "O"}, {"1", "B-LOC"}, {"2", "B-PER"}, {"3", "I-PER"}}));
  EXPECT_FALSE(cfg.contains("problem_type")) << cfg.dump();   // transformers refuses other problem types
  const std::string report = read_file(out / "eval_report.txt");
  for (const char* s : {"token accuracy", "LOC", "PER", "micro avg", "macro avg", "Tag confusion matrix"})
    EXPECT_NE(report.find(s), std::string::npos) << s << " missing in\n" << report;
  const auto report_json = nlohmann::json::parse(read_file(out / "eval_report.json"));
  EXPECT_EQ(report_json["entities"]["types"].size(), 2u);
  EXPECT_NE(read_file(out / "training_curves.svg").find("</svg>"), std::string::npos);

  // The folder tags words (unambiguous ones here); the first piece of "Stockholm" (stock) carries B-LOC.
  auto cls = run_cli("classify --model " + out.string() +
                     " 'Anna Smith visited Stockholm' 'Maria Garcia went to Berlin with John Brown'");
  ASSERT_EQ(cls.status, 0) << cls.err;
  EXPECT_EQ(cls.out, "Anna/B-PER Smith/I-PER visited/O Stockholm/B-LOC\n"
                     "Maria/B-PER Garcia/I-PER went/O to/O Berlin/B-LOC with/O John/B-PER Brown/I-PER\n");
  cls = run_cli("classify --model " + out.string() + " --json", "Peter  Novak\tsaw Stockholm \x01\n");
  ASSERT_EQ(cls.status, 0) << cls.err;
  const auto j = nlohmann::json::parse(cls.out);
  EXPECT_EQ(j["words"], (nlohmann::json{"Peter", "Novak", "saw", "Stockholm", "\x01"}));
  // A control character yields no piece, so no tag.
  EXPECT_EQ(j["tags"], (nlohmann::json{"B-PER", "I-PER", "O", "B-LOC", nullptr}));
  ASSERT_EQ(j["scores"].size(), 5u);
  for (size_t i = 0; i < 4; ++i) {
    const double p = j["scores"][i].get<double>();
    EXPECT_TRUE(p > 0.5 && p <= 1.0) << cls.out;
  }
  EXPECT_TRUE(j["scores"][4].is_null());
}

TEST(TrainCliNer, ResumeAfterStopMatchesUninterrupted) {
  expect_stop_and_resume_match(NerCorpus(), 2, 30);   // 25 steps per epoch: mid-epoch 2
}

TEST(TrainCliNer, TaskAndFormatMustAgree) {
  NerCorpus c;
  write_file(c.dir / "texts.tsv", "Anna\tO\n");
  auto r = run_cli("train --config " + (c.dir / "config.json").string() + " --vocab " + (c.dir / "vocab.txt").string() +
                   " --train " + (c.dir / "texts.tsv").string() + " --problem-type token_classification --out " +
                   (c.dir / "o").string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("token_classification needs CoNLL data"), std::string::npos) << r.err;
  r = run_cli(c.args(c.dir / "o2", "--problem-type regression"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("train.conll: CoNLL data is for token_classification, not regression"), std::string::npos)
      << r.err;
  // --format conll reads a file of any name; an unknown tag in the eval file names its line.
  write_file(c.dir / "sentences.txt", "Anna B-PER\nSmith I-PER\n\nRome B-CITY\n");
  r = run_cli(c.args(c.dir / "o3", "--epochs 1 --format conll", "sentences.txt"));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("sentences.txt:4: unknown tag 'B-CITY'"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace ernie
