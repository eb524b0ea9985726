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
import stat
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


@contextlib.contextmanager
def stage_folder(
    recipe: Recipe, stage: str, section: dict, inputs: list[Upstream] = (), seal=None,
    plugins: list[dict] = (), audit_entry: str | None = None,
) -> Iterator[StageOutput]:
    """Yield a temporary folder for `stage`; on success write the manifest (then call
    `seal(folder)`, e.g. to sign it) and move the folder into place, replacing an earlier
    one of gongmu's; on failure leave the old folder alone.

    A folder at the stage's place that is not this recipe's stage folder (no gongmu
    manifest naming this recipe and stage) is never replaced: ArtifactError. Temporaries
    left by killed runs are removed first, and a swap a kill interrupted is undone.
    `audit_entry`, the sha256 of the run's started entry in the audit trail, goes into the
    manifest (the anchor `gongmu audit verify` checks; see toolkit.audit). Empty folders
    the stage left are removed first: a stage folder holds regular files only."""
    final = recipe.stage_dir(stage)
    _make_run_dir(final.parent)
    recover_stage_folder(final)
    refuse_foreign_folder(final, recipe.name, stage)
    tmp = final.parent / f".{stage}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    out = StageOutput(tmp)
    started = time.time()
    try:
        yield out
        _remove_empty_folders(tmp)
        manifest = _build_manifest(recipe, stage, section, inputs, out, started, plugins)
        if audit_entry is not None:
            manifest["audit_entry"] = audit_entry
        write_json_atomic(tmp / MANIFEST, manifest)
        if seal is not None:
            seal(tmp)
        _make_readable(tmp)
        fsync_tree(tmp)  # on disk before the rename that publishes it, not after
        old = None
        if final.exists():
            old = final.parent / f".{stage}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
            final.rename(old)
        try:
            tmp.rename(final)
        except OSError:
            if old is not None:
                old.rename(final)  # put the previous folder back
            raise
        fsync_dir(final.parent)  # the rename itself
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        out.path = final
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_empty_folders(folder: Path) -> None:
    for path in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()),
                       key=lambda p: len(p.parts), reverse=True):
        if not any(path.iterdir()):
            path.rmdir()


def _make_run_dir(run_dir: Path) -> None:
    if run_dir.exists() and not run_dir.is_dir():
        raise ArtifactError(
            f"{run_dir} is a file, but gongmu needs a folder there for this run's stages. "
            f"Set output_dir (or name) so that <output_dir>/<name> is a folder or does not exist."
        )
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ArtifactError(
            f"Cannot create the run folder {run_dir}: {exc.strerror or exc}. Set output_dir to "
            f"a folder you can write to."
        ) from None


def is_gongmu_folder(folder: Path, recipe_name: str, stage: str) -> bool:
    """Whether `folder` holds a manifest gongmu wrote for this recipe name and stage."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return (manifest.get("manifest_version") == MANIFEST_VERSION
                and manifest.get("stage") == stage
                and (manifest.get("recipe") or {}).get("name") == recipe_name)
    except (OSError, ValueError, AttributeError):
        return False


def refuse_foreign_folder(final: Path, recipe_name: str, stage: str) -> None:
    """ArtifactError when `final` exists and is not gongmu's folder for this stage."""
    if final.is_symlink() or (final.exists() and not final.is_dir()):
        raise ArtifactError(
            f"{final} exists and is not a gongmu stage folder; gongmu never replaces it. Move "
            f"it away, or choose another output_dir or name for the recipe."
        )
    if final.is_dir() and not is_gongmu_folder(final, recipe_name, stage):
        raise ArtifactError(
            f"{final} exists but is not the {stage} folder of recipe '{recipe_name}' (it has "
            f"no gongmu manifest naming them); gongmu never replaces a folder it did not make. "
            f"Move it away, or choose another output_dir or name for the recipe."
        )


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid runs (on this host)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _dead_temporary(path: Path, kind: str) -> bool:
    """`.<stage>.<kind>-<pid>-<hex>` whose process is gone (a killed run's leftover)."""
    parts = path.name.rsplit("-", 2)
    if len(parts) != 3 or not parts[0].endswith(f".{kind}") or not parts[1].isdigit():
        return False
    return int(parts[1]) != os.getpid() and not pid_alive(int(parts[1]))


