"""Readers: turn the files of a `corpus.sources[]` entry into documents, or quarantine
them with a reason. A reader never raises on bad input: every file ends as documents or
as one Quarantined entry (JSONL: one per bad line)."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import yaml

from toolkit.corpus.formats import Unreadable, decode_text, iter_jsonl, read_hwpx, read_pdf
from toolkit.errors import DataError
from toolkit.recipe import CorpusSource
from toolkit.safe_yaml import load_yaml

# Front-matter keys that name a document, per source type.
TITLE_KEYS = ("제목", "자치법규명", "사건명", "title")
# legalize-kr metadata not worth carrying into every record.
_SKIP_META = {"출처"}


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
    id: str | None = None


def front_matter(raw: str) -> tuple[dict, str]:
    """Split a `---` YAML front matter block from the body. Raises ValueError when the
    block is opened but not closed, is not a mapping, or is not bounded YAML (the message
    then names the file's line): no aliases, since a few hundred bytes of them expand to
    megabytes, and at most `toolkit.safe_yaml.MAX_BYTES` and `MAX_NODES`."""
    if not raw.startswith("---"):
        return {}, raw
    lines = raw.split("\n")
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            try:
                meta = load_yaml("\n".join(lines[1:end]), "", first_line=2) or {}
            except DataError as exc:
                raise ValueError(str(exc)) from None
            if not isinstance(meta, dict):
                raise ValueError("front matter is not a mapping of keys")
            return {str(k): v for k, v in meta.items()}, "\n".join(lines[end + 1:])
    raise ValueError("front matter opened with --- is never closed")


def _meta_value(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return str(value)


def source_files(source: CorpusSource) -> list[Path]:
    """The files a source reads, in a stable order."""
    return sorted(p for p in source.path.glob(source.file_glob) if p.is_file())


def read_source_file(source: CorpusSource, path: Path) -> Iterator[Document | Quarantined]:
    """The documents of one file of `source` (JSONL: one per line), or Quarantined entries."""
    name = source.source_name
    rel = path.relative_to(source.path).as_posix()
    doc_id = f"{name}/{rel}"
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Quarantined(name, str(path), f"cannot read: {exc.strerror or exc}", doc_id)
        return
    base = {
        "source": name, "source_type": source.type, "path": str(path), "relpath": rel,
        "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
        "profile": source.profile_name,
    }
    if source.type == "jsonl":
        yield from _jsonl_documents(source, path, doc_id, base)
        return
    try:
        text, meta = _read_one(source, path, data, base)
    except Unreadable as exc:
        yield Quarantined(name, str(path), str(exc), doc_id)
        return
    yield Document(doc_id, name, str(path), text, meta)


def _read_one(source: CorpusSource, path: Path, data: bytes, base: dict) -> tuple[str, dict]:
    meta = dict(base)
    if source.type == "hwpx":
        text, extra = read_hwpx(path)
        meta.update({k: _meta_value(v) for k, v in extra.items()})
        meta["encoding"] = "hwpx"
    elif source.type == "pdf":
        text, extra = read_pdf(path)
        meta.update({k: _meta_value(v) for k, v in extra.items()})
        meta["encoding"] = "pdf"
    else:
        raw, encoding = decode_text(data)
        meta["encoding"] = encoding
        # NFC before parsing, so front-matter keys saved decomposed still match.
        raw = unicodedata.normalize("NFC", raw)
        if source.type == "text":
            text = raw
        else:
            try:
                fields, text = front_matter(raw)
            except (ValueError, yaml.YAMLError) as exc:
                raise Unreadable(f"bad front matter: {str(exc).splitlines()[0]}") from None
            meta.update({k: _meta_value(v) for k, v in fields.items() if k not in _SKIP_META})
    if "title" not in meta or not meta.get("title"):
        meta["title"] = next((meta[k] for k in TITLE_KEYS if meta.get(k)), None)
    return text, meta


def _jsonl_documents(source: CorpusSource, path: Path, file_id: str, base: dict) -> Iterator[Document | Quarantined]:
    name = source.source_name
    produced = 0
    try:
        for lineno, item in iter_jsonl(path, source.field_map):
            produced += 1
            doc_id = f"{file_id}:{lineno}"
            if isinstance(item, Unreadable):
                yield Quarantined(name, f"{path}:{lineno}", str(item), doc_id)
                continue
            meta = {**base, "path": f"{path}:{lineno}", "line": lineno, "encoding": None}
            meta.update({k: _meta_value(v) for k, v in item["meta"].items()})
            if item.get("id"):
                meta["record_id"] = str(item["id"])
            meta["sha256"] = hashlib.sha256(item["text"].encode("utf-8")).hexdigest()
            meta.setdefault("title", None)
            yield Document(doc_id, name, f"{path}:{lineno}", item["text"], meta)
    except Unreadable as exc:
        yield Quarantined(name, str(path), str(exc), file_id)
        return
    if not produced:
        yield Quarantined(name, str(path), "no records (only blank lines)", file_id)


def documents(source: CorpusSource) -> Iterator[Document | Quarantined]:
    """Every document of a source, in file order (outside the pipeline: tests, notebooks)."""
    for path in source_files(source):
        yield from read_source_file(source, path)
