"""ernie.Config: attributes with transformers' documented defaults, explain as `ernie config explain`,
parameter counts as the checkpoint holds, validate, save."""
import json

import numpy as np
import pytest

from conftest import FIXTURES, read_safetensors, run_cli

ernie = pytest.importorskip("ernie")

CASE = FIXTURES / "ernie_relu_seqcls"


def test_file_values():
    cfg = ernie.Config.from_file(CASE / "config.json")
    doc = json.loads((CASE / "config.json").read_text())
    for key, value in doc.items():
        got = getattr(cfg, key)
        if key == "id2label":
            assert got == {int(k): v for k, v in value.items()}
        else:
            assert got == value, key
    assert cfg.num_labels == 3 and cfg["hidden_size"] == 28 and "hidden_size" in cfg


def test_defaults_of_transformers():
    # A minimal BERT config: the rest are BertConfig's documented defaults (transformers docs).
    cfg = ernie.Config.from_dict({"model_type": "bert", "hidden_size": 64, "num_attention_heads": 4})
    assert (cfg.vocab_size, cfg.num_hidden_layers, cfg.intermediate_size) == (30522, 12, 3072)
    assert (cfg.hidden_act, cfg.max_position_embeddings, cfg.type_vocab_size) == ("gelu", 512, 2)
    assert (cfg.hidden_dropout_prob, cfg.attention_probs_dropout_prob) == (0.1, 0.1)
    assert (cfg.initializer_range, cfg.layer_norm_eps, cfg.pad_token_id) == (0.02, 1e-12, 0)
    assert cfg.position_embedding_type == "absolute" and cfg.use_cache is True
    assert cfg.classifier_dropout is None and cfg.num_labels == 2
    assert cfg.id2label == {0: "LABEL_0", 1: "LABEL_1"}
    roberta = ernie.Config.from_dict({"model_type": "roberta"})
    assert (roberta.pad_token_id, roberta.vocab_size, roberta.bos_token_id, roberta.eos_token_id) == (1, 50265, 0, 2)


def test_every_key_is_an_attribute():
    cfg = ernie.Config.from_file(CASE)
    keys = cfg.keys()
    assert len(keys) > 40
    for key in keys:
        getattr(cfg, key)  # never AttributeError
    assert set(keys) <= set(dir(cfg))


def test_unknown_keys():
    cfg = ernie.Config.from_dict({"model_type": "ernie", "my_own_key": [1, 2]})
    assert cfg.my_own_key == [1, 2]
    with pytest.raises(AttributeError, match=r"did you mean hidden_size\?"):
        cfg.hiden_size
    with pytest.raises(AttributeError):
        cfg.completely_unrelated_name_xyz
    assert not hasattr(cfg, "nothing_like_this")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_explain_equals_cli(lang):
    cfg = ernie.Config.from_file(CASE)
    want = run_cli("config", "explain", CASE, "--lang", lang).stdout
    assert cfg.explain(lang).rstrip("\n") == want.rstrip("\n")
    with pytest.raises(ernie.ErnieError):
        cfg.explain("fr")


def test_num_parameters_counts_the_checkpoint():
    for case in ("ernie_relu_seqcls", "bert_gelu_new_qa", "roberta_tokcls"):
        cfg = ernie.Config.from_file(FIXTURES / case)
        tensors = read_safetensors(FIXTURES / case / "model.safetensors")
        count = sum(int(np.prod(t.shape)) for n, t in tensors.items() if not n.endswith("position_ids"))
        assert cfg.num_parameters() == count, case


def test_validate():
    assert ernie.Config.from_file(CASE).validate() == []
    with pytest.raises(ernie.ConfigError, match="divisible"):
        ernie.Config.from_dict({"model_type": "bert", "hidden_size": 100, "num_attention_heads": 12})
    assert issubclass(ernie.ConfigError, ernie.ErnieError) and issubclass(ernie.ErnieError, ValueError)


def test_save_round_trip(tmp_path):
    cfg = ernie.Config.from_file(CASE)
    path = cfg.save(tmp_path)  # a folder gets config.json
    assert path.endswith("config.json")
    again = ernie.Config.from_file(tmp_path)
    assert again.to_dict() == cfg.to_dict() == json.loads((tmp_path / "config.json").read_text())
    assert not [p for p in tmp_path.iterdir() if p.name != "config.json"]  # no temp file left
    cfg.save(tmp_path / "paddle.json", format="paddle")
    assert ernie.Config.from_file(tmp_path / "paddle.json").source == "paddlenlp"
