"""The `gongmu` command line: thin. It parses, validates and calls one function per stage;
those functions are the Python API. The stage commands, `gongmu run`'s order and the
path checks come from the stage registry (`toolkit.stages`).

    gongmu <stage> RECIPE [key=value ...]

Errors print as one paragraph; `--debug` (anywhere on the line) shows the traceback.
"""

from __future__ import annotations

import json
import signal
import sys
import traceback
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table
from typer.core import TyperGroup
from typer.exceptions import TyperException

from toolkit import stages as registry
from toolkit.audit import audited_signals
from toolkit.console import console, quiet_libraries
from toolkit.errors import GongmuError, RecipeError
from toolkit.recipe import dump_yaml, load_recipe, recipe_json_schema

RECIPE = typer.Argument(..., help="Recipe YAML file.", show_default=False)
OVERRIDES = typer.Argument(None, help="Overrides as dotted key=value (train.learning_rate=1e-4).")


class RecipeOrSubcommand(TyperGroup):
    """A group whose first argument is a subcommand name or else a recipe path, so that
    `gongmu export R` and `gongmu export verify DIR` both work."""

    default_command = "recipe-stage"

    def parse_args(self, ctx, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx) -> list[str]:
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
audit_app = typer.Typer(help="The audit trail of stage runs (<output_dir>/audit.jsonl).",
                        no_args_is_help=True)
eval_app = typer.Typer(cls=RecipeOrSubcommand, no_args_is_help=True,
                       help="gongmu eval RECIPE: score the candidates (base and tuned by "
                       "default) on the suites.")
export_app = typer.Typer(cls=RecipeOrSubcommand, no_args_is_help=True,
                         help="gongmu export RECIPE: merge, save and verify the tuned model. "
                         "gongmu export verify DIR: re-check a folder's hashes.")
report_app = typer.Typer(cls=RecipeOrSubcommand, no_args_is_help=True,
                         help="gongmu report RECIPE: write the evaluation report (report.html, "
                         "report.pdf, summary.json). gongmu report verify DIR: check it.")
app.add_typer(recipe_app, name="recipe")
app.add_typer(corpus_app, name="corpus")
app.add_typer(model_app, name="model")
app.add_typer(audit_app, name="audit")
app.add_typer(eval_app, name="eval")
app.add_typer(export_app, name="export")
app.add_typer(report_app, name="report")


# --------------------------------------------------------------------------- helpers


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


def run_stages(recipe_path: Path, overrides: list[str] | None, names: list[str],
               described_only: bool = False, **options: Any) -> None:
    """Load the recipe, check every path the stages need, then run them in order under
    one lock of the run folder, printing each stage's figures. SIGINT or SIGTERM at any
    point after the recipe is read is audited as "killed" for the stage it stopped."""
    from toolkit import audit

    recipe = load_recipe(recipe_path, overrides or [])
    current = [names[0]] if names else []
    try:
        _run_loaded(recipe, recipe_path, names, described_only, current, **options)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (audit.Killed)
        if current:
            try:
                audit.record_end(recipe, current[0], exc, None)  # unless the stage did
            except OSError:
                pass  # an output_dir that cannot be written: the stage said so before
        raise typer.Exit(_interrupted(exc)) from None  # typer would make any interrupt 130


def _run_loaded(recipe, recipe_path: Path, names: list[str], described_only: bool,
                current: list[str], **options: Any) -> None:
    from toolkit.artifacts import run_lock

    if described_only:  # `gongmu run`: the stages this recipe describes, in that range
        described = registry.recipe_stages(recipe)
        skipped = [n for n in names if n not in described]
        names = [n for n in names if n in described]
        if not names:
            raise RecipeError(f"{recipe_path} describes no stage from {skipped[0]} to "
                              f"{skipped[-1]} (it writes the sections of {', '.join(described)}).")
    current[:] = names[:1]
    registry.check_paths(recipe, names)
    _say_notices(recipe, names)
    quiet_libraries()
    with run_lock(recipe):
        for name in names:
            current[:] = [name]
            out = registry.run_stage(recipe, name, **(options if name == "train" else {}))
            if out is None:  # submitted to a cluster; the folder appears when the jobs end
                return
            _summary(name, out)


