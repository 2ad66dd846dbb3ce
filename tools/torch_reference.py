"""Independent PyTorch reference of Hugging Face BERT / ERNIE / RoBERTa encoders and task heads.

Written from the semantics of transformers' modeling_bert.py, modeling_ernie.py, modeling_roberta.py
(plus MarianSinusoidalPositionalEmbedding and activations.ACT2FN); it loads and produces HF-layout
folders (config.json + model.safetensors). Needs only torch (Debian python3-torch 1.13 is enough) and
numpy; it carries its own minimal safetensors reader/writer.

Usage as a library (see tools/make_fixtures.py):
    ref = Reference.from_dir("tests/fixtures/bert_gelu_mlm")
    out = ref.forward(input_ids, attention_mask, token_type_ids, task_type_ids)   # dict of tensors

Command line: `/usr/bin/python3 tools/torch_reference.py CASE_DIR...` re-runs the reference on fixture
folders (config.json + model.safetensors + reference.safetensors, or golden folders with model/) and
prints the largest absolute difference per output.
"""
from __future__ import annotations

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

# --------------------------------------------------------------------------------------------------
# safetensors (the format: u64 little-endian header length, JSON header, raw little-endian bytes)
# --------------------------------------------------------------------------------------------------
_ST_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
              "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}
_ST_NAMES = {np.dtype(t): n for n, t in _ST_DTYPES.items()}


def load_safetensors(path: str) -> dict[str, np.ndarray]:
    with open(path, "rb") as f:
        data = f.read()
    (hlen,) = struct.unpack_from("<Q", data, 0)
    header = json.loads(data[8:8 + hlen].decode("utf-8"))
    body = memoryview(data)[8 + hlen:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        raw = body[begin:end]
        if info["dtype"] == "BF16":
            arr = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, dtype=np.dtype(_ST_DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"]).copy()
    return out


def save_safetensors(path: str, tensors: dict, metadata: dict | None = None) -> None:
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        arr = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
        arr = np.ascontiguousarray(arr)
        blob = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": _ST_NAMES[arr.dtype], "shape": list(arr.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # keep the data 8-byte aligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


# --------------------------------------------------------------------------------------------------
# activations with transformers' meanings (ACT2FN)
# --------------------------------------------------------------------------------------------------
def _gelu_erf(x):
    return F.gelu(x)  # exact: x * Phi(x)


def _gelu_new(x):  # tanh approximation, as in NewGELUActivation
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def _gelu_fast(x):  # FastGELUActivation: constants folded differently from gelu_new
    return 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))


def _gelu_pytorch_tanh(x):
    return F.gelu(x, approximate="tanh")


ACTIVATIONS = {
    "relu": F.relu,
    "gelu": _gelu_erf,
    "gelu_python": lambda x: x * 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0))),
    "gelu_new": _gelu_new,
    "gelu_pytorch_tanh": _gelu_pytorch_tanh,
    "gelu_fast": _gelu_fast,
    "quick_gelu": lambda x: x * torch.sigmoid(1.702 * x),
    "silu": F.silu,
    "swish": F.silu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "linear": lambda x: x,
}


