// ernie run: padded inputs from a safetensors file -> the model -> padded outputs.
#include <algorithm>
#include <cmath>
#include <iostream>

#include "cli/commands.h"
#include "ernie/error.h"
#include "ernie/model.h"
#include "ernie/safetensors.h"

namespace ernie::cli {

namespace {

struct RunOptions {
  std::string model, inputs, ids_json, outputs;
  bool mask_pad_ids = false;
  bool attend_all = false;
  bool truncate = false;
  bool with_embeddings = false;
  std::string dtype;   // f32 | bf16 | int8 (empty: the model's own)
};

Tensor optional(const TensorFile& f, const std::string& name) {
  auto it = f.tensors.find(name);
  return it == f.tensors.end() ? Tensor() : it->second;
}

// [B, C, L] multiple-choice inputs are run as [B*C, L] rows.
Tensor flatten_choices(const Tensor& t) {
  if (!t.defined() || t.rank() != 3) return t;
  return t.reshaped({t.dim(0) * t.dim(1), t.dim(2)});
}

// --ids '[[101, 7, 102], [101, 102]]': ragged rows of token ids, padded here with a mask.
TensorFile inputs_from_json(const std::string& text) {
  nlohmann::json rows;
  try {
    rows = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {   // parse_error, or out_of_range for 1e999
    throw Error("--ids is not valid JSON: " + std::string(e.what()));
  }
  if (!rows.is_array() || rows.empty()) throw Error("--ids must be a non-empty JSON array of arrays of token ids");
  size_t L = 0;
  for (const auto& r : rows) {
    if (!r.is_array() || r.empty()) throw Error("--ids: every row must be a non-empty array of token ids");
    L = std::max(L, r.size());
  }
  const int64_t B = static_cast<int64_t>(rows.size());
  Tensor ids = Tensor::zeros(DType::I64, {B, static_cast<int64_t>(L)});
  Tensor mask = Tensor::zeros(DType::I64, {B, static_cast<int64_t>(L)});
  for (int64_t b = 0; b < B; ++b)
    for (size_t j = 0; j < rows[b].size(); ++j) {
      if (!rows[b][j].is_number_integer()) throw Error("--ids: row " + std::to_string(b) + " holds a non-integer");
      ids.data<int64_t>()[b * L + j] = rows[b][j].get<int64_t>();
      mask.data<int64_t>()[b * L + j] = 1;
    }
  TensorFile f;
  f.tensors["input_ids"] = ids;
  f.tensors["attention_mask"] = mask;
  return f;
}

// One line per row: its length and what the head says (label + probability, or the shape).
void print_summary(const Config& cfg, const Batch& batch, const Outputs& out) {
  const bool classifier = cfg.head() == Head::SequenceClassification && out.logits.defined();
  for (int64_t b = 0; b < batch.rows; ++b) {
    std::cout << "row " << b << ": " << batch.length(b) << " tokens";
    if (classifier) {
      const int64_t N = out.logits.dim(1);
      const float* z = out.logits.data<float>() + b * N;
      const int64_t best = std::max_element(z, z + N) - z;
      double sum = 0;
      for (int64_t i = 0; i < N; ++i) sum += std::exp(static_cast<double>(z[i] - z[best]));
      std::cout << ", label " << cfg.id2label.at(best) << " p=" << 1.0 / sum;
    }
    if (out.pooler_output.defined()) {
      const float* p = out.pooler_output.data<float>() + b * cfg.hidden_size;
      std::cout << ", pooler_output[:4] = [" << p[0] << ", " << p[1] << ", " << p[2] << ", " << p[3] << "]";
    }
    std::cout << "\n";
  }
}

void run(const RunOptions& o) {
  if (o.inputs.empty() == o.ids_json.empty()) throw Error("give exactly one of --inputs FILE or --ids JSON");
  const Model model = o.dtype.empty() ? Model::load(o.model) : Model::load(o.model, parse_compute_type(o.dtype));
  for (const auto& note : model.load_notes())
    if (note.rfind("unused", 0) == 0) warn(note);
  const Config& cfg = model.config();

  const TensorFile in = o.inputs.empty() ? inputs_from_json(o.ids_json) : read_safetensors(o.inputs);
  const Tensor ids = optional(in, "input_ids");
  if (!ids.defined()) throw Error(o.inputs + " has no input_ids tensor");
  const bool choices = ids.rank() == 3;
  if (choices && cfg.head() != Head::MultipleChoice)
    throw Error("input_ids is [batch, choices, length] but the model is not a multiple-choice model");
  PaddedInputs padded{flatten_choices(ids), flatten_choices(optional(in, "attention_mask")),
                      flatten_choices(optional(in, "token_type_ids")), flatten_choices(optional(in, "task_type_ids"))};
  PackOptions pack;
  pack.mask = o.mask_pad_ids ? MaskRule::MaskPadIds : o.attend_all ? MaskRule::AttendAll : model.default_mask_rule();
  pack.truncate = o.truncate;
  const Batch batch = pack_padded(padded, cfg, pack);
  Outputs out = model.forward(batch);
  if (o.outputs.empty()) {
    print_summary(cfg, batch, out);
    return;
  }

  std::map<std::string, Tensor> result;
  result["last_hidden_state"] = unpack_padded(out.last_hidden_state, batch);
  if (o.with_embeddings) result["embedding_output"] = unpack_padded(out.embedding_output, batch);
  if (out.pooler_output.defined()) result["pooler_output"] = out.pooler_output;
  if (out.logits.defined()) {
    if (out.logits_per_token)
      result["logits"] = unpack_padded(out.logits, batch);
    else if (choices)
      result["logits"] = out.logits.reshaped({ids.dim(0), ids.dim(1)});
    else
      result["logits"] = out.logits;
  }
  if (out.start_logits.defined()) {
    result["start_logits"] = unpack_padded(out.start_logits, batch);
    result["end_logits"] = unpack_padded(out.end_logits, batch);
  }
  if (out.seq_relationship_logits.defined()) result["seq_relationship_logits"] = out.seq_relationship_logits;
  write_safetensors(o.outputs, result);
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  CLI::App* cmd = app.add_subcommand(
      "run", "Run a model on padded inputs (input_ids [B,L], optional attention_mask, token_type_ids, task_type_ids)");
  cmd->add_option("--model", o->model, "Model folder (config.json + model.safetensors, pytorch_model.bin, model_state.pdparams or a sharded index)")->required();
  cmd->add_option("--inputs", o->inputs,
                  "safetensors file with int64/int32 input_ids [B,L] ([B,C,L] for multiple choice) and optional "
                  "attention_mask, token_type_ids, task_type_ids");
  cmd->add_option("--ids", o->ids_json, "Ragged rows of token ids as JSON instead of --inputs, e.g. '[[1,5,2],[1,2]]'");
  cmd->add_option("--outputs", o->outputs,
                  "safetensors file to write: last_hidden_state [B,L,H] (zeros where masked), pooler_output, logits "
                  "(or start_logits/end_logits), seq_relationship_logits; without it a summary is printed");
  cmd->add_flag("--mask-pad-ids", o->mask_pad_ids,
                "Without attention_mask, mask tokens equal to pad_token_id (PaddleNLP's rule; the default for "
                "PaddleNLP-layout weights); transformers-layout weights attend to every token");
  cmd->add_flag("--attend-all", o->attend_all,
                "Without attention_mask, attend to every token even for PaddleNLP-layout weights (whose default is "
                "--mask-pad-ids)");
  cmd->add_flag("--truncate", o->truncate,
                "Drop tokens beyond the longest input the position table allows (default: refuse such rows)");
  cmd->add_flag("--with-embeddings", o->with_embeddings, "Also write embedding_output [B,L,H]");
  cmd->add_option("--dtype", o->dtype,
                  "Precision of the matrix products: f32 (exact), bf16 or int8 (default: f32; int8 for an "
                  "`ernie quantize` checkpoint)");
  cmd->callback([o] { run(*o); });
}

}  // namespace ernie::cli
