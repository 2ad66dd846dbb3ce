"""ernie.Tokenizer against `ernie tokenize` on the same inputs and options."""
import json
import threading

import numpy as np
import pytest

from conftest import FIXTURES, SHARED, run_cli, shared_vocab

ernie = pytest.importorskip("ernie")

TEXTS = [
    "Hugging Face visited Gdansk on Tuesday.",
    "The config.json and the ZELENSKY visit",
    "今天天气真好，我们去公园散步吧！",
    "Crème brûlée, naïve café — [MASK] test 🤗 x²",
    "  spaces   and\u3000ideographic space ",
    "a",
]
PAIRS = [("Who visited Gdansk?", "Hugging Face visited Gdansk on Tuesday."),
         ("中文问题", "答案在这里，很长的一段文字。"),
         ("short", "a much longer second text that will need truncation somewhere")]


def vocabs():
    out = [FIXTURES / "ner" / "vocab.txt"]
    for name in ("ernie-3.0-base-vocab", "bert-base-uncased-vocab", "bert-base-chinese-vocab"):
        p = SHARED / "data" / name / "vocab.txt"
        if p.exists():
            out.append(p)
    return out


def cli_tokenize(tmp_path, source, lines, *flags):
    f = tmp_path / "in.txt"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    kind = "--model" if source.is_dir() else "--vocab"
    r = run_cli("tokenize", kind, source, "--input", f, *flags)
    return [json.loads(line) for line in r.stdout.splitlines()]


def as_list(x):
    return [np.asarray(r).tolist() for r in x]


@pytest.mark.parametrize("vocab", vocabs(), ids=lambda p: p.parent.name)
def test_batch_equals_cli(tmp_path, vocab):
    tok = ernie.Tokenizer.from_file(vocab)
    got = tok(TEXTS, return_offsets_mapping=True)
    want = cli_tokenize(tmp_path, vocab, TEXTS)
    assert isinstance(got["input_ids"], list)  # unpadded batch: one array per text
    assert as_list(got["input_ids"]) == [w["input_ids"] for w in want]
    assert as_list(got["token_type_ids"]) == [w["token_type_ids"] for w in want]
    assert as_list(got["attention_mask"]) == [w["attention_mask"] for w in want]
    assert as_list(got["offset_mapping"]) == [w["offsets"] for w in want]
    for ids, w in zip(got["input_ids"], want):
        assert ids.dtype == np.int64
        assert tok.convert_ids_to_tokens(ids.tolist()) == w["tokens"]
        assert tok.convert_tokens_to_ids(w["tokens"]) == w["input_ids"]


@pytest.mark.parametrize("vocab", vocabs(), ids=lambda p: p.parent.name)
@pytest.mark.parametrize("truncation", ["longest_first", "only_first", "only_second"])
def test_pairs_truncated_padded_equal_cli(tmp_path, vocab, truncation):
    tok = ernie.Tokenizer.from_file(vocab)
    a, b = zip(*PAIRS)
    if truncation == "only_first":  # the first texts must be long enough to cut
        a, b = b, a
    got = tok(list(a), list(b), padding="longest", truncation=truncation, max_length=12, return_offsets_mapping=True)
    want = cli_tokenize(tmp_path, vocab, [x + "\t" + y for x, y in zip(a, b)], "--pair", "--max-len", "12",
                        "--truncation", truncation, "--padding", "longest")
    assert got["input_ids"].shape == (len(PAIRS), len(want[0]["input_ids"]))
    assert got["input_ids"].tolist() == [w["input_ids"] for w in want]
    assert got["token_type_ids"].tolist() == [w["token_type_ids"] for w in want]
    assert got["attention_mask"].tolist() == [w["attention_mask"] for w in want]
    assert got["offset_mapping"].tolist() == [w["offsets"] for w in want]
    assert got["offset_mapping"].shape == got["input_ids"].shape + (2,)


def test_max_length_padding_and_no_specials_equal_cli(tmp_path):
    vocab = FIXTURES / "ner" / "vocab.txt"
    tok = ernie.Tokenizer.from_file(vocab)
    got = tok(TEXTS, padding="max_length", max_length=10)
    want = cli_tokenize(tmp_path, vocab, TEXTS, "--max-len", "10", "--padding", "max_length")
    assert got["input_ids"].shape == (len(TEXTS), 10)
    assert got["input_ids"].tolist() == [w["input_ids"] for w in want]
    assert got["attention_mask"].tolist() == [w["attention_mask"] for w in want]
    got = tok(TEXTS, add_special_tokens=False)
    want = cli_tokenize(tmp_path, vocab, TEXTS, "--no-special-tokens")
    assert as_list(got["input_ids"]) == [w["input_ids"] for w in want]


