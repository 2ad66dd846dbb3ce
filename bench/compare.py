#!/usr/bin/env python3
"""ernie.cpp vs ONNX Runtime 1.30, side by side on this machine, and the README table.

usage: bench/compare.py [--ernie build/bin/ernie] [--model DIR] [--work DIR] [--threads 2]
                        [--rounds 3] [--iters 5] [--skip-ort] [--ort-int8] [--baseline OTHER_ERNIE]

* --model: an HF-layout model folder; default: `ernie init` of configs/ernie-1.0-base-zh.json
  (seed 42) in --work.
* ONNX: exported with Debian's python3-torch by ../shared/tools/export_onnx.py (opset 14), run
  from ../shared/tools as that folder's README says; ORT: `npm i --ignore-scripts
  onnxruntime-node@1.30.0` into --work, timed by ../shared/tools/bench_ort_ragged.js
  (graph optimization level all, intra-op threads = --threads).
* ORT int8 (--ort-int8): onnxruntime.quantization.quantize_dynamic (per-channel QInt8 weights,
  reduce_range, as ernie's int8) when a Python with onnxruntime is importable; skipped otherwise.
* --baseline: another ernie binary (e.g. a build of an earlier commit) as the engines "base f32",
  "base bf16", "base int8": before/after in the same run.
* Every case runs --rounds times, engines alternating, and reports medians: the machine is shared,
  so only ratios measured in the same run mean anything.
* After the table: each engine's slowest..fastest round and the ratios to ORT round by round, so
  that the machine's drift is visible beside the medians; results.json keeps medians and rounds.
"""
import argparse, json, os, statistics, subprocess, sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared")
TOOLS = os.path.join(SHARED, "tools")


