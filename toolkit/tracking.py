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


def flatten(data: Any, prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
    else:
        out[prefix.rstrip(".")] = str(data)[:PARAM_LIMIT]
    return out


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


@contextlib.contextmanager
def stage_run(recipe: Recipe, stage: str) -> Iterator[StageRun]:
    if not recipe.tracking.enabled:
        yield StageRun()
        return
    from mlflow.entities import Param
    from mlflow.tracking import MlflowClient

    uri = tracking_uri(recipe)
    client = MlflowClient(tracking_uri=uri)
    name = recipe.tracking.experiment or recipe.name
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        artifacts = None
        if uri.startswith("sqlite:"):
            artifacts = (recipe.output_dir / "mlflow" / "artifacts").resolve().as_uri()
        experiment_id = client.create_experiment(name, artifact_location=artifacts)
    else:
        experiment_id = experiment.experiment_id
    run = client.create_run(
        experiment_id,
        run_name=f"{recipe.name}/{stage}",
        tags={"gongmu.stage": stage, "gongmu.recipe_hash": recipe.hash(),
              "gongmu.recipe_file": str(recipe.file)},
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
