"""Every documented error path raises the documented exception (docs/PYTHON.md, "Errors")."""
import numpy as np
import pytest

from conftest import FIXTURES

ernie = pytest.importorskip("ernie")

CASE = FIXTURES / "ernie_relu_seqcls"


@pytest.fixture(scope="module")
def model():
    return ernie.Model.load(CASE)


@pytest.fixture(scope="module")
def tok():
    return ernie.Tokenizer.from_file(FIXTURES / "ner" / "vocab.txt")


def test_model_input_errors(model):
    ids = np.array([[2, 5, 6, 3]])
    with pytest.raises(TypeError, match="input_ids must be an integer array"):
        model(ids.astype(np.float32))
    with pytest.raises(TypeError, match="attention_mask must be an integer array"):
        model(ids, attention_mask=np.ones((1, 4), dtype=np.float64))
    with pytest.raises(ValueError, match="not C-contiguous"):
        model(np.array([[2, 5], [6, 3]]).T)
    with pytest.raises(ernie.ErnieError, match=r"input_ids must be a \[batch, length\]"):
        model(np.array([2, 5, 6, 3]))
    with pytest.raises(ernie.ErnieError, match=r"input_ids\[0\]\[1\] = 500 is outside \[0, 120\)"):
        model(np.array([[2, 500, 3]]))
    with pytest.raises(ernie.ErnieError, match="attention_mask has shape"):
        model(ids, attention_mask=np.ones((1, 3), dtype=np.int64))
    with pytest.raises(ernie.ErnieError, match="must be 0 or 1"):
        model(ids, attention_mask=np.array([[1, 1, 2, 1]]))
    with pytest.raises(ernie.ErnieError, match="at most 40 tokens"):
        model(np.full((1, 41), 5))
    with pytest.raises(ernie.ErnieError, match="not a multiple-choice model"):
        model(np.ones((1, 2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="empty"):
        model(np.zeros((0, 4), dtype=np.int64))
    with pytest.raises(TypeError):
        model(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="big-endian"):
        model(ids.astype(">i8"))
    with pytest.raises(ValueError, match="input_ids is required"):
        model(None)
    assert isinstance(model(ids.astype(np.int32)), ernie.ModelOutput)  # and still usable


def test_load_errors(tmp_path):
    with pytest.raises(ernie.ErnieError):
        ernie.Model.load(tmp_path / "missing")
    with pytest.raises(ernie.ErnieError, match="unknown dtype"):
        ernie.Model.load(CASE, dtype="f64")
    with pytest.raises(ValueError, match="threads"):
        ernie.Model.load(CASE, threads=-1)
    (tmp_path / "config.json").write_text('{"hidden_size": 30, "num_attention_heads": 4')
    with pytest.raises(ernie.ConfigError, match="syntax error"):
        ernie.Config.from_file(tmp_path / "config.json")
    with pytest.raises(ernie.ErnieError):
        ernie.Config.from_file(tmp_path / "nothing.json")
    # nan and inf are not JSON: Python's own error, not a parse error at "NaN" (which was ErnieError).
    with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
        ernie.Config.from_dict({"model_type": "ernie", "layer_norm_eps": float("nan")})
    cfg = ernie.Config.from_file(CASE)
    with pytest.raises(KeyError):
        cfg["hiden_size"]
    with pytest.raises(ValueError, match="format must be"):
        cfg.save(tmp_path / "c.json", format="onnx")


def test_tokenizer_errors(tok, tmp_path):
    with pytest.raises(ernie.ErnieError, match="no such file"):
        ernie.Tokenizer.from_file(tmp_path / "vocab.txt")
    with pytest.raises(ValueError, match="padding must be"):
        tok("a", padding="left")
    with pytest.raises(ValueError, match="truncation must be"):
        tok("a", truncation="middle", max_length=4)
    with pytest.raises(ValueError, match="needs max_length"):
        tok("a", padding="max_length")
    with pytest.raises(ValueError, match="needs truncation"):
        tok("a", padding="max_length", max_length=8, truncation=False)
    with pytest.raises(ValueError, match="max_length must be positive"):
        tok("a", max_length=0)
    with pytest.raises(ernie.ErnieError, match="shorter than"):
        tok("a b c", max_length=1)
    with pytest.raises(TypeError, match="text must be a str or a list of str"):
        tok(42)
    with pytest.raises(TypeError, match="text must be str"):
        tok(["a", 3])
    with pytest.raises(ValueError, match="text_pair must match text"):
        tok(["a", "b"], ["c"])
    with pytest.raises(ValueError, match="return_tensors"):
        tok("a", return_tensors="pt")
    assert tok("a", return_tensors="np")["input_ids"].tolist() == tok.encode("a")
    with pytest.raises(ValueError, match="empty list"):
        tok([])
    with pytest.raises(UnicodeEncodeError):
        tok("bad \ud800 surrogate")
    with pytest.raises(IndexError, match="outside the vocabulary"):
        tok.convert_ids_to_tokens([1, 99])


def test_command_errors(tmp_path):
    with pytest.raises(ValueError, match="init must be"):
        ernie.init(CASE, tmp_path / "x", init="torch")
    with pytest.raises(ernie.ErnieError, match="dtype must be"):
        ernie.convert(CASE, tmp_path / "y", dtype="f8")
    with pytest.raises(ernie.ErnieError, match="format must be"):
        ernie.convert(CASE, tmp_path / "y", format="onnx")
    with pytest.raises(ernie.ErnieError, match="differ"):
        ernie.convert(CASE, CASE)
    with pytest.raises(ernie.ErnieError, match="exactly one of --config and --init-from"):
        ernie.train(tmp_path / "t.tsv", tmp_path / "out")
