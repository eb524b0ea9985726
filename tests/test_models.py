"""A model folder whose only .safetensors file is not the checkpoint (pickle weights
beside an unrelated tensor file) is refused in one paragraph with exit 2, naming both
files, instead of "unexpected error" from transformers (issue 15, item 8)."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import save_file

from tests.helpers import gongmu, write_recipe
from toolkit.errors import ModelError
from toolkit.models import load_model
from toolkit.recipe import ModelSection


@pytest.fixture
def pickled_model(tiny_model, tmp_path):
    folder = tmp_path / "pickled"
    shutil.copytree(tiny_model, folder)
    (folder / "model.safetensors").unlink()
    torch.save({"model.embed_tokens.weight": torch.zeros(4, 4)}, folder / "pytorch_model.bin")
    save_file({"scale": torch.ones(2)}, folder / "unrelated.safetensors")
    return folder


def check_message(text: str, folder) -> None:
    assert f"{folder} has no safetensors model weights (model.safetensors)" in text
    assert "unrelated.safetensors is not a model checkpoint" in text
    assert "pickle weights (pytorch_model.bin) are never loaded" in text


def test_loading_raises_a_model_error_naming_both_files(pickled_model):
    with pytest.raises(ModelError) as exc:
        load_model(ModelSection(path=pickled_model))
    check_message(str(exc.value), pickled_model)


@pytest.mark.parametrize("command", [["recipe", "validate"], ["train"]])
def test_the_cli_refuses_it_in_one_paragraph_with_exit_2(pickled_model, tmp_path, command):
    recipe = write_recipe(tmp_path, pickled_model)
    proc = gongmu(*command, str(recipe))
    assert proc.returncode == 2, proc.stderr
    check_message(" ".join(proc.stderr.split()), pickled_model)
    assert "unexpected error" not in proc.stderr and "Traceback" not in proc.stderr
    assert "\n\n" not in proc.stderr.strip()
