"""Readers: turn source files into documents, or quarantine them with a reason."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from typing import Iterator

import yaml

from toolkit.recipe import CorpusSource


@dataclass
class Document:
    id: str
    source: str
    path: str
    text: str
    meta: dict = field(default_factory=dict)


@dataclass
class Quarantined:
    source: str
    path: str
    reason: str


def front_matter(raw: str) -> tuple[dict, str]:
    """Split a `---` YAML front matter block from the body. Raises ValueError when the
    block is opened but not closed or is not a mapping."""
    if not raw.startswith("---"):
        return {}, raw
    lines = raw.split("\n")
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            meta = yaml.safe_load("\n".join(lines[1:end])) or {}
            if not isinstance(meta, dict):
                raise ValueError("front matter is not a mapping of keys")
            return {str(k): v for k, v in meta.items()}, "\n".join(lines[end + 1:])
    raise ValueError("front matter opened with --- is never closed")


def documents(source: CorpusSource) -> Iterator[Document | Quarantined]:
    """Every file of a `documents` source, as a Document or a Quarantined entry."""
    name = source.name or source.path.name
    for path in sorted(source.path.rglob(source.glob)):
        if not path.is_file():
            continue
        rel = path.relative_to(source.path).as_posix()
        data = path.read_bytes()
        try:
            raw = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            yield Quarantined(name, str(path), f"not UTF-8 (byte {exc.start})")
            continue
        try:
            # NFC before parsing, so front-matter keys saved decomposed still match.
            meta, body = front_matter(unicodedata.normalize("NFC", raw.replace("\r\n", "\n")))
        except (ValueError, yaml.YAMLError) as exc:
            yield Quarantined(name, str(path), f"bad front matter: {str(exc).splitlines()[0]}")
            continue
        doc_id = f"{name}/{rel}"
        meta = {k: (str(v) if v is not None else None) for k, v in meta.items()}
        meta["sha256"] = hashlib.sha256(data).hexdigest()
        yield Document(doc_id, name, str(path), body, meta)
