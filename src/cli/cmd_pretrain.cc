// ernie pretrain: masked-LM (pre)training on text corpora; see ernie/pretrainer.h.
#include <unistd.h>

#include <iostream>

#include "cli/commands.h"
#include "ernie/dist.h"
#include "ernie/error.h"
#include "ernie/pretrainer.h"

namespace ernie::cli {

void add_pretrain_command(CLI::App& app) {
  auto o = std::make_shared<PretrainOptions>();
  auto quiet = std::make_shared<bool>(false);
  auto recompute = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand(
      "pretrain", "Pretrain or continue pretraining a masked language model (token, whole-word or knowledge masking; NSP/SOP)");
  cmd->footer(
      "Corpus: text files, one sentence or paragraph a line, a blank line between documents (read as streams;\n"
      "packed into full-length sequences by default, prepared by a background thread).\n"
      "Under mpirun each rank computes --batch-size examples of every global micro-batch (ranks x --batch-size).\n"
      "Prints one JSON line every --log-steps steps and per epoch (MLM loss, accuracy, perplexity on held-out\n"
      "lines); OUT becomes a ...ForMaskedLM / ...ForPreTraining model folder that `ernie train --init-from`,\n"
      "`ernie pipeline fill-mask` and transformers load. See docs/PRETRAINING.md.");
  auto* model = cmd->add_option_group("model", "exactly one of");
  model->add_option("--config", o->config, "Config JSON of a fresh model (initializer_range, seed)");
  model->add_option("--init-from", o->init_from, "Model folder to continue from (any format ernie loads)");
  model->require_option(1);
  cmd->add_option("--vocab", o->vocab, "vocab.txt (default with --init-from: the folder's tokenizer)");
  cmd->add_flag("--no-lower-case", [o](int64_t) { o->lowercase = false; }, "Keep case with --vocab");
  cmd->add_option("--corpus", o->corpus, "Text files (repeatable)")->required();
  cmd->add_option("--eval-corpus", o->eval_corpus, "Held-out text file for evaluation");
  cmd->add_option("--eval-fraction", o->eval_fraction, "Without --eval-corpus: hold out this share of the corpus lines");
  cmd->add_option("--eval-max-examples", o->eval_max_examples, "Examples evaluated at most")->default_val(2000);
  cmd->add_option("--out", o->out, "Output model folder")->required();
  cmd->add_option("--max-seq-len", o->max_seq_len, "Tokens per example, specials included")->default_val(128);
  cmd->add_option("--packing", o->packing,
                  "full-sentences (RoBERTa: consecutive lines packed up to --max-seq-len, [SEP] between documents; "
                  "NSP/SOP: A and B packed from one document) | none (one line, or two with NSP/SOP, per example)")
      ->default_val("full-sentences")
      ->check(CLI::IsMember({"none", "full-sentences"}));
  cmd->add_option("--mlm-probability", o->mlm_probability, "Share of the tokens predicted")->default_val(0.15);
  cmd->add_option("--masking", o->masking,
                  "token (BERT) | whole-word (## pieces and Chinese words together) | knowledge (ERNIE 1.0: words "
                  "and --spans entities as units)")
      ->default_val("token")
      ->check(CLI::IsMember({"token", "whole-word", "knowledge"}));
  cmd->add_option("--masking-schedule", o->masking_schedule,
                  "ERNIE 1.0's stages in one run instead of --masking, as shares of the steps, e.g. "
                  "token:0.3,whole-word:0.3,knowledge:0.4");
  cmd->add_option("--dict", o->dict, "Word segmenter dictionary in jieba's format (default: jieba's, python3-jieba)");
  cmd->add_flag("--no-segment", [o](int64_t) { o->segment = false; }, "whole-word without the Chinese segmenter (## only)");
  cmd->add_option("--spans", o->spans, "knowledge: JSON lines {\"spans\": [[start, end], ...]} per corpus line");
  cmd->add_option("--ref-file", o->ref_file,
                  "whole-word: run_mlm_wwm's reference file (per corpus line, a JSON list of the token indices that "
                  "continue a word; [CLS] is 0)");
  cmd->add_flag("--nsp", o->nsp, "Also next-sentence prediction on pairs of consecutive lines of a document (ForPreTraining)");
  cmd->add_flag("--sop", o->sop, "Also sentence-order prediction on pairs of consecutive lines of a document (ForPreTraining)");
  cmd->add_option("--epochs", o->epochs, "Passes over the corpus")->default_val(1);
  cmd->add_option("--max-steps", o->max_steps, "Stop after N optimizer steps (the schedule's length)");
  cmd->add_option("--stop-at-step", o->stop_at_step,
                  "End this job after step N with its state saved, the schedule unchanged (continue with --resume)");
  cmd->add_option("--batch-size", o->batch_size, "Examples per micro-batch and rank (global: ranks x this)")->default_val(32);
  cmd->add_option("--grad-accum", o->grad_accum, "Micro-batches per optimizer step (the loss: a mean over all their masked tokens)")->default_val(1);
  cmd->add_option("--lr", o->lr, "Peak learning rate (AdamW)")->default_val(1e-4);
  cmd->add_option("--warmup-ratio", o->warmup_ratio, "Fraction of steps with linear warmup")->default_val(0.0);
  cmd->add_option("--schedule", o->schedule, "After warmup: linear | cosine | constant | polynomial")->default_val("linear");
  cmd->add_option("--power", o->power, "polynomial: the decay's power")->default_val(1.0);
  cmd->add_option("--lr-end", o->lr_end, "polynomial: the final learning rate")->default_val(0.0);
  cmd->add_option("--optimizer", o->optimizer, "adamw | lamb (AdamW's moments with LAMB's per-tensor trust ratio)")
      ->default_val("adamw")
      ->check(CLI::IsMember({"adamw", "lamb"}));
  cmd->add_option("--weight-decay", o->weight_decay, "AdamW decoupled weight decay")->default_val(0.01);
  cmd->add_option("--max-grad-norm", o->max_grad_norm, "Clip the global gradient norm (0: off)")->default_val(1.0);
  cmd->add_option("--recompute", *recompute, "on | off (default: the config's enable_recompute)")
      ->check(CLI::IsMember({"on", "off"}));
  cmd->add_option("--seed", o->seed, "Seed of initialization, data order, masks and dropout")->default_val(42);
  cmd->add_option("--threads", o->threads, "Threads (default: the cores, shared among the ranks on a machine)");
  cmd->add_option("--save-steps", o->save_steps, "Also checkpoint every N optimizer steps (default: each epoch)");
  cmd->add_option("--log-steps", o->log_steps, "A JSON line every N optimizer steps (0: per epoch only)")->default_val(50);
  cmd->add_option("--shuffle-buffer", o->shuffle_buffer, "Examples shuffled together (bounds memory)")->default_val(100000);
  cmd->add_flag("--resume", o->resume,
                "Continue from OUT/pretrain_state.safetensors (same corpus and settings; any rank count with the "
                "same ranks x --batch-size)");
  cmd->add_option("--prefetch", o->prefetch,
                  "Optimizer steps prepared ahead by a background thread (0: no thread; the same results)")
      ->default_val(2);
  cmd->add_option("--bucket-mb", o->bucket_mb, "Under mpirun: MiB of gradients per allreduce bucket")->default_val(25);
  cmd->add_flag("--quiet", *quiet, "No progress line on stderr");
  cmd->callback([o, quiet, recompute, cmd] {
    PretrainOptions opts = *o;
    if (cmd->count("--masking") && !opts.masking_schedule.empty())
      throw Error("give --masking or --masking-schedule, not both");
    opts.comm = &dist::world();   // mpirun: data parallel over its ranks
    opts.progress = !*quiet && ::isatty(STDERR_FILENO);
    if (!recompute->empty()) opts.recompute = *recompute == "on";
    run_pretraining(
        opts, [](const std::string& line) { std::cout << line << std::endl; },
        [](const std::string& msg) { std::cerr << "ernie: " << msg << "\n"; });
  });
}

}  // namespace ernie::cli
