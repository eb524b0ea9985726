"""The `gongmu` command line: thin. It parses, validates and calls one function per stage;
those functions are the Python API.

    gongmu <stage> RECIPE [key=value ...]

Errors print as one paragraph; `--debug` (anywhere on the line) shows the traceback.
"""

from __future__ import annotations

import json
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any, Callable, Optional

import click
import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup

try:  # typer >= 0.24 vendors its own copy of click
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older typer uses click itself
    _typer_click = click.exceptions

_EXIT = (click.exceptions.Exit, typer.Exit)
_ABORT = (click.exceptions.Abort, typer.Abort)
_USAGE = (click.ClickException, _typer_click.ClickException)

from toolkit.console import console
from toolkit.errors import GongmuError
from toolkit.recipe import STAGES, check_paths, dump_yaml, load_recipe, recipe_json_schema

RECIPE = typer.Argument(..., help="Recipe YAML file.", show_default=False)
OVERRIDES = typer.Argument(None, help="Overrides as dotted key=value (train.learning_rate=1e-4).")


class RecipeOrSubcommand(TyperGroup):
    """A group whose first argument is a subcommand name or else a recipe path, so that
    `gongmu export R` and `gongmu export verify DIR` both work."""

    default_command = "recipe-stage"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [c for c in super().list_commands(ctx) if c != self.default_command]


app = typer.Typer(
    name="gongmu",
    help="gongmu (공무): Korean public-administration documents in, a fine-tuned, evaluated, "
    "servable LLM out. Add --debug anywhere for tracebacks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
recipe_app = typer.Typer(help="Validate, show and describe recipes.", no_args_is_help=True)
corpus_app = typer.Typer(help="Build the instruction corpus.", no_args_is_help=True)
model_app = typer.Typer(help="Model utilities.", no_args_is_help=True)
eval_app = typer.Typer(cls=RecipeOrSubcommand, no_args_is_help=True,
                       help="gongmu eval RECIPE: score base and tuned models on the suites.")
export_app = typer.Typer(cls=RecipeOrSubcommand, no_args_is_help=True,
                         help="gongmu export RECIPE: merge, save and verify the tuned model. "
                         "gongmu export verify DIR: re-check a folder's hashes.")
app.add_typer(recipe_app, name="recipe")
app.add_typer(corpus_app, name="corpus")
app.add_typer(model_app, name="model")
app.add_typer(eval_app, name="eval")
app.add_typer(export_app, name="export")


# --------------------------------------------------------------------------- helpers


def _quiet_libraries() -> None:
    """Library progress bars and deprecation chatter off; gongmu shows its own progress."""
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", message=".*", module="(transformers|peft|trl|torch)\\..*")
    import datasets
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    import logging

    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)


def _summary(stage: str, out) -> None:
    table = Table(title=f"{stage}: {out.path}", title_justify="left", show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value")
    for key, value in out.figures.items():
        if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
            continue  # nested tables stay in manifest.json
        if isinstance(value, float):
            value = f"{value:.6g}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        table.add_row(key, str(value))
    console.print(table)


def _stage_function(stage: str) -> Callable:
    if stage == "corpus":
        from toolkit.corpus.pipeline import build_corpus

        return build_corpus
    if stage == "train":
        from toolkit.train.trainer import train

        return train
    if stage == "eval":
        from toolkit.eval.runner import evaluate

        return evaluate
    if stage == "export":
        from toolkit.export.merge import export

        return export
    from toolkit.report.build import build_report

    return build_report


def run_stages(recipe_path: Path, overrides: list[str], stages: list[str], resume: bool = False) -> None:
    recipe = load_recipe(recipe_path, overrides or [])
    check_paths(recipe, stages)
    _quiet_libraries()
    for stage in stages:
        console.rule(f"[bold]{stage}")
        fn = _stage_function(stage)
        out = fn(recipe, resume=True) if resume and stage == "train" else fn(recipe)
        if out is None:  # submitted to a cluster; the folder appears when the jobs end
            return
        _summary(stage, out)


# --------------------------------------------------------------------------- recipe


@recipe_app.command("validate")
def recipe_validate(
    recipe: Path = RECIPE,
    overrides: Optional[list[str]] = OVERRIDES,
    stage: Optional[list[str]] = typer.Option(
        None, "--stage", "-s", help="Check paths for these stages only (default: all)."),
) -> None:
    """Check a recipe: keys, types, and that every path its stages need exists."""
    loaded = load_recipe(recipe, overrides or [])
    for name in stage or []:
        if name not in STAGES:
            raise GongmuError(f"Unknown stage '{name}': use one of {', '.join(STAGES)}.")
    check_paths(loaded, stage or STAGES)
    console.print(f"[green]ok[/] {escape(str(recipe))}: valid (recipe hash {loaded.hash()[:16]})",
                  highlight=False, soft_wrap=True)


@recipe_app.command("show")
def recipe_show(
    recipe: Path = RECIPE,
    overrides: Optional[list[str]] = OVERRIDES,
    as_json: bool = typer.Option(False, "--json", help="JSON instead of YAML."),
) -> None:
    """Print the fully resolved recipe: extends merged, overrides applied, defaults filled."""
    data = load_recipe(recipe, overrides or []).resolved()
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2) if as_json else dump_yaml(data))


