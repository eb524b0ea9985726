"""Real 2-process trainings on CPU (gloo) under torchrun: DDP, DeepSpeed ZeRO-2 and
ZeRO-3. The saved adapter must be non-empty, hold the weights rank 0 trained (gathered
under ZeRO-3), and be the same whichever strategy trained it."""

from __future__ import annotations

import pytest
from safetensors.torch import load_file

from tests.conftest import REPO, gongmu, write_recipe
from toolkit.artifacts import read_json
from toolkit.corpus.pipeline import build_corpus
from toolkit.recipe import load_recipe

STRATEGIES = {
    "ddp": [],
    "zero2": [f"train.deepspeed={REPO / 'recipes/deepspeed/zero2.json'}"],
    "zero3": [f"train.deepspeed={REPO / 'recipes/deepspeed/zero3.json'}"],
}


@pytest.fixture(scope="module")
def adapters(tiny_model, tmp_path_factory):
    out = {}
    for name, extra in STRATEGIES.items():
        folder = tmp_path_factory.mktemp(name)
        path = write_recipe(folder, tiny_model, name="dist")
        overrides = ["train.max_steps=4", "tracking.enabled=false", *extra]
        recipe = load_recipe(path, overrides)
        build_corpus(recipe)
        proc = gongmu("train", str(path), "--launcher", "torchrun", "--nproc", "2", *overrides)
        assert proc.returncode == 0, proc.stderr[-3000:]
        train_dir = recipe.stage_dir("train")
        out[name] = (read_json(train_dir / "manifest.json")["figures"],
                     load_file(train_dir / "adapter" / "adapter_model.safetensors"))
    return out


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_two_process_training_saves_the_trained_adapter(adapters, strategy):
    figures, weights = adapters[strategy]
    assert figures["processes"] == 2 and figures["steps"] == 4
    lora_b = [t for k, t in weights.items() if "lora_B" in k]
    assert lora_b and all(t.abs().sum() > 0 for t in lora_b)  # trained, not empty
    saved = sum(t.abs().sum().item() for t in weights.values())
    assert saved == pytest.approx(figures["adapter_abs_sum"], rel=1e-5)  # rank 0's weights


def test_ddp_zero2_and_zero3_train_the_same_adapter(adapters):
    _, reference = adapters["ddp"]
    for strategy in ("zero2", "zero3"):
        _, weights = adapters[strategy]
        assert weights.keys() == reference.keys()
        assert max((weights[k] - reference[k]).abs().max().item() for k in weights) <= 1e-5
