// ernie train: fine-tune (or train from scratch) a sequence or token classifier; see ernie/trainer.h.
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "ernie/dist.h"
#include "ernie/trainer.h"

namespace ernie::cli {

void add_train_command(CLI::App& app) {
  auto o = std::make_shared<TrainOptions>();
  auto quiet = std::make_shared<bool>(false);
  auto recompute = std::make_shared<std::string>();
  auto dropout = std::make_shared<double>(-1.0);
  auto* cmd = app.add_subcommand(
      "train", "Train or fine-tune a classifier (single/multi-label, regression; texts or pairs; NER tags from CoNLL)");
  cmd->footer(
      "From a fresh initialization (--config) or a checkpoint (--init-from). Prints one JSON line per epoch; OUT becomes\n"
      "a model folder (config.json with the labels, model.safetensors, vocab) plus metrics.jsonl, eval_report.txt,\n"
      "training_curves.svg and checkpoint/ for --resume. See docs/TRAINING.md.");
  auto* model = cmd->add_option_group("model", "exactly one of");
  model->add_option("--config", o->config, "Config JSON to initialize from (initializer_range, seed)");
  model->add_option("--init-from", o->init_from, "Model folder to fine-tune (any format ernie loads)");
  model->require_option(1);
  cmd->add_option("--vocab", o->vocab, "vocab.txt (default with --init-from: the folder's tokenizer)");
  cmd->add_flag("--no-lower-case", [o](int64_t) { o->lowercase = false; }, "Keep case with --vocab");
  cmd->add_option("--train", o->train_file,
                  "Training data: TSV (text[TAB]label or text_a[TAB]text_b[TAB]label), JSON lines, or CoNLL "
                  "(word ... TAG per line, blank line between sentences: token classification)")->required();
  cmd->add_option("--eval", o->eval_file, "Evaluation data, same format (evaluated after each epoch)");
  cmd->add_option("--format", o->format,
                  "auto | tsv | jsonl | conll (auto: .jsonl/.json JSON lines, .conll/.bio/.iob/.iob2 CoNLL, else TSV)")
      ->default_val("auto")
      ->check(CLI::IsMember({"auto", "tsv", "jsonl", "conll"}));
  cmd->add_option("--labels", o->labels_file,
                  "Label (or CoNLL tag) names, one per line (TSV/JSON label columns may then be indices)");
  cmd->add_option("--text-field", o->text_field, "JSON lines: field of the text")->default_val("text");
  cmd->add_option("--text-b-field", o->text_b_field, "JSON lines: field of the second text (pairs)");
  cmd->add_option("--label-field", o->label_field, "JSON lines: field of the label")->default_val("label");
  cmd->add_option("--problem-type", o->problem_type,
                  "single_label_classification | multi_label_classification | regression | token_classification "
                  "(default: token_classification for CoNLL data, else the config's, else single label)");
  cmd->add_flag("--skip-bad-rows", o->skip_bad_rows, "Skip malformed rows (reported with file:line; CoNLL: the whole sentence) instead of failing");
  cmd->add_option("--out", o->out, "Output model folder")->required();
  cmd->add_option("--epochs", o->epochs, "Passes over the training data")->default_val(3);
  cmd->add_option("--batch-size", o->batch_size, "Sequences per micro-batch")->default_val(32);
  cmd->add_option("--grad-accum", o->grad_accum, "Micro-batches per optimizer step")->default_val(1);
  cmd->add_option("--lr", o->lr, "Peak learning rate (AdamW)")->default_val(5e-5);
  cmd->add_option("--warmup-ratio", o->warmup_ratio, "Fraction of steps with linear warmup")->default_val(0.0);
  cmd->add_option("--schedule", o->schedule, "After warmup: linear | cosine | constant | polynomial (power 1 to 0: linear)")->default_val("linear");
  cmd->add_option("--weight-decay", o->weight_decay, "AdamW decoupled weight decay (not on biases, LayerNorm)")
      ->default_val(0.01);
  cmd->add_option("--max-grad-norm", o->max_grad_norm, "Clip the global gradient norm (0: off)")->default_val(1.0);
  cmd->add_option("--max-seq-len", o->max_seq_len, "Truncate inputs to this many tokens (specials included)")
      ->default_val(128);
  cmd->add_option("--dropout", *dropout, "Override every dropout probability of the config (e.g. 0 to disable)");
  cmd->add_option("--recompute", *recompute,
                  "on | off: recompute layer activations in backward (default: the config's enable_recompute)")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_option("--seed", o->seed, "Seed of initialization, data order and dropout")->default_val(42);
  cmd->add_option("--threads", o->threads, "Threads per process (default: all cores, shared by the ranks on a machine)");
  cmd->add_option("--bucket-mb", o->bucket_mb, "Under mpirun: MiB of gradients per allreduce bucket")->default_val(25);
  cmd->add_option("--sparse-embedding-grads", o->sparse_embedding_grads,
                  "Under mpirun: allreduce only the word-embedding rows the batch touched: auto (across machines) | on | off")
      ->default_val("auto")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->add_flag("--shard-optimizer", o->shard_optimizer,
                "Under mpirun: each rank keeps 1/N of AdamW's moments (ZeRO stage 1; same results)");
  cmd->add_option("--early-stop-patience", o->early_stop_patience,
                  "Stop after this many epochs without eval improvement (0: never)")->default_val(0);
  cmd->add_option("--save-steps", o->save_steps, "Also checkpoint every N optimizer steps (default: each epoch)");
  cmd->add_option("--max-steps", o->max_steps, "Stop after N optimizer steps in total");
  cmd->add_flag("--resume", o->resume, "Continue from OUT/checkpoint (same data and settings)");
  cmd->add_flag("--quiet", *quiet, "No progress line on stderr");
  cmd->callback([o, quiet, recompute, dropout] {
    TrainOptions opts = *o;
    opts.comm = &dist::world();   // mpirun: data parallel over its ranks
    opts.progress = !*quiet && ::isatty(STDERR_FILENO);
    if (!recompute->empty()) opts.recompute = *recompute == "on";
    if (*dropout >= 0) opts.dropout = *dropout;
    run_training(
        opts, [](const std::string& line) { std::cout << line << std::endl; },
        [](const std::string& msg) { std::cerr << "ernie: " << msg << "\n"; });
  });
}

}  // namespace ernie::cli