def test_model_folder_and_casing_equal_cli(tmp_path):
    folder = shared_vocab("ernie-3.0-base-vocab").parent
    tok = ernie.Tokenizer.from_file(folder)
    assert as_list(tok(TEXTS)["input_ids"]) == [w["input_ids"] for w in cli_tokenize(tmp_path, folder, TEXTS)]
    vocab = shared_vocab("bert-base-uncased-vocab")
    cased = ernie.Tokenizer.from_file(vocab, do_lower_case=False)
    want = cli_tokenize(tmp_path, vocab, TEXTS, "--no-lower-case")
    assert as_list(cased(TEXTS)["input_ids"]) == [w["input_ids"] for w in want]


def test_single_text_gives_1d_arrays(tmp_path):
    vocab = FIXTURES / "ner" / "vocab.txt"
    tok = ernie.Tokenizer.from_file(vocab)
    want = cli_tokenize(tmp_path, vocab, TEXTS[:1])[0]
    got = tok(TEXTS[0], return_offsets_mapping=True)
    assert got["input_ids"].ndim == 1 and got["input_ids"].dtype == np.int64
    assert got["input_ids"].tolist() == want["input_ids"]
    assert got["offset_mapping"].shape == (len(want["input_ids"]), 2)
    assert tok.encode(TEXTS[0]) == want["input_ids"]
    assert tok.tokenize(TEXTS[0]) == want["tokens"][1:-1]
    pair = tok("Hugging Face", "visited Gdansk")
    assert pair["token_type_ids"].tolist() == [0, 0, 0, 0, 1, 1, 1]


def test_decode_and_vocab():
    tok = ernie.Tokenizer.from_file(FIXTURES / "ner" / "vocab.txt")
    lines = (FIXTURES / "ner" / "vocab.txt").read_text().split("\n")
    assert tok.vocab_size == len(tok) == 20
    assert tok.get_vocab()["gdansk"] == lines.index("gdansk")
    ids = tok.encode("HuggingFace visited Gdansk")
    assert tok.decode(ids, skip_special_tokens=True) == "huggingface visited gdansk"
    assert tok.decode(ids).startswith("[CLS] ") and tok.decode(ids).endswith(" [SEP]")
    assert tok.batch_decode([ids, ids], skip_special_tokens=True) == ["huggingface visited gdansk"] * 2
    assert tok.convert_tokens_to_ids("nonsense") == tok.unk_token_id == lines.index("[UNK]")
    assert (tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, tok.mask_token_id) == (2, 3, 0, 4)


def test_threads_agree_with_sequential():
    tok = ernie.Tokenizer.from_file(FIXTURES / "ner" / "vocab.txt")
    texts = TEXTS * 50
    want = tok(texts, padding=True)["input_ids"]
    results = [None] * 4

    def work(i):
        results[i] = tok(texts, padding=True)["input_ids"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, want)


def test_tokenizer_json_equals_cli(tmp_path):
    vocab = (FIXTURES / "ner" / "vocab.txt").read_text().split("\n")[:-1]
    doc = {"version": "1.0",
           "normalizer": {"type": "BertNormalizer", "lowercase": False, "clean_text": True},
           "pre_tokenizer": {"type": "BertPreTokenizer"},
           "post_processor": {"type": "BertProcessing", "cls": ["[CLS]", 2], "sep": ["[SEP]", 3]},
           "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {t: i for i, t in enumerate(vocab)}}}
    (tmp_path / "tokenizer.json").write_text(json.dumps(doc))
    texts = ["the config.json", "The Config", "visited gdansk on tuesday"]
    want = cli_tokenize(tmp_path, tmp_path, texts)  # --model DIR reads its tokenizer.json
    for source in (tmp_path / "tokenizer.json", tmp_path):
        tok = ernie.Tokenizer.from_file(source)
        assert not tok.do_lower_case
        assert as_list(tok(texts)["input_ids"]) == [w["input_ids"] for w in want]
    doc["model"]["type"] = "BPE"
    (tmp_path / "tokenizer.json").write_text(json.dumps(doc))
    with pytest.raises(ernie.ErnieError, match="'BPE' is not supported"):
        ernie.Tokenizer.from_file(tmp_path / "tokenizer.json")


def test_pad_to_multiple_of():
    tok = ernie.Tokenizer.from_file(FIXTURES / "ner" / "vocab.txt")
    plain = tok(TEXTS)["input_ids"]
    got = tok(TEXTS, padding=True, pad_to_multiple_of=8)
    longest = max(len(r) for r in plain)
    assert got["input_ids"].shape == (len(TEXTS), -(-longest // 8) * 8)
    for row, mask, want in zip(got["input_ids"], got["attention_mask"], plain):
        assert row[:len(want)].tolist() == want.tolist() and mask.sum() == len(want)
        assert (row[len(want):] == tok.pad_token_id).all()