@recipe_app.command("schema")
def recipe_schema() -> None:
    """Print the recipe JSON Schema (for editor completion of recipe keys)."""
    typer.echo(json.dumps(recipe_json_schema(), ensure_ascii=False, indent=2))


# --------------------------------------------------------------------------- stages


@corpus_app.command("build")
def corpus_build(recipe: Path = RECIPE, overrides: Optional[list[str]] = OVERRIDES) -> None:
    """Build <output_dir>/<name>/corpus from the recipe's sources."""
    run_stages(recipe, overrides, ["corpus"])


@corpus_app.command("scan-pii")
def corpus_scan_pii(
    path: Path = typer.Argument(..., help="A text file, or a folder of .md/.txt/.jsonl files."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per finding on stdout."),
    fail_on_find: bool = typer.Option(False, "--fail-on-find", help="Exit 1 when anything is found."),
) -> None:
    """Find Korean personal data (주민등록번호, phone numbers, e-mail, …) in files.

    Offsets are character offsets in the file's NFC text."""
    from collections import Counter

    from toolkit.corpus.pii import scan_file

    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in {".md", ".txt", ".jsonl"})
    elif path.is_file():
        files = [path]
    else:
        raise GongmuError(f"{path} does not exist; give a file or a folder.")
    counts: Counter = Counter()
    for file in files:
        for f in scan_file(file):
            counts[f.type] += 1
            if as_json:
                row = f.as_json()
                if path.is_dir():
                    row["path"] = str(file)
                typer.echo(json.dumps(row, ensure_ascii=False))
    if not as_json:
        table = Table(title=f"personal data in {path} ({len(files)} files)", title_justify="left")
        table.add_column("type")
        table.add_column("found", justify="right")
        for kind, n in counts.most_common():
            table.add_row(kind, str(n))
        console.print(table if counts else "no personal data found")
    if fail_on_find and counts:
        raise typer.Exit(1)


@app.command("train")
def train_command(
    recipe: Path = RECIPE,
    overrides: Optional[list[str]] = OVERRIDES,
    resume: bool = typer.Option(False, "--resume", help="Continue from the newest checkpoint."),
    launcher: str = typer.Option("none", help="none (this process), torchrun or accelerate."),
    nproc: int = typer.Option(0, help="Processes for torchrun (default: GPUs, or 2 on CPU)."),
    accelerate_config: str = typer.Option(
        "ddp", help="recipes/accelerate/<name>.yaml (ddp, zero2, zero3, zero3_offload, fsdp) or a path."),
) -> None:
    """Fine-tune (LoRA, DoRA, QLoRA) on the corpus stage's train split."""
    if launcher == "none":
        run_stages(recipe, overrides, ["train"], resume=resume)
        return
    raise typer.Exit(launch_training(recipe, overrides or [], launcher, nproc,
                                     accelerate_config, resume))


