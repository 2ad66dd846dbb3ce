"""Regenerate tests/fixtures/train/<case>/{config.json, model.safetensors, batch.safetensors, grads.safetensors}:
whole-model loss and parameter gradients from PyTorch autograd, for tests/train_model_test.cc.

    /usr/bin/python3 tools/make_train_fixtures.py            # all cases
    /usr/bin/python3 tools/make_train_fixtures.py CASE...    # only these cases

The model is tools/torch_reference.py's Reference (the independent HF-matching forward) run with
grad=True on float64 copies of the float32 weights, so the stored gradients are exact for the stored
float32 weights (rounded to float32 only when written). Dropout is off in the reference (the C++ test
trains with dropout disabled), but config.json keeps the real dropout probabilities (0.1).

Losses, as transformers' heads compute them:
  single_label_classification  CrossEntropyLoss (mean over B) on logits [B, N] and labels [B] int64
  multi_label_classification   BCEWithLogitsLoss (mean over B*N) on logits [B, N], labels [B, N] float32
  regression                   MSELoss on logits.squeeze() and labels.squeeze() (num_labels 1), labels [B, 1] float32
  mlm                          CrossEntropyLoss(ignore_index=-100) over logits [B*L, V] and mlm_labels [B, L] int64
  pretraining                  mlm + CrossEntropyLoss on seq_relationship_logits [B, 2] and next_sentence_label [B]

Files (all little-endian safetensors):
  batch.safetensors  input_ids, attention_mask, token_type_ids [B, L] int64, right-padded to the longest
                     row (pads: id pad_token_id, mask 0, type 0); task_type_ids [B, L] int64 only when
                     use_task_id; labels (see above)
  grads.safetensors  loss F32 [1]; grad.<HF parameter name> F32, same shape as the parameter, for every
                     tensor in model.safetensors (the word-embedding gradient is dense: zero rows for ids
                     not in the batch)

Checks before writing (the script fails otherwise): the float64 forward's logits match the float32
Reference.forward within 1e-5, and a central finite difference of the float64 loss along a random
direction, per parameter tensor, matches the autograd directional derivative within 1e-5 relative
(relative to max(|derivative|, 1e-6 |whole-model gradient| |v|), for tensors whose gradient is zero in exact arithmetic).
Deterministic: torch seeded from the CRC-32 of the case name, single-threaded.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import torch_reference as tr  # noqa: E402

OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "train")
ARCH_PREFIX = {"bert": "Bert", "ernie": "Ernie"}

# name: model_type, activation, labels, problem_type, row lengths, pair rows, extra config keys
CASES = {
    "ernie_relu_seqcls_task": dict(mt="ernie", act="relu", labels=3, problem="single_label_classification",
                                   lengths=[7, 12, 5], pair=False,
                                   extra=dict(use_task_id=True, task_type_vocab_size=3)),
    "bert_gelu_multilabel": dict(mt="bert", act="gelu", labels=4, problem="multi_label_classification",
                                 lengths=[9, 4, 11, 6], pair=False, extra={}),
    "bert_gelu_new_regression": dict(mt="bert", act="gelu_new", labels=1, problem="regression",
                                     lengths=[6, 10, 3], pair=False, extra={}),
    "ernie_relu_pair": dict(mt="ernie", act="relu", labels=2, problem="single_label_classification",
                            lengths=[10, 14, 8, 13], pair=True, extra=dict(use_task_id=False)),
    "bert_gelu_mlm": dict(mt="bert", act="gelu", labels=0, problem="mlm", head="ForMaskedLM",
                          lengths=[9, 6, 12], pair=False, extra={}),
    "ernie_relu_pretraining": dict(mt="ernie", act="relu", labels=0, problem="pretraining", head="ForPreTraining",
                                   lengths=[8, 11, 7, 10], pair=True, extra=dict(use_task_id=False)),
}

WHAT = {
    "ernie_relu_seqcls_task": "ERNIE, relu, use_task_id (random task ids), pooler tanh -> classifier [3], cross-entropy, B=3 rows of 7/12/5",
    "bert_gelu_multilabel": "BERT, gelu (erf), multi-label [4]: BCE with logits over B*N, B=4 rows of 9/4/11/6",
    "bert_gelu_new_regression": "BERT, gelu_new, regression (num_labels 1): MSE, B=3 rows of 6/10/3",
    "ernie_relu_pair": "ERNIE without task ids, relu, sentence pairs ([CLS] a [SEP] b [SEP], types 0/1), 2 labels, B=4",
    "bert_gelu_mlm": "BERT masked LM, gelu, tied decoder, ~30% of the tokens predicted (labels -100 elsewhere), B=3",
    "ernie_relu_pretraining": "ERNIE ForPreTraining, relu, pairs: masked LM (tied) + next-sentence cross-entropy, B=4",
}


def make_config(spec: dict) -> dict:
    n = spec["labels"]
    cfg = {
        "architectures": [ARCH_PREFIX[spec["mt"]] + spec.get("head", "ForSequenceClassification")],
        "attention_probs_dropout_prob": 0.1,
        "classifier_dropout": None,
        "hidden_act": spec["act"],
        "hidden_dropout_prob": 0.1,
        "hidden_size": 32,
        "id2label": {str(i): f"LABEL_{i}" for i in range(n)},
        "initializer_range": 0.02,
        "intermediate_size": 64,
        "label2id": {f"LABEL_{i}": i for i in range(n)},
        "layer_norm_eps": 1e-12,
        "max_position_embeddings": 64,
        "model_type": spec["mt"],
        "num_attention_heads": 4,
        "num_hidden_layers": 2,
        "pad_token_id": 0,
        "position_embedding_type": "absolute",
        "problem_type": spec["problem"],
        "type_vocab_size": 2,
        "vocab_size": 80,  # ~100, kept small: each case stays under 200,000 bytes
    }
    if spec["mt"] == "ernie":
        cfg["use_task_id"] = False
        cfg["task_type_vocab_size"] = 3
    cfg.update(spec["extra"])
    if spec["problem"] in ("mlm", "pretraining"):
        for k in ("id2label", "label2id", "problem_type"):
            del cfg[k]
    return dict(sorted(cfg.items()))


def make_weights(cfg: dict) -> dict[str, torch.Tensor]:
    """~N(0, 0.2^2) everywhere (biases and embedding rows included), LayerNorm gains 1 + N(0, 0.2^2):
    gradients well above float32 noise, nonlinearities exercised (as tools/make_fixtures.py)."""
    w = {}
    for name, shape in tr.parameter_shapes(cfg).items():
        t = torch.randn(shape, dtype=torch.float64) * 0.2
        if name.endswith("LayerNorm.weight"):
            t = t + 1.0
        w[name] = t.float().contiguous()
    return w


def make_batch(cfg: dict, spec: dict) -> dict[str, torch.Tensor]:
    lengths = spec["lengths"]
    B, L = len(lengths), max(lengths)
    cls_id, sep_id, pad = 2, 3, cfg["pad_token_id"]
    ids = torch.full((B, L), pad, dtype=torch.long)
    mask = torch.zeros((B, L), dtype=torch.long)
    tt = torch.zeros((B, L), dtype=torch.long)
    task = torch.zeros((B, L), dtype=torch.long)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(5, cfg["vocab_size"], (n,))
        ids[b, 0], ids[b, n - 1] = cls_id, sep_id
        mask[b, :n] = 1
        if spec["pair"]:  # [CLS] a [SEP] b [SEP]: type 0 through the first [SEP], 1 after it
            cut = int(torch.randint(2, n - 2, ()).item())  # index of the first [SEP]
            ids[b, cut] = sep_id
            tt[b, cut + 1:n] = 1
        if cfg.get("use_task_id"):
            task[b, :n] = torch.randint(0, cfg["task_type_vocab_size"], (n,))
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}
    if cfg.get("use_task_id"):
        out["task_type_ids"] = task
    N = spec["labels"]
    if spec["problem"] in ("mlm", "pretraining"):
        # ~30% of each row's non-special tokens predicted (at least one), random targets
        labels = torch.full((B, L), -100, dtype=torch.long)
        for b, n in enumerate(lengths):
            for i in range(1, n - 1):
                if ids[b, i] != sep_id and (torch.rand(()) < 0.3 or i == 1):
                    labels[b, i] = int(torch.randint(0, cfg["vocab_size"], ()))
        out["mlm_labels"] = labels
        if spec["problem"] == "pretraining":
            out["next_sentence_label"] = torch.randint(0, 2, (B,))
        return out
    if spec["problem"] == "single_label_classification":
        out["labels"] = torch.randint(0, N, (B,))
    elif spec["problem"] == "multi_label_classification":
        out["labels"] = (torch.rand(B, N) < 0.5).float()
    else:
        out["labels"] = torch.randn(B, N).float()
    return out


def loss_of(problem: str, out: dict, batch: dict) -> torch.Tensor:
    logits = out["logits"]
    if problem in ("mlm", "pretraining"):
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch["mlm_labels"].reshape(-1), ignore_index=-100)
        if problem == "pretraining":
            loss = loss + F.cross_entropy(out["seq_relationship_logits"], batch["next_sentence_label"])
        return loss
    labels = batch["labels"]
    if problem == "single_label_classification":
        return F.cross_entropy(logits, labels)
    if problem == "multi_label_classification":
        return F.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
    return F.mse_loss(logits.squeeze(), labels.to(logits.dtype).squeeze())


def generate(name: str) -> str:
    spec = CASES[name]
    torch.manual_seed(zlib.crc32(name.encode()))
    cfg = make_config(spec)
    weights = make_weights(cfg)
    batch = make_batch(cfg, spec)
    args = (batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], batch.get("task_type_ids"))

    ref = tr.Reference(cfg, weights)
    logits32 = ref.forward(*args)["logits"]  # the checked float32 reference (no_grad)
    ref.w = {k: torch.tensor(v.numpy(), dtype=torch.float64, requires_grad=True) for k, v in weights.items()}

    def loss_fn():
        return loss_of(spec["problem"], ref.forward(*args, grad=True), batch)

    out = ref.forward(*args, grad=True)
    diff = float((out["logits"].detach() - logits32.double()).abs().max())
    assert diff < 1e-5, (name, "float64 forward vs float32 reference", diff)
    loss = loss_of(spec["problem"], out, batch)
    loss.backward()
    grads = {}
    for k, p in ref.w.items():
        assert p.grad is not None, (name, k, "no gradient")
        assert torch.isfinite(p.grad).all(), (name, k)
        grads["grad." + k] = p.grad.detach().float().contiguous()

    # Finite-difference check per tensor along a random direction (float64: h = 1e-5, error ~1e-9).
    gen = torch.Generator().manual_seed(1)
    worst = 0.0
    gnorm = float(sum(float((p.grad ** 2).sum()) for p in ref.w.values())) ** 0.5
    with torch.no_grad():
        for k, p in ref.w.items():
            v = torch.randn(p.shape, generator=gen, dtype=torch.float64)
            h = 1e-5
            p += h * v
            fp = float(loss_fn())
            p -= 2 * h * v
            fm = float(loss_fn())
            p += h * v
            fd = (fp - fm) / (2 * h)
            an = float((p.grad * v).sum())
            # relative to the directional derivative, or to 1e-6 |whole gradient| |v| for tensors whose
            # gradient is zero in exact arithmetic (e.g. the key bias: softmax is shift-invariant)
            scale = max(abs(an), 1e-6 * gnorm * float(v.norm()))
            rel = abs(fd - an) / scale
            worst = max(worst, rel)
            assert rel < 1e-5, (name, k, fd, an, rel)

    d = os.path.join(OUT_DIR, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    tr.save_safetensors(os.path.join(d, "model.safetensors"), weights, {"format": "pt"})
    meta = {"generator": "tools/make_train_fixtures.py (tools/torch_reference.py, autograd in float64)", "case": name}
    tr.save_safetensors(os.path.join(d, "batch.safetensors"), batch, meta)
    grads["loss"] = torch.tensor([float(loss)], dtype=torch.float32)
    tr.save_safetensors(os.path.join(d, "grads.safetensors"), grads, {**meta, "problem_type": spec["problem"]})
    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    print(f"{name:26s} loss {float(loss):.6f}  tensors {len(grads) - 1}  fd worst rel {worst:.1e}  "
          f"{size} bytes  ({WHAT[name]})")
    return d


def main(argv: list[str]) -> int:
    torch.set_num_threads(1)
    names = argv or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print(f"unknown case(s): {unknown}; known: {list(CASES)}", file=sys.stderr)
        return 2
    for n in names:
        generate(n)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