# --------------------------------------------------------------------------------------------------
# fixed position table (MarianSinusoidalPositionalEmbedding._init_weight)
# --------------------------------------------------------------------------------------------------
def sinusoidal_table(n_pos: int, dim: int) -> np.ndarray:
    """angle[p, j] = p / 10000 ** (2 * (j // 2) / dim), in float64; the first ceil(dim/2) columns are
    sin of the even-j angles, the rest cos of the odd-j angles (not interleaved); cast to float32."""
    angle = np.array([[p / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for p in range(n_pos)])
    half = dim // 2 + (dim % 2)
    out = np.empty((n_pos, dim), dtype=np.float32)
    out[:, :half] = np.sin(angle[:, 0::2])
    out[:, half:] = np.cos(angle[:, 1::2])
    return out


# --------------------------------------------------------------------------------------------------
# model description
# --------------------------------------------------------------------------------------------------
HEAD_SUFFIXES = ("ForSequenceClassification", "ForTokenClassification", "ForQuestionAnswering",
                 "ForMaskedLM", "ForMultipleChoice", "ForPreTraining", "Model")


def head_of(cfg: dict) -> str:
    arch = (cfg.get("architectures") or [""])[0]
    for suffix in HEAD_SUFFIXES:
        if arch.endswith(suffix):
            return suffix
    raise ValueError(f"unsupported architecture {arch!r}")


def base_prefix(cfg: dict) -> str:
    mt = cfg.get("model_type", "bert")
    if mt not in ("bert", "ernie", "roberta"):
        raise ValueError(f"unsupported model_type {mt!r}")
    return mt


def has_pooler(cfg: dict) -> bool:
    """add_pooling_layer as each transformers class passes it."""
    head = head_of(cfg)
    if head in ("Model", "ForMultipleChoice", "ForPreTraining"):
        return True
    if head == "ForSequenceClassification":
        return base_prefix(cfg) != "roberta"  # RoBERTa's classification head reads token 0 itself
    return False  # token classification, question answering, masked LM


def position_kind(cfg: dict) -> str:
    if cfg.get("static_position_embeddings"):
        return "sinusoidal"
    return cfg.get("position_embedding_type") or "absolute"


def num_labels(cfg: dict) -> int:
    if "id2label" in cfg:
        return len(cfg["id2label"])
    return int(cfg.get("num_labels", 2))


def parameter_shapes(cfg: dict) -> dict[str, tuple]:
    """Every tensor transformers saves for this config, name -> shape (tied decoders omitted)."""
    p = base_prefix(cfg)
    H, I, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    d = H // cfg["num_attention_heads"]
    s = {}

    def lin(name, n_out, n_in):
        s[name + ".weight"] = (n_out, n_in)
        s[name + ".bias"] = (n_out,)

    def ln(name, n):
        s[name + ".weight"] = (n,)
        s[name + ".bias"] = (n,)

    e = f"{p}.embeddings."
    s[e + "word_embeddings.weight"] = (V, H)
    s[e + "position_embeddings.weight"] = (cfg["max_position_embeddings"], H)  # exists for every kind
    s[e + "token_type_embeddings.weight"] = (cfg["type_vocab_size"], H)
    if p == "ernie" and cfg.get("use_task_id"):
        s[e + "task_type_embeddings.weight"] = (cfg.get("task_type_vocab_size", 3), H)
    ln(e + "LayerNorm", H)
    relative = position_kind(cfg) in ("relative_key", "relative_key_query")
    for i in range(cfg["num_hidden_layers"]):
        L = f"{p}.encoder.layer.{i}."
        for n in ("query", "key", "value"):
            lin(L + "attention.self." + n, H, H)
        if relative:
            s[L + "attention.self.distance_embedding.weight"] = (2 * cfg["max_position_embeddings"] - 1, d)
        lin(L + "attention.output.dense", H, H)
        ln(L + "attention.output.LayerNorm", H)
        lin(L + "intermediate.dense", I, H)
        lin(L + "output.dense", H, I)
        ln(L + "output.LayerNorm", H)
    if has_pooler(cfg):
        lin(f"{p}.pooler.dense", H, H)
    head = head_of(cfg)
    if head == "ForSequenceClassification":
        if p == "roberta":
            lin("classifier.dense", H, H)
            lin("classifier.out_proj", num_labels(cfg), H)
        else:
            lin("classifier", num_labels(cfg), H)
    elif head == "ForTokenClassification":
        lin("classifier", num_labels(cfg), H)
    elif head == "ForQuestionAnswering":
        lin("qa_outputs", 2, H)
    elif head == "ForMultipleChoice":
        lin("classifier", 1, H)
    elif head in ("ForMaskedLM", "ForPreTraining"):
        if p == "roberta":
            if head != "ForMaskedLM":
                raise ValueError("RoBERTa has no ForPreTraining class")
            lin("lm_head.dense", H, H)
            ln("lm_head.layer_norm", H)
            s["lm_head.bias"] = (V,)
        else:
            lin("cls.predictions.transform.dense", H, H)
            ln("cls.predictions.transform.LayerNorm", H)
            s["cls.predictions.bias"] = (V,)
            if head == "ForPreTraining":
                lin("cls.seq_relationship", 2, H)
    return s


# --------------------------------------------------------------------------------------------------
# the forward pass
# --------------------------------------------------------------------------------------------------
class Reference:
    def __init__(self, cfg: dict, weights: dict, strict: bool = True):
        self.cfg = cfg
        self.prefix = base_prefix(cfg)
        self.head = head_of(cfg)
        self.pos_kind = position_kind(cfg)
        if self.pos_kind not in ("absolute", "sinusoidal", "relative_key", "relative_key_query"):
            raise ValueError(f"unsupported position kind {self.pos_kind!r}")
        self.act = ACTIVATIONS[cfg.get("hidden_act", "gelu")]
        self.eps = float(cfg.get("layer_norm_eps", 1e-12))
        self.w = {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in weights.items()}
        want = parameter_shapes(cfg)
        missing = [k for k in want if k not in self.w]
        if missing:
            raise KeyError(f"missing weights: {missing}")
        bad = [(k, tuple(self.w[k].shape), s) for k, s in want.items() if tuple(self.w[k].shape) != tuple(s)]
        if bad:
            raise ValueError(f"wrong shapes: {bad}")
        extra = [k for k in self.w if k not in want]
        if extra and strict:
            raise KeyError(f"unexpected weights: {extra}")

    @classmethod
    def from_dir(cls, model_dir: str, strict: bool = True) -> "Reference":
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        return cls(cfg, load_safetensors(os.path.join(model_dir, "model.safetensors")), strict)

    # helpers -------------------------------------------------------------------------------------
    def _b(self, name):  # a tensor of the base model
        return self.w[f"{self.prefix}.{name}"]

    def _linear(self, x, name):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def _layer_norm(self, x, name, weight="weight", bias="bias"):
        return F.layer_norm(x, (x.shape[-1],), self.w[f"{name}.{weight}"], self.w[f"{name}.{bias}"], self.eps)

    def position_ids(self, input_ids):
        B, L = input_ids.shape
        if self.prefix == "roberta":
            # create_position_ids_from_input_ids: count real tokens, pads keep padding_idx
            pad = int(self.cfg.get("pad_token_id", 1))
            real = input_ids.ne(pad).int()
            return (torch.cumsum(real, dim=1).type_as(real) * real).long() + pad
        return torch.arange(L, dtype=torch.long).unsqueeze(0).expand(B, L)

    def embeddings(self, input_ids, token_type_ids, task_type_ids):
        x = F.embedding(input_ids, self._b("embeddings.word_embeddings.weight"))
        x = x + F.embedding(token_type_ids, self._b("embeddings.token_type_embeddings.weight"))
        if self.pos_kind == "absolute":
            x = x + F.embedding(self.position_ids(input_ids), self._b("embeddings.position_embeddings.weight"))
        elif self.pos_kind == "sinusoidal":
            # the fixed table lives in the state dict under position_embeddings.weight (as Marian's
            # embed_positions.weight does); positions are 0..L-1
            x = x + F.embedding(self.position_ids(input_ids), self._b("embeddings.position_embeddings.weight"))
        # relative_key / relative_key_query: no absolute term at all
        if self.prefix == "ernie" and self.cfg.get("use_task_id"):
            if task_type_ids is None:
                task_type_ids = torch.zeros_like(input_ids)
            x = x + F.embedding(task_type_ids, self._b("embeddings.task_type_embeddings.weight"))
        return self._layer_norm(x, f"{self.prefix}.embeddings.LayerNorm")

    def self_attention(self, x, i, additive_mask):
        B, L, H = x.shape
        nh = self.cfg["num_attention_heads"]
        d = H // nh
        pre = f"{self.prefix}.encoder.layer.{i}.attention.self."

        def heads(t):  # [B, L, H] -> [B, nh, L, d]
            return t.view(B, L, nh, d).permute(0, 2, 1, 3)

        q = heads(self._linear(x, pre + "query"))
        k = heads(self._linear(x, pre + "key"))
        v = heads(self._linear(x, pre + "value"))
        scores = torch.matmul(q, k.transpose(-1, -2))
        if self.pos_kind in ("relative_key", "relative_key_query"):
            max_pos = self.cfg["max_position_embeddings"]
            rows = torch.arange(L, dtype=torch.long).view(-1, 1)
            cols = torch.arange(L, dtype=torch.long).view(1, -1)
            dist = self.w[pre + "distance_embedding.weight"][rows - cols + max_pos - 1]  # [L, L, d]
            scores = scores + torch.einsum("bhld,lrd->bhlr", q, dist)
            if self.pos_kind == "relative_key_query":
                scores = scores + torch.einsum("bhrd,lrd->bhlr", k, dist)
        scores = scores / math.sqrt(d)
        if additive_mask is not None:
            scores = scores + additive_mask
        probs = torch.softmax(scores, dim=-1)
        ctx = torch.matmul(probs, v).permute(0, 2, 1, 3).contiguous().view(B, L, H)
        return ctx

    def encoder(self, x, attention_mask):
        additive = None
        if attention_mask is not None:
            additive = (1.0 - attention_mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for i in range(self.cfg["num_hidden_layers"]):
            L = f"{self.prefix}.encoder.layer.{i}."
            ctx = self.self_attention(x, i, additive)
            x = self._layer_norm(self._linear(ctx, L + "attention.output.dense") + x, L + "attention.output.LayerNorm")
            inter = self.act(self._linear(x, L + "intermediate.dense"))
            x = self._layer_norm(self._linear(inter, L + "output.dense") + x, L + "output.LayerNorm")
        return x

    def _mlm_logits(self, h):
        word = self._b("embeddings.word_embeddings.weight")  # tied decoder
        if self.prefix == "roberta":
            t = F.gelu(self._linear(h, "lm_head.dense"))  # RobertaLMHead always uses erf gelu
            t = self._layer_norm(t, "lm_head.layer_norm")
            return F.linear(t, word, self.w["lm_head.bias"])
        t = self.act(self._linear(h, "cls.predictions.transform.dense"))
        t = self._layer_norm(t, "cls.predictions.transform.LayerNorm")
        return F.linear(t, word, self.w["cls.predictions.bias"])

    def forward(self, input_ids, attention_mask=None, token_type_ids=None, task_type_ids=None,
                grad: bool = False) -> dict:
        """See _forward. Runs under torch.no_grad unless grad=True, which keeps autograd (for gradient
        fixtures: put leaf tensors with requires_grad, e.g. float64, in self.w first)."""
        with torch.set_grad_enabled(grad):
            return self._forward(input_ids, attention_mask, token_type_ids, task_type_ids)

    def _forward(self, input_ids, attention_mask=None, token_type_ids=None, task_type_ids=None) -> dict:
        """Returns embedding_output, last_hidden_state, pooler_output (when the class has a pooler) and
        the head's outputs: logits / start_logits, end_logits / seq_relationship_logits."""
        input_ids = torch.as_tensor(input_ids, dtype=torch.long)
        to_long = lambda t: None if t is None else torch.as_tensor(t, dtype=torch.long)
        attention_mask, token_type_ids, task_type_ids = map(to_long, (attention_mask, token_type_ids, task_type_ids))
        choices = None
        if self.head == "ForMultipleChoice":  # [B, C, L] -> [B*C, L]
            choices = input_ids.shape[1]
            flat = lambda t: None if t is None else t.reshape(-1, t.shape[-1])
            input_ids, attention_mask, token_type_ids, task_type_ids = map(
                flat, (input_ids, attention_mask, token_type_ids, task_type_ids))
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        emb = self.embeddings(input_ids, token_type_ids, task_type_ids)
        h = self.encoder(emb, attention_mask)
        out = {"embedding_output": emb, "last_hidden_state": h}
        pooled = None
        if has_pooler(self.cfg):
            pooled = torch.tanh(self._linear(h[:, 0], f"{self.prefix}.pooler.dense"))
            out["pooler_output"] = pooled
        head = self.head
        if head == "ForSequenceClassification":
            if self.prefix == "roberta":
                z = torch.tanh(self._linear(h[:, 0, :], "classifier.dense"))
                out["logits"] = self._linear(z, "classifier.out_proj")
            else:
                out["logits"] = self._linear(pooled, "classifier")
        elif head == "ForTokenClassification":
            out["logits"] = self._linear(h, "classifier")
        elif head == "ForQuestionAnswering":
            both = self._linear(h, "qa_outputs")
            start, end = both.split(1, dim=-1)
            out["start_logits"] = start.squeeze(-1).contiguous()
            out["end_logits"] = end.squeeze(-1).contiguous()
        elif head == "ForMultipleChoice":
            out["logits"] = self._linear(pooled, "classifier").view(-1, choices)
        elif head == "ForMaskedLM":
            out["logits"] = self._mlm_logits(h)
        elif head == "ForPreTraining":
            out["logits"] = self._mlm_logits(h)  # HF: prediction_logits
            out["seq_relationship_logits"] = self._linear(pooled, "cls.seq_relationship")
        return out

    __call__ = forward


def main_output_name(cfg: dict) -> str:
    """The output a fixture stores as nomask_output."""
    head = head_of(cfg)
    if head == "Model":
        return "last_hidden_state"
    if head == "ForQuestionAnswering":
        return "start_logits"
    return "logits"


# fixture key -> forward() key
FIXTURE_OUTPUTS = {"embedding_output": "embedding_output", "final_hidden": "last_hidden_state",
                   "pooler_output": "pooler_output", "logits": "logits", "start_logits": "start_logits",
                   "end_logits": "end_logits", "seq_relationship_logits": "seq_relationship_logits"}


def check_case(case_dir: str, verbose: bool = True) -> float:
    """Re-run the reference on a fixture (or golden) folder; returns the largest |difference|."""
    model_dir = os.path.join(case_dir, "model") if os.path.isdir(os.path.join(case_dir, "model")) else case_dir
    ref = Reference.from_dir(model_dir)
    r = load_safetensors(os.path.join(case_dir, "reference.safetensors"))
    out = ref.forward(r["input_ids"], r["attention_mask"], r.get("token_type_ids"), r.get("task_type_ids"))
    nomask = ref.forward(r["nomask_input_ids"])
    worst = 0.0
    pairs = [(k, out[v]) for k, v in FIXTURE_OUTPUTS.items() if k in r and v in out]
    pairs.append(("nomask_output", nomask[main_output_name(ref.cfg)]))
    for key, got in pairs:
        diff = float(np.max(np.abs(got.numpy() - r[key]))) if r[key].size else 0.0
        worst = max(worst, diff)
        if verbose:
            print(f"    {key:24s} {str(tuple(r[key].shape)):16s} max|diff| {diff:.2e}")
    for k in r:
        if k in FIXTURE_OUTPUTS and FIXTURE_OUTPUTS[k] not in out:
            raise KeyError(f"{case_dir}: reference has {k} but the reference model does not produce it")
    return worst


if __name__ == "__main__":
    status = 0
    for d in sys.argv[1:]:
        print(os.path.basename(os.path.normpath(d)))
        w = check_case(d)
        print(f"  worst {w:.2e}")
        status |= w > 1e-5
    sys.exit(status)
