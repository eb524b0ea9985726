"""The audit trail: `<output_dir>/audit.jsonl`, chained entries of every stage run, each
carrying the sha256 of the entry before it, so that an edited, deleted or reordered entry
breaks the chain; anchored in the stage manifests, so that a cut or rewritten tail is
caught too.

How the trail and the manifests name each other (the hash of a file cannot be inside the
file it names, so a run writes two entries):

1. When a stage starts (its run folder locked, before its own work), its **started** entry
   is appended: who (OS user, host), the command line, the recipe and its hash, the stage
   and its folder. Its sha256 is the run's *own audit entry*.
2. The stage's `manifest.json` records that sha256 as `audit_entry`. Since every entry
   holds the hash of the one before it, the manifest so pins the whole trail up to its
   run's start: rewriting any earlier entry, even recomputing every hash after it, no
   longer yields the entry the manifest names.
3. When the folder is in place, the **published** entry is appended, naming the manifest's
   sha256 and the started entry. A run that fails ends in a **failed: <error>** entry, one
   stopped by SIGTERM or SIGINT in **killed** with the signal's name; a run killed by
   SIGKILL (or a power cut) leaves its started entry without an outcome.

`gongmu audit verify DIR` checks the chain; that every stage folder under DIR names a
started entry that is in the trail and is followed by its published entry, the folder's
upstream folders published before it started; and that the newest published entry of
each folder still matches that folder's manifest. So dropping the tail (the newest
folder's entries go with it) or rewriting the trail is detected. What no manifest can
anchor: entries after the newest manifest's published entry (runs that published
nothing); they are chained, and counted as unanchored. Someone who can rewrite manifests
as well can rewrite everything; signing the folders (`signing_key`) anchors those.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
import signal
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from toolkit.recipe import Recipe

AUDIT_FILE = "audit.jsonl"
GENESIS = "0" * 64
MANIFEST = "manifest.json"  # as toolkit.artifacts names it (audit sits below artifacts)


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.rstrip("\n").encode("utf-8")).hexdigest()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def record(recipe: Recipe, stage: str, outcome: str, manifest: Path | None = None, *,
           started: str | None = None, signal_name: str | None = None) -> str:
    """Append one entry for `stage` of `recipe` to the run's audit trail; return its sha256
    (the hash the next entry, and for a started entry the stage's manifest, will name).
    `outcome` is "started", "published", "failed: <error>" or "killed"; `started` is the
    sha256 of the run's started entry, `signal_name` the signal that killed it."""
    output_dir = recipe.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / AUDIT_FILE
    with deferred_signals(), open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # entries from concurrent runs never interleave
        fh.seek(0)
        last = None
        for line in fh:
            if line.strip():
                last = line
        entry = {
            "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "user": _user(),
            "host": socket.gethostname(),
            "command": [Path(sys.argv[0]).name, *sys.argv[1:]],
            "recipe": recipe.name,
            "recipe_file": str(recipe.file) if recipe.file else None,
            "recipe_hash": recipe.hash(),
            "stage": stage,
            "folder": os.path.relpath(recipe.stage_dir(stage), output_dir),
            "outcome": outcome,
            "manifest_sha256": _sha256(manifest) if manifest is not None else None,
            "previous": _line_hash(last) if last else GENESIS,
        }
        if outcome != "started":
            entry["started"] = started
        if signal_name is not None:
            entry["signal"] = signal_name
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True)
        fh.seek(0, os.SEEK_END)
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return _line_hash(line)


def record_end(recipe: Recipe, stage: str, exc: BaseException, started: str | None) -> None:
    """Audit how a run that raised `exc` ended ("killed" for SIGINT and SIGTERM, "failed:
    <error>" otherwise), once: an exception already audited further in is not again."""
    if getattr(exc, "gongmu_audited", False):
        return
    with contextlib.suppress(AttributeError, TypeError):
        exc.gongmu_audited = True
    with deferred_signals():
        if isinstance(exc, KeyboardInterrupt):
            record(recipe, stage, "killed", started=started,
                   signal_name=getattr(exc, "signal_name", "SIGINT"))
        else:
            record(recipe, stage, f"failed: {type(exc).__name__}", started=started)
        _PENDING.clear()  # a second signal while the first is audited: the run stops anyway


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- signals


