"""Regenerate tests/fixtures/<case>/{config.json, model.safetensors, reference.safetensors}.

    /usr/bin/python3 tools/make_fixtures.py            # all cases, then the cross-checks
    /usr/bin/python3 tools/make_fixtures.py CASE...    # only these cases

Tiny random models (weights ~ N(0, 0.2^2), LayerNorm gains 1 + N(0, 0.2^2), so activations and
LayerNorms are exercised) are run through tools/torch_reference.py. Deterministic: each case seeds
torch from a CRC of its name. When ../shared/tools/hf_ref.py exists it is imported at run time and
every case it supports must agree within 1e-5; the reference must also reproduce the transformers
golden files under ../shared/golden/ within 1e-5. See tools/README.md.
"""
from __future__ import annotations

import json
import math
import os
import shutil
import sys
import zlib

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import torch_reference as tr  # noqa: E402

OUT_DIR = os.path.join(ROOT, "tests", "fixtures")
SHARED = os.path.normpath(os.path.join(ROOT, "..", "shared"))
TOL = 1e-5
TOL_NUMPY64 = 2e-5  # float32 rounding of the reference against a float64 forward

SEQ_LEN = 16
ROW_LENGTHS = [16, 11, 5]          # B = 3 ragged rows
MC_LENGTHS = [[16, 12], [9, 14], [5, 16]]  # multiple choice: B = 3 examples x C = 2 choices
NOMASK_LEN = 8

ARCH_PREFIX = {"bert": "Bert", "ernie": "Ernie", "roberta": "Roberta"}

# name: model_type, head, hidden_act, hidden, heads, and extra config keys
CASES = {
    "ernie_relu_seqcls": dict(mt="ernie", head="ForSequenceClassification", act="relu", H=28, nh=4,
                              labels=3, extra=dict(use_task_id=True, task_type_vocab_size=3, type_vocab_size=4)),
    "ernie_gelu_tokcls_notask": dict(mt="ernie", head="ForTokenClassification", act="gelu", H=24, nh=3,
                                     labels=5, extra=dict(use_task_id=False)),
    "bert_gelu_new_qa": dict(mt="bert", head="ForQuestionAnswering", act="gelu_new", H=24, nh=2),
    "bert_gelu_mlm": dict(mt="bert", head="ForMaskedLM", act="gelu", H=32, nh=2),
    "bert_relative_key_model": dict(mt="bert", head="Model", act="gelu", H=24, nh=3,
                                    extra=dict(position_embedding_type="relative_key")),
    "bert_relative_key_query_seqcls": dict(mt="bert", head="ForSequenceClassification", act="gelu", H=32, nh=4,
                                           labels=2, extra=dict(position_embedding_type="relative_key_query")),
    "ernie_sinusoidal_model": dict(mt="ernie", head="Model", act="gelu", H=32, nh=4,
                                   extra=dict(static_position_embeddings=True, use_task_id=True,
                                              task_type_vocab_size=3)),
    "roberta_seqcls": dict(mt="roberta", head="ForSequenceClassification", act="gelu", H=28, nh=2, labels=3),
    "roberta_mlm": dict(mt="roberta", head="ForMaskedLM", act="relu", H=24, nh=3),
    "roberta_tokcls": dict(mt="roberta", head="ForTokenClassification", act="gelu_new", H=24, nh=4, labels=4),
    "bert_quick_gelu_multiple_choice": dict(mt="bert", head="ForMultipleChoice", act="quick_gelu", H=24, nh=3),
    "ernie_silu_pretraining": dict(mt="ernie", head="ForPreTraining", act="silu", H=24, nh=2,
                                   extra=dict(use_task_id=True, task_type_vocab_size=3)),
    "bert_gelu_fast_model": dict(mt="bert", head="Model", act="gelu_fast", H=24, nh=4),
    "bert_tanh_seqcls": dict(mt="bert", head="ForSequenceClassification", act="tanh", H=24, nh=3, labels=4),
}

