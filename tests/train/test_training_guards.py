"""Training never publishes non-finite weights, and resume picks the newest complete
checkpoint (a kill during a save is exercised end to end in test_resume.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from safetensors.torch import load_file, save_file

from tests.helpers import write_recipe
from toolkit.errors import GongmuError
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage
from toolkit.train.trainer import newest_complete_checkpoint


@pytest.mark.slow
def test_a_non_finite_update_on_a_step_that_logs_nothing_stops_training(tiny_model, tmp_path):
    """One NaN in the base weights: the first step's update poisons the adapter. The
    loss is logged only every 5 steps, so only the per-step check can see it."""
    poisoned = tmp_path / "poisoned"
    shutil.copytree(tiny_model, poisoned)
    weights = poisoned / "model.safetensors"
    tensors = load_file(weights)
    name = next(k for k in tensors if k.endswith("mlp.down_proj.weight"))
    tensors[name][0, 0] = float("nan")
    save_file(tensors, weights, metadata={"format": "pt"})
    recipe = load_recipe(write_recipe(tmp_path, poisoned),
                         ["tracking.enabled=false", "train.logging_steps=5", "train.max_steps=3"])
    run_stage(recipe, "corpus")
    with pytest.raises(GongmuError, match=r"non-finite at step 1 .*nothing was saved"):
        run_stage(recipe, "train")
    assert not recipe.stage_dir("train").exists()


def _checkpoint(folder: Path, step: int, complete: bool) -> Path:
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    (path / "adapter_model.safetensors").write_bytes(b"weights")
    if complete:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return path


def test_the_newest_complete_checkpoint_is_chosen(tmp_path):
    _checkpoint(tmp_path, 3, complete=True)
    _checkpoint(tmp_path, 6, complete=False)  # the kill came during this save
    (tmp_path / "checkpoint-9").mkdir()  # only the folder was made
    assert newest_complete_checkpoint(tmp_path).name == "checkpoint-3"
    (tmp_path / "checkpoint-3" / "trainer_state.json").write_text("{trunc")
    assert newest_complete_checkpoint(tmp_path) is None
