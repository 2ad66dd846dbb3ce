"""ernie.Model against independent references (PyTorch fixtures, transformers golden files:
1e-4 absolute at valid positions, as tests/forward_test.cc) and against `ernie run`."""
import threading

import numpy as np
import pytest

from conftest import FIXTURES, model_dir, read_safetensors, reference_cases, run_cli

ernie = pytest.importorskip("ernie")

TOL = 1e-4
INPUTS = ("input_ids", "attention_mask", "token_type_ids", "task_type_ids")
# reference.safetensors name -> output name
REF_NAMES = {"final_hidden": "last_hidden_state", "pooler_output": "pooler_output", "logits": "logits",
             "start_logits": "start_logits", "end_logits": "end_logits",
             "seq_relationship_logits": "seq_relationship_logits", "embedding_output": "embedding_output"}


def inputs_of(ref):
    return {k: ref[k] for k in INPUTS if k in ref}


def masked_max_diff(got, want, mask):
    """max |got - want| where the [B, L] (or [B, C, L]) mask is 1; sequence-level outputs unmasked."""
    assert got.shape == want.shape, (got.shape, want.shape)
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    if mask is not None and mask.ndim == 3 and diff.shape[:2] == (mask.shape[0] * mask.shape[1], mask.shape[2]):
        mask = mask.reshape(-1, mask.shape[2])  # multiple choice: rows are [B*C, L]
    if mask is not None and diff.shape[:mask.ndim] == mask.shape:
        diff = diff[mask.astype(bool)]
    return float(diff.max()) if diff.size else 0.0


@pytest.mark.parametrize("case", reference_cases(), ids=lambda p: p.name)
def test_matches_reference(case):
    ref = read_safetensors(case / "reference.safetensors")
    model = ernie.Model.load(model_dir(case))
    out = model(**inputs_of(ref), output_embeddings=True)
    mask = ref.get("attention_mask")
    checked = 0
    for ref_name, name in REF_NAMES.items():
        if ref_name in ref:
            assert masked_max_diff(out[name], ref[ref_name], mask) <= TOL, name
            checked += 1
    assert checked >= 2
    if "nomask_input_ids" in ref:  # no mask: transformers attends to every token
        nm = model(ref["nomask_input_ids"])
        got = nm.start_logits if "start_logits" in nm else nm.logits if "logits" in nm else nm.last_hidden_state
        assert masked_max_diff(got.reshape(ref["nomask_output"].shape), ref["nomask_output"], None) <= TOL


@pytest.mark.parametrize("case", reference_cases(), ids=lambda p: p.name)
def test_equals_cli_run(tmp_path, case):
    ref = read_safetensors(case / "reference.safetensors")
    run_cli("run", "--model", model_dir(case), "--inputs", case / "reference.safetensors",
            "--outputs", tmp_path / "out.safetensors", "--with-embeddings")
    want = read_safetensors(tmp_path / "out.safetensors")
    model = ernie.Model.load(model_dir(case))
    out = model(**inputs_of(ref), output_embeddings=True)
    assert sorted(out) == sorted(want)
    for name in want:
        assert out[name].shape == want[name].shape and out[name].dtype == np.float32
        np.testing.assert_allclose(out[name], want[name], rtol=0, atol=1e-6, err_msg=name)
    # int32 inputs give the same
    out32 = model(**{k: v.astype(np.int32) for k, v in inputs_of(ref).items()})
    np.testing.assert_array_equal(out32.last_hidden_state, out.last_hidden_state)


@pytest.mark.parametrize("dtype", ["bf16", "int8"])
def test_dtypes_equal_cli(tmp_path, dtype):
    case = FIXTURES / "ernie_relu_seqcls"
    run_cli("run", "--model", case, "--inputs", case / "reference.safetensors", "--outputs", tmp_path / "o.safetensors",
            "--dtype", dtype)
    want = read_safetensors(tmp_path / "o.safetensors")
    model = ernie.Model.load(case, dtype=dtype)
    assert model.dtype == dtype
    out = model(**inputs_of(read_safetensors(case / "reference.safetensors")))
    for name in want:
        np.testing.assert_allclose(out[name], want[name], rtol=0, atol=1e-6, err_msg=name)
    # Loaded for one type only: no fp32 copy to give back or save.
    with pytest.raises(ernie.ErnieError, match=f"loaded for {dtype} only and keeps no fp32 copy"):
        model.state_dict()
    with pytest.raises(ernie.ErnieError, match=f"loaded for {dtype} only"):
        model.save(tmp_path / "saved")
    assert not (tmp_path / "saved").exists()   # refused before anything is written
    assert len(ernie.Model.load(case).state_dict()) > 0


