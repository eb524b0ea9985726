"""MLflow tracking. By default a local store inside `output_dir` (no server); with
`tracking.uri` a real MLflow server. Each stage is one MLflow run in the recipe's
experiment: params = the resolved recipe, metrics = the stage's figures (and the loss
curve while training), artifacts = the stage manifest (and the report, the adapter)."""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import Any, Iterator

from toolkit.recipe import Recipe

PARAM_LIMIT = 500  # characters; MLflow refuses longer values on some stores


def tracking_uri(recipe: Recipe) -> str:
    if recipe.tracking.uri:
        return recipe.tracking.uri
    store = recipe.output_dir / "mlflow"
    store.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{store / 'mlflow.db'}"


def leaves(data: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value of nested mappings (lists whole, as an override gives them)."""
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(leaves(value, f"{prefix}{key}."))
    return out


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    """`leaves` as MLflow params: each value a string of at most PARAM_LIMIT characters."""
    return {key: str(value)[:PARAM_LIMIT] for key, value in leaves(data, prefix).items()}


class StageRun:
    """One stage's MLflow run (or nothing, when tracking is off)."""

    def __init__(self, client=None, run_id: str | None = None):
        self.client = client
        self.run_id = run_id

    def log_metrics(self, metrics: dict[str, float], step: int = 0) -> None:
        if not self.client:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)]
        for i in range(0, len(batch), 500):
            self.client.log_batch(self.run_id, metrics=batch[i:i + 500])

    def log_artifact(self, path: Path, artifact_path: str | None = None) -> None:
        if self.client:
            if Path(path).is_dir():
                self.client.log_artifacts(self.run_id, str(path), artifact_path)
            else:
                self.client.log_artifact(self.run_id, str(path), artifact_path)

    def log_dataset(self, name: str, sha256: str, source: str) -> None:
        """Record the training data as the run's dataset input: the corpus manifest's
        sha256 identifies exactly which corpus folder was trained on."""
        if not self.client:
            return
        from mlflow.entities import Dataset, DatasetInput, InputTag

        dataset = Dataset(name=name, digest=sha256[:32], source_type="local",
                          source=json.dumps({"path": source, "manifest_sha256": sha256}))
        self.client.log_inputs(self.run_id, datasets=[
            DatasetInput(dataset, tags=[InputTag("mlflow.data.context", "training")])])

    def log_stage(self, out) -> None:
        """The stage's figures as metrics and its manifest as an artifact."""
        self.log_metrics({k: v for k, v in out.figures.items() if isinstance(v, (int, float))})
        self.log_artifact(out.path / "manifest.json")


def _local_store(uri: str) -> Path | None:
    """The database file of a local sqlite store, or None for a server."""
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///"):])
    return None


@contextlib.contextmanager
def _store_lock(uri: str) -> Iterator[None]:
    """An exclusive lock beside a local store's database while it is set up: MLflow
    creates the tables and runs its migrations on first use, and two first runs doing it
    at once fail ("duplicate column name: step")."""
    import fcntl

    db = _local_store(uri)
    if db is None:
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _process_started(pid: int) -> str | None:
    """When process `pid` started (clock ticks since boot, Linux), so a pid the system
    reused for another process is not taken for the one that opened a run."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _owner_alive(tags: dict) -> bool:
    from toolkit.artifacts import pid_alive

    pid = tags.get("gongmu.pid", "")
    if not pid.isdigit() or not pid_alive(int(pid)):
        return False
    started = tags.get("gongmu.pid_started")
    return not started or _process_started(int(pid)) in (None, started)


def mark_dead_runs(client, experiment_ids: list[str]) -> list[str]:
    """Runs left RUNNING by a gongmu process of this host that no longer lives (killed,
    or its machine lost power) are set KILLED; returns their ids. Runs of other hosts
    are left alone: from here we cannot tell whether their process lives."""
    import socket

    host = socket.gethostname()
    found = client.search_runs(
        experiment_ids, filter_string="attributes.status = 'RUNNING'", max_results=1000)
    dead = []
    for run in found:
        tags = run.data.tags
        if tags.get("gongmu.host") != host or "gongmu.pid" not in tags or _owner_alive(tags):
            continue
        client.set_tag(run.info.run_id, "gongmu.ended",
                       f"process {tags['gongmu.pid']} on {host} died without closing the run")
        client.set_terminated(run.info.run_id, "KILLED")
        dead.append(run.info.run_id)
    return dead


def open_experiment(recipe: Recipe):
    """The MLflow client and this recipe's experiment id, the local store set up under a
    lock, and runs that dead gongmu processes left RUNNING marked KILLED."""
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(recipe)
    name = recipe.tracking.experiment or recipe.name
    with _store_lock(uri):
        client = MlflowClient(tracking_uri=uri)
        experiment = client.get_experiment_by_name(name)  # creates the tables on first use
        if experiment is None:
            artifacts = None
            if uri.startswith("sqlite:"):
                artifacts = (recipe.output_dir / "mlflow" / "artifacts").resolve().as_uri()
            experiment_id = client.create_experiment(name, artifact_location=artifacts)
        else:
            experiment_id = experiment.experiment_id
        ids = ([e.experiment_id for e in client.search_experiments()]
               if _local_store(uri) else [experiment_id])
        mark_dead_runs(client, ids)
    return client, experiment_id


@contextlib.contextmanager
def stage_run(recipe: Recipe, stage: str) -> Iterator[StageRun]:
    if not recipe.tracking.enabled:
        yield StageRun()
        return
    import os
    import socket

    from mlflow.entities import Param

    client, experiment_id = open_experiment(recipe)
    pid = os.getpid()
    run = client.create_run(
        experiment_id,
        run_name=f"{recipe.name}/{stage}",
        tags={"gongmu.stage": stage, "gongmu.recipe_hash": recipe.hash(),
              "gongmu.recipe_file": str(recipe.file), "gongmu.pid": str(pid),
              "gongmu.pid_started": _process_started(pid) or "",
              "gongmu.host": socket.gethostname()},
    )
    run_id = run.info.run_id
    params = [Param(k, v) for k, v in flatten(recipe.resolved()).items()]
    for i in range(0, len(params), 100):
        client.log_batch(run_id, params=params[i:i + 100])
    status = "FAILED"
    try:
        yield StageRun(client, run_id)
        status = "FINISHED"
    finally:
        client.set_terminated(run_id, status)
