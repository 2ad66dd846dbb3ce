#!/usr/bin/env python3
"""Compares two id files (one JSON array per line) for the same corpus.
usage: compare.py CORPUS REF.jsonl OURS.jsonl [--show N]  -> prints 'same total', the first N differences"""
import json, sys

corpus, ref, ours = sys.argv[1:4]
show = int(sys.argv[sys.argv.index("--show") + 1]) if "--show" in sys.argv else 3
texts = open(corpus, encoding="utf-8", newline="\n").read().split("\n")
a = open(ref).read().split("\n")
b = open(ours).read().split("\n")
total = len(a) - 1
same = 0
shown = 0
for i in range(total):
    if i < len(b) and a[i] == b[i]:
        same += 1
    elif shown < show:
        shown += 1
        t = texts[i]
        print(f"line {i+1}: {t[:80]!r}\n  {[hex(ord(c)) for c in t[:40]]}\n  hf:   {a[i][:200]}\n  ours: {b[i][:200] if i < len(b) else None}", file=sys.stderr)
print(same, total)
