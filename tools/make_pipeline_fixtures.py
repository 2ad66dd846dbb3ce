#!/usr/bin/env python3
"""Reference cases for the task pipelines' post-processing (tests/fixtures/pipeline/cases.json).

Independent of ernie: the encodings come from Hugging Face tokenizers (the Rust core through npm's
`tokenizers`, tools/tokenizer/hf_windows.js), the logits from numpy's seeded generator, and the
expected answers from transformers' pipeline rules transcribed below from transformers' sources
(src/transformers/pipelines/{text_classification,token_classification,question_answering,
fill_mask}.py, v4.4x): softmax/sigmoid choice, gather_pre_entities / aggregate_words /
group_entities, select_starts_ends / decode_spans / get_indices, get_target_ids / fill-mask
postprocess. The C++ test (tests/pipeline_test.cc) feeds the same encodings and logits to
src/pipeline and compares.

usage: TOKENIZERS_MODULE=.../node_modules/tokenizers python3 tools/make_pipeline_fixtures.py \\
           ../shared/data tests/fixtures/pipeline
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA, OUT = sys.argv[1], sys.argv[2]
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def node(vocab, lines, opts, lower=True):
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.txt"), os.path.join(d, "out.jsonl")
        with open(src, "w") as f:
            f.write("".join(l + "\n" for l in lines))
        subprocess.run(["node", os.path.join(ROOT, "tools/tokenizer/hf_windows.js"), vocab, "1" if lower else "0", src,
                        dst, json.dumps(opts)], check=True)
        return [json.loads(l) for l in open(dst)]


# ---- a small vocabulary: the special tokens and every piece the fixture texts need ------------
TEXTS_EN = [
    "Hugging Face Inc. is a company based in New York City, near the Manhattan Bridge.",
    "Microsoft unbelievably tokenizes antidisestablishmentarianism in Seattle.",
    "don't stop believing: it's the Eagles' best song, isn't it?",
]
TEXTS_ZH = ["北京是中国的首都，腾讯总部位于深圳南山区。", "李白是唐朝著名诗人，被称为诗仙。"]
QA_EN = {
    "question": "Where is the bridge?",
    "context": ("The company was founded in 2016 by French entrepreneurs. It started as a chatbot app for teenagers. "
                "Its headquarters are in the DUMBO neighborhood of Brooklyn, very close to the Manhattan Bridge, and "
                "the team works with researchers in Paris and New York on open source machine learning libraries."),
}
QA_ZH = {"question": "腾讯总部在哪里？", "context": "腾讯是一家中国公司，成立于一九九八年。它的总部位于广东省深圳市南山区，员工超过十万人。"}
MASK_TEXTS = ["the capital of france is [MASK].", "[MASK] is the [MASK] of the united states."]


def build_vocab():
    pieces = set()
    for name, texts in [("bert-base-uncased-vocab", TEXTS_EN + [QA_EN["question"], QA_EN["context"]] + MASK_TEXTS),
                        ("bert-base-chinese-vocab", TEXTS_ZH + [QA_ZH["question"], QA_ZH["context"]])]:
        vocab_file = os.path.join(DATA, name, "vocab.txt")
        full = [l.rstrip("\n") for l in open(vocab_file, encoding="utf-8")]
        for e in node(vocab_file, texts, {}):
            pieces.update(full[i] for i in e["input_ids"])
    extra = ["paris", "london", "capital", "city", "president", "##s", "the", "a", "berlin"]
    words = sorted(pieces.union(extra) - set(SPECIALS))
    return SPECIALS + words


def softmax(x):
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def decoder_join(tokens):   # tokenizers' WordPiece decoder (prefix ##, cleanup) = convert_tokens_to_string
    out = ""
    for i, t in enumerate(tokens):
        if i != 0:
            t = t[2:] if t.startswith("##") else " " + t
        for a, b in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                     (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]:
            t = t.replace(a, b)
        out += t
    return out


# ---- transformers' rules -------------------------------------------------------------------
def text_classification(logits, labels, problem_type, function_to_apply, top_k):
    n = len(labels)
    if function_to_apply is None:
        function_to_apply = "sigmoid" if problem_type == "multi_label_classification" or n == 1 else "softmax"
    scores = {"sigmoid": sigmoid, "softmax": softmax, "none": lambda x: np.asarray(x, dtype=np.float64)}[
        function_to_apply](logits)
    d = [{"label": labels[i], "score": float(s)} for i, s in enumerate(scores)]
    d.sort(key=lambda x: x["score"], reverse=True)
    return d if top_k is None else d[:top_k]


def token_classification(text, enc, vocab, logits, labels, strategy, ignore_labels):
    scores = softmax(logits)
    pre = []
    for idx, ts in enumerate(scores):
        if enc["special_tokens_mask"][idx]:
            continue
        word = vocab[enc["input_ids"][idx]]
        s, e = enc["offsets"][idx]
        word_ref = text[s:e]
        is_subword = len(word) != len(word_ref)
        if enc["input_ids"][idx] == vocab.index("[UNK]"):
            word, is_subword = word_ref, False
        pre.append({"word": word, "scores": ts, "start": s, "end": e, "index": idx, "is_subword": is_subword})

    def agg_word(ents):
        word = decoder_join([x["word"] for x in ents])
        if strategy == "first":
            sc = ents[0]["scores"]
        elif strategy == "max":
            sc = max(ents, key=lambda x: x["scores"].max())["scores"]
        else:
            sc = np.nanmean(np.stack([x["scores"] for x in ents]), axis=0)
        i = int(sc.argmax())
        return {"entity": labels[i], "score": float(sc[i]), "word": word, "start": ents[0]["start"], "end": ents[-1]["end"]}

    if strategy in ("none", "simple"):
        ents = []
        for p in pre:
            i = int(p["scores"].argmax())
            ents.append({"entity": labels[i], "score": float(p["scores"][i]), "index": p["index"], "word": p["word"],
                         "start": p["start"], "end": p["end"]})
    else:
        ents, group = [], None
        for p in pre:
            if group is None:
                group = [p]
            elif p["is_subword"]:
                group.append(p)
            else:
                ents.append(agg_word(group))
                group = [p]
        ents.append(agg_word(group))

    def tag(name):
        if name.startswith("B-"):
            return "B", name[2:]
        if name.startswith("I-"):
            return "I", name[2:]
        return "I", name

    def sub(group):
        return {"entity_group": group[0]["entity"].split("-")[-1], "score": float(np.mean([g["score"] for g in group])),
                "word": decoder_join([g["word"] for g in group]), "start": group[0]["start"], "end": group[-1]["end"]}

    if strategy != "none":
        groups, cur = [], []
        for e in ents:
            if not cur:
                cur.append(e)
                continue
            bi, t = tag(e["entity"])
            _, lt = tag(cur[-1]["entity"])
            if t == lt and bi != "B":
                cur.append(e)
            else:
                groups.append(sub(cur))
                cur = [e]
        if cur:
            groups.append(sub(cur))
        ents = groups
    return [e for e in ents if e.get("entity") not in ignore_labels and e.get("entity_group") not in ignore_labels]


def qa(windows, starts, ends, context, top_k, handle_impossible_answer, max_answer_len, align_to_words):
    min_null_score = 1000000
    answers = []
    for enc, start, end in zip(windows, starts, ends):
        p_mask = np.asarray([s != 1 for s in enc["sequence_ids"]], dtype=np.int64)
        cls = np.asarray(enc["input_ids"]) == vocab.index("[CLS]")
        p_mask[cls] = 0
        attention = np.asarray([enc["attention_mask"]])
        undesired = np.abs(p_mask - 1) & attention
        mask = undesired == 0.0
        start = np.where(mask, -10000.0, np.asarray([start], dtype=np.float64))
        end = np.where(mask, -10000.0, np.asarray([end], dtype=np.float64))
        start = np.exp(start - start.max(axis=-1, keepdims=True))
        start = start / start.sum()
        end = np.exp(end - end.max(axis=-1, keepdims=True))
        end = end / end.sum()
        if handle_impossible_answer:
            min_null_score = min(min_null_score, (start[0, 0] * end[0, 0]).item())
        start[0, 0] = end[0, 0] = 0.0
        # decode_spans
        outer = np.matmul(np.expand_dims(start, -1), np.expand_dims(end, 1))
        candidates = np.tril(np.triu(outer), max_answer_len - 1)
        flat = candidates.flatten()
        if top_k == 1:
            idx_sort = [np.argmax(flat)]
        else:
            idx_sort = np.argsort(-flat, kind="stable")[:top_k]
        s_idx, e_idx = np.unravel_index(idx_sort, candidates.shape)[1:]
        desired = np.isin(s_idx, undesired.nonzero()) & np.isin(e_idx, undesired.nonzero())
        s_idx, e_idx = s_idx[desired], e_idx[desired]
        scores = candidates[0, s_idx, e_idx]
        for s, e, score in zip(s_idx, e_idx, scores):
            if score <= 0:
                continue   # ernie documents that zero-probability spans are not answers
            w_s, w_e = enc["word_ids"][s], enc["word_ids"][e]
            if align_to_words and w_s >= 0 and w_e >= 0:
                toks = [k for k in range(len(enc["input_ids"])) if enc["sequence_ids"][k] == 1]
                ws = [k for k in toks if enc["word_ids"][k] == w_s]
                we = [k for k in toks if enc["word_ids"][k] == w_e]
                si, ei = enc["offsets"][ws[0]][0], enc["offsets"][we[-1]][1]
            else:
                si, ei = enc["offsets"][s][0], enc["offsets"][e][1]
            answers.append({"score": float(score), "start": si, "end": ei, "answer": context[si:ei]})
    if handle_impossible_answer:
        answers.append({"score": min_null_score, "start": 0, "end": 0, "answer": ""})
    return sorted(answers, key=lambda x: x["score"], reverse=True)[:top_k]


def fill_mask(enc, logits, top_k, targets, vocab_file):
    ids = np.asarray(enc["input_ids"])
    mask_id = vocab.index("[MASK]")
    masked = np.nonzero(ids == mask_id)[0]
    target_ids = None
    if targets:
        tids = []
        for t in targets:
            if t in vocab:
                tids.append(vocab.index(t))
            else:
                first = node(vocab_file, [t], {})[0]["input_ids"][1:-1]
                if first:
                    tids.append(first[0])
        target_ids = list(dict.fromkeys(tids))   # ernie keeps the first occurrence's order (transformers: a set)
        top_k = min(top_k, len(target_ids))
    probs = softmax(logits)
    if target_ids is not None:
        probs = probs[..., target_ids]
    single = len(masked) == 1
    result, to_decode = [], []
    for i in range(len(masked)):
        order = np.argsort(-probs[i], kind="stable")[:top_k]
        row = []
        for p in order:
            tok = target_ids[p] if target_ids is not None else int(p)
            filled = ids.copy()
            filled[masked[i]] = tok
            filled = filled[filled != vocab.index("[PAD]")]
            to_decode += [json.dumps([int(x) for x in filled]), json.dumps([tok])]
            row.append({"score": float(probs[i][p]), "token": tok, "single": single})
        result.append(row)
    # decoding by HF tokenizers (clean_up_tokenization_spaces: transformers' rule on top)
    dec = node(vocab_file, to_decode, {"decode_ids": True})
    k = 0
    for row in result:
        for r in row:
            seq, tok = dec[k], dec[k + 1]
            k += 2
            r["sequence"] = clean_up(seq["skip"] if r.pop("single") else seq["keep"])
            r["token_str"] = clean_up(tok["keep"])
    return result[0] if len(result) == 1 else result


def clean_up(s):
    for a, b in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                 (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")]:
        s = s.replace(a, b)
    return s


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    vocab = build_vocab()
    vocab_file = os.path.join(OUT, "vocab.txt")
    with open(vocab_file, "w", encoding="utf-8") as f:
        f.write("".join(t + "\n" for t in vocab))
    rng = np.random.default_rng(20261201)
    cases = []

    labels3 = ["negative", "neutral", "positive"]
    for fn in [None, "softmax", "sigmoid", "none"]:
        for top_k in [1, 2, None]:
            z = (rng.standard_normal(3) * 2).astype(np.float32)
            cases.append({"task": "text-classification", "labels": labels3, "problem_type": "", "logits": z.tolist(),
                          "options": {"function_to_apply": fn, "top_k": top_k},
                          "expected": text_classification(z, labels3, "", fn, top_k)})
    for labels, pt in [(["toxic", "obscene", "threat", "insult"], "multi_label_classification"), (["score"], "")]:
        z = (rng.standard_normal(len(labels)) * 2).astype(np.float32)
        cases.append({"task": "text-classification", "labels": labels, "problem_type": pt, "logits": z.tolist(),
                      "options": {"function_to_apply": None, "top_k": None},
                      "expected": text_classification(z, labels, pt, None, None)})

    ner = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "MISC"]
    for text in TEXTS_EN + TEXTS_ZH:
        enc = node(vocab_file, [text], {})[0]
        L = len(enc["input_ids"])
        z = (rng.standard_normal((L, len(ner))) * 2).astype(np.float32)
        z[:, 0] += 0.5   # some O, some entities; sub-words of a word disagree at random
        runs = [{"options": {"aggregation_strategy": strategy, "ignore_labels": ignore},
                 "expected": token_classification(text, enc, vocab, z, ner, strategy, ignore)}
                for strategy in ["none", "simple", "first", "average", "max"] for ignore in (["O"], [])]
        cases.append({"task": "token-classification", "text": text, "labels": ner, "encoding": enc,
                      "logits": z.tolist(), "runs": runs})

    for sample, max_len, stride in [(QA_EN, 48, 16), (QA_ZH, 32, 8)]:
        windows = node(vocab_file, [sample["question"] + "\t" + sample["context"]],
                       {"max_length": max_len, "stride": stride, "strategy": "OnlySecond", "pair": True})
        for variant in range(4):
            starts, ends = [], []
            for w in windows:
                L = len(w["input_ids"])
                starts.append((rng.standard_normal(L) * 2).astype(np.float32))
                ends.append((rng.standard_normal(L) * 2).astype(np.float32))
            if variant == 1 and len(windows) > 1:
                # An answer across the boundary of window 0: its start in the overlap, its end beyond
                # window 0 (window 1 holds it whole); window 0 can only offer a cut version.
                ctx0 = [k for k, s in enumerate(windows[0]["sequence_ids"]) if s == 1]
                ctx1 = [k for k, s in enumerate(windows[1]["sequence_ids"]) if s == 1]
                overlap = stride
                starts[0][ctx0[-2]] += 8
                ends[0][ctx0[-1]] += 5
                starts[1][ctx1[overlap - 2]] += 8
                ends[1][ctx1[overlap + 2]] += 8
            if variant == 2:
                for s, e in zip(starts, ends):   # [CLS] wins: an impossible answer
                    s[0] += 12
                    e[0] += 12
            runs = [{"options": {"top_k": top_k, "handle_impossible_answer": impossible, "max_answer_len": max_answer,
                                 "align_to_words": align},
                     "expected": qa(windows, starts, ends, sample["context"], top_k, impossible, max_answer, align)}
                    for top_k, impossible, max_answer, align in [(1, False, 15, True), (3, True, 15, True),
                                                                 (2, False, 4, False), (5, True, 30, True)]]
            cases.append({"task": "question-answering", "question": sample["question"], "context": sample["context"],
                          "windows": windows, "start_logits": [s.tolist() for s in starts],
                          "end_logits": [e.tolist() for e in ends], "runs": runs})

    V = len(vocab)
    for text in MASK_TEXTS:
        enc = node(vocab_file, [text], {})[0]
        n_masks = enc["input_ids"].count(vocab.index("[MASK]"))
        z = (rng.standard_normal((n_masks, V)) * 3).astype(np.float32)
        runs = [{"options": {"top_k": top_k, "targets": targets}, "expected": fill_mask(enc, z, top_k, targets, vocab_file)}
                for top_k, targets in [(5, []), (3, ["paris", "london", "berlin", "parisian", "zzzq"]), (2, ["city"])]]
        cases.append({"task": "fill-mask", "text": text, "encoding": enc, "logits": z.tolist(), "runs": runs})

    for pooling in ["cls", "mean", "max"]:
        for normalize in [False, True]:
            h = rng.standard_normal((7, 16)).astype(np.float32)
            if pooling == "cls":
                v = h[0].astype(np.float64)
            elif pooling == "mean":
                v = h.astype(np.float64).mean(axis=0)
            else:
                v = h.max(axis=0).astype(np.float64)
            if normalize:
                v = v / max(np.linalg.norm(v), 1e-12)
            cases.append({"task": "feature-extraction", "hidden": h.tolist(),
                          "options": {"pooling": pooling, "normalize": normalize}, "expected": v.tolist()})

    with open(os.path.join(OUT, "cases.json"), "w", encoding="utf-8") as f:
        json.dump({"generator": "tools/make_pipeline_fixtures.py", "cases": cases}, f, ensure_ascii=False)
    print(f"{sum(len(c.get('runs', [0])) for c in cases)} cases, vocab of {len(vocab)} -> {OUT}")