def _say_notices(recipe, names) -> None:
    for notice in registry.notices(recipe, names):
        console.print(f"[yellow]note[/] {escape(notice)}", highlight=False, soft_wrap=True)


# --------------------------------------------------------------------------- recipe


@recipe_app.command("validate")
def recipe_validate(
    recipe: Path = RECIPE,
    overrides: Optional[list[str]] = OVERRIDES,
    stage: Optional[list[str]] = typer.Option(
        None, "--stage", "-s", help="Check paths for these stages only (default: all)."),
) -> None:
    """Check a recipe: keys, types, and that every path its stages need exists."""
    from toolkit.artifacts import MANIFEST, is_gongmu_folder

    loaded = load_recipe(recipe, overrides or [])
    names = [registry.stage(name).name for name in stage or registry.recipe_stages(loaded)]
    registry.check_paths(loaded, names)
    _say_notices(loaded, names)
    for name in names:
        folder = loaded.stage_dir(name)
        if folder.exists() and not is_gongmu_folder(folder, loaded.name, name):
            console.print(f"[yellow]warning[/] {escape(str(folder))} exists and is not this "
                          f"recipe's {name} folder (no gongmu {MANIFEST} naming it): the {name} "
                          f"stage will refuse to replace it.", highlight=False, soft_wrap=True)
    console.print(f"[green]ok[/] {escape(str(recipe))}: valid for {', '.join(names)} (recipe "
                  f"hash {loaded.hash()[:16]})", highlight=False, soft_wrap=True)


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


@corpus_app.command("scan-pii")
def corpus_scan_pii(
    path: Path = typer.Argument(..., help="A text file, or a folder of .md/.txt/.jsonl files."),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per finding on stdout."),
    fail_on_find: bool = typer.Option(False, "--fail-on-find", help="Exit 1 when anything is found."),
) -> None:
    """Find Korean personal data (주민등록번호, phone numbers, e-mail, …) in files.

    Offsets are character offsets in the file's NFC text."""
    from collections import Counter

    from toolkit.corpus.scan import scan_file

    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in {".md", ".txt", ".jsonl"})
    elif path.is_file():
        files = [path]
    else:
        raise GongmuError(f"{path} does not exist; give a file or a folder.")
    counts: Counter = Counter()
    unreadable: list[str] = []
    for file in files:
        try:
            findings = scan_file(file)
        except (GongmuError, OSError) as exc:
            if not path.is_dir():
                raise
            # One unreadable file must not hide what the others hold: say so and go on.
            reason = str(exc) if isinstance(exc, GongmuError) else (
                f"{file} cannot be read ({exc.strerror or exc})")
            unreadable.append(reason)
            console.print(f"[yellow]warning[/] {escape(reason)}", highlight=False, soft_wrap=True)
            continue
        for f in findings:
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
    if unreadable:
        raise GongmuError(
            f"{len(unreadable)} of {len(files)} files could not be scanned, so they may hold "
            f"personal data nobody checked: {'; '.join(r.rstrip('.') for r in unreadable[:5])}"
            f"{' …' if len(unreadable) > 5 else ''}. The other files were scanned.")
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
        "ddp", help="A built-in accelerate config (ddp, zero2, zero3, zero3_offload, fsdp) or a path."),
) -> None:
    """Fine-tune (LoRA, DoRA, QLoRA) on the corpus stage's train split."""
    if launcher == "none":
        run_stages(recipe, overrides, ["train"], resume=resume)
        return
    from toolkit.train.launch import launch_training

    raise typer.Exit(launch_training(recipe, overrides or [], launcher, nproc,
                                     accelerate_config, resume))


