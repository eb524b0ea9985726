"""kill -9 anywhere: each stage is killed while it writes its folder (its temporary folder
exists), and then checked: the previous folder is still whole, the next run of the stage
completes, and no temporaries or orphan processes are left."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.helpers import write_recipe
from toolkit.artifacts import verify_folder
from toolkit.recipe import load_recipe
from toolkit.stages import ORDER, run_stage

pytestmark = pytest.mark.slow

OVERRIDES = ["tracking.enabled=false", "train.max_steps=2", "eval.max_new_tokens=8",
             "export.gguf=[f16]"]


@pytest.fixture(scope="module")
def finished_run(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill")
    path = write_recipe(folder, tiny_model, name="k")
    recipe = load_recipe(path, OVERRIDES)
    for stage in ORDER:
        run_stage(recipe, stage)
    return path, recipe


def _command(stage: str) -> list[str]:
    return ["corpus", "build"] if stage == "corpus" else [stage]


def _leftovers(recipe) -> list[str]:
    return sorted(p.name for p in recipe.run_dir.iterdir()
                  if p.name.startswith(".") and p.name not in (".lock",))


@pytest.mark.parametrize("stage", ORDER)
def test_a_stage_killed_while_writing_leaves_its_old_folder_and_reruns_cleanly(finished_run, stage):
    path, recipe = finished_run
    exe = Path(sys.executable).parent / "gongmu"
    before = (recipe.stage_dir(stage) / "manifest.json").read_bytes()
    proc = subprocess.Popen([str(exe), *_command(stage), str(path), *OVERRIDES],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    me = psutil.Process(proc.pid)
    deadline = time.time() + 300
    family: list[psutil.Process] = []
    while proc.poll() is None and time.time() < deadline:
        family = me.children(recursive=True) or family
        if any(p.name.startswith(f".{stage}.tmp-") for p in recipe.run_dir.iterdir()):
            break
        time.sleep(0.01)
    assert proc.poll() is None, f"{stage} finished before it could be killed"
    family += me.children(recursive=True)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, [p.pid for p in alive]
    # No partial folder is visible: the old one is there, whole, unchanged.
    assert verify_folder(recipe.stage_dir(stage)) == []
    assert (recipe.stage_dir(stage) / "manifest.json").read_bytes() == before
    # The next run (here, in this process: the killed one was the real command) completes
    # and leaves nothing behind.
    run_stage(load_recipe(path, OVERRIDES), stage)
    assert verify_folder(recipe.stage_dir(stage)) == []
    assert _leftovers(recipe) == []
