#!/usr/bin/env python3
"""Builds the tokenizer parity corpus: real text from ../shared/data plus generated Unicode.

usage: make_corpus.py SHARED_DATA_DIR OUT.txt [--random-lines N] [--seed S]
One text per line (no '\n' inside a text); every line is valid UTF-8.
"""
import argparse, json, os, random, sys


def real_lines(data):
    out = []
    for name in ("dev.txt", "test.txt"):                      # THUCNews headlines (zh)
        with open(os.path.join(data, "thucnews-10", name), encoding="utf-8") as f:
            out += [l.rstrip("\n").split("\t")[0] for l in f]
    with open(os.path.join(data, "tnews-clue", "dev.json"), encoding="utf-8") as f:   # TNEWS (zh)
        out += [json.loads(l)["sentence"] for l in f if l.strip()]
    for name in ("dev_few_all.json", "test_public.json", "train_few_all.json"):        # EPRSTMT (zh)
        with open(os.path.join(data, "eprstmt-fewclue", name), encoding="utf-8") as f:
            out += [json.loads(l)["sentence"] for l in f if l.strip()]
    with open(os.path.join(data, "sst2", "glue_sst2_dev.tsv"), encoding="utf-8") as f:  # SST-2 (en)
        out += [l.rstrip("\n").split("\t")[0] for l in f][1:]
    vec = os.path.join(data, "tokenizer-vectors")
    with open(os.path.join(vec, "bert_uncased_llamacpp_vectors.json"), encoding="utf-8") as f:
        out += [c["text"] for c in json.load(f)["cases"]]
    with open(os.path.join(vec, "wordpiece_unit_test_vectors.json"), encoding="utf-8") as f:
        for g in json.load(f)["groups"]:
            for c in g["cases"]:
                out += [c["input"]] if "input" in c else []
                out += c.get("inputs", [])
    # texts with '\n' inside become several lines, as `ernie tokenize` reads them
    return [piece for l in out for piece in l.split("\n")]


# Code point pools: every CJK range BERT names (and their edges), combining marks, punctuation
# blocks, emoji, full-width forms, controls/format chars, scripts with case and accents.
RANGES = [
    (0x20, 0x7E), (0x80, 0x24F), (0x250, 0x36F), (0x370, 0x52F), (0x530, 0x8FF), (0x900, 0xDFF),
    (0xE00, 0xFFF), (0x1000, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x2BFF), (0x2C00, 0x2E7F),
    (0x2E80, 0x33FF), (0x3400, 0x4DBF), (0x4DC0, 0x4DFF), (0x4E00, 0x9FFF), (0xA000, 0xABFF),
    (0xAC00, 0xD7FF), (0xE000, 0xF8FF), (0xF900, 0xFAFF), (0xFB00, 0xFFFF), (0x10000, 0x1FFFF),
    (0x1F300, 0x1FAFF), (0x20000, 0x2A6DF), (0x2A6E0, 0x2A6FF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2B92F), (0x2B920, 0x2CEAF), (0x2CEB0, 0x2EBEF),
    (0x2F800, 0x2FA1F), (0x30000, 0x323AF), (0xE0000, 0xE01EF), (0xF0000, 0x10FFFF),
    (0x0, 0x1F), (0x7F, 0x9F), (0x300, 0x36F), (0xFF00, 0xFFEF), (0x1D100, 0x1D24F),
]


def rand_char(rng):
    if rng.random() < 0.15:      # any scalar value at all
        while True:
            c = rng.randrange(0x110000)
            if not 0xD800 <= c <= 0xDFFF:
                return chr(c)
    lo, hi = rng.choice(RANGES)
    c = rng.randint(lo, hi)
    return "\uFFFD" if 0xD800 <= c <= 0xDFFF else chr(c)


def random_lines(rng, n):
    out = []
    ascii_words = ["the", "Hello", "naïve", "CAFÉ", "don't", "[MASK]", "[CLS]x", "İstanbul", "ΣΊΣΥΦΟΣ", "ß"]
    for i in range(n):
        kind = i % 5
        if kind == 0:    # random chars
            s = "".join(rand_char(rng) for _ in range(rng.randint(0, 60)))
        elif kind == 1:  # words of random chars separated by spaces
            s = " ".join("".join(rand_char(rng) for _ in range(rng.randint(1, 8))) for _ in range(rng.randint(1, 10)))
        elif kind == 2:  # base letters followed by stacks of combining marks (canonical reordering)
            s = "".join(rng.choice("aeiouAEIOUnN") + "".join(chr(rng.randint(0x300, 0x36F)) for _ in range(rng.randint(0, 4)))
                        for _ in range(rng.randint(1, 20)))
        elif kind == 3:  # words around max_input_chars_per_word (100)
            s = rng.choice("abcxyz") * rng.choice([98, 99, 100, 101, 102, 150]) + " " + rng.choice(ascii_words)
        else:            # mixed scripts with real words
            s = " ".join(rng.choice(ascii_words) + rand_char(rng) for _ in range(rng.randint(1, 8)))
        out.append(s.replace("\n", " "))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out")
    ap.add_argument("--random-lines", type=int, default=50000)
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    lines = real_lines(a.data)
    n_real = len(lines)
    lines += random_lines(rng, a.random_lines)
    lines.append("x" * 10000)                     # a 10,000-char word
    with open(a.out, "w", encoding="utf-8", newline="\n", errors="surrogatepass") as f:
        for l in lines:
            f.write(l + "\n")
    print(json.dumps({"lines": len(lines), "real": n_real, "generated": len(lines) - n_real}))


if __name__ == "__main__":
    sys.exit(main())