WHAT = {  # one line per case for the README / the log
    "ernie_relu_seqcls": "ERNIE, relu, use_task_id (task_type_ids varied), type_vocab_size 4, pooler -> classifier [3]",
    "ernie_gelu_tokcls_notask": "ERNIE without task embeddings, gelu (erf), classifier on every token [5], no pooler",
    "bert_gelu_new_qa": "BERT, gelu_new (tanh approx.), qa_outputs [2] -> start/end logits, no pooler",
    "bert_gelu_mlm": "BERT masked LM: transform dense -> gelu -> LayerNorm -> tied decoder + cls.predictions.bias",
    "bert_relative_key_model": "BERT relative_key (distance_embedding, query term), no absolute positions; pooler",
    "bert_relative_key_query_seqcls": "BERT relative_key_query (query and key terms), pooler -> classifier [2]",
    "ernie_sinusoidal_model": "ERNIE static_position_embeddings (fixed Marian sin/cos table), task ids; pooler",
    "roberta_seqcls": "RoBERTa offset position ids (pad 1), eps 1e-5, classifier.dense+tanh+out_proj on token 0, no pooler",
    "roberta_mlm": "RoBERTa masked LM, hidden_act relu but lm_head always erf-gelu; lm_head.layer_norm, tied decoder",
    "roberta_tokcls": "RoBERTa token classification, gelu_new, 4 heads of 6",
    "bert_quick_gelu_multiple_choice": "BERT quick_gelu, inputs [3, 2, 16] flattened, pooler -> classifier [1] -> logits [3, 2]",
    "ernie_silu_pretraining": "ERNIE silu (MLM transform uses silu too), pooler, MLM logits + seq_relationship [2]",
    "bert_gelu_fast_model": "BERT gelu_fast, 4 heads of 6, base model with pooler",
    "bert_tanh_seqcls": "BERT tanh activation, pooler -> classifier [4]",
}


def make_config(name: str, spec: dict) -> dict:
    mt, H = spec["mt"], spec["H"]
    roberta = mt == "roberta"
    cfg = {
        "add_cross_attention": False,
        "architectures": [ARCH_PREFIX[mt] + spec["head"]],
        "attention_probs_dropout_prob": 0.1,
        "bos_token_id": 0 if roberta else None,
        "classifier_dropout": None,
        "dtype": "float32",
        "eos_token_id": 2 if roberta else None,
        "hidden_act": spec["act"],
        "hidden_dropout_prob": 0.1,
        "hidden_size": H,
        "initializer_range": 0.02,
        "intermediate_size": 2 * H,
        "is_decoder": False,
        "layer_norm_eps": 1e-5 if roberta else 1e-12,
        "max_position_embeddings": 40,
        "model_type": mt,
        "num_attention_heads": spec["nh"],
        "num_hidden_layers": 2,
        "pad_token_id": 1 if roberta else 0,
        "position_embedding_type": "absolute",
        "tie_word_embeddings": True,
        "type_vocab_size": 1 if roberta else 2,
        "use_cache": True,
        "vocab_size": 120,
    }
    if mt == "ernie":
        cfg["use_task_id"] = False
        cfg["task_type_vocab_size"] = 3
    cfg.update(spec.get("extra", {}))
    if "labels" in spec:
        n = spec["labels"]
        cfg["id2label"] = {str(i): f"LABEL_{i}" for i in range(n)}
        cfg["label2id"] = {f"LABEL_{i}": i for i in range(n)}
    return dict(sorted(cfg.items()))


def make_weights(cfg: dict) -> dict[str, torch.Tensor]:
    w = {}
    for name, shape in tr.parameter_shapes(cfg).items():
        t = torch.randn(shape) * 0.2
        if name.endswith("LayerNorm.weight") or name.endswith("layer_norm.weight"):
            t = t + 1.0
        w[name] = t.float().contiguous()
    if tr.position_kind(cfg) == "sinusoidal":
        key = f"{cfg['model_type']}.embeddings.position_embeddings.weight"
        w[key] = torch.from_numpy(tr.sinusoidal_table(cfg["max_position_embeddings"], cfg["hidden_size"]))
    return w


