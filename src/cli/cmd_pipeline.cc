// ernie pipeline [TASK] --model DIR [options] [TEXT ...]: transformers' task pipelines from the
// command line. Inputs: the TEXT arguments, else --input FILE or stdin, one input a line
// (question answering: {"question": .., "context": ..} or question<TAB>context; text pairs:
// a<TAB>b with --pair); one JSON answer a line, in transformers' shapes (src/pipeline).
#include <omp.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <cstdio>
#include <optional>

#include "cli/commands.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/pipeline.h"
#include "pipeline/json.h"

namespace ernie::cli {

namespace {

using nlohmann::json;

struct PipelineOptions {
  std::string task, model, input, output = "-", dtype, options;
  std::vector<std::string> texts;
  int threads = 0;
  size_t chunk = 64;
  bool pair = false, no_truncation = false;
  // transformers' keyword arguments (also settable through --options JSON)
  std::optional<int64_t> top_k, doc_stride, max_answer_len, max_seq_len, max_question_len;
  std::string function_to_apply, aggregation_strategy, pooling, query;
  std::vector<std::string> ignore_labels, targets;
  bool handle_impossible_answer = false, normalize = false, return_text = false;
};

// The flags given, as the JSON parameters the pipeline options are read from.
json parameters(const PipelineOptions& o, pipeline::Task task) {
  json p = o.options.empty() ? json::object() : json::parse(o.options, nullptr, false);
  if (p.is_discarded() || !p.is_object()) throw Error("--options must be a JSON object, e.g. '{\"top_k\": 3}'");
  auto set = [&](const char* key, const json& v) { p[key] = v; };
  using T = pipeline::Task;
  if (o.top_k && task != T::FeatureExtraction && task != T::Rerank) set("top_k", *o.top_k);
  if (!o.function_to_apply.empty()) set("function_to_apply", o.function_to_apply);
  if (!o.aggregation_strategy.empty()) set("aggregation_strategy", o.aggregation_strategy);
  if (!o.ignore_labels.empty()) set("ignore_labels", o.ignore_labels);
  if (o.doc_stride) set("doc_stride", *o.doc_stride);
  if (o.max_answer_len) set("max_answer_len", *o.max_answer_len);
  if (o.max_seq_len) set("max_seq_len", *o.max_seq_len);
  if (o.max_question_len) set("max_question_len", *o.max_question_len);
  if (o.handle_impossible_answer) set("handle_impossible_answer", true);
  if (!o.targets.empty()) set("targets", o.targets);
  if (!o.pooling.empty()) set("pooling", o.pooling);
  if (o.normalize) set("normalize", true);
  if (o.return_text) set("return_text", true);
  return p;
}

pipeline::QaInput qa_input(const std::string& line, size_t n) {
  if (!line.empty() && line[0] == '{') {
    const json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("question") && j.contains("context") && j["question"].is_string() &&
        j["context"].is_string())
      return {j["question"].get<std::string>(), j["context"].get<std::string>()};
  }
  const size_t tab = line.find('\t');
  if (tab == std::string::npos)
    throw Error("input " + std::to_string(n + 1) + ": question answering reads {\"question\": .., \"context\": ..} or "
                "question<TAB>context");
  return {line.substr(0, tab), line.substr(tab + 1)};
}

// One chunk of inputs -> one JSON line each.
void answer(const pipeline::Engine& e, pipeline::Task task, const json& params, const PipelineOptions& o,
            const std::vector<std::string>& lines, size_t first, std::ostream& out) {
  using T = pipeline::Task;
  std::vector<json> answers;
  switch (task) {
    case T::TextClassification: {
      const auto opts = pipeline::text_classification_options(params);
      std::vector<pipeline::TextInput> in;
      for (size_t i = 0; i < lines.size(); ++i) {
        const size_t tab = o.pair ? lines[i].find('\t') : std::string::npos;
        if (o.pair && tab == std::string::npos)
          throw Error("input " + std::to_string(first + i + 1) + ": --pair needs two texts separated by a TAB");
        in.push_back(o.pair ? pipeline::TextInput{lines[i].substr(0, tab), lines[i].substr(tab + 1), true}
                            : pipeline::TextInput{lines[i], {}, false});
      }
      for (const auto& l : pipeline::text_classification(e, in, opts)) answers.push_back(pipeline::to_json(l, opts.top_k == 1));
      break;
    }
    case T::TokenClassification: {
      const auto opts = pipeline::token_classification_options(params);
      for (const auto& ents : pipeline::token_classification(e, lines, opts))
        answers.push_back(pipeline::to_json(ents, opts.aggregation_strategy));
      break;
    }
    case T::QuestionAnswering: {
      const auto opts = pipeline::question_answering_options(params);
      std::vector<pipeline::QaInput> in;
      for (size_t i = 0; i < lines.size(); ++i) in.push_back(qa_input(lines[i], first + i));
      for (const auto& a : pipeline::question_answering(e, in, opts)) answers.push_back(pipeline::to_json(a, opts.top_k == 1));
      break;
    }
    case T::FillMask: {
      for (const auto& f : pipeline::fill_mask(e, lines, pipeline::fill_mask_options(params)))
        answers.push_back(pipeline::to_json(f));
      break;
    }
    case T::FeatureExtraction: {
      for (const auto& v : pipeline::embed(e, lines, pipeline::embedding_options(params, pipeline::Pooling::Cls)))
        answers.push_back(pipeline::to_json(v));
      break;
    }
    case T::Rerank: {
      if (o.query.empty()) throw Error("rerank needs --query: the texts are ranked by relevance to it");
      const auto opts = pipeline::rerank_options(params);
      answers.push_back(pipeline::to_json(pipeline::rerank(e, o.query, lines, opts), opts.return_text));
      break;
    }
  }
  std::string buf;
  for (const auto& a : answers) buf += a.dump(-1, ' ', false, json::error_handler_t::replace) + '\n';
  out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  out.flush();
}

void run(PipelineOptions o) {
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const Model model = o.dtype.empty() ? Model::load(o.model) : Model::load(o.model, parse_compute_type(o.dtype));
  const Tokenizer tok = Tokenizer::from_folder(o.model);
  const auto tasks = pipeline::supported_tasks(model.config());
  const pipeline::Task task = o.task.empty() ? tasks.front() : pipeline::parse_task(o.task);
  if (std::find(tasks.begin(), tasks.end(), task) == tasks.end()) {
    std::string list;
    for (auto t : tasks) list += (list.empty() ? "" : ", ") + std::string(pipeline::task_name(t));
    throw Error(model.config().class_name() + " cannot do " + pipeline::task_name(task) + "; it does: " + list);
  }
  pipeline::Engine e = pipeline::make_engine(model, tok);
  e.truncate = !o.no_truncation;
  const json params = parameters(o, task);

  std::ofstream file;
  if (o.output != "-") {
    file.open(o.output, std::ios::binary);
    if (!file) throw Error("cannot write " + o.output);
  }
  std::ostream& out = o.output == "-" ? std::cout : file;
  // Rerank ranks all its texts together; the other tasks answer chunk by chunk (bounded memory).
  const size_t chunk = task == pipeline::Task::Rerank ? SIZE_MAX : std::max<size_t>(1, o.chunk);
  if (!o.texts.empty()) {
    for (size_t i = 0; i < o.texts.size(); i += std::min(chunk, o.texts.size() - i)) {
      const size_t n = std::min(chunk, o.texts.size() - i);
      answer(e, task, params, o, {o.texts.begin() + i, o.texts.begin() + i + n}, i, out);
    }
  } else {
    std::ifstream in_file;
    if (!o.input.empty() && o.input != "-") {
      in_file.open(o.input, std::ios::binary);
      if (!in_file) throw Error("cannot read " + o.input);
    }
    std::istream& in = o.input.empty() || o.input == "-" ? std::cin : in_file;
    std::vector<std::string> lines;
    size_t first = 0;
    for (std::string line; std::getline(in, line);) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      lines.push_back(std::move(line));
      if (lines.size() == chunk) {
        answer(e, task, params, o, lines, first, out);
        first += lines.size();
        lines.clear();
      }
    }
    if (!lines.empty()) answer(e, task, params, o, lines, first, out);
  }
  if (!out) throw Error("cannot write " + o.output);
}

}  // namespace