@eval_app.command("compare")
def eval_compare(
    a: str = typer.Argument(..., help="Baseline: an eval folder (or run folder), PATH:NAME for one of its candidates (PATH:base, PATH:tuned), or a per-item JSONL. Alone: every candidate of that folder."),
    b: Optional[str] = typer.Argument(None, help="Candidate, the same forms."),
    metric: Optional[list[str]] = typer.Option(None, "--metric", help="Only these metrics (default: all)."),
    reference: Optional[str] = typer.Option(None, "--reference", help="With one folder: the candidate the others are compared with (default: results.json's reference)."),
    as_json: bool = typer.Option(False, "--json", help="JSON on stdout."),
) -> None:
    """Paired per-item comparison of two eval results (mean difference with a paired
    bootstrap CI, McNemar's test for 0/1 metrics), or of every candidate of one eval
    folder against a reference candidate."""
    from toolkit.eval.gate import compare_command

    raise typer.Exit(compare_command(a, b, metric or None, as_json, reference))


@eval_app.command("gate")
def eval_gate(
    baseline: str = typer.Option(..., "--baseline", help="The accepted model's eval results."),
    candidate: str = typer.Option(..., "--candidate", help="The checkpoint under test: eval results, or NAME, a candidate of the baseline's eval folder."),
    max_drop: float = typer.Option(0.02, "--max-drop", help="Largest tolerated drop of a suite's primary metric."),
    junit: Optional[Path] = typer.Option(None, "--junit", help="Write JUnit XML here."),
    confidence: float = typer.Option(0.95, "--confidence", help="Confidence of the bootstrap interval."),
    all_metrics: bool = typer.Option(False, "--all-metrics", help="Gate every metric, not only the primary."),
    allow_suite_change: bool = typer.Option(False, "--allow-suite-change", help="Pair items by id even when a suite's hash differs between the two evals (default: exit 2)."),
) -> None:
    """Non-inferiority gate for CI: exit 1 when a suite's candidate score may be worse than
    the baseline's by more than --max-drop (lower bound of the paired CI), or a safety
    metric (pii_leak) may be above its absolute limit; exit 2 when the suites differ."""
    from toolkit.eval.gate import gate_command

    raise typer.Exit(gate_command(baseline, candidate, max_drop, junit, confidence, all_metrics,
                                  allow_suite_change))


