"""MLflow bookkeeping survives what happens to runs: a gongmu killed with SIGKILL leaves
its MLflow run RUNNING, and the next gongmu run of that store marks it KILLED, saying why;
two first runs setting up a fresh local store at once both succeed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.helpers import DOCS
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage
from toolkit.tracking import open_experiment, tracking_uri

GONGMU = Path(sys.executable).parent / "gongmu"


def _recipe(tmp_path: Path, name: str = "r") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\noutput_dir: {tmp_path / 'runs'}\ncorpus:\n  sources:\n"
                    f"    - {{type: documents, path: {DOCS}}}\n", encoding="utf-8")
    return path


def _runs(recipe, status=None):
    client = MlflowClient(tracking_uri=tracking_uri(recipe))
    ids = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(ids) if ids else []
    return [r for r in runs if status is None or r.info.status == status]


def _running_in(db: Path) -> bool:
    """Whether the store holds a RUNNING run, read without MLflow: a client opening the
    store would set it up (migrations) under the child that is setting it up."""
    if not db.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            return bool(conn.execute(
                "SELECT 1 FROM runs WHERE status = 'RUNNING' LIMIT 1").fetchall())
    except sqlite3.Error:  # the child has not made the table yet
        return False


def test_a_run_sigkill_left_running_is_marked_killed_by_the_next(tmp_path):
    path = _recipe(tmp_path)
    recipe = load_recipe(path)
    log = tmp_path / "child.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(GONGMU), "corpus", "build", str(path)],
                                stdout=out, stderr=subprocess.STDOUT)
    db = recipe.output_dir / "mlflow" / "mlflow.db"
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None and not _running_in(db):
        time.sleep(0.02)
    assert proc.poll() is None, ("the build ended before its MLflow run could be seen:\n"
                                 + log.read_text(encoding="utf-8", errors="replace")[-2000:])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=60)
    killed, = _runs(recipe, "RUNNING")  # SIGKILL: nothing could close it
    run_stage(load_recipe(path), "corpus")
    runs = {r.info.run_id: r for r in _runs(recipe)}
    assert runs[killed.info.run_id].info.status == "KILLED"
    assert f"process {proc.pid}" in runs[killed.info.run_id].data.tags["gongmu.ended"]
    assert sorted(r.info.status for r in runs.values()) == ["FINISHED", "KILLED"]


def test_a_live_run_is_left_running(tmp_path):
    """A run whose gongmu process lives (here: this test process) is not touched."""
    recipe = load_recipe(_recipe(tmp_path))
    client, experiment_id = open_experiment(recipe)
    import socket

    live = client.create_run(experiment_id, tags={
        "gongmu.pid": str(os.getpid()), "gongmu.host": socket.gethostname()})
    open_experiment(recipe)
    assert client.get_run(live.info.run_id).info.status == "RUNNING"


def test_two_first_runs_set_up_a_fresh_store_at_once(tmp_path):
    code = ("import sys; from toolkit.recipe import load_recipe; "
            "from toolkit.tracking import open_experiment; "
            "open_experiment(load_recipe(sys.argv[1]))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(_recipe(tmp_path, f"r{i}"))],
                              stderr=subprocess.PIPE, text=True) for i in range(3)]
    errors = [p.communicate(timeout=300)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    recipe = load_recipe(tmp_path / "r0.yaml")
    names = {e.name for e in MlflowClient(tracking_uri=tracking_uri(recipe)).search_experiments()}
    assert {"r0", "r1", "r2"} <= names
