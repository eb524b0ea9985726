"""The audit trail: `<output_dir>/audit.jsonl`, one entry per stage run (published or
failed), each carrying the sha256 of the entry before it, so that an edited, deleted or
reordered entry breaks the chain. `gongmu audit verify DIR` checks the chain and that the
newest published manifest of each stage still matches what the trail recorded.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import getpass
import hashlib
import json
import os
import socket
import sys
from pathlib import Path

from toolkit.recipe import Recipe

AUDIT_FILE = "audit.jsonl"
GENESIS = "0" * 64


def _line_hash(line: str) -> str:
    return hashlib.sha256(line.rstrip("\n").encode("utf-8")).hexdigest()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def record(recipe: Recipe, stage: str, outcome: str, manifest: Path | None) -> dict:
    """Append one entry for `stage` of `recipe` to the run's audit trail and return it."""
    output_dir = recipe.output_dir
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / AUDIT_FILE
    with open(path, "a+", encoding="utf-8") as fh:
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
        fh.seek(0, os.SEEK_END)
        fh.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return entry


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify(output_dir: Path) -> tuple[int, list[str]]:
    """(entries read, problems): a broken chain names the line; the newest published entry
    of each stage folder must match that folder's manifest.json today."""
    path = output_dir / AUDIT_FILE if output_dir.is_dir() else output_dir
    if not path.is_file():
        return 0, [f"{path} does not exist: no gongmu stage has run with this output_dir."]
    problems: list[str] = []
    previous = GENESIS
    newest: dict[str, tuple[int, dict]] = {}
    n = 0
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            n += 1
            try:
                entry = json.loads(line)
            except ValueError:
                problems.append(f"{path}:{number}: not a JSON entry")
                previous = _line_hash(line)
                continue
            if entry.get("previous") != previous:
                problems.append(
                    f"{path}:{number}: the chain is broken here (the entry before it was edited, "
                    f"deleted or moved)")
            previous = _line_hash(line)
            if entry.get("outcome") == "published" and entry.get("folder"):
                newest[entry["folder"]] = (number, entry)
    base = path.parent
    for folder, (number, entry) in sorted(newest.items()):
        manifest = base / folder / "manifest.json"
        if not manifest.is_file():
            problems.append(f"{path}:{number}: {manifest} is gone")
        elif _sha256(manifest) != entry.get("manifest_sha256"):
            problems.append(
                f"{path}:{number}: {manifest} no longer matches the sha256 the trail recorded "
                f"(it was edited or replaced outside gongmu)")
    return n, problems