def test_output_layout_and_padding():
    case = FIXTURES / "bert_gelu_new_qa"
    ref = read_safetensors(case / "reference.safetensors")
    model = ernie.Model.load(case)
    out = model(ref["input_ids"], attention_mask=ref["attention_mask"])
    B, L = ref["input_ids"].shape
    H = model.config.hidden_size
    assert out.last_hidden_state.shape == (B, L, H)
    assert out.start_logits.shape == out.end_logits.shape == (B, L)
    assert out["start_logits"] is out.start_logits and out[0] is out.start_logits
    pad = ref["attention_mask"] == 0
    assert pad.any() and not out.last_hidden_state[pad].any() and not out.start_logits[pad].any()
    # zero-copy: the arrays view the engine's buffers
    assert not out.last_hidden_state.flags.owndata and out.last_hidden_state.flags.c_contiguous
    with pytest.raises(AttributeError, match="no 'pooler_output'"):
        out.pooler_output


def test_heads_shapes():
    tok_model = ernie.Model.load(FIXTURES / "roberta_tokcls")
    ids = np.array([[0, 5, 6, 7, 2], [0, 8, 2, 1, 1]])
    mask = (ids != 1).astype(np.int64)
    out = tok_model(ids, attention_mask=mask)
    assert out.logits.shape == (2, 5, tok_model.config.num_labels)
    mc = ernie.Model.load(FIXTURES / "bert_quick_gelu_multiple_choice")
    ref = read_safetensors(FIXTURES / "bert_quick_gelu_multiple_choice" / "reference.safetensors")
    assert ref["input_ids"].ndim == 3
    out = mc(**inputs_of(ref))
    assert out.logits.shape == ref["input_ids"].shape[:2]


def test_four_threads_agree_with_sequential():
    case = FIXTURES / "ernie_relu_seqcls"
    model = ernie.Model.load(case, threads=1)
    rng = np.random.default_rng(0)
    batches = []
    for i in range(8):
        ids = rng.integers(5, model.config.vocab_size, size=(3, 6 + i))
        mask = np.ones_like(ids)
        mask[1, 4 + i:] = 0
        batches.append((ids, mask))
    want = [model(ids, attention_mask=mask) for ids, mask in batches]
    got = [[None] * len(batches) for _ in range(4)]

    def work(t):
        for _ in range(3):
            for i, (ids, mask) in enumerate(batches):
                got[t][i] = model(ids, attention_mask=mask)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for t in range(4):
        for i in range(len(batches)):
            for name in want[i]:
                np.testing.assert_array_equal(got[t][i][name], want[i][name])


def test_torch_from_numpy():
    torch = pytest.importorskip("torch", reason="torch is not installed for this Python")
    model = ernie.Model.load(FIXTURES / "ernie_relu_seqcls")
    out = model(np.array([[1, 5, 9, 2]]))
    t = torch.from_numpy(out.last_hidden_state)
    assert t.shape == (1, 4, model.config.hidden_size) and t.dtype == torch.float32
    assert torch.equal(t, torch.tensor(out.last_hidden_state))
    torch.from_numpy(out.logits).softmax(-1)


def test_state_dict_matches_checkpoint():
    case = FIXTURES / "ernie_relu_seqcls"
    model = ernie.Model.load(case)
    sd = model.state_dict()
    ck = read_safetensors(case / "model.safetensors")
    matched = [n for n in ck if n in sd]
    for name in matched:
        np.testing.assert_array_equal(sd[name], ck[name].astype(np.float32), err_msg=name)
    assert len(matched) >= 10
