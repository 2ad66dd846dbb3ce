#!/usr/bin/python3
"""Single-thread throughput of jieba.lcut(text, HMM=False) on a corpus (one text per line):
dictionary loaded first (jieba.initialize), only the cutting timed, best of REPEATS.
usage: /usr/bin/python3 bench/segmenter/jieba_bench.py DICT CORPUS [REPEATS=3]  -> JSON"""
import json
import logging
import sys
import time

import jieba

dict_path, corpus = sys.argv[1], sys.argv[2]
repeats = int(sys.argv[3]) if len(sys.argv) > 3 else 3
jieba.setLogLevel(logging.WARNING)
t0 = time.perf_counter()
tok = jieba.Tokenizer(dict_path)
tok.initialize()   # builds the prefix dict, or reads jieba's marshal cache of it when fresh
load_s = time.perf_counter() - t0
t0 = time.perf_counter()
jieba.Tokenizer.gen_pfdict(open(dict_path, "rb"))   # what the load costs without the cache
build_s = time.perf_counter() - t0
lines = open(corpus, "rb").read().decode("utf-8").split("\n")
if lines and lines[-1] == "":
    lines.pop()
chars = sum(len(l) for l in lines)
best = float("inf")
for _ in range(repeats):
    t1 = time.perf_counter()
    words = 0
    for l in lines:
        words += len(tok.lcut(l, HMM=False))
    best = min(best, time.perf_counter() - t1)
print(json.dumps({"texts": len(lines), "chars": chars, "words": words, "seconds": round(best, 6),
                  "chars_per_s": round(chars / best), "load_s": round(load_s, 3), "build_s": round(build_s, 3)}))
