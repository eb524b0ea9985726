"""The stage registry and the routine every stage runs in.

Each stage is `toolkit/<stage>/stage.py`. It declares a `STAGE` (its name, the command
that runs it, the stages whose folders it reads, the recipe sections it consumes, the
files it writes) and exposes `check_paths(recipe) -> list[str]` and
`run(recipe, **options) -> StageOutput`. Those modules import nothing heavy at import
time, so the CLI, `gongmu run`'s order, manifests and `recipe validate` can all read the
registry without loading torch.

`stage_run` is the routine around a stage's own work:

    with stage_run(recipe, "eval") as stage:         # paths checked, upstreams verified,
        corpus = stage.inputs["corpus"]              # the run folder locked, MLflow run open
        ...                                          # the stage's own steps
        with stage.publish() as out:                 # atomic folder + manifest, then the
            write files into out.path                # MLflow log and the audit entry
    return stage.output
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from toolkit import audit, tracking
from toolkit.artifacts import (
    MANIFEST,
    StageOutput,
    Upstream,
    refuse_foreign_folder,
    run_lock,
    stage_folder,
    verify_folder,
)
from toolkit.errors import ArtifactError, RecipeError
from toolkit.recipe import Recipe, content_hash

# The built-in stages, in the order `gongmu run` runs them.
ORDER = ("corpus", "train", "eval", "export", "report")
# Sections several stages read: writing them does not make a recipe describe a stage.
SHARED_SECTIONS = ("seed", "model")


@dataclass(frozen=True)
class Stage:
    """What a stage declares about itself (in `toolkit/<name>/stage.py`)."""

    name: str
    command: str  # the CLI words that run it: "corpus build", "train", ...
    summary: str  # one line for --help
    sections: tuple[str, ...]  # recipe parts it consumes; a change makes its folder stale
    upstream: tuple[str, ...] = ()  # stages whose folders it needs
    optional_upstream: tuple[str, ...] = ()  # stages whose folders it reads when present
    outputs: tuple[str, ...] = ()  # what its folder holds (files and subfolders)
    module: str = ""

    def load(self):
        return importlib.import_module(self.module)

    def upstream_for(self, recipe: Recipe) -> tuple[str, ...]:
        """The stages whose folders a run on `recipe` needs: `upstream`, unless the stage
        module decides per recipe with `upstream(recipe)` (eval: only the folders its
        suites and candidates read, so an eval-only recipe needs none)."""
        decide = getattr(self.load(), "upstream", None)
        return tuple(decide(recipe)) if callable(decide) else self.upstream

    def check_paths(self, recipe: Recipe) -> list[str]:
        """Problems with the paths this stage needs, each naming the recipe file and line."""
        return self.load().check_paths(recipe)

    def run(self, recipe: Recipe, **options) -> StageOutput | None:
        return self.load().run(recipe, **options)


def stage(name: str) -> Stage:
    """The registered stage called `name`, or RecipeError naming the valid ones."""
    if name not in ORDER:
        raise RecipeError(f"Unknown stage '{name}': use one of {', '.join(ORDER)}.")
    declared = importlib.import_module(f"toolkit.{name}.stage").STAGE
    return declared


def stages() -> list[Stage]:
    return [stage(name) for name in ORDER]


def stages_between(first: str, last: str) -> list[str]:
    """The stage names from `first` to `last` in run order."""
    a, b = ORDER.index(stage(first).name), ORDER.index(stage(last).name)
    if a > b:
        raise RecipeError(f"--from {first} comes after --to {last}.")
    return list(ORDER[a:b + 1])


def recipe_stages(recipe: Recipe) -> list[str]:
    """The stages `recipe` describes, in run order: each stage whose own section the
    recipe writes (after `extends` and overrides), the train stage where it names a corpus
    and a model, and the report wherever there is an eval. So a corpus recipe is validated and run as a corpus alone, and an eval-only
    recipe as eval and report. A recipe that writes none of them describes all five."""
    written = recipe.model_fields_set
    own = {name: [s for s in stage(name).sections if s not in SHARED_SECTIONS] for name in ORDER}
    names = [name for name in ORDER if any(s in written for s in own[name])
             or (name == "report" and "eval" in written)
             or (name == "train" and {"corpus", "model"} <= written)]  # a model to tune on it
    return names or list(ORDER)


def check_paths(recipe: Recipe, names) -> None:
    """Fail before any heavy work when a path one of the named stages needs is missing."""
    problems: list[str] = []
    for name in names:
        problems += [p for p in stage(name).check_paths(recipe) if p not in problems]
    if problems:
        raise RecipeError(" ".join(problems))


def notices(recipe: Recipe, names) -> list[str]:
    """What the named stages will do differently on this machine (a stage module's
    optional `notices(recipe)`), said before the first stage starts."""
    said: list[str] = []
    for name in names:
        tell = getattr(stage(name).load(), "notices", None)
        said += [n for n in (tell(recipe) if callable(tell) else []) if n not in said]
    return said


def section_data(recipe: Recipe, name: str) -> dict:
    """The recipe values stage `name` consumes, paths relative to the recipe file."""
    portable = recipe.portable()
    return {key: portable[key] for key in stage(name).sections}


# --------------------------------------------------------------------------- upstreams


def open_upstream(recipe: Recipe, name: str) -> Upstream:
    """Verify and return the `name` folder of this recipe's run, or raise ArtifactError."""
    spec = stage(name)
    folder = recipe.stage_dir(name)
    rerun = f"`gongmu {spec.command} {recipe.file}`"
    if not (folder / MANIFEST).is_file():
        raise ArtifactError(
            f"The {name} stage's folder {folder} is missing or incomplete (no {MANIFEST}). "
            f"Run {rerun} first."
        )
    problems = verify_folder(folder)
    if problems:
        raise ArtifactError(
            f"The {name} stage's folder does not verify: {'; '.join(problems)}. Its files "
            f"changed after the stage wrote them; re-run {rerun} to rebuild it."
        )
    raw = (folder / MANIFEST).read_bytes()
    manifest = json.loads(raw)
    current = section_data(recipe, name)
    if manifest.get("section_hash") != content_hash(current):
        was, now = tracking.flatten(manifest.get("section", {})), tracking.flatten(current)
        changed = [f"{k} ({was.get(k, '-')} -> {now.get(k, '-')})"
                   for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)]
        raise ArtifactError(
            f"The {name} folder {folder} was built from different recipe values than this "
            f"run uses: {', '.join(changed) or 'unknown'}. Re-run {rerun} to rebuild it, or "
            f"pass the overrides the {name} stage was run with."
        )
    return Upstream(name, folder, manifest, hashlib.sha256(raw).hexdigest())