class Killed(KeyboardInterrupt):
    """SIGTERM (a timeout, Slurm, systemd) raised like Ctrl-C, so that the run stops the
    same way: temporaries removed, the trail told "killed" with the signal's name."""

    def __init__(self, signal_name: str):
        super().__init__(signal_name)
        self.signal_name = signal_name


_DEFERRED = threading.local()
_PENDING: list[int] = []


def _on_signal(signum: int, frame) -> None:
    if getattr(_DEFERRED, "depth", 0):
        _PENDING.append(signum)  # raised when the entry (or publish) being written is done
        return
    _raise_for(signum)


def _raise_for(signum: int) -> None:
    if signum == signal.SIGINT:
        exc = KeyboardInterrupt()
        exc.signal_name = "SIGINT"
        raise exc
    raise Killed(signal.Signals(signum).name)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM (where `audited_signals` handles them) until the block
    ends: an entry is never half-written, and a folder renamed into place always gets its
    published entry. A signal that came meanwhile is raised at the end."""
    _DEFERRED.depth = getattr(_DEFERRED, "depth", 0) + 1
    try:
        yield
    finally:
        _DEFERRED.depth -= 1
        if not _DEFERRED.depth and _PENDING and threading.current_thread() is threading.main_thread():
            signum = _PENDING.pop(0)
            _PENDING.clear()
            _raise_for(signum)


@contextlib.contextmanager
def audited_signals() -> Iterator[None]:
    """Within the block SIGTERM raises `Killed` and SIGINT KeyboardInterrupt, so a stage
    stopped by either is audited as "killed". Installed only from the main thread and over
    Python's default handlers (a notebook's or a launcher's own are left alone); the
    previous handlers come back at the end. Nested uses are free."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    replaced = {}
    for signum, default in ((signal.SIGTERM, signal.SIG_DFL),
                            (signal.SIGINT, signal.default_int_handler)):
        current = signal.getsignal(signum)
        if current is default:
            replaced[signum] = current
            signal.signal(signum, _on_signal)
    try:
        yield
    finally:
        for signum, previous in replaced.items():
            signal.signal(signum, previous)


# --------------------------------------------------------------------------- verify


@dataclass
class TrailCheck:
    """What `gongmu audit verify` found: `problems` empty when the trail verifies."""

    path: Path
    entries: int = 0
    problems: list[str] = field(default_factory=list)
    head: str = GENESIS
    newest: Path | None = None  # the manifest whose published entry comes last
    unanchored: int = 0  # entries after the newest manifest's published entry
    unfinished: list[str] = field(default_factory=list)  # started entries with no outcome


def _stage_manifests(base: Path) -> dict[str, Path]:
    """`<name>/<stage>` -> manifest.json of every gongmu stage folder under `base`."""
    found: dict[str, Path] = {}
    for run in sorted(base.iterdir()) if base.is_dir() else []:
        if run.name.startswith(".") or run.is_symlink() or not run.is_dir():
            continue
        for folder in sorted(run.iterdir()):
            manifest = folder / MANIFEST
            if folder.name.startswith(".") or not manifest.is_file():
                continue
            try:
                data = json.loads(manifest.read_text(encoding="utf-8"))
                ours = (data.get("stage") == folder.name
                        and (data.get("recipe") or {}).get("name") == run.name)
            except (OSError, ValueError, AttributeError):
                ours = False
            if ours:
                found[f"{run.name}/{folder.name}"] = manifest
    return found


