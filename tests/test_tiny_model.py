"""`gongmu model tiny`: a real tokenizer and a real (random) Llama, offline."""

from __future__ import annotations

import json
import unicodedata

import pytest
import torch

from tests.helpers import DOCS, gongmu
from toolkit.errors import ModelError
from toolkit.recipe import ModelSection
from toolkit.tiny_model import END_OF_TURN, PAD
from toolkit.models import load_model, load_tokenizer


def test_tiny_model_has_distinct_pad_eos_end_of_turn_and_a_chat_template(tiny_model):
    tok = load_tokenizer(ModelSection(path=tiny_model))
    assert tok.eos_token == END_OF_TURN and tok.pad_token == PAD
    assert tok.pad_token_id != tok.eos_token_id
    text = tok.apply_chat_template(
        [{"role": "user", "content": "안녕하세요"}, {"role": "assistant", "content": "네."}],
        tokenize=False)
    assert text.endswith(f"네.{END_OF_TURN}\n")
    assert (tiny_model / "chat_template.jinja").is_file()
    gen = json.loads((tiny_model / "generation_config.json").read_text())
    assert tok.eos_token_id in gen["eos_token_id"]


def test_tokenizer_normalises_to_nfc_and_round_trips_korean(tiny_model):
    tok = load_tokenizer(ModelSection(path=tiny_model))
    nfc = "서울특별시 행정국ㆍ총무과 ㈜ 30㎡"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfd != nfc
    assert tok(nfd)["input_ids"] == tok(nfc)["input_ids"]
    assert tok.decode(tok(nfc)["input_ids"]) == nfc  # ㆍ ㈜ ㎡ survive: no NFKC


def test_tiny_model_is_a_few_million_parameter_llama_in_safetensors(tmp_path):
    proc = gongmu("model", "tiny", "--corpus", str(DOCS), "--out", str(tmp_path / "m"), check=True)
    assert "parameters" in proc.stderr
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["model_type"] == "llama"
    model = load_model(ModelSection(path=tmp_path / "m"))
    n = sum(p.numel() for p in model.parameters())
    assert 1_000_000 < n < 20_000_000
    assert not list((tmp_path / "m").glob("*.bin"))
    logits = model(torch.tensor([[1, 2, 3]])).logits
    assert logits.shape[-1] == config["vocab_size"]


def test_loading_refuses_non_local_and_pickle_only_models(tmp_path, tiny_model):
    with pytest.raises(ModelError, match="never downloads"):
        load_model(ModelSection(path=tmp_path / "Qwen" / "Qwen2.5-7B"))
    pickled = tmp_path / "pickled"
    pickled.mkdir()
    (pickled / "config.json").write_text((tiny_model / "config.json").read_text())
    (pickled / "pytorch_model.bin").write_bytes(b"")
    with pytest.raises(ModelError, match="pickle weights .* are never loaded"):
        load_model(ModelSection(path=pickled))


def test_a_checkpoint_missing_weights_is_refused_not_silently_reinitialised(tmp_path, tiny_model):
    import shutil

    from safetensors.torch import load_file, save_file

    broken = tmp_path / "broken"
    shutil.copytree(tiny_model, broken)
    weights = load_file(broken / "model.safetensors")
    del weights["model.layers.1.mlp.down_proj.weight"]
    save_file(weights, broken / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ModelError, match="model.layers.1.mlp.down_proj.weight"):
        load_model(ModelSection(path=broken))
