"""Regenerate tests/fixtures/checkpoints/: the same small models in every checkpoint format.

    /usr/bin/python3 tools/make_checkpoint_fixtures.py

Needs Debian's python3-torch (1.13) and python3-numpy; no paddle, no safetensors package (the
safetensors files are written by hand here, the .pdparams files with Python's pickle the way
paddle.save writes them: a dict of numpy arrays plus the "StructuredToParameterName@@" table).

Sources are the HF-layout fixtures of tools/make_fixtures.py (tests/fixtures/<case>/), whose
reference outputs come from the independent torch implementation; every format written here must
give the same `ernie run` outputs (tests/checkpoint_formats_test.cc).

Written (all deterministic):
  ernie_seqcls_bin/            pytorch_model.bin: OrderedDict with _metadata, a non-contiguous
                               (transposed) view, two biases sharing one storage at offsets
  ernie_seqcls_bin_zip64/      the same with ZIP64 records and a different top-level folder name
  bert_mlm_bin/                tied decoder: two names on one storage
  ernie_seqcls_pdparams_p2/    protocol 2, numpy 1 names, _codecs.encode bytes, word embeddings
                               split into name@@.0/@@.1 with UnpackBigParamInfor@@
  ernie_seqcls_pdparams_p4_np2/ protocol 4 with numpy 2 module names (numpy._core.multiarray)
  ernie_seqcls_paddle_st/      PaddleNLP-layout safetensors (metadata format=np)
  ernie_seqcls_sharded_st/     model.safetensors.index.json + 2 shards
  ernie_seqcls_sharded_bin/    pytorch_model.bin.index.json + 2 shards
  bert_qa_pdparams/            PaddleNLP QA head: `classifier` [H, 2]
  bert_mlm_pdparams/           PaddleNLP LM head: decoder_weight / decoder_bias
  files/dtypes.bin             F32/F16/BF16/F64/I64/I32/Bool tensors with known values
  files/p5.pdparams            protocol 5 (numpy _frombuffer + bytearray)
  files/legacy.bin             pre-1.6 torch.save format (must be refused)
  files/evil_*.pdparams, files/zip_traversal.bin ... hostile inputs (must be refused)
"""
from __future__ import annotations

import collections
import copyreg
import io
import json
import os
import pickle
import re
import shutil
import struct
import sys
import types
import zipfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(FIX, "checkpoints")

# ---------------------------------------------------------------- safetensors by hand

ST_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    data = open(path, "rb").read()
    n = struct.unpack("<Q", data[:8])[0]
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = collections.OrderedDict()
    for name in sorted(k for k in header if k != "__metadata__"):
        e = header[name]
        b, end = e["data_offsets"]
        out[name] = np.frombuffer(data[base + b:base + end], dtype=ST_DTYPES[e["dtype"]]).reshape(e["shape"]).copy()
    return out


def write_safetensors(path, tensors, metadata=None):
    header, off, blobs = {}, 0, []
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dt = {np.dtype(v): k for k, v in ST_DTYPES.items()}[a.dtype]
        raw = a.tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


# ---------------------------------------------------------------- PaddleNLP names (independent of the C++ table)

LAYER_MAP = [
    ("attention.self.query.", "self_attn.q_proj."), ("attention.self.key.", "self_attn.k_proj."),
    ("attention.self.value.", "self_attn.v_proj."), ("attention.output.dense.", "self_attn.out_proj."),
    ("attention.output.LayerNorm.", "norm1."), ("intermediate.dense.", "linear1."),
    ("output.dense.", "linear2."), ("output.LayerNorm.", "norm2."),
]


def to_paddle(hf, qa=False):
    """HF state dict (numpy) -> PaddleNLP names, Linear weights transposed to [in, out]."""
    out = collections.OrderedDict()
    for name, a in hf.items():
        if name.endswith("position_ids"):
            continue
        p = name
        m = re.match(r"^(.*)encoder\.layer\.(\d+)\.(.*)$", p)
        if m:
            rest = m.group(3)
            for h, pd in LAYER_MAP:
                if rest.startswith(h):
                    rest = pd + rest[len(h):]
                    break
            p = f"{m.group(1)}encoder.layers.{m.group(2)}.{rest}"
        p = p.replace("embeddings.LayerNorm.", "embeddings.layer_norm.")
        p = p.replace("cls.predictions.transform.dense.", "cls.predictions.transform.")
        p = p.replace("cls.predictions.transform.LayerNorm.", "cls.predictions.layer_norm.")
        if p == "cls.predictions.decoder.weight":
            p = "cls.predictions.decoder_weight"
        if p in ("cls.predictions.bias", "cls.predictions.decoder.bias"):
            p = "cls.predictions.decoder_bias"
        if qa and p.startswith("qa_outputs."):
            p = "classifier." + p[len("qa_outputs."):]
        linear = a.ndim == 2 and p.endswith(".weight") and "embeddings." not in p
        out[p] = np.ascontiguousarray(a.T) if linear else a
    return out


