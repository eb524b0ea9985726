"""The corpus stage: Korean public-administration documents in, an instruction corpus
out, every input accounted for.

    gongmu corpus build R

1. The datatrove pipeline, sharded over `corpus.workers` processes (or Slurm / Ray
   shards): read sources → clean (NFC, full-width fold, amendment notes) → profile
   filters → PII redaction → instruction synthesis → write documents + MinHash
   signatures (`toolkit.corpus.pipeline.executors`).
2. datatrove's MinHash buckets and clusters.
3. In one process, `toolkit.corpus.pipeline.finish_corpus`: the phases its docstring
   lists, then the folder is published.

On Slurm or Ray the pipeline is submitted and the folder appears when the last job ends.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import sys
import time
import uuid
from pathlib import Path

from toolkit.artifacts import StageOutput, pid_alive, refuse_foreign_folder, run_lock
from toolkit.console import console
from toolkit.recipe import Recipe
from toolkit.stages import Stage

STAGE = Stage(
    name="corpus",
    command="corpus build",
    summary="Build <output_dir>/<name>/corpus from the recipe's sources.",
    sections=("seed", "corpus"),
    outputs=("train.jsonl", "validation.jsonl", "test.jsonl", "accounting.jsonl",
             "removed_examples.jsonl", "heldout_documents.jsonl", "data_card.md"),
    module=__name__,
)

WORK_PREFIX = ".corpus-work-"
TEMP_PREFIX = "gongmu-corpus-"


def check_paths(recipe: Recipe) -> list[str]:
    problems = []
    if not recipe.corpus.sources:
        problems.append(f"{recipe.where('corpus')}: corpus.sources is empty; name at least "
                        f"one source folder.")
    for i, src in enumerate(recipe.corpus.sources):
        if not src.path.is_dir():
            problems.append(f"{recipe.where('corpus', 'sources', i, 'path')}: corpus.sources[{i}]"
                            f".path {src.path} is not a folder.")
    for i, suite in enumerate(recipe.corpus.decontamination.suites):
        if not (suite / "suite.yaml").is_file():
            problems.append(f"{recipe.where('corpus', 'decontamination', 'suites', i)}: "
                            f"corpus.decontamination.suites[{i}] {suite} has no suite.yaml.")
    return problems


def run(recipe: Recipe) -> StageOutput | None:
    """Build the instruction corpus of `recipe` into <run>/corpus/. On Ray the sharded
    steps run on the cluster and this process waits and finishes; on Slurm the pipeline
    is submitted and the folder appears when the last job ends (returns None)."""
    from toolkit.corpus.pipeline import check_executor_finished, executors, finish_corpus
    from toolkit.stages import check_paths as check_stage_paths

    check_stage_paths(recipe, ["corpus"])
    refuse_foreign_folder(recipe.stage_dir("corpus"), recipe.name, "corpus")  # before any work
    _children_die_with_this_process()
    with run_lock(recipe):
        work = _setup_work_folder(recipe)
        started = time.time()
        plan = executors(recipe, work)
        if recipe.corpus.executor == "slurm":
            plan[-1].run()
            console.print(f"Submitted the corpus pipeline ({recipe.corpus.executor}); logs in "
                          f"{work}/logs.")
            return None
        try:
            phases = {}
            with _datatrove_log(work / "logs" / "datatrove.log"), _temporaries_in(TEMP_PREFIX):
                for name, executor in plan[:-1]:
                    tick = time.time()
                    executor.run()
                    check_executor_finished(executor, name)
                    phases[f"datatrove {name}"] = round(time.time() - tick, 2)
            (work / "phases.json").write_text(json.dumps(phases))
            return finish_corpus(recipe, work, started)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _setup_work_folder(recipe: Recipe) -> Path:
    """A work folder of this run's own (`.corpus-work-<pid>-<hex>`; on Slurm
    `.corpus-work-cluster-<hex>`), after removing those of local runs that died."""
    run_dir = recipe.run_dir
    for old in run_dir.glob(f"{WORK_PREFIX}*"):
        pid = old.name[len(WORK_PREFIX):].split("-")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    owner = "cluster" if recipe.corpus.executor == "slurm" else str(os.getpid())
    work = run_dir / f"{WORK_PREFIX}{owner}-{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True)
    return work


_REGISTERED = False


def _children_die_with_this_process() -> None:
    """datatrove forks a multiprocessing Manager and pool workers; after a kill -9 of
    gongmu they would live on (the Manager for minutes). Every process forked from here
    on asks Linux to kill it when its parent dies (PR_SET_PDEATHSIG)."""
    global _REGISTERED
    if _REGISTERED or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    forking = [0]

    def remember_parent() -> None:
        forking[0] = os.getpid()

    def die_with_parent() -> None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != forking[0]:  # the parent died before prctl took effect
            os._exit(1)

    os.register_at_fork(before=remember_parent, after_in_child=die_with_parent)
    _REGISTERED = True


@contextlib.contextmanager
def _temporaries_in(prefix: str):
    """multiprocessing's `pymp-*` folders (and any other temporaries of the workers) go to
    one folder of this run's own, `<system tmp>/<prefix><pid>-<hex>`, removed at the end;
    the next run removes those of runs that were killed, so nothing accumulates in /tmp.

    The folder sits directly in the system temporary folder, not in the run folder: the
    Manager's Unix socket lives in it, and a socket path may not exceed 107 bytes."""
    import tempfile

    for module in ("multiprocessing", "multiprocess"):
        _forget_temp_dir(module)
    system = Path(tempfile.gettempdir())
    for old in system.glob(f"{prefix}*"):
        pid = old.name[len(prefix):].split("-")[0]
        if pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=system))
    saved_env, saved_dir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"], tempfile.tempdir = str(folder), str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = saved_dir
        if saved_env is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_env
        for module in ("multiprocessing", "multiprocess"):
            _forget_temp_dir(module, folder)
        shutil.rmtree(folder, ignore_errors=True)


def _forget_temp_dir(module: str, folder: Path | None = None) -> None:
    """multiprocessing caches its `pymp-*` folder per process and removes it at exit, and
    keeps its forkserver (whose socket is in that folder) running. A second build in the
    same process must not reuse the first one's: at the end of a build the forkserver is
    stopped and the cached folder inside `folder` removed now (its exit finalizer run and
    unregistered); at the start a cached folder that no longer exists is forgotten."""
    try:
        process = importlib.import_module(f"{module}.process")
        util = importlib.import_module(f"{module}.util")
        forkserver = importlib.import_module(f"{module}.forkserver")._forkserver
    except (ImportError, AttributeError):
        return
    address = forkserver._forkserver_address
    if folder is not None and address and str(address).startswith(f"{folder}{os.sep}"):
        forkserver._stop()  # its socket is in `folder`; the next build starts its own
    cached = process.current_process()._config.get("tempdir")
    if not cached:
        return
    if folder is None:
        if not os.path.isdir(cached):
            process.current_process()._config.pop("tempdir", None)
        return
    if Path(cached).parent != folder:
        return
    for finalizer in list(getattr(util, "_finalizer_registry", {}).values()):
        if getattr(finalizer, "_args", (None, None))[1:] == (cached,):
            finalizer()
    process.current_process()._config.pop("tempdir", None)


@contextlib.contextmanager
def _datatrove_log(path: Path):
    """datatrove's workers log every shard to stderr; send that (and their per-step stats
    tables) to a file in the work folder instead. The workers inherit the descriptor."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with path.open("ab") as fh:
        os.dup2(fh.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
