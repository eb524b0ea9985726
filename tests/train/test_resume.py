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

OVERRIDES = ["train.max_steps=8", "train.save_steps=2", "train.logging_steps=1",
             "train.lora.dropout=0.1", "tracking.enabled=false"]


WEIGHTS = {"lora": "adapter/adapter_model.safetensors", "full": "model/model.safetensors"}


pytestmark = pytest.mark.slow  # trainings killed and resumed in subprocesses


@pytest.mark.parametrize("method", list(WEIGHTS))
def test_resume_after_sigkill_equals_an_uninterrupted_run(tiny_model, tmp_path, method):
    overrides = [*OVERRIDES, f"train.method={method}"]
    path = write_recipe(tmp_path, tiny_model, name="r")
    straight = load_recipe(path, overrides)
    run_stage(straight, "corpus")
    run_stage(straight, "train")
    a = load_file(straight.stage_dir("train") / WEIGHTS[method])
    curve_a = read_jsonl(straight.stage_dir("train") / "loss_curve.jsonl")
    shutil.rmtree(straight.stage_dir("train"))  # the same corpus, trained again and killed

    killed = load_recipe(path, overrides)
    exe = Path(sys.executable).parent / "gongmu"
    log = tmp_path / "killed.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(exe), "train", str(path), *overrides],
                                stdout=out, stderr=subprocess.STDOUT)
    marker = checkpoint_dir(killed) / "checkpoint-4" / "trainer_state.json"
    deadline = time.time() + 300
    while not marker.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert marker.exists(), "the run never reached its second checkpoint:\n" + log.read_text()
    assert not killed.stage_dir("train").exists(), "the run finished before it was killed"
    marker.unlink()  # as a kill before the save's last file leaves checkpoint-4
    for later in checkpoint_dir(killed).glob("checkpoint-*"):
        if int(later.name.split("-")[1]) > 4:
            shutil.rmtree(later)

    # Resumed in this process, whose RNGs the straight run has moved on: only the
    # checkpoint's saved RNG state can make the two runs agree.
    run_stage(killed, "train", resume=True)
    figures = read_json(killed.stage_dir("train") / "manifest.json")["figures"]
    assert figures["resumed_from"] == "checkpoint-2" and figures["steps"] == 8
    b = load_file(killed.stage_dir("train") / WEIGHTS[method])
    assert a.keys() == b.keys()
    assert max((a[k] - b[k]).abs().max().item() for k in a) <= 1e-6
    curve_b = read_jsonl(killed.stage_dir("train") / "loss_curve.jsonl")
    assert [r["step"] for r in curve_a] == [r["step"] for r in curve_b] == list(range(1, 9))
    assert max(abs(x["loss"] - y["loss"]) for x, y in zip(curve_a, curve_b)) <= 1e-6
    assert not checkpoint_dir(killed).exists()  # cleaned up once the stage completed


def test_resume_without_checkpoints_says_so(tiny_model, tmp_path):
    import pytest

    from toolkit.errors import GongmuError

    recipe = load_recipe(write_recipe(tmp_path, tiny_model), ["tracking.enabled=false"])
    run_stage(recipe, "corpus")
    with pytest.raises(GongmuError, match="Nothing to resume"):
        run_stage(recipe, "train", resume=True)
