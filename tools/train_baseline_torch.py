"""PyTorch side of the `ernie train` benchmark (issue 6, "Done when").

Trains a tiny ERNIE sequence classifier from scratch with the issue's recipe and prints one JSON line
per epoch plus a final summary, so that `ernie train` can be compared with it on the same machine:

    /usr/bin/python3 tools/train_baseline_torch.py                # defaults = the benchmark
    /usr/bin/python3 tools/train_baseline_torch.py --check        # also cross-check the model vs Reference

Recipe (defaults): configs/ernie-1.0-base-zh.json with hidden_size 128, 2 layers, 4 heads, intermediate
512 (vocab_size 18000, relu, dropout 0.1, use_task_id as configured), num_labels from class.txt (10);
train on ../shared/data/thucnews-10/dev.txt, evaluate on test.txt after every epoch; 3 epochs, batch 32,
AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 on every parameter except biases and
LayerNorm weights; linear warmup over ceil(0.1 * total_steps) steps from 0 then linear decay to 0
(transformers' get_linear_schedule_with_warmup); no gradient clipping (--max-grad-norm to add it);
shuffle every epoch (torch.Generator seeded with --seed + epoch); last partial batch kept; truncation
to 64 tokens ([CLS] and [SEP] included), padding to the longest row of each batch; torch threads 2.

Inputs are identical to ours: the texts are tokenized by our own tokenizer (proven identical to HF's
BertTokenizerFast) with

    ernie tokenize --vocab VOCAB --max-len 64 --ids-only --input TEXTS --output IDS

(one JSON array of ids per line), then token_type_ids and task_type_ids are 0 and the mask is 1 on
every real token.

The model is a plain nn.Module with HF's BERT/ERNIE training semantics (post-LayerNorm; dropout after
the embedding LayerNorm, on attention probabilities, after the attention output projection and the FFN
output projection, and on the pooled output before the classifier; pooler tanh on [CLS]; activation
from the config), parameters named as transformers names them, initialized as HF _init_weights
(Linear/Embedding weights ~ N(0, initializer_range), biases 0, padding row of word embeddings 0,
LayerNorm 1/0). `--check` runs it in eval mode against tools/torch_reference.py's Reference (which
reproduces transformers' outputs within 1e-6) on the same weights.

Same start (`bench/train/same_start.sh`): `--init-from model.safetensors` takes the initial weights
from a file (e.g. `ernie init`'s, HF names), `--order ernie` shuffles with ernie.cpp's epoch order
(Fisher-Yates over Philox4x32-10 draws, written out below from the published algorithm), and
`--dropout 0` turns dropout off: both engines then see the same numbers and the same batches, and
their curves differ only by float rounding.

Timing: `seconds` is the wall time of an epoch's training steps (forward, backward, optimizer), not the
evaluation; `tokens_per_s` counts real (unpadded) tokens of that epoch over those seconds.
train_loss is the mean cross-entropy over the epoch's examples.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "..", "shared", "data")


# --------------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------------
ACT = {"relu": F.relu, "gelu": F.gelu, "tanh": torch.tanh,
       "gelu_new": lambda x: F.gelu(x, approximate="tanh"), "silu": F.silu}


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.word_embeddings = nn.Embedding(c["vocab_size"], H, padding_idx=c.get("pad_token_id", 0))
        self.position_embeddings = nn.Embedding(c["max_position_embeddings"], H)
        self.token_type_embeddings = nn.Embedding(c["type_vocab_size"], H)
        self.use_task_id = bool(c.get("use_task_id"))
        if self.use_task_id:
            self.task_type_embeddings = nn.Embedding(c.get("task_type_vocab_size", 3), H)
        self.LayerNorm = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, ids):
        B, L = ids.shape
        zeros = torch.zeros_like(ids)
        x = self.word_embeddings(ids) + self.token_type_embeddings(zeros)
        x = x + self.position_embeddings(torch.arange(L).unsqueeze(0).expand(B, L))
        if self.use_task_id:
            x = x + self.task_type_embeddings(zeros)
        return self.dropout(self.LayerNorm(x))


class SelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.nh = c["num_attention_heads"]
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)
        self.dropout = nn.Dropout(c["attention_probs_dropout_prob"])

    def forward(self, x, additive_mask):
        B, L, H = x.shape
        d = H // self.nh
        heads = lambda t: t.view(B, L, self.nh, d).permute(0, 2, 1, 3)
        q, k, v = heads(self.query(x)), heads(self.key(x)), heads(self.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + additive_mask
        probs = self.dropout(torch.softmax(scores, dim=-1))
        return torch.matmul(probs, v).permute(0, 2, 1, 3).reshape(B, L, H)


class DenseLN(nn.Module):  # BertSelfOutput / BertOutput: dense, dropout, residual, LayerNorm
    def __init__(self, c, n_in):
        super().__init__()
        H = c["hidden_size"]
        self.dense = nn.Linear(n_in, H)
        self.LayerNorm = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.dropout = nn.Dropout(c["hidden_dropout_prob"])

    def forward(self, h, residual):
        return self.LayerNorm(self.dropout(self.dense(h)) + residual)


class Attention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self = SelfAttention(c)
        self.output = DenseLN(c, c["hidden_size"])

    def forward(self, x, mask):
        return self.output(self.self(x, mask), x)


class Intermediate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.act = ACT[c["hidden_act"]]

    def forward(self, x):
        return self.act(self.dense(x))


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.attention = Attention(c)
        self.intermediate = Intermediate(c)
        self.output = DenseLN(c, c["intermediate_size"])

    def forward(self, x, mask):
        x = self.attention(x, mask)
        return self.output(self.intermediate(x), x)


class Encoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])

    def forward(self, x, mask):
        for layer in self.layer:
            x = layer(x, mask)
        return x


class Pooler(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, h):
        return torch.tanh(self.dense(h[:, 0]))


class Base(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = Embeddings(c)
        self.encoder = Encoder(c)
        self.pooler = Pooler(c)


class ErnieForSequenceClassification(nn.Module):
    def __init__(self, c, num_labels):
        super().__init__()
        self.c = c
        self.ernie = Base(c)  # the attribute name gives transformers' "ernie." prefix
        drop = c.get("classifier_dropout")
        self.dropout = nn.Dropout(c["hidden_dropout_prob"] if drop is None else drop)
        self.classifier = nn.Linear(c["hidden_size"], num_labels)
        self.apply(self._init_weights)

    def _init_weights(self, m):  # transformers BertPreTrainedModel._init_weights
        std = self.c["initializer_range"]
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(0.0, std)
            m.bias.data.zero_()
        elif isinstance(m, nn.Embedding):
            m.weight.data.normal_(0.0, std)
            if m.padding_idx is not None:
                m.weight.data[m.padding_idx].zero_()
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()

    def forward(self, ids, mask):
        additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        h = self.ernie.encoder(self.ernie.embeddings(ids), additive)
        return self.classifier(self.dropout(self.ernie.pooler(h)))


# --------------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------------
def read_tsv(path):
    texts, labels = [], []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            cols = line.split("\t")
            if len(cols) != 2:
                sys.exit(f"{path}:{n}: expected text<TAB>label, got {len(cols)} columns")
            texts.append(cols[0])
            labels.append(int(cols[1]))
    return texts, labels


def tokenize(ernie, vocab, texts, max_len, tmp):
    src, dst = os.path.join(tmp, "texts.txt"), os.path.join(tmp, "ids.jsonl")
    with open(src, "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in texts))
    subprocess.run([ernie, "tokenize", "--vocab", vocab, "--max-len", str(max_len), "--ids-only",
                    "--input", src, "--output", dst], check=True)
    with open(dst) as f:
        ids = [json.loads(line) for line in f]
    if len(ids) != len(texts):
        sys.exit(f"tokenizer returned {len(ids)} rows for {len(texts)} texts")
    return ids


def make_batch(rows):
    L = max(len(r) for r in rows)
    ids = torch.zeros(len(rows), L, dtype=torch.long)
    mask = torch.zeros(len(rows), L, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


def macro_f1(y_true, y_pred, n):
    cm = np.zeros((n, n), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    tp = np.diag(cm).astype(np.float64)
    pred, support = cm.sum(0), cm.sum(1)
    p = np.divide(tp, pred, out=np.zeros(n), where=pred > 0)
    r = np.divide(tp, support, out=np.zeros(n), where=support > 0)
    f = np.divide(2 * p * r, p + r, out=np.zeros(n), where=(p + r) > 0)
    return float(f.mean())


@torch.no_grad()
def evaluate(model, ids, labels, n_labels, batch=64):
    model.eval()
    preds, loss_sum = [], 0.0
    for s in range(0, len(ids), batch):
        x, m = make_batch(ids[s:s + batch])
        y = torch.tensor(labels[s:s + batch])
        logits = model(x, m)
        loss_sum += float(F.cross_entropy(logits, y, reduction="sum"))
        preds.append(logits.argmax(-1))
    model.train()
    pred = torch.cat(preds).numpy()
    y = np.asarray(labels)
    return loss_sum / len(ids), float((pred == y).mean()), macro_f1(y, pred, n_labels)


# --------------------------------------------------------------------------------------------------
# ernie.cpp's data order (src/train/trainer.cc epoch_order), for --order ernie
# --------------------------------------------------------------------------------------------------
M32 = 0xFFFFFFFF


def philox4x32(c, k):
    """Philox4x32-10 (Salmon et al. 2011): counter c[4], key k[2], all uint32."""
    c, k = list(c), list(k)
    for r in range(10):
        if r:
            k = [(k[0] + 0x9E3779B9) & M32, (k[1] + 0xBB67AE85) & M32]
        p0, p1 = 0xD2511F53 * c[0], 0xCD9E8D57 * c[2]
        c = [(p1 >> 32) ^ c[1] ^ k[0], p1 & M32, (p0 >> 32) ^ c[3] ^ k[1], p0 & M32]
    return c


def ernie_epoch_order(n, seed, epoch):
    """Fisher-Yates from the end; draw i is word 0 of philox({i, stream}, seed), as float32 in (0, 1)."""
    stream = 0x0DA7A000 + epoch
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        r = philox4x32([i & M32, i >> 32, stream & M32, stream >> 32], [seed & M32, seed >> 32])
        u = np.float32((r[0] + 0.5) / 4294967296.0)
        j = min(int(u * np.float32(i + 1)), i)
        order[i], order[j] = order[j], order[i]
    return order


def load_initial_weights(model, path):
    sys.path.insert(0, HERE)
    from torch_reference import load_safetensors
    src = load_safetensors(path)
    state = model.state_dict()
    missing = [k for k in state if k not in src]
    if missing:
        sys.exit(f"{path}: lacks {missing[0]} (and {len(missing) - 1} more)")
    for k, t in state.items():
        if tuple(src[k].shape) != tuple(t.shape):
            sys.exit(f"{path}: {k} has shape {src[k].shape}, the model wants {tuple(t.shape)}")
        t.copy_(torch.from_numpy(src[k].astype(np.float32)))


# --------------------------------------------------------------------------------------------------
def check_against_reference(model, cfg, n_labels):
    sys.path.insert(0, HERE)
    from torch_reference import Reference
    c = dict(cfg, architectures=["ErnieForSequenceClassification"],
             id2label={str(i): f"LABEL_{i}" for i in range(n_labels)})
    ref = Reference(c, {k: v.detach().numpy() for k, v in model.state_dict().items()})
    g = torch.Generator().manual_seed(7)
    ids = torch.randint(3, cfg["vocab_size"], (3, 16), generator=g)
    mask = torch.ones_like(ids)
    mask[1, 11:] = 0
    mask[2, 5:] = 0
    ids = ids * mask
    model.eval()
    with torch.no_grad():
        got = model(ids, mask)
    model.train()
    want = ref.forward(ids, mask)["logits"]
    diff = float((got - want).abs().max())
    print(json.dumps({"check": "logits vs torch_reference.Reference", "max_abs_diff": diff}), flush=True)
    if diff > 1e-5:
        sys.exit("the training model disagrees with tools/torch_reference.py")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--train", default=os.path.join(DATA, "thucnews-10", "dev.txt"))
    ap.add_argument("--eval", default=os.path.join(DATA, "thucnews-10", "test.txt"))
    ap.add_argument("--classes", default=os.path.join(DATA, "thucnews-10", "class.txt"))
    ap.add_argument("--vocab", default=os.path.join(DATA, "ernie-1.0-vocab", "vocab.txt"))
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "ernie-1.0-base-zh.json"))
    ap.add_argument("--ernie", default=os.path.join(ROOT, "build", "bin", "ernie"),
                    help="our CLI, used only to tokenize (default build/bin/ernie)")
    ap.add_argument("--hidden-size", type=int, default=128)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--intermediate-size", type=int, default=512)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup-ratio", type=float, default=0.1)
    ap.add_argument("--weight-decay", type=float, default=0.01)
    ap.add_argument("--max-grad-norm", type=float, default=0.0, help="0 = no clipping (default)")
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dropout", type=float, help="override every dropout probability (0: off)")
    ap.add_argument("--init-from", help="initial weights: a model.safetensors with HF names (e.g. ernie init's)")
    ap.add_argument("--order", choices=["torch", "ernie"], default="torch",
                    help="epoch order: torch.randperm seeded with seed + epoch, or ernie.cpp's (same batches)")
    ap.add_argument("--print-steps", type=int, default=0, help="print the loss of the first N steps")
    ap.add_argument("--check", action="store_true", help="cross-check the model against Reference first")
    ap.add_argument("--ddp", type=int, default=0, metavar="N",
                    help="PyTorch DDP over gloo with N processes on this machine (--threads each); "
                         "--batch-size stays the global batch, each rank takes a contiguous share")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after N steps (timing runs)")
    a = ap.parse_args()
    if a.ddp > 0:
        import socket
        import torch.multiprocessing as mp
        with socket.socket() as sock:   # a free port for gloo's rendezvous
            sock.bind(("127.0.0.1", 0))
            os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(sock.getsockname()[1]))
        mp.spawn(run, args=(a.ddp, a), nprocs=a.ddp)
    else:
        run(0, 1, a)


def run(rank, world, a):
    ddp = world > 1
    if ddp:
        import torch.distributed as dist
        dist.init_process_group("gloo", rank=rank, world_size=world)
    say = (lambda *x, **k: print(*x, **k)) if rank == 0 else (lambda *x, **k: None)

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    with open(a.classes, encoding="utf-8") as f:
        classes = [line.strip() for line in f if line.strip()]
    with open(a.config) as f:
        cfg = json.load(f)
    cfg.update(hidden_size=a.hidden_size, num_hidden_layers=a.layers, num_attention_heads=a.heads,
               intermediate_size=a.intermediate_size)
    for k in ("id2label", "label2id"):
        cfg.pop(k, None)
    if a.dropout is not None:
        cfg.update(hidden_dropout_prob=a.dropout, attention_probs_dropout_prob=a.dropout, classifier_dropout=a.dropout)

    tr_texts, tr_labels = read_tsv(a.train)
    ev_texts, ev_labels = read_tsv(a.eval)
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        tr_ids = tokenize(a.ernie, a.vocab, tr_texts, a.max_len, tmp)
        ev_ids = tokenize(a.ernie, a.vocab, ev_texts, a.max_len, tmp)
    tok_seconds = time.perf_counter() - t0

    model = ErnieForSequenceClassification(cfg, len(classes))
    if a.init_from:
        with torch.no_grad():
            load_initial_weights(model, a.init_from)
    if a.check:
        check_against_reference(model, cfg, len(classes))
    no_decay = lambda name: name.endswith(".bias") or "LayerNorm" in name
    groups = [
        {"params": [p for n, p in model.named_parameters() if not no_decay(n)], "weight_decay": a.weight_decay},
        {"params": [p for n, p in model.named_parameters() if no_decay(n)], "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=a.lr, betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = math.ceil(len(tr_ids) / a.batch_size)
    total = steps_per_epoch * a.epochs
    warmup = math.ceil(total * a.warmup_ratio)

    def lr_lambda(step):  # transformers.get_linear_schedule_with_warmup
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    say(json.dumps({"start": True, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "train_rows": len(tr_ids), "eval_rows": len(ev_ids), "labels": len(classes),
                      "params": sum(p.numel() for p in model.parameters()), "steps": total,
                      "warmup_steps": warmup, "tokenize_seconds": round(tok_seconds, 3)}), flush=True)

    net = model
    if ddp:   # gradients averaged over ranks: each rank's loss is its share's mean, shares are equal
        net = torch.nn.parallel.DistributedDataParallel(model)
    model.train()
    total_seconds, total_tokens, step = 0.0, 0, 0
    y_all = torch.tensor(tr_labels)
    for epoch in range(1, a.epochs + 1):
        if a.order == "ernie":
            order = ernie_epoch_order(len(tr_ids), a.seed, epoch)
        else:
            order = torch.randperm(len(tr_ids), generator=torch.Generator().manual_seed(a.seed + epoch)).tolist()
        loss_sum, tokens = 0.0, 0
        t0 = time.perf_counter()
        for s in range(0, len(order), a.batch_size):
            idx = order[s:s + a.batch_size]
            batch_tokens = sum(len(tr_ids[i]) for i in idx)   # the global batch's real tokens
            if ddp:
                share = (len(idx) + world - 1) // world
                idx = idx[rank * share:(rank + 1) * share]
            x, m = make_batch([tr_ids[i] for i in idx])
            loss = F.cross_entropy(net(x, m), y_all[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if a.max_grad_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), a.max_grad_norm)
            opt.step()
            sched.step()
            if sched.last_epoch <= a.print_steps:
                print(json.dumps({"step": sched.last_epoch, "loss": float(loss)}), flush=True)
            loss_sum += float(loss) * len(idx)
            tokens += batch_tokens
            step += 1
            if a.max_steps and step >= a.max_steps:
                break
        seconds = time.perf_counter() - t0
        total_seconds += seconds
        total_tokens += tokens
        if a.max_steps and step >= a.max_steps:
            say(json.dumps({"steps": step, "seconds": round(seconds, 3), "tokens_per_s": round(tokens / seconds, 1),
                            "processes": world, "threads": torch.get_num_threads()}), flush=True)
            return
        if ddp and rank != 0:
            continue
        ev_loss, ev_acc, ev_f1 = evaluate(model, ev_ids, ev_labels, len(classes))
        say(json.dumps({"epoch": epoch, "train_loss": round(loss_sum / len(order), 6),
                          "eval_loss": round(ev_loss, 6), "eval_accuracy": round(ev_acc, 6),
                          "eval_macro_f1": round(ev_f1, 6), "seconds": round(seconds, 3),
                          "tokens_per_s": round(tokens / seconds, 1)}), flush=True)
    if rank != 0:
        return
    say(json.dumps({"summary": True, "train_seconds": round(total_seconds, 3),
                      "tokens_per_s": round(total_tokens / total_seconds, 1), "test_accuracy": round(ev_acc, 6),
                      "test_macro_f1": round(ev_f1, 6), "epochs": a.epochs, "steps": total,
                      "threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
