"""ernie.init / convert / quantize / Model.save / train write what the CLI commands write."""
import json

import numpy as np
import pytest

from conftest import FIXTURES, read_safetensors, run_cli

ernie = pytest.importorskip("ernie")

CASE = FIXTURES / "ernie_relu_seqcls"


def same_folder(a, b):
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for n in names:
        assert (a / n).read_bytes() == (b / n).read_bytes(), n


def test_init_equals_cli(tmp_path):
    vocab = FIXTURES / "ner" / "vocab.txt"
    run_cli("init", "--config", CASE / "config.json", "--out", tmp_path / "cli", "--seed", 7, "--vocab", vocab)
    assert ernie.init(CASE / "config.json", tmp_path / "py", seed=7, vocab=vocab) == str(tmp_path / "py")
    same_folder(tmp_path / "cli", tmp_path / "py")
    ernie.init(ernie.Config.from_file(CASE), tmp_path / "obj", seed=7, init="paddle")
    run_cli("init", "--config", CASE, "--out", tmp_path / "cli2", "--seed", 7, "--init", "paddle")
    same_folder(tmp_path / "cli2", tmp_path / "obj")


@pytest.mark.parametrize("dtype,fmt", [("f32", "hf"), ("bf16", "paddle")])
def test_convert_and_save_equal_cli(tmp_path, dtype, fmt):
    src = FIXTURES / "checkpoints" / "ernie_seqcls_pdparams_p2"
    if not src.exists():
        src = CASE
    run_cli("convert", "--model", src, "--out", tmp_path / "cli", "--dtype", dtype, "--to", fmt)
    ernie.convert(src, tmp_path / "py", dtype=dtype, format=fmt)
    same_folder(tmp_path / "cli", tmp_path / "py")
    ernie.Model.load(src).save(tmp_path / "saved", dtype=dtype, format=fmt)
    same_folder(tmp_path / "cli", tmp_path / "saved")


def test_quantize_equals_cli(tmp_path):
    run_cli("quantize", "--model", CASE, "--out", tmp_path / "cli")
    ernie.quantize(CASE, tmp_path / "py")
    same_folder(tmp_path / "cli", tmp_path / "py")
    model = ernie.Model.load(tmp_path / "py")
    assert model.dtype == "int8"
    with pytest.raises(ernie.ErnieError, match="already an int8"):
        ernie.quantize(tmp_path / "py", tmp_path / "again")


def write_data(path, rows):
    path.write_text("".join(f"{t}\t{y}\n" for t, y in rows), encoding="utf-8")


def test_train_callback_and_stop(tmp_path):
    rows = [("hugging face visited gdansk", "a"), ("the config", "b"), ("tuesday visited", "a"),
            ("zelensky on tuesday", "b")] * 4
    write_data(tmp_path / "train.tsv", rows)
    write_data(tmp_path / "eval.tsv", rows[:4])
    vocab = FIXTURES / "ner" / "vocab.txt"
    common = dict(config=CASE / "config.json", vocab=vocab, eval=tmp_path / "eval.tsv", epochs=3, batch_size=4,
                  lr=1e-3, seed=3, threads=2)
    seen = []
    history = ernie.train(tmp_path / "train.tsv", tmp_path / "py", callback=lambda m: seen.append(m) or len(seen) < 2,
                          log=lambda msg: None, **common)
    assert len(history) == len(seen) == 2  # False after the second epoch stops there
    assert [m["epoch"] for m in history] == [1, 2]
    lines = (tmp_path / "py" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines] == history
    # The same run through `ernie train` (all three epochs): identical first two losses.
    run_cli("train", "--config", CASE / "config.json", "--vocab", vocab, "--train", tmp_path / "train.tsv",
            "--eval", tmp_path / "eval.tsv", "--epochs", 3, "--batch-size", 4, "--lr", "1e-3", "--seed", 3,
            "--threads", 2, "--out", tmp_path / "cli", "--quiet")
    cli = [json.loads(x) for x in (tmp_path / "cli" / "metrics.jsonl").read_text().splitlines()]
    assert len(cli) == 3
    for a, b in zip(history, cli):
        assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-6)
        assert a["eval_loss"] == pytest.approx(b["eval_loss"], rel=1e-6)
    model = ernie.Model.load(tmp_path / "py")
    assert model.config.id2label == {0: "a", 1: "b"}
    out = model(np.array([[2, 13, 3]]))
    assert out.logits.shape == (1, 2)
