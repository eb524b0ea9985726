"""Distributed training launches.

`gongmu train R --launcher torchrun|accelerate` starts N processes of this module:

    torchrun --nproc_per_node N -m toolkit.train.launch RECIPE [key=value ...] [--resume]

Every process trains; the main process alone writes the stage folder and talks to
MLflow. The built-in accelerate and DeepSpeed configs ship inside the package
(`toolkit/train/launch_configs/`), so an installed gongmu finds them from any folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

import toolkit  # noqa: F401  (offline environment first)
from toolkit.console import console
from toolkit.errors import GongmuError

CONFIGS = Path(__file__).resolve().parent / "launch_configs"


def accelerate_config_path(name_or_path: str) -> Path:
    """A built-in accelerate config by name (ddp, zero2, zero3, zero3_offload, fsdp), or a
    config file given by path."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    builtin = CONFIGS / "accelerate" / f"{name_or_path}.yaml"
    if builtin.is_file():
        return builtin
    names = ", ".join(sorted(p.stem for p in (CONFIGS / "accelerate").glob("*.yaml")))
    raise GongmuError(f"--accelerate-config {name_or_path}: no such file, and no built-in "
                      f"config of that name (built-in: {names}).")


DEEPSPEED_CONFIGS = ("zero2", "zero3", "zero3_offload")


def deepspeed_config_path(value: str | Path) -> Path:
    """`train.deepspeed`: a built-in DeepSpeed config by name (zero2, zero3,
    zero3_offload), or a JSON file."""
    if str(value) in DEEPSPEED_CONFIGS:
        return CONFIGS / "deepspeed" / f"{value}.json"
    return Path(value)


def launch_training(recipe: Path, overrides: list[str], launcher: str, nproc: int,
                    accelerate_config: str, resume: bool) -> int:
    """Start a distributed training run: each process runs toolkit.train.launch."""
    import subprocess

    from toolkit.recipe import load_recipe
    from toolkit.stages import check_paths, open_upstream

    loaded = load_recipe(recipe, overrides)  # fail fast, before starting N processes
    check_paths(loaded, ["train"])
    open_upstream(loaded, "corpus")
    bin_dir = Path(sys.executable).parent
    tail = ["-m", "toolkit.train.launch", str(recipe), *overrides, *(["--resume"] if resume else [])]
    if launcher == "torchrun":
        import torch

        n = nproc or torch.cuda.device_count() or 2
        cmd = [str(bin_dir / "torchrun"), "--nproc_per_node", str(n), "--master_port",
               str(_free_port()), *tail]
    elif launcher == "accelerate":
        config = accelerate_config_path(accelerate_config)
        import yaml

        settings = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        if settings.get("distributed_type") == "FSDP":
            from toolkit.train.trainer import refuse_fsdp_without_accelerator

            refuse_fsdp_without_accelerator()  # before N processes start, not in each of them
        extra = ["--num_processes", str(nproc)] if nproc else []
        ds = (settings.get("deepspeed_config") or {}).get("deepspeed_config_file")
        if ds:
            # accelerate reads it against the working directory; the built-in configs name
            # theirs relative to the config file.
            candidates = [config.parent / ds, Path(ds)]
            found = next((c for c in candidates if c.is_file()), None)
            if found is None:
                raise GongmuError(f"{config}: deepspeed_config_file {ds} does not exist.")
            extra += ["--deepspeed_config_file", str(found.resolve())]
        cmd = [str(bin_dir / "accelerate"), "launch", "--config_file", str(config), *extra, *tail]
    else:
        raise GongmuError(f"--launcher {launcher}: use none, torchrun or accelerate.")
    console.print(f"launching: {' '.join(cmd)}", markup=False, highlight=False, soft_wrap=True)
    return subprocess.run(cmd).returncode


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(argv: list[str] | None = None) -> int:
    from toolkit.console import quiet_libraries
    from toolkit.recipe import load_recipe
    from toolkit.stages import run_stage

    args = list(sys.argv[1:] if argv is None else argv)
    resume = "--resume" in args
    args = [a for a in args if a != "--resume"]
    try:
        recipe = load_recipe(args[0], args[1:])
        quiet_libraries()
        if recipe.train.deepspeed:
            import deepspeed
            import torch

            # Before the model is built: on CPU, ZeRO-3 otherwise fails a batch-size check.
            deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo")
        run_stage(recipe, "train", resume=resume)
    except GongmuError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