def sh(cmd, cwd=None, env=None):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r.stdout


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ernie", default=os.path.join(ROOT, "build", "bin", "ernie"))
    ap.add_argument("--model")
    ap.add_argument("--work", default="/tmp/ernie-bench")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--skip-ort", action="store_true")
    ap.add_argument("--ort-int8", action="store_true")
    ap.add_argument("--cases", default="all", help="comma list of case names (default all)")
    ap.add_argument("--engines", default="all", help="comma list of engine names (default all)")
    ap.add_argument("--baseline", help="another ernie binary, as the engines base f32/bf16/int8")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    ernie = os.path.abspath(a.ernie)
    model = a.model or os.path.join(a.work, "model")
    if not os.path.exists(os.path.join(model, "model.safetensors")):
        sh([ernie, "init", "--config", os.path.join(ROOT, "configs", "ernie-1.0-base-zh.json"), "--seed", "42",
            "--out", model])
    model = os.path.abspath(model)
    vocab = json.load(open(os.path.join(model, "config.json")))["vocab_size"]
    qmodel = os.path.join(a.work, "model-int8")
    if not os.path.exists(os.path.join(qmodel, "model.safetensors")):
        sh([ernie, "quantize", "--model", model, "--out", qmodel])

    onnx = os.path.join(a.work, "model.onnx")
    ort_env = dict(os.environ, ORT_MODULE=os.path.join(a.work, "node_modules", "onnxruntime-node"))
    onnx_int8 = None
    if not a.skip_ort:
        if not os.path.exists(onnx):
            sh(["/usr/bin/python3", "export_onnx.py", model, onnx], cwd=TOOLS)
        if not os.path.isdir(ort_env["ORT_MODULE"]):
            sh(["npm", "i", "--ignore-scripts", "--prefix", a.work, "onnxruntime-node@1.30.0"])
        if a.ort_int8:
            onnx_int8 = os.path.join(a.work, "model-int8.onnx")
            if not os.path.exists(onnx_int8):
                code = ("import sys\nfrom onnxruntime.quantization import quantize_dynamic, QuantType\n"
                        "quantize_dynamic(sys.argv[1], sys.argv[2], weight_type=QuantType.QInt8, per_channel=True,"
                        " reduce_range=True)\n")
                r = subprocess.run([sys.executable, "-c", code, onnx, onnx_int8], capture_output=True, text=True)
                if r.returncode != 0:
                    print("ORT int8 skipped (no onnxruntime.quantization in this Python):", r.stderr.strip()[-200:])
                    onnx_int8 = None

    def ours(B, T, M, dtype, path=model, binary=ernie):
        out = sh([binary, "bench", "--model", path, "--batch", str(B), "--seq-len", str(T), "--min-seq-len", str(M),
                  "--dtype", dtype, "--threads", str(a.threads), "--iters", str(a.iters), "--json"])
        return last_json(out)

    def ort(B, T, M, path):
        out = sh(["node", os.path.join(TOOLS, "bench_ort_ragged.js"), path, str(B), str(T), str(M), str(a.iters),
                  str(a.threads), str(vocab)], env=ort_env)
        return last_json(out)

    # name, B, T, min T
    cases = [("8x128", 8, 128, 128), ("ragged 32x16..128", 32, 128, 16), ("1x16", 1, 16, 16),
             ("1x64", 1, 64, 64), ("1x128", 1, 128, 128)]
    if a.cases != "all":
        keep = a.cases.split(",")
        cases = [c for c in cases if c[0] in keep]
    engines = [("ernie f32", lambda B, T, M: ours(B, T, M, "f32")),
               ("ernie bf16", lambda B, T, M: ours(B, T, M, "bf16")),
               ("ernie int8", lambda B, T, M: ours(B, T, M, "int8", qmodel))]
    if a.baseline:
        base = os.path.abspath(a.baseline)
        engines += [("base f32", lambda B, T, M: ours(B, T, M, "f32", binary=base)),
                    ("base bf16", lambda B, T, M: ours(B, T, M, "bf16", binary=base)),
                    ("base int8", lambda B, T, M: ours(B, T, M, "int8", qmodel, binary=base))]
    if not a.skip_ort:
        engines.append(("ORT f32", lambda B, T, M: ort(B, T, M, onnx)))
        if onnx_int8:
            engines.append(("ORT int8", lambda B, T, M: ort(B, T, M, onnx_int8)))

    if a.engines != "all":
        keep = a.engines.split(",")
        engines = [e for e in engines if e[0] in keep]
    load = os.getloadavg()[0]
    results, rounds = {}, {}
    for name, B, T, M in cases:
        runs = {e: [] for e, _ in engines}
        for r in range(a.rounds):
            order = engines if r % 2 == 0 else list(reversed(engines))
            for e, fn in order:
                j = fn(B, T, M)
                runs[e].append(j["seq_per_s"])
                print(f"{name:20s} {e:11s} round {r}: {j['seq_per_s']:.3f} seq/s", flush=True)
        results[name] = {e: statistics.median(v) for e, v in runs.items()}
        rounds[name] = runs

    print(f"\nload average at start: {load:.2f}; threads {a.threads}; medians of {a.rounds} alternating rounds"
          f" x {a.iters} iterations\n")
    cols = [e for e, _ in engines]
    extra = " | f32 / base f32" if a.baseline else ""
    print("| case | " + " | ".join(cols) + " | f32 vs ORT | bf16 vs ORT f32 | int8 vs ORT f32 | bf16 / f32 | int8 / f32"
          + extra + " |")
    print("|---|" + "---|" * (len(cols) + 5 + (1 if a.baseline else 0)))
    for name, B, T, M in cases:
        r = results[name]
        unit = "ms" if B == 1 else "seq/s"
        cells = [f"{1000 / r[e]:.1f} ms" if B == 1 else f"{r[e]:.2f}" for e in cols]
        ortv = r.get("ORT f32")
        def ratio(x, y):
            return f"{r[x] / r[y]:.2f}x" if x in r and y in r else "-"
        tail = f" | {ratio('ernie f32', 'base f32')}" if a.baseline else ""
        print(f"| {name} ({unit}) | " + " | ".join(cells) + f" | {ratio('ernie f32', 'ORT f32')} | "
              f"{ratio('ernie bf16', 'ORT f32')} | {ratio('ernie int8', 'ORT f32')} | {ratio('ernie bf16', 'ernie f32')} | "
              f"{ratio('ernie int8', 'ernie f32')}{tail} |")
    print("\n(ratios are of sequences/s: for the batch-1 latency rows, latency vs ORT = 1 / ratio)")
    # The spread: each engine's slowest..fastest round, and the ratios to ORT round by round (the
    # two engines of one round ran minutes apart at most, so these show how much the machine moved).
    print("\nspread (slowest..fastest round, seq/s; per-round ratio to ORT f32):")
    for name, _, _, _ in cases:
        runs = rounds[name]
        parts = [f"{e} {min(v):.2f}..{max(v):.2f}" for e, v in runs.items()]
        if "ORT f32" in runs:
            for e in ("ernie f32", "ernie bf16", "ernie int8"):
                if e in runs:
                    parts.append(f"{e}/ORT " + " ".join(f"{x / o:.2f}" for x, o in zip(runs[e], runs["ORT f32"])))
        print(f"  {name}: " + "; ".join(parts))
    json.dump({"medians": results, "rounds": rounds}, open(os.path.join(a.work, "results.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