def recover_stage_folder(final: Path) -> list[Path]:
    """Undo what a killed run left at `final`'s place: put back a folder hidden under
    `.<stage>.old-*` when the new one never arrived, and remove dead runs' temporaries.
    Returns what was removed or restored."""
    touched: list[Path] = []
    if not final.parent.is_dir():
        return touched
    stage = final.name
    for old in sorted(final.parent.glob(f".{stage}.old-*")):
        legacy = old.name.count("-") == 1  # `.<stage>.old-<hex>`, before pids were named
        if not (legacy or _dead_temporary(old, "old")):
            continue  # a live run's swap in progress
        if not final.exists() and (old / MANIFEST).is_file():
            old.rename(final)  # the swap was cut between its two renames
        else:
            shutil.rmtree(old, ignore_errors=True)
        touched.append(old)
    for tmp in sorted(final.parent.glob(f".{stage}.tmp-*")):
        if _dead_temporary(tmp, "tmp"):
            shutil.rmtree(tmp, ignore_errors=True)
            touched.append(tmp)
    return touched


@contextlib.contextmanager
def run_lock(recipe: Recipe) -> Iterator[None]:
    """An advisory lock on `<output_dir>/<name>`: a second gongmu process on the same run
    folder fails at once, naming the holder. Re-entrant within one process."""
    import fcntl
    import socket

    run_dir = recipe.run_dir
    key = str(run_dir.resolve()) if run_dir.exists() else str(run_dir)
    if _HELD_LOCKS.get(key):
        _HELD_LOCKS[key][1] += 1
        try:
            yield
        finally:
            _HELD_LOCKS[key][1] -= 1
        return
    _make_run_dir(run_dir)
    key = str(run_dir.resolve())
    path = run_dir / ".lock"
    fh = open(path, "a+", encoding="utf-8")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        raise ArtifactError(
            f"{run_dir} is in use by another gongmu run ({holder}). Wait for it to finish, or "
            f"give this run another name or output_dir."
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()} on host {socket.gethostname()}, since {_iso(time.time())}\n")
    fh.flush()
    _HELD_LOCKS[key] = [fh, 1]
    try:
        yield
    finally:
        _HELD_LOCKS[key][1] -= 1
        if _HELD_LOCKS[key][1] == 0:
            del _HELD_LOCKS[key]
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()


_HELD_LOCKS: dict[str, list] = {}


def fsync_file(path: Path, flags: int = os.O_RDONLY) -> None:
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a folder's entries (the names created or renamed in it) to disk."""
    fsync_file(path, os.O_RDONLY | os.O_DIRECTORY)


def fsync_tree(folder: Path) -> None:
    """Flush every regular file under `folder`, then every folder's entries, to disk: a
    rename that publishes `folder` must not reach the disk before what is in it (after a
    power cut, a published stage folder of empty or half-written files)."""
    folders = [folder]
    for path in folder.rglob("*"):
        if path.is_symlink():
            continue
        if path.is_dir():
            folders.append(path)
        elif path.is_file():
            fsync_file(path)
    for path in folders:
        fsync_dir(path)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON beside `path`, flush it, then rename it into place (never half a file)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(data, ensure_ascii=False, indent=2))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def copy_atomic(src: Path, dst: Path) -> None:
    """Copy `src` to `dst` through a temporary beside `dst` and a rename: a reader (or a
    kill) sees the old file or the new one, never half of one; a failed copy leaves the
    old file and no temporary."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    try:
        shutil.copyfile(src, tmp)
        fsync_file(tmp)
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)


def _make_readable(folder: Path) -> None:
    # safetensors and tempfile write 0600; exports are read by serving users too.
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    folder.chmod(0o755)


def _build_manifest(
    recipe: Recipe, stage: str, section: dict, inputs: list[Upstream], out: StageOutput,
    started: float, plugins: list[dict],
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
        "plugins": list(plugins),
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
    if manifest.get("section_hash") != content_hash(manifest.get("section")):
        problems.append(f"{manifest_path}: its 'section' does not match its 'section_hash' "
                        f"(the manifest was edited after the stage wrote it)")
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
    return _irregular_entries(folder) + problems


def _irregular_entries(folder: Path) -> list[str]:
    """A stage folder holds regular files and the folders they sit in, nothing else: a
    symbolic link (to a file or a folder, inside or out), a FIFO, a socket, a device or an
    empty folder is refused, whatever the manifest says (gongmu never writes one)."""
    problems = []
    for where, folders, files in os.walk(folder):  # never follows a link
        for name in sorted(folders + files):
            path = Path(where) / name
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                problems.append(f"{path} is a symbolic link; a stage folder holds only regular "
                                f"files, so it is not the folder gongmu wrote")
            elif stat.S_ISDIR(mode):
                if not any(path.iterdir()):
                    problems.append(f"{path} is an empty folder, which gongmu never writes into a "
                                    f"stage folder")
            elif not stat.S_ISREG(mode):
                problems.append(f"{path} is not a regular file (a FIFO, socket or device); a "
                                f"stage folder holds only regular files")
    return problems


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
