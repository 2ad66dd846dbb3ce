"""Shared helpers of the Python suite: where the CLI, the fixtures and ../shared are, a
safetensors reader of our own (independent of the engine) and CLI runs."""
import json
import os
import pathlib
import struct
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"

_DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64, "I64": np.int64, "I32": np.int32,
           "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_}


def read_safetensors(path):
    """name -> NumPy array, straight from the file format (8-byte header length, JSON header, data)."""
    raw = pathlib.Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        if info["dtype"] == "BF16":
            u16 = np.frombuffer(data[begin:end], dtype="<u2").astype(np.uint32) << 16
            arr = u16.view(np.float32)
        else:
            arr = np.frombuffer(data[begin:end], dtype=np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<"))
        out[name] = arr.reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    """The inverse of read_safetensors, for CLI inputs."""
    header, chunks, offset = {}, [], 0
    names = {np.dtype(v): k for k, v in _DTYPES.items()}
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        b = a.tobytes()
        header[name] = {"dtype": names[a.dtype], "shape": list(a.shape), "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    pathlib.Path(path).write_bytes(struct.pack("<Q", len(h)) + h + b"".join(chunks))


def ernie_bin():
    b = os.environ.get("ERNIE_BIN") or str(ROOT / "build" / "bin" / "ernie")
    if not os.path.exists(b):
        pytest.skip(f"the ernie program is not built ({b}); set ERNIE_BIN")
    return b


def run_cli(*args, input=None, check=True):
    r = subprocess.run([ernie_bin(), *map(str, args)], input=input, capture_output=True,
                       text=isinstance(input, str) or input is None)
    if check and r.returncode != 0:
        raise AssertionError(f"ernie {' '.join(map(str, args))} failed: {r.stderr}")
    return r


def reference_cases():
    """Model folders with an independent reference.safetensors (PyTorch fixtures, transformers golden)."""
    cases = sorted(p for p in FIXTURES.iterdir() if (p / "reference.safetensors").exists())
    golden = SHARED / "golden"
    if golden.is_dir():
        cases += sorted(p for p in golden.iterdir() if (p / "reference.safetensors").exists())
    return cases


def model_dir(case):
    return case / "model" if (case / "model").is_dir() else case


def shared_vocab(name):
    p = SHARED / "data" / name / "vocab.txt"
    if not p.exists():
        pytest.skip(f"{p} is absent (../shared)")
    return p