def check_trail(output_dir: Path) -> TrailCheck:
    """Check the trail of `output_dir` (or the audit.jsonl given) against the stage
    folders beside it; see the module docstring for what is checked and why."""
    path = output_dir / AUDIT_FILE if output_dir.is_dir() else output_dir
    check = TrailCheck(path)
    if not path.is_file():
        check.problems.append(
            f"{path} does not exist: no gongmu stage has run with this output_dir.")
        return check
    problems = check.problems
    previous = GENESIS
    entries: list[tuple[int, dict, str]] = []  # (line number, entry, its sha256)
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                if not isinstance(entry, dict):
                    raise ValueError
            except ValueError:
                problems.append(f"{path}:{number}: not a JSON entry")
                previous = _line_hash(line)
                continue
            if entry.get("previous") != previous:
                problems.append(
                    f"{path}:{number}: the chain is broken here (the entry before it was edited, "
                    f"deleted or moved)")
            previous = _line_hash(line)
            entries.append((number, entry, previous))
    check.entries, check.head = len(entries), previous
    at = {sha: i for i, (_, _, sha) in reversed(list(enumerate(entries)))}
    newest: dict[str, tuple[int, dict]] = {}
    published_at: dict[str, int] = {}  # manifest sha256 -> first published entry
    ended: set[str] = set()
    for i, (number, entry, _) in enumerate(entries):
        if entry.get("started"):
            ended.add(entry["started"])
        if entry.get("outcome") == "published" and entry.get("folder"):
            newest[entry["folder"]] = (number, entry)
            published_at.setdefault(entry.get("manifest_sha256"), i)
    check.unfinished = [f"{path}:{number}: {entry.get('folder')} started at {entry.get('time')} "
                        f"and has no outcome (still running, or killed by SIGKILL or a power cut)"
                        for number, entry, sha in entries
                        if entry.get("outcome") == "started" and sha not in ended]
    base = path.parent
    for folder, (number, entry) in sorted(newest.items()):
        manifest = base / folder / MANIFEST
        if not manifest.is_file():
            problems.append(f"{path}:{number}: {manifest} is gone")
        elif _sha256(manifest) != entry.get("manifest_sha256"):
            problems.append(
                f"{path}:{number}: {manifest} no longer matches the sha256 the trail recorded "
                f"(it was edited or replaced outside gongmu)")
    last_published = -1
    for folder, manifest in sorted(_stage_manifests(base).items()):
        position = _check_anchor(check, entries, at, published_at, folder, manifest)
        if position is not None and position > last_published:
            last_published, check.newest = position, manifest
    check.unanchored = len(entries) - 1 - last_published
    return check


def _check_anchor(check: TrailCheck, entries: list, at: dict, published_at: dict,
                  folder: str, manifest_path: Path) -> int | None:
    """Check one stage folder's anchor; return the position of its published entry."""
    problems, trail = check.problems, check.path
    raw = manifest_path.read_bytes()
    manifest = json.loads(raw)
    anchor = manifest.get("audit_entry")
    if not anchor:
        problems.append(f"{manifest_path} names no audit entry (it was written outside a "
                        f"gongmu stage run, or by a gongmu from before the trail was anchored), "
                        f"so {trail} cannot vouch for it. Re-run the stage.")
        return None
    start = at.get(anchor)
    if start is None:
        problems.append(f"{manifest_path} names audit entry {anchor[:16]}…, which is not in "
                        f"{trail}: the trail was cut after it, or rewritten.")
        return None
    number, started, _ = entries[start]
    if started.get("outcome") != "started" or started.get("folder") != folder:
        problems.append(f"{trail}:{number}: the entry {manifest_path} names is not the start "
                        f"of a run of {folder}")
        return None
    sha = hashlib.sha256(raw).hexdigest()
    published = next((i for i in range(start + 1, len(entries))
                      if entries[i][1].get("started") == anchor
                      and entries[i][1].get("outcome") == "published"), None)
    if published is None or entries[published][1].get("manifest_sha256") != sha:
        problems.append(f"{trail}:{number}: {folder} started here, but no later entry records "
                        f"the publication of {manifest_path} as it is today (the trail was cut "
                        f"or edited after it, or the manifest was replaced).")
        return None
    same = ("user", "host", "command", "recipe", "recipe_hash", "stage", "folder")
    moved = [key for key in same if entries[published][1].get(key) != started.get(key)]
    if moved:
        problems.append(f"{trail}:{entries[published][0]}: the published entry of {folder} "
                        f"differs from its started entry in {', '.join(moved)} (edited)")
    for stage, info in sorted((manifest.get("inputs") or {}).items()):
        upstream = published_at.get((info or {}).get("manifest_sha256"))
        if upstream is not None and upstream > start:
            problems.append(f"{trail}:{number}: {folder} started before the {stage} folder it "
                            f"read was published (entry {entries[upstream][0]}): out of order")
    return published


def verify(output_dir: Path) -> tuple[int, list[str]]:
    """(entries read, problems): see `check_trail`."""
    check = check_trail(output_dir)
    return check.entries, check.problems
