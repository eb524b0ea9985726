"""Stage folders and their manifests.

Each stage writes `<output_dir>/<recipe name>/<stage>/` atomically: it works in a hidden
sibling folder and renames it into place only when complete, with a `manifest.json` that
records the sha256 of every file, the recipe section the stage consumed, the manifests
it read (lineage), package versions, git commit, times and the stage's key figures.
A stage refuses an upstream folder whose manifest is missing or does not verify.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from toolkit.errors import ArtifactError
from toolkit.recipe import Recipe, content_hash

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"  # optional, written after the manifest (export signing)
MANIFEST_VERSION = 1

# Which parts of the recipe each stage consumes. A downstream stage refuses an upstream
# folder built from different values of these parts (a stale folder).
STAGE_SECTIONS: dict[str, tuple[str, ...]] = {
    "corpus": ("seed", "corpus"),
    "train": ("seed", "model", "train"),
    "eval": ("model", "eval"),
    "export": ("model", "export"),
    "report": ("report",),
}

PACKAGES = (
    "gongmu", "torch", "transformers", "tokenizers", "peft", "trl", "accelerate",
    "datasets", "safetensors", "mlflow", "sacrebleu", "pydantic",
)


@dataclass
class StageOutput:
    """The folder a running stage writes into, and the key figures it reports."""

    path: Path
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class Upstream:
    """A verified upstream stage folder."""

    stage: str
    path: Path
    manifest: dict
    manifest_sha256: str


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def section_data(recipe: Recipe, stage: str) -> dict:
    """The recipe values `stage` consumes, paths relative to the recipe file."""
    portable = recipe.portable()
    return {key: portable[key] for key in STAGE_SECTIONS[stage]}


@contextlib.contextmanager
def stage_folder(
    recipe: Recipe, stage: str, inputs: list[Upstream] = (), seal=None
) -> Iterator[StageOutput]:
    """Yield a temporary folder for `stage`; on success write the manifest (then call
    `seal(folder)`, e.g. to sign it) and move the folder into place, replacing an earlier
    one; on failure leave the old folder alone."""
    final = recipe.stage_dir(stage)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{stage}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    out = StageOutput(tmp)
    started = time.time()
    try:
        yield out
        manifest = _build_manifest(recipe, stage, inputs, out, started)
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8"
        )
        if seal is not None:
            seal(tmp)
        _make_readable(tmp)
        old = None
        if final.exists():
            old = final.parent / f".{stage}.old-{uuid.uuid4().hex[:8]}"
            final.rename(old)
        try:
            tmp.rename(final)
        except OSError:
            if old is not None:
                old.rename(final)  # put the previous folder back
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        out.path = final
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _make_readable(folder: Path) -> None:
    # safetensors and tempfile write 0600; exports are read by serving users too.
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    folder.chmod(0o755)


def _build_manifest(
    recipe: Recipe, stage: str, inputs: list[Upstream], out: StageOutput, started: float
) -> dict:
    files = {}
    for path in sorted(p for p in out.path.rglob("*") if p.is_file()):
        rel = path.relative_to(out.path).as_posix()
        if rel in (MANIFEST, SIGNATURE):
            continue
        files[rel] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    lineage: dict[str, str] = {}
    for up in inputs:
        lineage.update(up.manifest.get("lineage", {}))
        lineage[up.stage] = up.manifest_sha256
    section = section_data(recipe, stage)
    finished = time.time()
    return {
        "manifest_version": MANIFEST_VERSION,
        "stage": stage,
        "recipe": {
            "name": recipe.name,
            "file": str(recipe.file) if recipe.file else None,
            "hash": recipe.hash(),
        },
        "section": section,
        "section_hash": content_hash(section),
        "inputs": {
            up.stage: {"path": str(up.path), "manifest_sha256": up.manifest_sha256}
            for up in inputs
        },
        "lineage": lineage,
        "files": files,
        "figures": out.figures,
        "packages": package_versions(),
        "git": git_state(recipe.file.parent if recipe.file else Path.cwd()),
        "gongmu_git": git_state(Path(__file__).parent),
        "host": {"python": sys.version.split()[0], "platform": platform.platform()},
        "started_at": _iso(started),
        "finished_at": _iso(finished),
        "duration_s": round(finished - started, 3),
    }


def _iso(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec="seconds")


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def git_state(folder: Path) -> dict | None:
    try:
        commit = subprocess.run(
            ["git", "-C", str(folder), "rev-parse", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )
        if commit.returncode != 0:
            return None
        status = subprocess.run(
            ["git", "-C", str(folder), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True, text=True, timeout=10,
        )
        return {"commit": commit.stdout.strip(), "dirty": bool(status.stdout.strip())}
    except (OSError, subprocess.SubprocessError):
        return None


def verify_folder(folder: Path) -> list[str]:
    """Problems found checking `folder` against its manifest (empty when it verifies)."""
    manifest_path = folder / MANIFEST
    if folder.is_file():
        return [f"{folder} is a file; give the stage folder that holds {MANIFEST}"]
    if not folder.is_dir():
        return [f"{folder} does not exist"]
    if not manifest_path.is_file():
        return [f"{manifest_path} is missing (the folder is incomplete or not a stage folder)"]
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        listed = manifest["files"]
        if manifest.get("manifest_version") != MANIFEST_VERSION or not isinstance(listed, dict):
            raise ValueError
        for info in listed.values():
            int(info["bytes"]), str(info["sha256"])
    except (ValueError, KeyError, TypeError):
        return [f"{manifest_path} is not a valid gongmu manifest (version {MANIFEST_VERSION})"]
    problems = []
    root = folder.resolve()
    for rel, info in listed.items():
        path = folder / rel
        if not path.resolve().is_relative_to(root):
            problems.append(f"{rel} in the manifest points outside {folder}")
        elif not path.is_file():
            problems.append(f"{path} is listed in the manifest but missing")
        elif path.stat().st_size != info["bytes"] or sha256_file(path) != info["sha256"]:
            problems.append(f"{path} does not match its sha256 in the manifest")
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel not in (MANIFEST, SIGNATURE) and rel not in listed:
            problems.append(f"{path} is not listed in the manifest")
    return problems


def open_upstream(recipe: Recipe, stage: str) -> Upstream:
    """Verify and return the `stage` folder of this recipe's run, or raise ArtifactError."""
    folder = recipe.stage_dir(stage)
    if not (folder / MANIFEST).is_file():
        raise ArtifactError(
            f"The {stage} stage's folder {folder} is missing or incomplete (no {MANIFEST}). "
            f"Run `gongmu {_stage_command(stage)} {recipe.file}` first."
        )
    problems = verify_folder(folder)
    if problems:
        raise ArtifactError(
            f"The {stage} stage's folder does not verify: {'; '.join(problems)}. Its files "
            f"changed after the stage wrote them; re-run `gongmu {_stage_command(stage)} "
            f"{recipe.file}` to rebuild it."
        )
    raw = (folder / MANIFEST).read_bytes()
    manifest = json.loads(raw)
    current = section_data(recipe, stage)
    if manifest.get("section_hash") != content_hash(current):
        from toolkit.tracking import flatten

        was, now = flatten(manifest.get("section", {})), flatten(current)
        changed = [f"{k} ({was.get(k, '-')} -> {now.get(k, '-')})"
                   for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)]
        raise ArtifactError(
            f"The {stage} folder {folder} was built from different recipe values than this "
            f"run uses: {', '.join(changed) or 'unknown'}. Re-run `gongmu "
            f"{_stage_command(stage)} {recipe.file}` to rebuild it, or pass the overrides the "
            f"{stage} stage was run with."
        )
    return Upstream(stage, folder, manifest, hashlib.sha256(raw).hexdigest())


def open_upstreams(recipe: Recipe, stages: list[str]) -> list[Upstream]:
    """Open several upstream folders and check that they come from one lineage."""
    ups = [open_upstream(recipe, s) for s in stages]
    by_stage = {u.stage: u for u in ups}
    for up in ups:
        for stage, sha in up.manifest.get("lineage", {}).items():
            if stage in by_stage and by_stage[stage].manifest_sha256 != sha:
                raise ArtifactError(
                    f"The {up.stage} folder was built from an older {stage} folder than the "
                    f"one now on disk ({by_stage[stage].path} was re-run since). Re-run "
                    f"`gongmu {_stage_command(up.stage)} {recipe.file}` so they agree."
                )
    return ups


def _stage_command(stage: str) -> str:
    return "corpus build" if stage == "corpus" else stage


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    raise ArtifactError(f"{path}:{n}: not valid JSON ({exc}).") from None
    return rows