def paddle_config(hf_cfg):
    keep = ["architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
            "intermediate_size", "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob",
            "max_position_embeddings", "type_vocab_size", "task_type_vocab_size", "use_task_id", "initializer_range",
            "pad_token_id", "layer_norm_eps", "id2label", "label2id"]
    cfg = {k: hf_cfg[k] for k in keep if k in hf_cfg}
    if hf_cfg.get("model_type") != "ernie":
        cfg.pop("use_task_id", None)
        cfg.pop("task_type_vocab_size", None)
    cfg["paddlenlp_version"] = None
    return cfg


def name_table(arrays):
    table, n = {}, 0
    for k in arrays:
        kind = "w_0" if k.endswith("weight") else "b_0"
        table[k] = f"param_{n}.{kind}"
        n += 1
    return table


# ---------------------------------------------------------------- pickles the way paddle.save writes them

def paddle_save(path, arrays, protocol, split=None, numpy2=False):
    """arrays: name -> np.ndarray (PaddleNLP names). split: a name to store as name@@.0/@@.1 with
    UnpackBigParamInfor@@ (what paddle.save does for arrays over 2^30 bytes, here forced small)."""
    saved = collections.OrderedDict()
    info = {}
    for k, a in arrays.items():
        if k == split:
            flat = a.flatten()
            half = (flat.size + 1) // 2
            info[k] = {"OriginShape": a.shape, "slices": [k + "@@.0", k + "@@.1"]}
            saved[k + "@@.0"] = flat[:half]
            saved[k + "@@.1"] = flat[half:]
        else:
            saved[k] = a
    saved["StructuredToParameterName@@"] = name_table(arrays)
    if info:
        saved["UnpackBigParamInfor@@"] = info
    with open(path, "wb") as f:
        if numpy2:
            Numpy2Pickler(f, protocol=protocol).dump(dict(saved))
        else:
            pickle.dump(dict(saved), f, protocol=protocol)


def _fake_module(name, **attrs):
    mod = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(mod, k, v)
    sys.modules[name] = mod
    return mod


def _np2_reconstruct(*args):  # never called: only its pickled name matters
    raise RuntimeError


_np2_reconstruct.__module__ = "numpy._core.multiarray"
_np2_reconstruct.__qualname__ = _np2_reconstruct.__name__ = "_reconstruct"
_fake_module("numpy._core")
_fake_module("numpy._core.multiarray", _reconstruct=_np2_reconstruct)


class Numpy2Pickler(pickle.Pickler):
    """Writes arrays as numpy 2 does: numpy._core.multiarray._reconstruct instead of numpy.core."""

    def reducer_override(self, obj):
        if isinstance(obj, np.ndarray):
            fn, args, state = obj.__reduce__()
            return (_np2_reconstruct, args, state)
        return NotImplemented


# ---------------------------------------------------------------- torch.save

def torch_state(hf):
    sd = collections.OrderedDict((k, torch.from_numpy(v.copy())) for k, v in hf.items())
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    return sd


def save_bin(path, sd):
    torch.save(sd, path)