def make_rows(cfg: dict, lengths: list[int]) -> dict[str, torch.Tensor]:
    """Ragged rows padded to SEQ_LEN: [CLS-like] random tokens [SEP-like] pads (mask 0)."""
    roberta = cfg["model_type"] == "roberta"
    pad = cfg["pad_token_id"]
    cls_id, sep_id = (0, 2) if roberta else (2, 3)
    B = len(lengths)
    ids = torch.full((B, SEQ_LEN), pad, dtype=torch.long)
    mask = torch.zeros((B, SEQ_LEN), dtype=torch.long)
    tt = torch.zeros((B, SEQ_LEN), dtype=torch.long)
    task = torch.zeros((B, SEQ_LEN), dtype=torch.long)
    for b, n in enumerate(lengths):
        ids[b, :n] = torch.randint(5, cfg["vocab_size"], (n,))
        ids[b, 0], ids[b, n - 1] = cls_id, sep_id
        mask[b, :n] = 1
        if cfg["type_vocab_size"] > 1:  # second segment of random length, plus random extra types
            cut = int(torch.randint(1, n, ()).item()) if n > 1 else n
            tt[b, cut:n] = 1
            tt[b, :n] = torch.maximum(tt[b, :n], torch.randint(0, cfg["type_vocab_size"], (n,)) * (torch.rand(n) < 0.25))
        if cfg.get("use_task_id"):
            task[b, :n] = torch.randint(0, cfg["task_type_vocab_size"], (n,))
    out = {"input_ids": ids, "attention_mask": mask, "token_type_ids": tt}
    if cfg.get("use_task_id"):
        out["task_type_ids"] = task
    return out


def make_inputs(cfg: dict) -> dict[str, torch.Tensor]:
    if tr.head_of(cfg) == "ForMultipleChoice":
        rows = make_rows(cfg, [n for ex in MC_LENGTHS for n in ex])
        B, C = len(MC_LENGTHS), len(MC_LENGTHS[0])
        inputs = {k: v.view(B, C, SEQ_LEN) for k, v in rows.items()}
        inputs["nomask_input_ids"] = inputs["input_ids"][:1, :, :NOMASK_LEN].clone()  # [1, C, 8]
    else:
        inputs = make_rows(cfg, ROW_LENGTHS)
        inputs["nomask_input_ids"] = inputs["input_ids"][:1, :NOMASK_LEN].clone()  # [1, 8]
    return inputs


def generate(name: str) -> str:
    spec = CASES[name]
    torch.manual_seed(zlib.crc32(name.encode()))
    cfg = make_config(name, spec)
    weights = make_weights(cfg)
    inputs = make_inputs(cfg)
    ref = tr.Reference(cfg, weights)
    out = ref.forward(inputs["input_ids"], inputs["attention_mask"], inputs["token_type_ids"],
                      inputs.get("task_type_ids"))
    nomask = ref.forward(inputs["nomask_input_ids"])
    saved = dict(inputs)
    for key, src in tr.FIXTURE_OUTPUTS.items():
        if src in out:
            saved[key] = out[src].float().contiguous()
    saved["nomask_output"] = nomask[tr.main_output_name(cfg)].float().contiguous()
    for k, v in saved.items():
        assert torch.isfinite(v.float()).all(), (name, k)

    d = os.path.join(OUT_DIR, name)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    tr.save_safetensors(os.path.join(d, "model.safetensors"), weights, {"format": "pt"})
    tr.save_safetensors(os.path.join(d, "reference.safetensors"), saved,
                        {"generator": "tools/make_fixtures.py (tools/torch_reference.py)", "case": name})
    keys = [k for k in saved if k not in inputs]
    print(f"{name:34s} {cfg['architectures'][0]:32s} outputs: {', '.join(keys)}")
    return d