@eval_app.command("floors")
def eval_floors(
    recipe: Path = typer.Argument(..., help="The recipe whose eval.suites to score."),
    overrides: Optional[list[str]] = typer.Argument(None, help="key=value overrides."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the table as JSON here."),
) -> None:
    """Score no-model answers (empty, the prompt copied, refuse-all, "끝." alone, every
    article cited, another item's answer, wrong facts, lexical overlap ...) and the
    references themselves on every suite of the recipe, with the suites' own metrics."""
    from toolkit.eval.floors import floors_command

    raise typer.Exit(floors_command(recipe, overrides or [], json_out))


@eval_app.command("export-lm-eval")
def eval_export_lm_eval(
    suite: Path = typer.Argument(..., help="A suite folder (evals/<suite>)."),
    out_dir: Path = typer.Argument(..., help="Where to write the lm-eval task."),
    corpus: Optional[Path] = typer.Option(None, "--corpus", help="Corpus stage folder, for from_corpus suites."),
    items: Optional[Path] = typer.Option(None, "--items", help="Built items (an eval folder's items/<suite>.jsonl), for builder suites."),
    model: Optional[Path] = typer.Option(None, "--model", help="The model (or tokenizer) folder to be evaluated: its chat template's end-of-turn text becomes a stop string."),
) -> None:
    """Write an lm-evaluation-harness task (YAML + data + metric functions) for a suite:
    run it with `lm_eval --model hf --include_path OUT_DIR --tasks gongmu_<suite>`, or
    `--model local-chat-completions` against a served model."""
    from toolkit.eval.lm_eval_export import export_lm_eval_command

    raise typer.Exit(export_lm_eval_command(suite, out_dir, corpus, items, model))


def verify_command(
    folder: Path = typer.Argument(..., help="A stage folder with manifest.json."),
    signature: bool = typer.Option(False, "--signature", help="Also check manifest.sig."),
    public_key: Optional[Path] = typer.Option(None, help="PEM public key for --signature."),
) -> None:
    """Re-check every file of a stage folder (any stage) against its manifest (and, with
    --signature, the manifest's signature); exit 1 on any mismatch."""
    from toolkit.artifacts import verify_folder

    problems = verify_folder(folder)
    if signature:
        if public_key is None:
            raise GongmuError("--signature needs --public-key PEM (the signer's public key).")
        from toolkit.signing import verify_signature

        problems += verify_signature(folder, public_key)
    if problems:
        for problem in problems:
            console.print(f"[red]FAIL[/] {escape(problem)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    signed = " and the manifest's signature verifies" if signature else ""
    console.print(f"[green]ok[/] {escape(str(folder))}: every file matches its sha256 in the manifest{signed}",
                  highlight=False, soft_wrap=True)
    if not signature:
        console.print(UNSIGNED_NOTE.format(
            signed="it has a manifest.sig: check it with --signature --public-key PUB.pem"
            if (folder / "manifest.sig").is_file() else
            "sign the stage folders with the recipe key signing_key: KEY.pem (an EC private "
            "key) and check them with --signature --public-key PUB.pem"),
            highlight=False, soft_wrap=True, markup=False)


# sha256 and section_hash are unkeyed: anyone who edits a file can recompute them.
UNSIGNED_NOTE = ("note: without a signature this proves only that nothing was damaged by "
                 "accident, not that nobody edited the folder and recomputed its hashes; to "
                 "detect deliberate edits, {signed}.")


app.command("verify")(verify_command)
export_app.command("verify", help="Alias of `gongmu verify DIR`.")(verify_command)


@report_app.command("verify")
def report_verify(
    folder: Path = typer.Argument(..., help="A report stage folder (<output_dir>/<name>/report)."),
    public_key: Optional[Path] = typer.Option(None, "--public-key", help="The signer's PEM public key: also check manifest.sig."),
    language: Optional[str] = typer.Option(None, "--language", help="ko or en (default: the report's)."),
) -> None:
    """Check a report folder: every file against its manifest, the signature (with
    --public-key), and the lineage back to the corpus; print the hashes to compare with a
    paper copy and a verdict; exit 1 on any problem."""
    from toolkit.report.verify import message, verify_report

    check = verify_report(folder, public_key)
    lang = language or check.language
    console.print(message("hashes", lang), highlight=False)
    for what, sha in check.checked:
        console.print(f"  {escape(what)}  {sha}", highlight=False, soft_wrap=True)
    console.print(message(f"sig_{check.signature}", lang), highlight=False, soft_wrap=True)
    for problem in check.problems:
        console.print(f"[red]FAIL[/] {escape(problem)}", highlight=False, soft_wrap=True)
    if not check.ok:
        console.print(f"[red]{escape(message('fail', lang))}[/]", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    said = message(check.verdict, lang, stages=", ".join(check.lineage))
    colour = "yellow" if check.verdict == "ok_no_lineage" else "green"
    console.print(f"[{colour}]{escape(said)}[/]", highlight=False, soft_wrap=True)


@audit_app.command("verify")
def audit_verify(
    output_dir: Path = typer.Argument(..., help="A recipe's output_dir (holding audit.jsonl), or the file."),
) -> None:
    """Check the audit trail's chain of entries; that every stage folder's manifest names
    its run's entry in the trail, followed by its published entry (so a cut or rewritten
    trail shows); and that the newest manifest each entry names still matches; exit 1 on
    any problem."""
    from toolkit.audit import check_trail

    check = check_trail(output_dir)
    for problem in check.problems:
        console.print(f"[red]FAIL[/] {escape(problem)}", highlight=False, soft_wrap=True)
    if check.problems:
        raise typer.Exit(1)
    for note in check.unfinished:
        console.print(f"[yellow]note[/] {escape(note)}", highlight=False, soft_wrap=True)
    anchored = (f"the newest stage manifest ({check.newest}) anchors it"
                + (f", with {check.unanchored} later entries of runs that published nothing "
                   f"chained but not anchored" if check.unanchored else "")
                if check.newest else "no stage folder anchors it (none is published)")
    console.print(f"[green]ok[/] {escape(str(output_dir))}: {check.entries} audit entries, chain "
                  f"intact up to head {check.head[:16]}…; every stage folder's entries are in "
                  f"it, in order, and its manifest matches; {escape(anchored)}",
                  highlight=False, soft_wrap=True)


@app.command("run")
def run_command(
    recipe: Path = RECIPE,
    overrides: Optional[list[str]] = OVERRIDES,
    from_stage: str = typer.Option(registry.ORDER[0], "--from",
                                   help=f"First stage: {', '.join(registry.ORDER)}."),
    to_stage: str = typer.Option(registry.ORDER[-1], "--to", help="Last stage."),
) -> None:
    """Run the stages the recipe describes from --from to --to (all by default), in order."""
    run_stages(recipe, overrides, registry.stages_between(from_stage, to_stage), described_only=True)


def _stage_command(name: str):
    """The one-line CLI command of a registered stage: `gongmu <command> R [key=value ...]`."""

    def command(recipe: Path = RECIPE, overrides: Optional[list[str]] = OVERRIDES) -> None:
        run_stages(recipe, overrides, [name])

    command.__doc__ = registry.stage(name).summary
    return command


# Every registered stage but train (which has launcher options of its own) gets its
# command here: `corpus build`, `eval`, `export`, `report`.
_STAGE_APPS = {"corpus": (corpus_app, "build"), "eval": (eval_app, "recipe-stage"),
               "export": (export_app, "recipe-stage"), "report": (report_app, "recipe-stage")}
for _name in registry.ORDER:
    if _name == "train":
        continue
    _group, _word = _STAGE_APPS.get(_name, (app, _name))
    _group.command(_word, hidden=_word == "recipe-stage")(_stage_command(_name))


@app.command("plugins")
def plugins_command() -> None:
    """List the installed readers, instruction families, eval item builders and metrics,
    built-in and from plug-in packages, with each one's package and version."""
    from toolkit.plugins import print_plugins

    print_plugins()


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
    from toolkit.tiny_model import build_tiny_model

    quiet_libraries()
    if not corpus.is_dir():
        raise GongmuError(f"--corpus {corpus} is not a folder.")
    summary = build_tiny_model(corpus, out, arch=arch, vocab_size=vocab_size,
                               hidden_size=hidden_size, layers=layers, seed=seed)
    console.print(f"[green]ok[/] tiny {arch} model, {summary['parameters']:,} parameters, "
                  f"vocabulary {summary['vocab_size']}, saved to {out}")


def _listing_on_one_line(group: typer.Typer) -> None:
    """typer keeps a docstring's line breaks in a group's command listing (not in the
    command's own help); give each command a short help of its first paragraph, joined."""
    import inspect

    for info in group.registered_commands:
        text = info.help or (inspect.getdoc(info.callback) if info.callback else None)
        if text and info.short_help is None:
            info.short_help = " ".join(text.split("\n\n")[0].split())
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            _listing_on_one_line(sub.typer_instance)


_listing_on_one_line(app)


# --------------------------------------------------------------------------- entry point


def _interrupted(exc: BaseException | None) -> int:
    """Ctrl-C (SIGINT) or SIGTERM: say so, and exit as a shell reports the signal."""
    name = getattr(exc, "signal_name", "SIGINT")
    console.print("interrupted" if name == "SIGINT" else f"stopped by {name}")
    return 128 + signal.Signals[name].value


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args.remove("--debug")
    try:
        with audited_signals():  # SIGTERM stops a stage like Ctrl-C, and both are audited
            result: Any = app(args=args, prog_name="gongmu", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except typer.Exit as exc:
        return exc.exit_code
    except TyperException as exc:  # usage errors (typer's own copy of click)
        exc.show()
        return exc.exit_code
    except (typer.Abort, KeyboardInterrupt) as exc:
        return _interrupted(exc.__cause__ if isinstance(exc, typer.Abort) else exc)
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