def launch_training(recipe: Path, overrides: list[str], launcher: str, nproc: int,
                    accelerate_config: str, resume: bool) -> int:
    """Start a distributed training run: each process runs toolkit.train.launch."""
    import subprocess

    from toolkit.artifacts import open_upstream

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
        config = Path(accelerate_config)
        if not config.is_file():
            config = Path(__file__).resolve().parents[1] / "recipes" / "accelerate" / f"{accelerate_config}.yaml"
        if not config.is_file():
            raise GongmuError(
                f"--accelerate-config {accelerate_config}: no such file, and no "
                f"recipes/accelerate/{accelerate_config}.yaml.")
        import yaml

        settings = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        if settings.get("distributed_type") == "FSDP":
            from toolkit.train.trainer import refuse_fsdp_without_accelerator

            refuse_fsdp_without_accelerator()  # before N processes start, not in each of them
        extra = ["--num_processes", str(nproc)] if nproc else []
        ds = (settings.get("deepspeed_config") or {}).get("deepspeed_config_file")
        if ds:
            # accelerate reads it against the working directory; ours are written against
            # the repository root (as scripts/slurm/train.sbatch runs them).
            candidates = [Path(ds), config.parent / ds, Path(__file__).resolve().parents[1] / ds]
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


@eval_app.command("recipe-stage", hidden=True)
def eval_command(recipe: Path = RECIPE, overrides: Optional[list[str]] = OVERRIDES) -> None:
    """Score the base and the tuned model on the recipe's suites."""
    run_stages(recipe, overrides, ["eval"])


