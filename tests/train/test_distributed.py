"""Real 2-process trainings on CPU (gloo), under torchrun and accelerate launch: DDP,
DeepSpeed ZeRO-2 and ZeRO-3, and full fine-tuning under ZeRO-3. The saved adapter (or
model) must be non-empty, hold the weights rank 0 trained (gathered under ZeRO-3), and be
the same whichever strategy trained it; the strategy that ran must be the one asked for.
FSDP, which accelerate runs only on GPUs, is refused on CPU rather than run as DDP."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from safetensors.torch import load_file

from tests.helpers import gongmu, write_recipe
from toolkit.artifacts import read_json
from toolkit.stages import run_stage
from toolkit.recipe import load_recipe
from toolkit.models import trained_weights_dir

ZERO3 = "train.deepspeed=zero3"
TORCHRUN = ["--launcher", "torchrun"]
# ZeRO-2 goes through `accelerate launch` and recipes/accelerate/zero2.yaml (which names
# recipes/deepspeed/zero2.json); ZeRO-3 through torchrun and train.deepspeed.
STRATEGIES = {"ddp": (TORCHRUN, [], "ddp"),
              "zero2": (["--launcher", "accelerate", "--accelerate-config", "zero2"], [],
                        "deepspeed-zero2"),
              "zero3": (TORCHRUN, [ZERO3], "deepspeed-zero3")}


pytestmark = pytest.mark.slow  # multi-process trainings (torchrun, accelerate, DeepSpeed)


@pytest.fixture(scope="module")
def corpus_built(tiny_model, tmp_path_factory):
    """One recipe and its corpus stage, which every training below trains on in turn."""
    folder = tmp_path_factory.mktemp("dist")
    path = write_recipe(folder, tiny_model, name="dist")
    run_stage(load_recipe(path, ["tracking.enabled=false"]), "corpus")
    return path


def two_process_training(path, launcher, extra):
    overrides = ["train.max_steps=4", "tracking.enabled=false", *extra]
    recipe = load_recipe(path, overrides)
    # From the run's folder, not the repository: config paths must not depend on the cwd.
    proc = gongmu("train", str(path), *launcher, "--nproc", "2", *overrides, cwd=path.parent)
    assert proc.returncode == 0, proc.stderr[-3000:]
    train_dir = recipe.stage_dir("train")
    figures = read_json(train_dir / "manifest.json")["figures"]
    weights = {}
    for shard in (train_dir / trained_weights_dir(figures["method"])).glob("*.safetensors"):
        weights.update(load_file(shard))
    shutil.rmtree(train_dir)  # the next training starts from the same corpus, not this one
    return figures, weights


@pytest.fixture(scope="module")
def adapters(corpus_built):
    return {name: two_process_training(corpus_built, launcher, extra)
            for name, (launcher, extra, _) in STRATEGIES.items()}


@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_two_process_training_saves_the_trained_adapter(adapters, strategy):
    figures, weights = adapters[strategy]
    assert figures["processes"] == 2 and figures["steps"] == 4
    assert figures["distributed"] == STRATEGIES[strategy][2]
    configs = {"ddp": None, "zero2": "zero2.json", "zero3": "zero3.json"}
    assert figures["deepspeed"] == configs[strategy]
    lora_b = [t for k, t in weights.items() if "lora_B" in k]
    assert lora_b and all(t.abs().sum() > 0 for t in lora_b)  # trained, not empty
    saved = sum(t.abs().sum().item() for t in weights.values())
    assert saved == pytest.approx(figures["trained_abs_sum"], rel=1e-5)  # rank 0's weights


def test_ddp_zero2_and_zero3_train_the_same_adapter(adapters):
    _, reference = adapters["ddp"]
    for strategy in ("zero2", "zero3"):
        _, weights = adapters[strategy]
        assert weights.keys() == reference.keys()
        assert max((weights[k] - reference[k]).abs().max().item() for k in weights) <= 1e-5


def test_full_finetuning_under_zero3_saves_the_whole_gathered_model(tiny_model, corpus_built):
    figures, weights = two_process_training(corpus_built, TORCHRUN,
                                            ["train.method=full", ZERO3])
    assert figures["distributed"] == "deepspeed-zero3" and figures["method"] == "full"
    base = load_file(tiny_model / "model.safetensors")
    assert weights.keys() == base.keys()
    assert all(weights[k].shape == base[k].shape for k in base)  # no empty ZeRO-3 partitions
    assert all((weights[k] - base[k]).abs().max() > 0 for k in base)
    saved = sum(t.double().abs().sum().item() for t in weights.values())
    assert saved == pytest.approx(figures["trained_abs_sum"], rel=1e-5)


FSDP_REFUSED = "asks for FSDP (distributed_type: FSDP), but this machine has no GPU"


def test_fsdp_without_a_gpu_is_refused_rather_than_run_as_unsharded_ddp(tiny_model, tmp_path,
                                                                        monkeypatch):
    path = write_recipe(tmp_path, tiny_model, name="fsdp")
    recipe = load_recipe(path, ["tracking.enabled=false"])
    run_stage(recipe, "corpus")
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    proc = gongmu("train", str(path), "--launcher", "accelerate", "--accelerate-config", "fsdp",
                  "--nproc", "2", "tracking.enabled=false", env=env)
    assert proc.returncode == 2 and FSDP_REFUSED in proc.stderr
    assert "Traceback" not in proc.stderr
    # Started some other way (accelerate launch by hand, Slurm), each process refuses too.
    from toolkit.errors import GongmuError

    monkeypatch.setenv("ACCELERATE_USE_FSDP", "true")  # what accelerate launch sets
    with pytest.raises(GongmuError, match=re.escape(FSDP_REFUSED)):
        run_stage(recipe, "train")
    assert not recipe.stage_dir("train").exists()
