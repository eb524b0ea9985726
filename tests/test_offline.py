"""Offline, proven: the whole pipeline runs with every non-loopback connection refused in
every Python process it starts, and, where this machine allows it, inside a fresh
network namespace with no network at all."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import write_recipe

pytestmark = pytest.mark.slow

# Installed in every Python process of the run (PYTHONPATH): socket connections to
# anything but loopback or a Unix socket are recorded and refused.
GUARD = '''
import json, os, socket

_LOG = os.environ["GONGMU_NET_LOG"]
_connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex


def _refuse(sock, address):
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else str(address)
    if host in ("localhost", "::1") or host.startswith("127."):
        return
    with open(_LOG, "a") as fh:
        fh.write(json.dumps({"pid": os.getpid(), "host": host}) + "\\n")
    raise OSError(101, "network access refused by the gongmu offline guard")


def connect(sock, address):
    _refuse(sock, address)
    return _connect(sock, address)


def connect_ex(sock, address):
    _refuse(sock, address)
    return _connect_ex(sock, address)


socket.socket.connect, socket.socket.connect_ex = connect, connect_ex
'''

OVERRIDES = ["train.max_steps=4", "eval.max_new_tokens=8", "export.gguf=[f16]"]


def _run(tmp_path: Path, tiny_model: Path, prefix: list[str], name: str):
    guard = tmp_path / f"guard-{name}"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / f"{name}.connections.jsonl"
    log.write_text("", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(guard), "GONGMU_NET_LOG": str(log)}
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE"):
        env.pop(var, None)  # gongmu must set these itself
    recipe = write_recipe(tmp_path, tiny_model, name=name)
    exe = Path(sys.executable).parent / "gongmu"
    proc = subprocess.run([*prefix, str(exe), "run", str(recipe), *OVERRIDES],
                          capture_output=True, text=True, env=env, timeout=900)
    attempts = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    return proc, attempts, tmp_path / "runs" / name


def test_the_guard_itself_catches_a_connection(tmp_path):
    """The guard is not a formality: a process that tries the network is caught."""
    guard = tmp_path / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(GUARD, encoding="utf-8")
    log = tmp_path / "log.jsonl"
    env = {**os.environ, "PYTHONPATH": str(guard), "GONGMU_NET_LOG": str(log)}
    code = ("import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\n"
            "except OSError as e:\n    print(e.errno)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "101"
    assert json.loads(log.read_text())["host"] == "192.0.2.1"


def _namespaces_work() -> bool:
    unshare = shutil.which("unshare")
    if unshare is None:
        return False
    return subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0


def test_the_whole_pipeline_makes_no_network_connection(tiny_model, tmp_path):
    """Every process of `gongmu run` under the guard: no connection is even attempted.
    Where `unshare -n` works (root or user namespaces), the same run is also inside a
    namespace with only a downed loopback, so nothing could leave the machine anyway, and
    the run still completes (one run proves both)."""
    prefix = ["unshare", "-n"] if _namespaces_work() else []
    proc, attempts, run_dir = _run(tmp_path, tiny_model, prefix, "offline")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert attempts == []
    assert all((run_dir / s / "manifest.json").is_file()
               for s in ("corpus", "train", "eval", "export", "report"))