def rezip(src, dst, folder, zip64):
    """Copies a torch zip with another top-level folder name, optionally forcing ZIP64 records."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            name = folder + "/" + info.filename.split("/", 1)[1]
            zi = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_STORED
            with zout.open(zi, "w", force_zip64=zip64) as f:
                f.write(data)


# ---------------------------------------------------------------- the cases

def fresh(name):
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def copy_config(src_case, dst):
    shutil.copy(os.path.join(FIX, src_case, "config.json"), os.path.join(dst, "config.json"))


def write_paddle_config(src_case, dst):
    hf_cfg = json.load(open(os.path.join(FIX, src_case, "config.json")))
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(paddle_config(hf_cfg), f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)
    seqcls = read_safetensors(os.path.join(FIX, "ernie_relu_seqcls", "model.safetensors"))
    mlm = read_safetensors(os.path.join(FIX, "bert_gelu_mlm", "model.safetensors"))
    qa = read_safetensors(os.path.join(FIX, "bert_gelu_new_qa", "model.safetensors"))

    # PyTorch .bin: views, offsets, shared storage, OrderedDict._metadata.
    d = fresh("ernie_seqcls_bin")
    copy_config("ernie_relu_seqcls", d)
    sd = torch_state(seqcls)
    q = "ernie.encoder.layer.0.attention.self.query.weight"
    sd[q] = sd[q].t().contiguous().t()                   # same values, strides (1, rows)
    b1, b2 = "ernie.encoder.layer.0.attention.self.key.bias", "ernie.encoder.layer.0.attention.self.value.bias"
    both = torch.cat([sd[b1], sd[b2]])
    sd[b1], sd[b2] = both[: sd[b1].numel()], both[sd[b1].numel():]   # one storage, offsets 0 and H
    assert not sd[q].is_contiguous() and sd[b2].storage_offset() > 0
    save_bin(os.path.join(d, "pytorch_model.bin"), sd)

    d = fresh("ernie_seqcls_bin_zip64")
    copy_config("ernie_relu_seqcls", d)
    rezip(os.path.join(OUT, "ernie_seqcls_bin", "pytorch_model.bin"), os.path.join(d, "pytorch_model.bin"),
          "some_other_folder", zip64=True)

    d = fresh("bert_mlm_bin")
    copy_config("bert_gelu_mlm", d)
    sd = torch_state(mlm)
    sd["cls.predictions.decoder.weight"] = sd["bert.embeddings.word_embeddings.weight"]   # tied: shared storage
    save_bin(os.path.join(d, "pytorch_model.bin"), sd)

    # .pdparams
    pd_seqcls = to_paddle(seqcls)
    d = fresh("ernie_seqcls_pdparams_p2")
    write_paddle_config("ernie_relu_seqcls", d)
    paddle_save(os.path.join(d, "model_state.pdparams"), pd_seqcls, 2, split="ernie.embeddings.word_embeddings.weight")
    d = fresh("ernie_seqcls_pdparams_p4_np2")
    write_paddle_config("ernie_relu_seqcls", d)
    paddle_save(os.path.join(d, "model_state.pdparams"), pd_seqcls, 4, numpy2=True)

    d = fresh("ernie_seqcls_paddle_st")
    write_paddle_config("ernie_relu_seqcls", d)
    write_safetensors(os.path.join(d, "model.safetensors"), pd_seqcls, {"format": "np"})

    d = fresh("bert_qa_pdparams")
    write_paddle_config("bert_gelu_new_qa", d)
    paddle_save(os.path.join(d, "model_state.pdparams"), to_paddle(qa, qa=True), 4)

    d = fresh("bert_mlm_pdparams")
    write_paddle_config("bert_gelu_mlm", d)
    pd_mlm = to_paddle(mlm)
    pd_mlm["cls.predictions.decoder_weight"] = pd_mlm["bert.embeddings.word_embeddings.weight"]
    paddle_save(os.path.join(d, "model_state.pdparams"), pd_mlm, 2)

    # Sharded.
    names = sorted(seqcls)
    half = len(names) // 2
    parts = [names[:half], names[half:]]
    d = fresh("ernie_seqcls_sharded_st")
    copy_config("ernie_relu_seqcls", d)
    wm = {}
    for i, part in enumerate(parts):
        fn = f"model-{i + 1:05d}-of-00002.safetensors"
        write_safetensors(os.path.join(d, fn), {k: seqcls[k] for k in part}, {"format": "pt"})
        wm.update({k: fn for k in part})
    json.dump({"metadata": {"total_size": sum(v.nbytes for v in seqcls.values())}, "weight_map": wm},
              open(os.path.join(d, "model.safetensors.index.json"), "w"), indent=2, sort_keys=True)
    d = fresh("ernie_seqcls_sharded_bin")
    copy_config("ernie_relu_seqcls", d)
    wm = {}
    for i, part in enumerate(parts):
        fn = f"pytorch_model-{i + 1:05d}-of-00002.bin"
        save_bin(os.path.join(d, fn), torch_state({k: seqcls[k] for k in part}))
        wm.update({k: fn for k in part})
    json.dump({"metadata": {"total_size": sum(v.nbytes for v in seqcls.values())}, "weight_map": wm},
              open(os.path.join(d, "pytorch_model.bin.index.json"), "w"), indent=2, sort_keys=True)

    # Single files.
    files = os.path.join(OUT, "files")
    shutil.rmtree(files, ignore_errors=True)
    os.makedirs(files)
    base = torch.arange(12, dtype=torch.float32).reshape(3, 4) / 8 - 0.5
    dt = collections.OrderedDict()
    dt["f32"] = base
    dt["f16"] = base.half()
    dt["bf16"] = base.bfloat16()
    dt["f64"] = base.double()
    dt["i64"] = torch.arange(5, dtype=torch.int64) - 2
    dt["i32"] = torch.arange(4, dtype=torch.int32) * 3
    dt["bool"] = torch.tensor([True, False, True])
    dt["f32_t"] = base.t()            # non-contiguous view of f32's storage
    dt["scalar"] = torch.tensor(2.5)
    torch.save(dt, os.path.join(files, "dtypes.bin"))
    arrs = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1, -2, 3], dtype=np.int64)}
    with open(os.path.join(files, "p5.pdparams"), "wb") as f:
        pickle.dump(dict(arrs, **{"StructuredToParameterName@@": {"a": "x.w_0", "b": "x.b_0"}}), f, protocol=5)
    with open(os.path.join(files, "p3.pdparams"), "wb") as f:
        pickle.dump(arrs, f, protocol=3)
    torch.save({"w": torch.ones(2, 2)}, os.path.join(files, "legacy.bin"), _use_new_zipfile_serialization=False)

    # Hostile inputs (never executed by anything here: written as raw bytes).
    def w(name, data):
        open(os.path.join(files, name), "wb").write(data)

    w("evil_os_system.pdparams", b"\x80\x02cos\nsystem\nq\x00X\x06\x00\x00\x00echo hq\x01\x85q\x02Rq\x03.")
    w("evil_eval_p4.pdparams", b"\x80\x04\x95\x1d\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94"
                               b"\x8c\x011\x94\x85\x94R\x94.")
    with zipfile.ZipFile(os.path.join(files, "zip_traversal.bin"), "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({}, protocol=2))
        z.writestr("../../x", b"owned")

    # An array whose shape disagrees with its data (6 floats stored, shape (3, 3) claimed).
    class BadShape(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, np.ndarray):
                fn, args, state = obj.__reduce__()
                return (fn, args, (state[0], (3, 3)) + tuple(state[2:]))
            return NotImplemented

    with open(os.path.join(files, "bad_shape.pdparams"), "wb") as f:
        BadShape(f, protocol=2).dump({"w": np.arange(6, dtype=np.float32)})

    # Hand-made torch zips: a view past its storage, a storage shorter than declared, a missing
    # storage, no data.pkl.
    def torch_zip(name, size, stride, offset, numel, storage_bytes, with_storage=True, with_pickle=True):
        class P(pickle.Pickler):
            def persistent_id(self, obj):
                if isinstance(obj, StorageRef):
                    return ("storage", torch.FloatStorage, "0", "cpu", numel)
                return None

            def reducer_override(self, obj):
                if isinstance(obj, TensorRef):
                    return (torch._utils._rebuild_tensor_v2,
                            (StorageRef(), offset, size, stride, False, collections.OrderedDict()))
                return NotImplemented

        buf = io.BytesIO()
        P(buf, protocol=2).dump(collections.OrderedDict(w=TensorRef()))
        with zipfile.ZipFile(os.path.join(files, name), "w") as z:
            if with_pickle:
                z.writestr("archive/data.pkl", buf.getvalue())
            if with_storage:
                z.writestr("archive/data/0", storage_bytes)

    four = np.arange(4, dtype=np.float32).tobytes()
    torch_zip("view_oob.bin", (2, 3), (3, 1), 0, 4, four)
    torch_zip("storage_short.bin", (2, 2), (2, 1), 0, 4, four[:12])
    torch_zip("missing_storage.bin", (2, 2), (2, 1), 0, 4, four, with_storage=False)
    torch_zip("no_pickle.bin", (2, 2), (2, 1), 0, 4, four, with_pickle=False)
    torch_zip("view_ok.bin", (2, 2), (1, 2), 0, 4, four)   # a valid transposed view, for contrast

    print("wrote", OUT)


class StorageRef:
    pass


class TensorRef:
    pass


if __name__ == "__main__":
    main()