# --------------------------------------------------------------------------------------------------
# cross-checks
# --------------------------------------------------------------------------------------------------
def load_hf_ref():
    tools = os.path.join(SHARED, "tools")
    if not os.path.isfile(os.path.join(tools, "hf_ref.py")):
        return None
    sys.path.insert(0, tools)
    import hf_ref  # noqa: PLC0415  (only at run time, only for the cross-check)
    return hf_ref


def hf_ref_supports(hf_ref, cfg: dict) -> bool:
    return (cfg["hidden_act"] in hf_ref.ACT
            and tr.position_kind(cfg) in ("absolute", "sinusoidal")  # the fixed table is stored as position_embeddings
            and tr.head_of(cfg) != "ForMultipleChoice")


def cross_check_hf_ref(hf_ref, case_dir: str) -> float | None:
    with open(os.path.join(case_dir, "config.json")) as f:
        cfg = json.load(f)
    if not hf_ref_supports(hf_ref, cfg):
        return None
    r = tr.load_safetensors(os.path.join(case_dir, "reference.safetensors"))
    m = hf_ref.Ref(case_dir).eval()
    t = lambda a: torch.from_numpy(np.array(a))
    with torch.no_grad():
        o = m(t(r["input_ids"]), t(r["attention_mask"]), t(r["token_type_ids"]),
              t(r["task_type_ids"]) if "task_type_ids" in r else None)
        nm = t(r["nomask_input_ids"])
        o_nm = m(nm, torch.ones_like(nm))
    worst, compared = 0.0, []
    main = tr.main_output_name(cfg)
    pairs = [(k, o.get(v)) for k, v in tr.FIXTURE_OUTPUTS.items() if k in r]
    pairs.append(("nomask_output", o_nm.get(main)))
    for key, got in pairs:
        if got is None:
            continue
        diff = float(np.max(np.abs(got.detach().numpy() - r[key])))
        worst = max(worst, diff)
        compared.append(f"{key} {diff:.1e}")
    print(f"  hf_ref   {os.path.basename(case_dir):34s} worst {worst:.2e}  [{'; '.join(compared)}]")
    return worst


# A second, deliberately different implementation: plain numpy in float64 with explicit loops for
# the relative-position terms. It covers every case (hf_ref does not cover relative positions,
# quick_gelu / gelu_fast / silu, multiple choice, pre-training or RoBERTa's lm_head).
_erf = np.vectorize(math.erf)
NP_ACT = {
    "relu": lambda x: np.maximum(x, 0.0),
    "gelu": lambda x: 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0))),
    "gelu_new": lambda x: 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3))),
    "gelu_fast": lambda x: 0.5 * x * (1.0 + np.tanh(0.7978845608 * x * (1.0 + 0.044715 * x * x))),
    "quick_gelu": lambda x: x / (1.0 + np.exp(-1.702 * x)),
    "silu": lambda x: x / (1.0 + np.exp(-x)),
    "tanh": np.tanh,
}


