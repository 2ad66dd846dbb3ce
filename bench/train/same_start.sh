#!/usr/bin/env bash
# Same start, same batches: ernie.cpp and PyTorch train the issue-6 recipe (tiny ERNIE on THUCNews
# dev.txt, 3 epochs, batch 32, lr 1e-3, warmup 10%, weight decay 0.01, max length 64) from the
# same initial weights (`ernie init`, loaded by tools/train_baseline_torch.py --init-from) in the
# same data order (--order ernie), with dropout off by default: the two curves may then differ only
# by float rounding, so any systematic gap between the engines would show here.
#   bash bench/train/same_start.sh [build/bin/ernie] [dropout=0] [seed=42]
set -euo pipefail
ERNIE=${1:-build/bin/ernie}
DROPOUT=${2:-0}
SEED=${3:-42}
source bench/train/recipe.sh

# The tiny config with the data's 10 labels, so that the initial classifier fits both engines.
/usr/bin/python3 - "$DATA/class.txt" "$WORK/config.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[2], encoding="utf-8"))
names = [l.strip() for l in open(sys.argv[1], encoding="utf-8") if l.strip()]
cfg.update(id2label={str(i): n for i, n in enumerate(names)}, label2id={n: i for i, n in enumerate(names)})
json.dump(cfg, open(sys.argv[2], "w", encoding="utf-8"), ensure_ascii=False, indent=2)
PY
"$ERNIE" init --config "$WORK/config.json" --vocab "$VOCAB" --seed "$SEED" --out "$WORK/init" >/dev/null

echo "load: $(uptime)"
echo "== ernie train (dropout $DROPOUT, seed $SEED)"
"$ERNIE" train --init-from "$WORK/init" "${RECIPE[@]}" --out "$WORK/ernie" --dropout "$DROPOUT" --threads 2 \
  --seed "$SEED" | tee "$WORK/ernie.jsonl"
echo "== PyTorch, same weights and order"
/usr/bin/python3 tools/train_baseline_torch.py --ernie "$ERNIE" --init-from "$WORK/init/model.safetensors" \
  --order ernie --dropout "$DROPOUT" --seed "$SEED" --print-steps 40 | tee "$WORK/torch.jsonl"

/usr/bin/python3 - "$WORK/ernie.jsonl" "$WORK/torch.jsonl" "$WORK/ernie/checkpoint/trainer_state.safetensors" <<'PY'
import json, struct, sys
def lines(path):
    return [json.loads(l) for l in open(path) if l.startswith("{")]
e = [j for j in lines(sys.argv[1]) if "epoch" in j]
t = [j for j in lines(sys.argv[2]) if "epoch" in j]
# Per-step losses: ours from the checkpoint's history (safetensors metadata), PyTorch's printed.
raw = open(sys.argv[3], "rb").read()
header = json.loads(raw[8:8 + struct.unpack("<Q", raw[:8])[0]])
ours = dict(map(tuple, json.loads(header["__metadata__"]["state"])["history"]["step_loss"]))
steps = [j for j in lines(sys.argv[2]) if "step" in j and "loss" in j]
worst = max(abs(ours[j["step"]] - j["loss"]) for j in steps)
print(f"\nfirst {len(steps)} steps: largest |loss difference| {worst:.2e} "
      f"(step 1: {ours[1]:.6f} vs {steps[0]['loss']:.6f})")
print("\n| epoch | train loss ernie.cpp | train loss PyTorch | eval accuracy ernie.cpp | eval accuracy PyTorch |")
print("|---|---|---|---|---|")
for a, b in zip(e, t):
    print(f"| {a['epoch']} | {a['train_loss']:.4f} | {b['train_loss']:.4f} | {a['eval_accuracy']:.4f} | {b['eval_accuracy']:.4f} |")
PY
