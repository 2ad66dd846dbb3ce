#!/usr/bin/env python3
"""The Python package's cost over the engine, side by side in one run (issue 15):

1. Overhead of a batch-1 call at 16 tokens: `model(input_ids)` from Python (conversion, packing,
   output arrays included) against `ernie bench --batch 1 --seq-len 16` (the same forward in C++),
   median latency of many calls, the same model and threads, in interleaved rounds; and the same
   on a tiny model, where the call's own cost shows in microseconds.
2. `ernie.pipeline("text-classification")` over the 10,000 THUCNews test titles against
   `ernie classify --input` on the same model and threads: tokens/s of each, wall time including
   loading the model.

Model: the seed config shrunk to 6 layers x 384 (as bench/dist/embed.sh's small), 10 labels,
initialized by `ernie init` with the ERNIE 1.0 vocab.
usage: /usr/bin/python3 bench/python/compare.py [build]     (PYTHONPATH gets BUILD/python)
"""
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "build").resolve()
sys.path.insert(0, str(BUILD / "python"))
import numpy as np  # noqa: E402

import ernie  # noqa: E402

ERNIE = str(BUILD / "bin" / "ernie")
DATA = ROOT.parent / "shared" / "data"
THREADS = 2


def main():
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"CPU: {cpu}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; {THREADS} threads")
    tmp = pathlib.Path(tempfile.mkdtemp())
    cfg = json.load(open(ROOT / "configs" / "ernie-1.0-base-zh.json"))
    cfg.update(hidden_size=384, num_hidden_layers=6, num_attention_heads=6, intermediate_size=1536,
               architectures=["ErnieForSequenceClassification"],
               id2label={str(i): f"c{i}" for i in range(10)}, label2id={f"c{i}": i for i in range(10)})
    json.dump(cfg, open(tmp / "config.json", "w"))
    model_dir = tmp / "model"
    subprocess.run([ERNIE, "init", "--config", tmp / "config.json", "--vocab", DATA / "ernie-1.0-vocab" / "vocab.txt",
                    "--out", model_dir], check=True, capture_output=True)

    # 1. batch-1 overhead at 16 tokens: 5 interleaved rounds (this machine's noise is larger than the
    # difference), the median of the rounds' ratios; and the absolute cost of a call on a model whose
    # forward is almost free (tests/fixtures/bert_gelu_fast_model, 2 layers x 24).
    model = ernie.Model.load(str(model_dir), threads=THREADS)
    ids = np.random.default_rng(0).integers(5, 18000, size=(1, 16), dtype=np.int64)

    def py_median(m, x, n):
        for _ in range(n // 10):
            m(x)
        ts = []
        for _ in range(n):
            t = time.perf_counter()
            m(x)
            ts.append((time.perf_counter() - t) * 1e3)
        return statistics.median(ts)

    def cpp_median(d, n):
        return json.loads(subprocess.run([ERNIE, "bench", "--model", d, "--batch", "1", "--seq-len", "16", "--iters", str(n),
                                          "--warmup", str(n // 10), "--threads", str(THREADS), "--json"],
                                         check=True, capture_output=True, text=True).stdout)["median_ms"]

    rounds = [(cpp_median(model_dir, 300), py_median(model, ids, 300)) for _ in range(5)]
    ratio = statistics.median(p / c for c, p in rounds)
    tiny = ROOT / "tests" / "fixtures" / "bert_gelu_fast_model"
    tiny_model = ernie.Model.load(str(tiny), threads=THREADS)
    tiny_ids = np.full((1, 16), 7, dtype=np.int64)
    tiny_rounds = [(cpp_median(tiny, 3000), py_median(tiny_model, tiny_ids, 3000)) for _ in range(5)]
    extra_us = 1e3 * statistics.median(p - c for c, p in tiny_rounds)
    cpp_ms = statistics.median(c for c, _ in rounds)
    print(f"| batch 1 x 16 tokens (6 x 384) | C++ forward (ernie bench) {cpp_ms:.3f} ms | "
          f"Python model(ids) {statistics.median(p for _, p in rounds):.3f} ms | {100 * (ratio - 1):+.1f} % "
          f"(rounds: {', '.join(f'{100 * (p / c - 1):+.1f}' for c, p in rounds)}) |")
    print(f"| batch 1 x 16 tokens (tiny model) | C++ {statistics.median(c for c, _ in tiny_rounds) * 1e3:.1f} us | "
          f"Python {statistics.median(p for _, p in tiny_rounds) * 1e3:.1f} us | a call costs {extra_us:+.1f} us more from "
          f"Python: {100 * extra_us / (cpp_ms * 1e3):.1f} % of the 6 x 384 forward |")

    # 2. pipeline over THUCNews titles vs ernie classify
    titles = [l.split("\t")[0] for l in open(DATA / "thucnews-10" / "test.txt", encoding="utf-8")]
    (tmp / "titles.txt").write_text("\n".join(titles) + "\n", encoding="utf-8")
    tok = ernie.Tokenizer.from_file(str(model_dir))
    tokens = sum(len(x) for x in tok(titles, truncation=True, max_length=512)["input_ids"])
    t = time.perf_counter()
    subprocess.run([ERNIE, "classify", "--model", model_dir, "--input", tmp / "titles.txt", "--output",
                    tmp / "preds.jsonl", "--threads", str(THREADS), "--batch", "64"], check=True, capture_output=True)
    cli_s = time.perf_counter() - t
    t = time.perf_counter()
    clf = ernie.pipeline("text-classification", model=str(model_dir), threads=THREADS)
    out = []
    for i in range(0, len(titles), 64):
        out += clf(titles[i:i + 64])
    py_s = time.perf_counter() - t
    cli_labels = [json.loads(l)["label"] for l in open(tmp / "preds.jsonl", encoding="utf-8")]
    same = sum(a == b["label"] for a, b in zip(cli_labels, out))
    print(f"| {len(titles)} THUCNews titles, {tokens} tokens | ernie classify {tokens / cli_s:,.0f} tok/s ({cli_s:.1f} s) | "
          f"ernie.pipeline {tokens / py_s:,.0f} tok/s ({py_s:.1f} s) | {cli_s / py_s:.2f}x | same top label: {same}/{len(titles)} |")


if __name__ == "__main__":
    main()
