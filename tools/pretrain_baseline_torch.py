"""PyTorch side of the `ernie pretrain` speed benchmark (issue 16): masked-LM training of the tiny
shape (configs/ernie-1.0-base-zh.json with 2 layers x 128, 4 heads, intermediate 512, vocab 18000)
on THUCNews titles, batch 32 x up to 64 tokens, 15 % of the tokens masked as transformers'
DataCollatorForLanguageModeling (80 % [MASK], 10 % random, 10 % kept; specials never), AdamW.

The head is BertForMaskedLM's: transform dense + activation + LayerNorm, decoder tied to the word
embeddings plus a bias, over every position (as transformers computes prediction_scores), then
cross-entropy with ignore_index=-100. The encoder is tools/train_baseline_torch.py's (HF training
semantics, parameters named as transformers). Texts are tokenized by `ernie tokenize` (identical
to HF BertTokenizerFast). Prints one JSON line: tokens/s of the training steps (forward, backward,
AdamW), excluding tokenization.

    OPENBLAS_NUM_THREADS=1 /usr/bin/python3 tools/pretrain_baseline_torch.py --ernie build/bin/ernie --steps 60
"""
import argparse
import json
import os
import sys
import tempfile
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train_baseline_torch as tb  # noqa: E402

ROOT = os.path.dirname(HERE)
DATA = os.path.join(ROOT, "..", "shared", "data")


class ErnieForMaskedLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.ernie = tb.Base(c)
        H = c["hidden_size"]
        self.transform = nn.Linear(H, H)
        self.norm = nn.LayerNorm(H, eps=c["layer_norm_eps"])
        self.bias = nn.Parameter(torch.zeros(c["vocab_size"]))
        self.act = {"relu": F.relu, "gelu": F.gelu}[c["hidden_act"]]
        self.apply(ErnieForSequenceClassificationInit(c))

    def forward(self, ids, mask):
        additive = (1.0 - mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        h = self.ernie.encoder(self.ernie.embeddings(ids), additive)
        t = self.norm(self.act(self.transform(h)))
        return F.linear(t, self.ernie.embeddings.word_embeddings.weight, self.bias)   # [B, L, V], every position


class ErnieForSequenceClassificationInit:   # transformers' _init_weights
    def __init__(self, c):
        self.std = c["initializer_range"]

    def __call__(self, m):
        if isinstance(m, nn.Linear):
            m.weight.data.normal_(0.0, self.std)
            m.bias.data.zero_()
        elif isinstance(m, nn.Embedding):
            m.weight.data.normal_(0.0, self.std)
        elif isinstance(m, nn.LayerNorm):
            m.weight.data.fill_(1.0)
            m.bias.data.zero_()


def mask_tokens(ids, mask, specials, vocab, mask_id, p=0.15):
    """transformers' DataCollatorForLanguageModeling.torch_mask_tokens."""
    labels = ids.clone()
    prob = torch.full(ids.shape, p)
    special = torch.zeros_like(ids, dtype=torch.bool)
    for s in specials:
        special |= ids == s
    prob.masked_fill_(special | (mask == 0), 0.0)
    masked = torch.bernoulli(prob).bool()
    labels[~masked] = -100
    replaced = torch.bernoulli(torch.full(ids.shape, 0.8)).bool() & masked
    ids = ids.clone()
    ids[replaced] = mask_id
    random = torch.bernoulli(torch.full(ids.shape, 0.5)).bool() & masked & ~replaced
    ids[random] = torch.randint(vocab, ids.shape)[random]
    return ids, labels


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ernie", default=os.path.join(ROOT, "build", "bin", "ernie"))
    ap.add_argument("--corpus", default=os.path.join(DATA, "thucnews-10", "dev.txt"))
    ap.add_argument("--vocab", default=os.path.join(DATA, "ernie-1.0-vocab", "vocab.txt"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--batch-size", type=int, default=32)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = json.load(open(os.path.join(ROOT, "configs", "ernie-1.0-base-zh.json")))
    cfg.update(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, intermediate_size=512)
    texts = [l.split("\t")[0] for l in open(a.corpus, encoding="utf-8")]
    with tempfile.TemporaryDirectory() as tmp:
        rows = tb.tokenize(a.ernie, a.vocab, texts, 64, tmp)
    vocab = [l.rstrip("\n").split("\t")[0] for l in open(a.vocab, encoding="utf-8")]
    specials = [vocab.index(t) for t in ("[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]") if t in vocab]
    model = ErnieForMaskedLM(cfg)
    no_decay = lambda n: n.endswith("bias") or "LayerNorm" in n or n.startswith("norm")
    opt = torch.optim.AdamW([
        {"params": [p for n, p in model.named_parameters() if not no_decay(n)], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if no_decay(n)], "weight_decay": 0.0}], lr=1e-4)
    model.train()
    tokens, seconds, losses = 0, 0.0, []
    for step in range(a.steps):
        batch = rows[(step * a.batch_size) % len(rows):][:a.batch_size]
        ids, mask = tb.make_batch(batch)
        ids, labels = mask_tokens(ids, mask, specials, len(vocab), vocab.index("[MASK]"))
        t = time.perf_counter()
        logits = model(ids, mask)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), labels.view(-1), ignore_index=-100)
        loss.backward()
        opt.step()
        opt.zero_grad()
        if step >= 5:   # the first steps warm up allocations
            seconds += time.perf_counter() - t
            tokens += int(mask.sum())
        losses.append(float(loss))
    print(json.dumps({"tokens_per_s": tokens / seconds, "steps": a.steps, "first_loss": losses[0], "last_loss": losses[-1],
                      "torch": torch.__version__, "threads": a.threads}))


if __name__ == "__main__":
    main()
