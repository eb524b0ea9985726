"""scripts/slurm/train.sbatch passes exactly the recipe, the config and the overrides it
was given (issue 15, item 11: with one argument it used to pass `R R`). `srun`, `scontrol`
and `accelerate` are stand-ins that print what they receive: this tests our shell script,
not Slurm."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import REPO

SCRIPT = REPO / "scripts" / "slurm" / "train.sbatch"
BUILTIN = "toolkit/train/launch_configs/accelerate"


def stub(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/usr/bin/env bash\n" + body, encoding="utf-8")
    path.chmod(0o755)


@pytest.fixture
def cluster(tmp_path):
    """A submit folder with the repository's toolkit and a stand-in accelerate that prints
    one argument per line; srun runs its command once, as task 0 of 2 nodes."""
    submit = tmp_path / "submit"
    submit.mkdir()
    (submit / "toolkit").symlink_to(REPO / "toolkit")
    stub(submit / ".venv/bin/accelerate", 'printf "%s\\n" "$@"\n')
    bin_dir = tmp_path / "bin"
    stub(bin_dir / "scontrol", 'printf "gpu-node-07\\ngpu-node-08\\n"\n')
    stub(bin_dir / "srun", 'while [[ $1 == --* ]]; do shift; done\nexec "$@"\n')

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}",
               "SLURM_SUBMIT_DIR": str(submit), "SLURM_JOB_NODELIST": "gpu-node-[07-08]",
               "SLURM_NNODES": "2", "SLURM_PROCID": "0", "GPUS_PER_NODE": "4"}
        return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=60, check=False)

    return run


def launched(proc: subprocess.CompletedProcess) -> tuple[str, list[str]]:
    """(config file, arguments of toolkit.train.launch) from the stand-in's output."""
    assert proc.returncode == 0, proc.stderr
    args = proc.stdout.splitlines()
    assert args[:1] == ["launch"]
    assert args[args.index("--num_processes") + 1] == "8"
    assert args[args.index("--main_process_ip") + 1] == "gpu-node-07"
    return args[args.index("--config_file") + 1], args[args.index("toolkit.train.launch") + 1:]


def test_one_argument_passes_the_recipe_once_with_the_default_config(cluster):
    assert launched(cluster("recipes/r.yaml")) == (f"{BUILTIN}/zero3.yaml", ["recipes/r.yaml"])


def test_config_and_overrides_arrive_as_given_spaces_and_quotes_included(cluster):
    proc = cluster("r.yaml", "ddp", "train.epochs=2", "report.title=서울시 '민원' 보고서")
    assert launched(proc) == (f"{BUILTIN}/ddp.yaml",
                              ["r.yaml", "train.epochs=2", "report.title=서울시 '민원' 보고서"])


def test_overrides_right_after_the_recipe_keep_the_default_config(cluster):
    assert launched(cluster("r.yaml", "train.epochs=2")) == (
        f"{BUILTIN}/zero3.yaml", ["r.yaml", "train.epochs=2"])


def test_an_unknown_config_and_a_missing_recipe_are_refused(cluster):
    proc = cluster("r.yaml", "zero9")
    assert proc.returncode == 2 and proc.stdout == ""
    assert "accelerate config 'zero9' is neither a file nor a built-in config" in proc.stderr
    assert "ddp fsdp zero2 zero3 zero3_offload" in proc.stderr
    proc = cluster()
    assert proc.returncode != 0 and "usage: sbatch scripts/slurm/train.sbatch RECIPE" in proc.stderr
