"""--resume refuses checkpoints another run wrote, and says what differs and what to do:
the recipe keys whose values changed (old -> new) with the command that resumes with the
old ones, or that the corpus was rebuilt since."""

from __future__ import annotations

import json
import shlex

import pytest

from tests.helpers import write_recipe
from toolkit.errors import GongmuError
from toolkit.recipe import load_recipe
from toolkit.stages import open_upstreams, run_stage
from toolkit.train.stage import _setup_checkpoints

BASE = ["tracking.enabled=false", "train.save_steps=4"]


@pytest.fixture(scope="module")
def built(tiny_model, tmp_path_factory):
    """A recipe and its corpus, built once for the module."""
    path = write_recipe(tmp_path_factory.mktemp("resume"), tiny_model)
    run_stage(load_recipe(path, BASE), "corpus")
    return path


@pytest.fixture
def interrupted(built):
    """The checkpoint folder a run with learning_rate 2e-4, lora.r 8 started (afresh)."""
    first = load_recipe(built, [*BASE, "train.learning_rate=0.0002", "train.lora.r=8"])
    corpus, = open_upstreams(first, ["corpus"])
    _setup_checkpoints(first, corpus, resume=False, main=True)
    return built


def test_changed_values_are_named_with_the_command_that_resumes(interrupted):
    changed = load_recipe(interrupted, [*BASE, "train.learning_rate=0.001", "train.lora.r=16"])
    with pytest.raises(GongmuError) as err:
        run_stage(changed, "train", resume=True)
    message = str(err.value)
    assert "train.lora.r (8 -> 16)" in message
    assert "train.learning_rate (0.0002 -> 0.001)" in message
    assert "max_steps" not in message  # only what differs is named
    command = message.split("`gongmu train ")[1].split("`")[0]
    words = shlex.split(command)
    assert words[0] == str(interrupted) and words[-1] == "--resume"
    # The suggested overrides bring the checkpoints' values back: the values check passes
    # and resume goes on to look for a complete checkpoint (none was saved here).
    again = load_recipe(interrupted, [*BASE, "train.learning_rate=0.001", "train.lora.r=16",
                                      *words[1:-1]])
    with pytest.raises(GongmuError, match="holds no complete checkpoint"):
        run_stage(again, "train", resume=True)


def test_a_rebuilt_corpus_is_named_as_the_reason(interrupted):
    recipe = load_recipe(interrupted, [*BASE, "train.learning_rate=0.0002", "train.lora.r=8"])
    stamp = recipe.run_dir / ".train-checkpoints" / "gongmu_run.json"
    data = json.loads(stamp.read_text(encoding="utf-8"))
    data["corpus_manifest_sha256"] = "0" * 64  # as if trained on an earlier build
    stamp.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(GongmuError, match="trained on another corpus") as err:
        run_stage(recipe, "train", resume=True)
    assert "without --resume" in str(err.value)
