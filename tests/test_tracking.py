"""Tracking against a real MLflow server on 127.0.0.1 (tracking.uri)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import write_recipe
from toolkit.recipe import load_recipe
from toolkit.stages import run_stage

pytestmark = pytest.mark.slow  # an MLflow server and a training


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    port = free_port()
    exe = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen(
        [str(exe), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "server-artifacts")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.time() > deadline:
            proc.kill()
            raise AssertionError(f"mlflow server did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.5)
    yield url, tmp_path / "server-artifacts"
    os.killpg(proc.pid, 15)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)


def test_training_logs_params_metrics_and_artifacts_to_an_mlflow_server(mlflow_server, tiny_model, tmp_path):
    from mlflow.tracking import MlflowClient

    url, artifact_root = mlflow_server
    path = write_recipe(tmp_path, tiny_model, name="served",
                        body=f"tracking:\n  uri: {url}\n  experiment: gongmu-test\n")
    recipe = load_recipe(path, ["train.max_steps=8"])
    run_stage(recipe, "corpus")
    run_stage(recipe, "train")

    client = MlflowClient(tracking_uri=url)
    experiment = client.get_experiment_by_name("gongmu-test")
    runs = {r.data.tags["gongmu.stage"]: r for r in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"corpus", "train"}
    run = runs["train"]
    assert run.info.status == "FINISHED"
    assert run.data.params["train.learning_rate"] == str(recipe.train.learning_rate)
    assert run.data.params["model.path"] == str(tiny_model)
    assert run.data.tags["gongmu.recipe_hash"] == recipe.hash()
    losses = client.get_metric_history(run.info.run_id, "train/loss")
    assert [m.step for m in losses] == [4, 8]
    assert run.data.metrics["steps"] == 8
    assert 0 < run.data.metrics["mfu"] < 1 and run.data.metrics["peak_memory_mb"] > 0
    from toolkit.stages import open_upstream

    corpus_sha = open_upstream(recipe, "corpus").manifest_sha256
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    assert [i.dataset.digest for i in inputs] == [corpus_sha[:32]]
    assert corpus_sha in inputs[0].dataset.source
    assert runs["corpus"].data.metrics["documents_kept"] == 30
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"manifest.json", "adapter"} <= names
    adapter = {a.path for a in client.list_artifacts(run.info.run_id, "adapter")}
    assert "adapter/adapter_model.safetensors" in adapter
    # The server, not the client, stored the files.
    assert list(artifact_root.rglob("adapter_model.safetensors"))
    assert not (tmp_path / "runs" / "mlflow").exists()