@eval_app.command("compare")
def eval_compare(
    a: str = typer.Argument(..., help="Baseline: an eval folder (or run folder), PATH:base / PATH:tuned, or a per-item JSONL."),
    b: str = typer.Argument(..., help="Candidate, the same forms."),
    metric: Optional[list[str]] = typer.Option(None, "--metric", help="Only these metrics (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="JSON on stdout."),
) -> None:
    """Paired per-item comparison of two eval results: mean difference with a paired
    bootstrap CI, McNemar's test for 0/1 metrics."""
    from toolkit.eval.compare import compare_command

    raise typer.Exit(compare_command(a, b, metric or None, as_json))


@eval_app.command("gate")
def eval_gate(
    baseline: str = typer.Option(..., "--baseline", help="The accepted model's eval results."),
    candidate: str = typer.Option(..., "--candidate", help="The checkpoint under test."),
    max_drop: float = typer.Option(0.02, "--max-drop", help="Largest tolerated drop of a suite's primary metric."),
    junit: Optional[Path] = typer.Option(None, "--junit", help="Write JUnit XML here."),
    confidence: float = typer.Option(0.95, "--confidence", help="Confidence of the bootstrap interval."),
    all_metrics: bool = typer.Option(False, "--all-metrics", help="Gate every metric, not only the primary."),
) -> None:
    """Non-inferiority gate for CI: exit 1 when a suite's candidate score may be worse than
    the baseline's by more than --max-drop (lower bound of the paired CI)."""
    from toolkit.eval.compare import gate_command

    raise typer.Exit(gate_command(baseline, candidate, max_drop, junit, confidence, all_metrics))


@eval_app.command("export-lm-eval")
def eval_export_lm_eval(
    suite: Path = typer.Argument(..., help="A suite folder (evals/<suite>)."),
    out_dir: Path = typer.Argument(..., help="Where to write the lm-eval task."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Corpus stage folder, for from_corpus suites."),
    items: Optional[Path] = typer.Option(None, "--items", help="Built items (an eval folder's items/<suite>.jsonl), for builder suites."),
) -> None:
    """Write an lm-evaluation-harness task (YAML + data + metric functions) for a suite:
    run it with `lm_eval --model hf --include_path OUT_DIR --tasks gongmu_<suite>`."""
    from toolkit.eval.lm_eval_export import export_lm_eval_command

    raise typer.Exit(export_lm_eval_command(suite, out_dir, corpus, items))


@export_app.command("recipe-stage", hidden=True)
def export_command(recipe: Path = RECIPE, overrides: Optional[list[str]] = OVERRIDES) -> None:
    """Merge the adapter, save safetensors + tokenizer, verify against the adapter model."""
    run_stages(recipe, overrides, ["export"])


@export_app.command("verify")
def export_verify(
    folder: Path = typer.Argument(..., help="A stage folder with manifest.json."),
    signature: bool = typer.Option(False, "--signature", help="Also check manifest.sig."),
    public_key: Optional[Path] = typer.Option(None, help="PEM public key for --signature."),
) -> None:
    """Re-check every file of a stage folder against its manifest (and, with --signature,
    the manifest's signature); exit 1 on any mismatch."""
    from toolkit.artifacts import verify_folder

    problems = verify_folder(folder)
    if signature:
        if public_key is None:
            raise GongmuError("--signature needs --public-key PEM (the signer's public key).")
        from toolkit.export.signing import verify_signature

        problems += verify_signature(folder, public_key)
    if problems:
        for problem in problems:
            console.print(f"[red]FAIL[/] {escape(problem)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    signed = " and the manifest's signature verifies" if signature else ""
    console.print(f"[green]ok[/] {escape(str(folder))}: every file matches its sha256 in the manifest{signed}",
                  highlight=False, soft_wrap=True)


@app.command("report")
def report_command(recipe: Path = RECIPE, overrides: Optional[list[str]] = OVERRIDES) -> None:
    """Write the self-contained HTML report."""
    run_stages(recipe, overrides, ["report"])


@app.command("run")
def run_command(
    recipe: Path = RECIPE,
    overrides: Optional[list[str]] = OVERRIDES,
    from_stage: str = typer.Option("corpus", "--from", help=f"First stage: {', '.join(STAGES)}."),
    to_stage: str = typer.Option("report", "--to", help="Last stage."),
) -> None:
    """Run the stages from --from to --to (all five by default)."""
    for name in (from_stage, to_stage):
        if name not in STAGES:
            raise GongmuError(f"Unknown stage '{name}': use one of {', '.join(STAGES)}.")
    first, last = STAGES.index(from_stage), STAGES.index(to_stage)
    if first > last:
        raise GongmuError(f"--from {from_stage} comes after --to {to_stage}.")
    run_stages(recipe, overrides, list(STAGES[first:last + 1]))


@model_app.command("tiny")
def model_tiny(
    corpus: Path = typer.Option(..., help="Folder of .md/.txt files to train the tokenizer on."),
    out: Path = typer.Option(..., help="Where to save the model directory."),
    arch: str = typer.Option("llama", help="llama or qwen2."),
    vocab_size: int = typer.Option(4096),
    hidden_size: int = typer.Option(256),
    layers: int = typer.Option(4),
    seed: int = typer.Option(0),
) -> None:
    """Build a tiny randomly initialised model + byte-level BPE tokenizer for tests."""
    from toolkit.train.model import build_tiny_model

    _quiet_libraries()
    if not corpus.is_dir():
        raise GongmuError(f"--corpus {corpus} is not a folder.")
    summary = build_tiny_model(corpus, out, arch=arch, vocab_size=vocab_size,
                               hidden_size=hidden_size, layers=layers, seed=seed)
    console.print(f"[green]ok[/] tiny {arch} model, {summary['parameters']:,} parameters, "
                  f"vocabulary {summary['vocab_size']}, saved to {out}")


# --------------------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        result: Any = app(args=args, prog_name="gongmu", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except _EXIT as exc:
        return exc.exit_code
    except _USAGE as exc:
        exc.show()
        return exc.exit_code
    except (*_ABORT, KeyboardInterrupt):
        console.print("interrupted")
        return 130
    except GongmuError as exc:
        if debug:
            traceback.print_exc()
        console.print("error:", style="bold red", end=" ")
        console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the last line of defence for people
        if debug:
            traceback.print_exc()
        console.print("unexpected error:", style="bold red", end=" ")
        console.print(f"{type(exc).__name__}: {exc}. Re-run with --debug for the traceback, "
                      f"and report it if gongmu is at fault.", markup=False, highlight=False,
                      soft_wrap=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
