"""kill -9 anywhere: each stage is killed while it writes its folder, at several moments
spread across its run: as its temporary folder appears, and at points drawn from a seeded
random generator as fractions of the stage's run time. After each kill: the previous folder
is still whole and unchanged, and no process of the killed run is left. After the last, the
next run of the stage completes and leaves no temporaries.

The seed is printed with every failure; GONGMU_KILL_SEED=N replays it."""

from __future__ import annotations

import os
import random
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
SEED = int(os.environ.get("GONGMU_KILL_SEED") or time.time_ns() % 1_000_000)
SEEDED_POINTS = 2  # besides the moment the temporary folder appears


@pytest.fixture(scope="module")
def finished_run(tiny_model, tmp_path_factory):
    folder = tmp_path_factory.mktemp("kill")
    path = write_recipe(folder, tiny_model, name="k")
    recipe = load_recipe(path, OVERRIDES)
    took = {}
    for stage in ORDER:
        started = time.monotonic()
        run_stage(recipe, stage)
        took[stage] = time.monotonic() - started
    return path, recipe, took


def _command(stage: str) -> list[str]:
    return ["corpus", "build"] if stage == "corpus" else [stage]


def _leftovers(recipe) -> list[str]:
    return sorted(p.name for p in recipe.run_dir.iterdir()
                  if p.name.startswith(".") and p.name not in (".lock",))


def _kill_while_writing(path, recipe, stage: str, delay: float, replay: str) -> bool:
    """Start the stage, SIGKILL it `delay` seconds after its temporary folder appears;
    False when it finished first (the kill then came after the publish)."""
    exe = Path(sys.executable).parent / "gongmu"
    proc = subprocess.Popen([str(exe), *_command(stage), str(path), *OVERRIDES],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    me = psutil.Process(proc.pid)
    deadline = time.time() + 300
    family: list[psutil.Process] = []
    writing_since = None
    while proc.poll() is None and time.time() < deadline:
        family = me.children(recursive=True) or family
        if writing_since is None and any(p.name.startswith(f".{stage}.tmp-")
                                         for p in recipe.run_dir.iterdir()):
            writing_since = time.monotonic()
        if writing_since is not None and time.monotonic() - writing_since >= delay:
            break
        time.sleep(0.01)
    killed = proc.poll() is None
    assert killed or writing_since is not None, f"{stage} never wrote a folder ({replay})"
    try:
        family += me.children(recursive=True)
    except psutil.NoSuchProcess:
        pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    _, alive = psutil.wait_procs(family, timeout=10)
    assert not alive, ([p.pid for p in alive], replay)
    return killed


@pytest.mark.parametrize("stage", ORDER)
def test_a_stage_killed_while_writing_leaves_its_old_folder_and_reruns_cleanly(finished_run, stage):
    path, recipe, took = finished_run
    rng = random.Random(f"{SEED}-{stage}")
    delays = [0.0] + sorted(rng.uniform(0.1, 0.8) * took[stage] for _ in range(SEEDED_POINTS))
    kills = 0
    for delay in delays:
        before = (recipe.stage_dir(stage) / "manifest.json").read_bytes()
        replay = f"kill {delay:.2f} s into writing; replay: GONGMU_KILL_SEED={SEED}"
        killed = _kill_while_writing(path, recipe, stage, delay, replay)
        kills += killed
        assert killed or delay > 0, f"{stage} finished before it could be killed ({replay})"
        # No partial folder is visible: the old one is there, whole (and unchanged, unless
        # the run finished before the kill and published a new one).
        assert verify_folder(recipe.stage_dir(stage)) == [], replay
        if killed:
            assert (recipe.stage_dir(stage) / "manifest.json").read_bytes() == before, replay
    assert kills >= 2, f"{stage}: {kills} of {len(delays)} kills came while it wrote (seed {SEED})"
    # The next run (here, in this process: the killed ones were the real command) completes
    # and leaves nothing behind.
    run_stage(load_recipe(path, OVERRIDES), stage)
    assert verify_folder(recipe.stage_dir(stage)) == []
    assert _leftovers(recipe) == []
