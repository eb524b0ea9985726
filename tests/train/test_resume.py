"""Resume is exact: N steps straight equal k steps, SIGKILL, and a resume to N, for an
adapter (LoRA with dropout, so the RNG state matters) and for full fine-tuning. The kill
is taken as one during a checkpoint save: the newest checkpoint is left incomplete (its
trainer_state.json, written last, missing), so --resume must continue from the one
before it and still end equal to the uninterrupted run."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.helpers import write_recipe
from toolkit.artifacts import read_json, read_jsonl
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage
from toolkit.train.trainer import checkpoint_dir

OVERRIDES = ["train.max_steps=16", "train.save_steps=4", "train.logging_steps=1",
             "train.lora.dropout=0.1", "tracking.enabled=false"]


WEIGHTS = {"lora": "adapter/adapter_model.safetensors", "full": "model/model.safetensors"}


pytestmark = pytest.mark.slow  # trainings killed and resumed in subprocesses


@pytest.mark.parametrize("method", list(WEIGHTS))
def test_resume_after_sigkill_equals_an_uninterrupted_run(tiny_model, tmp_path, method):
    overrides = [*OVERRIDES, f"train.method={method}"]
    (tmp_path / "a").mkdir()
    straight = load_recipe(write_recipe(tmp_path / "a", tiny_model, name="r"), overrides)
    run_stage(straight, "corpus")
    run_stage(straight, "train")

    (tmp_path / "b").mkdir()
    path = write_recipe(tmp_path / "b", tiny_model, name="r")
    killed = load_recipe(path, overrides)
    run_stage(killed, "corpus")
    exe = Path(sys.executable).parent / "gongmu"
    proc = subprocess.Popen([str(exe), "train", str(path), *overrides],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = checkpoint_dir(killed) / "checkpoint-8" / "trainer_state.json"
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert marker.exists(), "the run never reached its second checkpoint"
    assert not killed.stage_dir("train").exists(), "the run finished before it was killed"
    marker.unlink()  # as a kill before the save's last file leaves checkpoint-8
    for later in checkpoint_dir(killed).glob("checkpoint-*"):
        if int(later.name.split("-")[1]) > 8:
            shutil.rmtree(later)

    resumed = subprocess.run([str(exe), "train", str(path), *overrides, "--resume"],
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    figures = read_json(killed.stage_dir("train") / "manifest.json")["figures"]
    assert figures["resumed_from"] == "checkpoint-4" and figures["steps"] == 16
    a = load_file(straight.stage_dir("train") / WEIGHTS[method])
    b = load_file(killed.stage_dir("train") / WEIGHTS[method])
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6
    curve_a = read_jsonl(straight.stage_dir("train") / "loss_curve.jsonl")
    curve_b = read_jsonl(killed.stage_dir("train") / "loss_curve.jsonl")
    assert [r["step"] for r in curve_a] == [r["step"] for r in curve_b] == list(range(1, 17))
    assert max(abs(x["loss"] - y["loss"]) for x, y in zip(curve_a, curve_b)) <= 1e-6
    assert not checkpoint_dir(killed).exists()  # cleaned up once the stage completed


def test_resume_without_checkpoints_says_so(tiny_model, tmp_path):
    import pytest

    from toolkit.errors import GongmuError

    recipe = load_recipe(write_recipe(tmp_path, tiny_model), ["tracking.enabled=false"])
    run_stage(recipe, "corpus")
    with pytest.raises(GongmuError, match="Nothing to resume"):
        run_stage(recipe, "train", resume=True)
