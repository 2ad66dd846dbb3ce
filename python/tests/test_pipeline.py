"""ernie.pipeline: transformers' call conventions and result shapes, the same answers as
`ernie pipeline` (both run src/pipeline), errors as ernie.ErnieError, and thread safety."""
import json
import shutil
import threading

import pytest

import ernie
from conftest import FIXTURES, run_cli

WORDS = [chr(ord("a") + i % 26) + str(i) for i in range(5, 120)]


def folder(tmp_path, fixture):
    d = tmp_path / fixture
    d.mkdir()
    for f in ("config.json", "model.safetensors"):
        shutil.copy(FIXTURES / fixture / f, d / f)
    (d / "vocab.txt").write_text("\n".join(["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"] + WORDS) + "\n")
    return d


def cli(model, task, *texts, options=None):
    args = ["pipeline", task, "--model", model] + [a for t in texts for a in ("--text", t)]
    if options:
        args += ["--options", json.dumps(options)]
    return [json.loads(line) for line in run_cli(*args).stdout.splitlines()]


def close(a, b):
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(close(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(close(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return abs(a - b) <= 1e-6 * max(1.0, abs(a))
    return a == b


def test_text_classification_shapes_and_cli(tmp_path):
    d = folder(tmp_path, "ernie_relu_seqcls")
    p = ernie.pipeline("text-classification", model=str(d))
    one = p("f5 g6 h7")
    assert isinstance(one, list) and len(one) == 1 and set(one[0]) == {"label", "score"}   # transformers' legacy shape
    many = p(["f5 g6 h7", "i8"])
    assert len(many) == 2 and isinstance(many[1], dict)
    top = p("f5 g6 h7", top_k=None)
    assert [x["label"] for x in top] == sorted([x["label"] for x in top], key=lambda l: -[y["score"] for y in top if y["label"] == l][0])
    assert close(top, cli(d, "text-classification", "f5 g6 h7", options={"top_k": None})[0])
    assert close(one[0], cli(d, "text-classification", "f5 g6 h7")[0])
    pair = p({"text": "f5 g6", "text_pair": "h7"})
    assert len(pair) == 1
    assert abs(sum(x["score"] for x in p("f5", top_k=3)) - 1.0) < 1e-6


def test_question_answering_keywords_and_windows(tmp_path):
    d = folder(tmp_path, "bert_gelu_new_qa")
    p = ernie.pipeline(model=str(d))   # the head's task
    assert p.task == "question-answering"
    context = " ".join(WORDS[:60])
    a = p(question="f5 g6", context=context, max_seq_len=24, doc_stride=8)
    assert set(a) == {"score", "start", "end", "answer"} and context[a["start"]:a["end"]] == a["answer"]
    b = p({"question": "f5 g6", "context": context}, max_seq_len=24, doc_stride=8, top_k=3)
    assert len(b) == 3 and close(b[0], a)
    line = json.dumps({"question": "f5 g6", "context": context})
    out = run_cli("pipeline", "--model", d, "--options", json.dumps({"max_seq_len": 24, "doc_stride": 8}), input=line + "\n")
    assert close(json.loads(out.stdout), a)


def test_token_classification_and_fill_mask(tmp_path):
    tagger = ernie.pipeline("ner", model=str(folder(tmp_path, "ernie_gelu_tokcls_notask")))
    ents = tagger("f5 g6 h7", aggregation_strategy="simple", ignore_labels=[])
    assert ents and all("entity_group" in e for e in ents)
    assert len(tagger(["f5", "g6 h7"], ignore_labels=[])) == 2
    d = folder(tmp_path, "bert_gelu_mlm")
    fm = ernie.pipeline("fill-mask", model=str(d))
    r = fm("f5 [MASK] h7", top_k=3)
    assert len(r) == 3 and all(x["sequence"] == "f5 " + x["token_str"] + " h7" for x in r)
    assert close(r, cli(d, "fill-mask", "f5 [MASK] h7", options={"top_k": 3})[0])
    two = fm("[MASK] g6 [MASK]", top_k=2)
    assert len(two) == 2 and len(two[0]) == 2   # a list per mask


def test_feature_extraction_shapes(tmp_path):
    d = folder(tmp_path, "bert_gelu_fast_model")
    fe = ernie.pipeline("feature-extraction", model=str(d))
    raw = fe("f5 g6 h7")
    assert len(raw) == 1 and len(raw[0]) == 5 and len(raw[0][0]) == 24   # [1, tokens, hidden] as transformers
    pooled = fe(["f5 g6 h7", "i8"], pooling="mean", normalize=True)
    assert len(pooled) == 2 and abs(sum(v * v for v in pooled[0]) - 1.0) < 1e-5


def test_dtype_pipeline_agrees_with_the_cli(tmp_path):
    # A pipeline with a dtype loads for that type only (no fp32 copy); `ernie pipeline --dtype`
    # does the same, and both run the same kernels, so the answers agree.
    d = folder(tmp_path, "ernie_relu_seqcls")
    for dtype in ("bf16", "int8"):
        p = ernie.pipeline("text-classification", model=str(d), dtype=dtype)
        got = p("f5 g6 h7", top_k=None)
        want = json.loads(run_cli("pipeline", "text-classification", "--model", str(d), "--dtype", dtype,
                                  "--text", "f5 g6 h7", "--options", json.dumps({"top_k": None})).stdout)
        assert close(got, want), dtype
    with pytest.raises(ernie.ErnieError, match="unknown dtype 'f64'"):
        ernie.pipeline("text-classification", model=str(d), dtype="f64")


def test_errors_are_ernie_errors(tmp_path):
    d = folder(tmp_path, "ernie_relu_seqcls")
    with pytest.raises(ernie.ErnieError, match="cannot do fill-mask"):
        ernie.pipeline("fill-mask", model=str(d))
    with pytest.raises(ernie.ErnieError, match="unknown task"):
        ernie.pipeline("summarization", model=str(d))
    p = ernie.pipeline(model=str(d))
    with pytest.raises(ernie.ErnieError, match="no parameter 'topk'"):
        p("f5", topk=2)
    with pytest.raises(ernie.ErnieError, match="inputs"):
        p(5)
    with pytest.raises(TypeError):
        p()
    with pytest.raises(ValueError):
        ernie.pipeline("text-classification")


def test_concurrent_calls_agree(tmp_path):
    p = ernie.pipeline(model=str(folder(tmp_path, "ernie_relu_seqcls")))
    texts = [" ".join(WORDS[i:i + 5 + i % 7]) for i in range(40)]
    want = p(texts, top_k=None)
    got = [None] * 4

    def work(k):
        got[k] = p(texts, top_k=None)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(close(g, want) for g in got)