// ernie fill-mask: what a masked LM predicts, for people: per text and mask, the candidates with
// their probabilities and the completed text.
void run_fill_mask(const PipelineOptions& o) {
  if (o.threads > 0) omp_set_num_threads(o.threads);
  const Model model = Model::load(o.model);
  const Tokenizer tok = Tokenizer::from_folder(o.model);
  const pipeline::Engine e = pipeline::make_engine(model, tok);
  pipeline::FillMaskOptions fo;
  fo.top_k = o.top_k.value_or(5);
  fo.targets = o.targets;
  const auto results = pipeline::fill_mask(e, o.texts, fo);
  for (size_t i = 0; i < results.size(); ++i) {
    std::cout << o.texts[i] << "\n";
    for (size_t m = 0; m < results[i].size(); ++m) {
      if (results[i].size() > 1) std::cout << "  mask " << m + 1 << ":\n";
      for (const auto& f : results[i][m]) {
        char prob[32];
        std::snprintf(prob, sizeof prob, "%.4f", f.score);
        std::cout << "  " << prob << "  " << f.token_str << "  " << f.sequence << "\n";
      }
    }
  }
}

void add_pipeline_command(CLI::App& app) {
  {
    auto f = std::make_shared<PipelineOptions>();
    CLI::App* cmd = app.add_subcommand("fill-mask", "What a masked LM puts in place of [MASK]: candidates and probabilities");
    cmd->add_option("--model", f->model, "A ...ForMaskedLM / ...ForPreTraining model folder")->required();
    cmd->add_option("text", f->texts, "Texts with the mask token")->required();
    cmd->add_option("--top-k", f->top_k, "Candidates per mask (default 5)");
    cmd->add_option("--targets", f->targets, "Only these candidates");
    cmd->add_option("--threads", f->threads, "Engine threads");
    cmd->callback([f] { run_fill_mask(*f); });
  }
  auto o = std::make_shared<PipelineOptions>();
  CLI::App* cmd = app.add_subcommand(
      "pipeline",
      "transformers' task pipelines: text-classification, token-classification, question-answering, fill-mask, "
      "feature-extraction, rerank (JSON lines out; see docs/PIPELINES.md)");
  cmd->add_option("task", o->task, "The task (default: the model head's own task)");
  cmd->add_option("--model", o->model, "Model folder with its vocab.txt (or tokenizer.json)")->required();
  cmd->add_option("--text", o->texts, "An input (repeatable); without it: --input or stdin, one input a line");
  cmd->add_option("--input", o->input, "Input file, one input a line ('-': stdin)");
  cmd->add_option("--output", o->output, "Output file of JSON lines ('-': stdout, default)");
  cmd->add_flag("--pair", o->pair, "text-classification: each input is text<TAB>text_pair");
  cmd->add_flag("--no-truncation", o->no_truncation, "Refuse inputs longer than the model's limit instead of cutting them");
  cmd->add_option("--options", o->options, "transformers' keyword arguments as a JSON object, e.g. '{\"top_k\": 3}'");
  cmd->add_option("--top-k", o->top_k, "Labels / answers / mask candidates per input");
  cmd->add_option("--function-to-apply", o->function_to_apply, "text-classification: softmax | sigmoid | none");
  cmd->add_option("--aggregation-strategy", o->aggregation_strategy,
                  "token-classification: none (default) | simple | first | average | max");
  cmd->add_option("--ignore-labels", o->ignore_labels, "token-classification: labels left out (default: O)");
  cmd->add_option("--doc-stride", o->doc_stride, "question-answering: tokens shared by consecutive context windows");
  cmd->add_option("--max-answer-len", o->max_answer_len, "question-answering: longest answer in tokens (default 15)");
  cmd->add_option("--max-seq-len", o->max_seq_len, "question-answering: window length in tokens (default 384)");
  cmd->add_option("--max-question-len", o->max_question_len, "question-answering: longest question in tokens (64)");
  cmd->add_flag("--handle-impossible-answer", o->handle_impossible_answer, "question-answering: allow the empty answer");
  cmd->add_option("--targets", o->targets, "fill-mask: only these candidates");
  cmd->add_option("--pooling", o->pooling, "feature-extraction: cls (default) | mean | max | none");
  cmd->add_flag("--normalize", o->normalize, "feature-extraction: L2-normalize");
  cmd->add_option("--query", o->query, "rerank: the query the texts are ranked against");
  cmd->add_flag("--return-text", o->return_text, "rerank: include each text");
  cmd->add_option("--dtype", o->dtype, "f32 (default) | bf16 | int8");
  cmd->add_option("--threads", o->threads, "Engine threads (default: OMP_NUM_THREADS or all cores)");
  cmd->add_option("--chunk", o->chunk, "Inputs per forward pass group (default 64)");
  cmd->callback([o] { run(*o); });
}

}  // namespace ernie::cli