def open_upstreams(recipe: Recipe, names) -> list[Upstream]:
    """Open several upstream folders and check that they come from one lineage."""
    ups = [open_upstream(recipe, s) for s in names]
    by_stage = {u.stage: u for u in ups}
    for up in ups:
        for name, sha in up.manifest.get("lineage", {}).items():
            if name in by_stage and by_stage[name].manifest_sha256 != sha:
                raise ArtifactError(
                    f"The {up.stage} folder was built from an older {name} folder than the "
                    f"one now on disk ({by_stage[name].path} was re-run since). Re-run "
                    f"`gongmu {stage(up.stage).command} {recipe.file}` so they agree."
                )
    return ups


# --------------------------------------------------------------------------- the routine


@dataclass
class StageRun:
    """A running stage: its recipe, its verified inputs, its MLflow run; `publish()`
    writes its folder. Processes other than the main one of a distributed run get no
    MLflow run and may not publish."""

    recipe: Recipe
    spec: Stage
    inputs: dict[str, Upstream]
    tracking: tracking.StageRun
    main_process: bool = True
    output: StageOutput | None = None
    plugins: list[dict] = field(default_factory=list)
    audit_entry: str | None = None  # sha256 of the run's started entry; the manifest names it

    @contextlib.contextmanager
    def publish(self, seal: Callable[[Path], None] | None = None) -> Iterator[StageOutput]:
        """Yield the stage's temporary folder; when the block completes, write the
        manifest (naming the run's started audit entry) and `seal` it (e.g. sign it), move
        the folder into place, append the published audit entry, and log it to MLflow.
        From the seal to the published entry SIGINT and SIGTERM wait, so a folder in
        place always has its entry."""
        if not self.main_process:
            raise RuntimeError("only the main process publishes a stage folder")
        key = self.recipe.signing_key
        if seal is None and key is not None:
            from toolkit.signing import sign_manifest

            seal = lambda folder: sign_manifest(folder, key)  # noqa: E731
        held = contextlib.ExitStack()

        def seal_and_hold(folder: Path) -> None:
            if seal is not None:
                seal(folder)
            held.enter_context(audit.deferred_signals())

        with held:
            with stage_folder(self.recipe, self.spec.name,
                              section_data(self.recipe, self.spec.name),
                              list(self.inputs.values()), seal=seal_and_hold,
                              plugins=self.plugins, audit_entry=self.audit_entry) as out:
                yield out
            self.output = out
            audit.record(self.recipe, self.spec.name, "published", out.path / MANIFEST,
                         started=self.audit_entry)
        self.tracking.log_stage(out)


@contextlib.contextmanager
def stage_run(recipe: Recipe, name: str, *, main_process: bool = True) -> Iterator[StageRun]:
    """Check the stage's paths, verify its upstream folders (and their lineage), lock
    the run folder, open the MLflow run; yield the StageRun. The run's start is audited
    (its entry's sha256 goes into the manifest), and so is its end: published, failed, or
    killed by SIGINT or SIGTERM (which raise here, see `audit.audited_signals`)."""
    spec = stage(name)
    check_paths(recipe, [name])
    # Before any work: the folder this stage will replace must be gongmu's own.
    refuse_foreign_folder(recipe.stage_dir(name), recipe.name, name)
    needed = spec.upstream_for(recipe)
    present = [s for s in spec.optional_upstream
               if s not in needed and (recipe.stage_dir(s) / MANIFEST).is_file()]
    ups = open_upstreams(recipe, [*needed, *present])
    lock = run_lock(recipe) if main_process else contextlib.nullcontext()
    signals = audit.audited_signals() if main_process else contextlib.nullcontext()
    with signals, lock:
        run_ctx = tracking.stage_run(recipe, name) if main_process else contextlib.nullcontext(
            tracking.StageRun())
        started = None
        try:
            if main_process:
                with audit.deferred_signals():  # a signal now is raised once `started` is set
                    started = audit.record(recipe, name, "started")
            with run_ctx as run:
                yield StageRun(recipe, spec, {u.stage: u for u in ups}, run, main_process,
                               audit_entry=started)
        except BaseException as exc:
            if main_process:
                audit.record_end(recipe, name, exc, started)
            raise


def run_stage(recipe: Recipe, name: str, **options: Any) -> StageOutput | None:
    """Run one stage of `recipe` (the Python API behind `gongmu <stage> R`)."""
    return stage(name).run(recipe, **options)