def np_forward64(cfg: dict, weights: dict, ids, mask=None, tt=None, task=None) -> dict:
    W = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
    p, head = cfg["model_type"], tr.head_of(cfg)
    eps, act = cfg["layer_norm_eps"], NP_ACT[cfg["hidden_act"]]
    ids = np.asarray(ids)
    C = None
    if head == "ForMultipleChoice":
        C = ids.shape[1]
        ids, mask, tt, task = (None if a is None else np.asarray(a).reshape(-1, ids.shape[-1])
                               for a in (ids, mask, tt, task))
    B, L = ids.shape
    tt = np.zeros_like(ids) if tt is None else np.asarray(tt)
    mask = np.ones_like(ids) if mask is None else np.asarray(mask)

    def ln(x, name):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * W[name + ".weight"] + W[name + ".bias"]

    def lin(x, name):
        return x @ W[name + ".weight"].T + W[name + ".bias"]

    e = p + ".embeddings."
    H = cfg["hidden_size"]
    x = W[e + "word_embeddings.weight"][ids] + W[e + "token_type_embeddings.weight"][tt]
    kind = tr.position_kind(cfg)
    if kind in ("absolute", "sinusoidal"):
        if p == "roberta":
            pad = cfg["pad_token_id"]
            pos = np.zeros_like(ids)
            for b in range(B):
                count = 0
                for i in range(L):
                    if ids[b, i] != pad:
                        count += 1
                        pos[b, i] = pad + count
                    else:
                        pos[b, i] = pad
        else:
            pos = np.tile(np.arange(L), (B, 1))
        table = W[e + "position_embeddings.weight"]
        if kind == "sinusoidal":  # recomputed here: column j < D/2 is sin(p * w_j), j >= D/2 is cos(p * w_{j-D/2})
            D2 = H // 2
            freq = 1.0 / 10000.0 ** (2.0 * np.arange(D2) / H)
            angle = np.arange(cfg["max_position_embeddings"])[:, None] * freq[None, :]
            fresh = np.concatenate([np.sin(angle), np.cos(angle)], axis=1)
            assert np.max(np.abs(fresh - table)) < 1e-6, "stored sinusoidal table differs from the formula"
            table = fresh
        x = x + table[pos]
    if cfg.get("use_task_id"):
        x = x + W[e + "task_type_embeddings.weight"][np.zeros_like(ids) if task is None else np.asarray(task)]
    x = ln(x, e + "LayerNorm")
    emb = x
    nh = cfg["num_attention_heads"]
    d, M = H // nh, cfg["max_position_embeddings"]
    for i in range(cfg["num_hidden_layers"]):
        pre = f"{p}.encoder.layer.{i}."
        q, k, v = (lin(x, pre + "attention.self." + n).reshape(B, L, nh, d) for n in ("query", "key", "value"))
        s = np.einsum("blhd,brhd->bhlr", q, k)
        if kind.startswith("relative_key"):
            D = W[pre + "attention.self.distance_embedding.weight"]
            for l in range(L):
                for r in range(L):
                    dist = D[l - r + M - 1]
                    s[:, :, l, r] += q[:, l] @ dist
                    if kind == "relative_key_query":
                        s[:, :, l, r] += k[:, r] @ dist
        s = s / math.sqrt(d)
        s = np.where(mask[:, None, None, :] > 0, s, -np.inf)
        s = np.exp(s - s.max(-1, keepdims=True))
        a = s / s.sum(-1, keepdims=True)
        ctx = np.einsum("bhlr,brhd->blhd", a, v).reshape(B, L, H)
        x = ln(lin(ctx, pre + "attention.output.dense") + x, pre + "attention.output.LayerNorm")
        x = ln(lin(act(lin(x, pre + "intermediate.dense")), pre + "output.dense") + x, pre + "output.LayerNorm")
    out = {"embedding_output": emb, "final_hidden": x}
    if tr.has_pooler(cfg):
        out["pooler_output"] = np.tanh(lin(x[:, 0], p + ".pooler.dense"))
    word = W[e + "word_embeddings.weight"]
    if head == "ForSequenceClassification":
        if p == "roberta":
            out["logits"] = lin(np.tanh(lin(x[:, 0], "classifier.dense")), "classifier.out_proj")
        else:
            out["logits"] = lin(out["pooler_output"], "classifier")
    elif head == "ForTokenClassification":
        out["logits"] = lin(x, "classifier")
    elif head == "ForQuestionAnswering":
        qa = lin(x, "qa_outputs")
        out["start_logits"], out["end_logits"] = qa[..., 0], qa[..., 1]
    elif head == "ForMultipleChoice":
        out["logits"] = lin(out["pooler_output"], "classifier").reshape(-1, C)
    elif head == "ForMaskedLM" and p == "roberta":
        t = ln(NP_ACT["gelu"](lin(x, "lm_head.dense")), "lm_head.layer_norm")
        out["logits"] = t @ word.T + W["lm_head.bias"]
    elif head in ("ForMaskedLM", "ForPreTraining"):
        t = ln(act(lin(x, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
        out["logits"] = t @ word.T + W["cls.predictions.bias"]
        if head == "ForPreTraining":
            out["seq_relationship_logits"] = lin(out["pooler_output"], "cls.seq_relationship")
    return out


def cross_check_numpy64(case_dir: str) -> float:
    with open(os.path.join(case_dir, "config.json")) as f:
        cfg = json.load(f)
    w = tr.load_safetensors(os.path.join(case_dir, "model.safetensors"))
    r = tr.load_safetensors(os.path.join(case_dir, "reference.safetensors"))
    o = np_forward64(cfg, w, r["input_ids"], r["attention_mask"], r["token_type_ids"], r.get("task_type_ids"))
    main = {"last_hidden_state": "final_hidden"}.get(tr.main_output_name(cfg), tr.main_output_name(cfg))
    o["nomask_output"] = np_forward64(cfg, w, r["nomask_input_ids"])[main]
    worst, parts = 0.0, []
    for key in [k for k in r if k in tr.FIXTURE_OUTPUTS or k == "nomask_output"]:
        if key not in o:
            raise KeyError(f"{case_dir}: numpy64 lacks {key}")
        diff = float(np.max(np.abs(o[key] - r[key])))
        worst = max(worst, diff)
        parts.append(f"{key} {diff:.1e}")
    missing = [k for k in o if k not in r]
    assert not missing, (case_dir, missing)
    print(f"  numpy64  {os.path.basename(case_dir):34s} worst {worst:.2e}  [{'; '.join(parts)}]")
    return worst


def main(argv: list[str]) -> int:
    names = argv or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        print("unknown cases:", unknown, "known:", list(CASES))
        return 2
    torch.set_num_threads(1)
    os.makedirs(OUT_DIR, exist_ok=True)
    dirs = [generate(n) for n in names]

    print("\nself-check (reload the written files, re-run torch_reference):")
    worst_self = max(tr.check_case(d, verbose=False) for d in dirs)
    print(f"  worst {worst_self:.2e}")
    assert worst_self == 0.0 or worst_self < 1e-6, worst_self

    ok = True
    golden_root = os.path.join(SHARED, "golden")
    if os.path.isdir(golden_root):
        print("\ntorch_reference vs transformers golden files:")
        for g in sorted(os.listdir(golden_root)):
            gd = os.path.join(golden_root, g)
            if os.path.isfile(os.path.join(gd, "reference.safetensors")):
                print(f"  {g}")
                w = tr.check_case(gd)
                print(f"  {g}: worst {w:.2e}")
                ok &= w <= TOL
    else:
        print("\n(no ../shared/golden: golden check skipped)")

    print(f"\ntorch_reference (float32) vs an independent float64 numpy forward (tolerance {TOL_NUMPY64}):")
    for d in dirs:
        ok &= cross_check_numpy64(d) <= TOL_NUMPY64

    hf_ref = load_hf_ref()
    if hf_ref is not None:
        print("\ntorch_reference fixtures vs ../shared/tools/hf_ref.py:")
        skipped = []
        for d in dirs:
            w = cross_check_hf_ref(hf_ref, d)
            if w is None:
                skipped.append(os.path.basename(d))
            else:
                ok &= w <= TOL
        if skipped:
            print(f"  not supported by hf_ref (torch_reference only): {', '.join(skipped)}")
    else:
        print("\n(no ../shared/tools/hf_ref.py: cross-check skipped)")

    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(OUT_DIR) for f in fs)
    print(f"\nfixtures: {len(os.listdir(OUT_DIR))} cases, {total / 1024:.0f} KiB")
    if not ok:
        print(f"FAILED: a difference above {TOL}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
