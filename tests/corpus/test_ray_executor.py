"""corpus.executor: ray on a real local Ray cluster (head node on 127.0.0.1, started with
`ray start --head --block` and stopped with it): the corpus it builds is the local
executor's, byte for byte."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.helpers import QUICKSTART, gongmu

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

# Both builds use the same recipe values but the executor; few MinHash bands keep the
# number of Ray tasks (one actor each) small on a 2-CPU machine.
SAME = ["tracking.enabled=false", "corpus.dedup.minhash.num_buckets=2"]
# Ray on Linux turns 127.0.0.1 into the machine's outward address unless told this is a
# single-machine cluster; and Ray 2.60's client sends the token (~/.ray/auth_token) that
# `ray start` enables only when RAY_AUTH_MODE=token says so.
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_AUTH_MODE": "token"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_cluster():
    """A one-node Ray cluster on 127.0.0.1; yields its address."""
    exe = Path(sys.executable).parent / "ray"
    port = _free_port()
    temp = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must stay under 107 bytes
    head = subprocess.Popen(
        [str(exe), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
         f"--temp-dir={temp}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, **RAY_ENV})
    address = f"127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        assert head.poll() is None, "ray start --head exited"
        time.sleep(0.5)
    else:
        pytest.fail("the Ray head did not listen within 120 s")
    try:
        yield address
    finally:
        # `ray start --block` stops the processes it started when it is told to stop.
        head.send_signal(signal.SIGTERM)
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
            head.wait()
        shutil.rmtree(temp, ignore_errors=True)


def _recipe(folder: Path) -> Path:
    path = folder / "r.yaml"
    path.write_text(f"extends: {QUICKSTART}\nname: r\noutput_dir: {folder / 'local'}\n",
                    encoding="utf-8")
    return path


def test_a_corpus_built_on_a_local_ray_cluster_equals_the_local_executors_byte_for_byte(
        ray_cluster, tmp_path):
    recipe = _recipe(tmp_path)
    local = gongmu("corpus", "build", str(recipe), *SAME)
    assert local.returncode == 0, local.stdout + local.stderr
    on_ray = gongmu("corpus", "build", str(recipe), *SAME, f"output_dir={tmp_path / 'ray'}",
                    "corpus.executor=ray", "corpus.ray.shards=3",
                    f"corpus.ray.address={ray_cluster}", env={**os.environ, **RAY_ENV})
    assert on_ray.returncode == 0, on_ray.stdout + on_ray.stderr

    a, b = tmp_path / "local" / "r" / "corpus", tmp_path / "ray" / "r" / "corpus"
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert Path("train.jsonl") in files and Path("accounting.jsonl") in files
    for name in files:
        if name.name != "manifest.json":
            assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # The manifests differ only where they should: the executor's own settings, times.
    ma, mb = (json.loads((d / "manifest.json").read_text()) for d in (a, b))
    assert ma["files"] == mb["files"]
    assert mb["section"]["corpus"]["executor"] == "ray"
    assert ma["figures"]["records_train"] == mb["figures"]["records_train"] > 0
    # The Ray run's work folder is gone; nothing but the stage folder and the lock remain.
    assert sorted(p.name for p in (tmp_path / "ray" / "r").iterdir()) == [".lock", "corpus"]
