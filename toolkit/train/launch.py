"""One process of a distributed training run:

    torchrun --nproc_per_node N -m toolkit.train.launch RECIPE [key=value ...] [--resume]

`gongmu train R --launcher torchrun|accelerate` starts these; every process trains, the
main process alone writes the stage folder and talks to MLflow.
"""

from __future__ import annotations

import sys

import toolkit  # noqa: F401  (offline environment first)


def main(argv: list[str] | None = None) -> int:
    import torch

    from toolkit.cli import _quiet_libraries
    from toolkit.console import console
    from toolkit.errors import GongmuError
    from toolkit.recipe import load_recipe
    from toolkit.train.trainer import train

    args = list(sys.argv[1:] if argv is None else argv)
    resume = "--resume" in args
    args = [a for a in args if a != "--resume"]
    try:
        recipe = load_recipe(args[0], args[1:])
        _quiet_libraries()
        if recipe.train.deepspeed:
            import deepspeed

            # Before the model is built: on CPU, ZeRO-3 otherwise fails a batch-size check.
            deepspeed.init_distributed(dist_backend="nccl" if torch.cuda.is_available() else "gloo")
        train(recipe, resume=resume)
    except GongmuError as exc:
        console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
