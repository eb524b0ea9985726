"""Readers: turn the files of a `corpus.sources[]` entry into documents, or quarantine
them with a reason. A source's `type` names a reader registered in the `gongmu.readers`
entry-point group (`toolkit.plugins.Reader`): the built-ins at the end of this module, or
a plug-in's. Bad input never stops the corpus: every file ends as documents or as one
Quarantined entry (a many-record file such as JSONL: one per bad record)."""

from __future__ import annotations

import errno
import hashlib
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

from toolkit import plugins
from toolkit.corpus.formats import Unreadable, decode_text, iter_jsonl, read_hwpx, read_pdf
from toolkit.errors import DataError
from toolkit.plugins import Reader
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
    """The files a source reads, in a stable order: every entry the glob matches that is
    not a folder, symbolic links (dangling ones too) and FIFOs included, so that each is
    read or accounted for with its reason (`read_source_file`)."""
    return sorted(p for p in source.path.glob(source.file_glob)
                  if p.is_symlink() or not p.is_dir())


def _not_inside(source: CorpusSource, path: Path) -> str | None:
    """Why `path` is not read, or None: a link loop, a dangling link, something that is
    not a regular file, or (unless the source says `follow_symlinks: true`) a file that a
    symbolic link, of the file or of a folder above it, places outside the source folder."""
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:
        if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == errno.ELOOP:
            return "symbolic link loop: the link points back to itself; remove it"
        if path.is_symlink():
            try:
                to = os.readlink(path)
            except OSError:
                to = "?"
            return f"dangling symbolic link (to {to}, which does not exist)"
        return f"cannot read: {getattr(exc, 'strerror', None) or exc}"
    if not target.is_file():
        return "not a regular file (a FIFO, device or link to a folder); not read"
    root = source.path.resolve()
    if not source.follow_symlinks and not target.is_relative_to(root):
        return (f"symbolic link to {target}, outside the source folder {root}: not read. "
                f"Copy the file into the folder, or set follow_symlinks: true on the source")
    return None


def read_source_file(source: CorpusSource, path: Path) -> Iterator[Document | Quarantined]:
    """The documents of one file of `source`, read by the reader its type names (built-in
    or plug-in), or Quarantined entries: one for a file that cannot be read, one per bad
    record of a file that holds many."""
    name = source.source_name
    rel = path.relative_to(source.path).as_posix()
    file_id = f"{name}/{rel}"
    refused = _not_inside(source, path)
    if refused:
        yield Quarantined(name, str(path), refused, file_id)
        return
    try:
        data = path.read_bytes()
    except OSError as exc:
        yield Quarantined(name, str(path), f"cannot read: {exc.strerror or exc}", file_id)
        return
    reader = plugins.load(plugins.READERS, source.type)
    options = plugins.options_model(plugins.READERS, source.type, source.options)
    base = {
        "source": name, "source_type": source.type, "path": str(path), "relpath": rel,
        "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
        "profile": source.profile_name,
    }
    produced = 0
    try:
        for record in reader.read(path, data, options):
            produced += 1
            if "unreadable" in record:  # one bad record of a many-record file
                at = f":{record.get('line', produced)}"
                yield Quarantined(name, f"{path}{at}", record["unreadable"], f"{file_id}{at}")
                continue
            yield _document(file_id, base, record)
    except UNREADABLE as exc:
        yield Quarantined(name, str(path), str(exc), file_id)
        return
    if not produced:
        yield Quarantined(name, str(path), "no records (only blank lines)", file_id)


def _document(file_id: str, base: dict, record: dict) -> Document:
    """A reader's record as a Document: the file's metadata, then the record's own (values
    as text); a record of a many-record file (`line`) is named and hashed by itself."""
    meta = dict(base)
    doc_id, line = file_id, record.get("line")
    if line is not None:
        doc_id = f"{file_id}:{line}"
        meta.update({"path": f"{base['path']}:{line}", "line": line, "encoding": None})
    meta.update({k: _meta_value(v) for k, v in (record.get("meta") or {}).items()})
    if line is not None:
        meta["sha256"] = hashlib.sha256(record["text"].encode("utf-8")).hexdigest()
    if not meta.get("title"):
        meta["title"] = next((meta[k] for k in TITLE_KEYS if meta.get(k)), None)
    return Document(doc_id, base["source"], meta["path"], record["text"], meta)


def documents(source: CorpusSource) -> Iterator[Document | Quarantined]:
    """Every document of a source, in file order (outside the pipeline: tests, notebooks)."""
    for path in source_files(source):
        yield from read_source_file(source, path)


# --------------------------------------------------------------------------- built-in readers

# What a reader raises (or yields) for a file (or record) it cannot read.
UNREADABLE = (Unreadable, ValueError)


def _decoded(data: bytes) -> tuple[str, str]:
    raw, encoding = decode_text(data)
    # NFC before parsing, so front-matter keys saved decomposed still match.
    return unicodedata.normalize("NFC", raw), encoding


def read_front_matter_file(path: Path, data: bytes, options=None) -> Iterator[dict]:
    """A Markdown or text file with an optional `---` YAML front matter: its fields are the
    document's metadata (제목, 문서종류, 담당부서, legalize-kr keys …)."""
    text, encoding = _decoded(data)
    try:
        fields, body = front_matter(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise Unreadable(f"bad front matter: {str(exc).splitlines()[0]}") from None
    yield {"text": body, "meta": {"encoding": encoding,
                                  **{k: v for k, v in fields.items() if k not in _SKIP_META}}}


def read_text_file(path: Path, data: bytes, options=None) -> Iterator[dict]:
    """A plain text file, decoded (UTF-8, UTF-16/32 with a BOM, CP949/EUC-KR)."""
    text, encoding = _decoded(data)
    yield {"text": text, "meta": {"encoding": encoding}}


def read_hwpx_file(path: Path, data: bytes, options=None) -> Iterator[dict]:
    text, extra = read_hwpx(path)
    yield {"text": text, "meta": {**extra, "encoding": "hwpx"}}


def read_pdf_file(path: Path, data: bytes, options=None) -> Iterator[dict]:
    text, extra = read_pdf(path)
    yield {"text": text, "meta": {**extra, "encoding": "pdf"}}


class JsonlOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field_map: dict[str, str] = Field(
        default_factory=lambda: {"text": "text"},
        description="Our field -> the file's key. `text` is required; `id`, `title` and any "
        "other entries are copied into the document's metadata.",
    )

    @field_validator("field_map")
    @classmethod
    def _maps_text(cls, value: dict[str, str]) -> dict[str, str]:
        if "text" not in value:
            raise ValueError("field_map must name the key holding the text: {text: <key>}")
        return value


def read_jsonl_records(path: Path, data: bytes, options: JsonlOptions) -> Iterator[dict]:
    """One document per line of a JSON Lines file (the keys `options.field_map` names)."""
    for lineno, item in iter_jsonl(path, options.field_map):
        if isinstance(item, Unreadable):
            yield {"line": lineno, "unreadable": str(item)}
            continue
        meta = dict(item["meta"])
        if item.get("id"):
            meta["record_id"] = str(item["id"])
        yield {"text": item["text"], "meta": meta, "line": lineno}


DOCUMENTS = Reader("documents", read_front_matter_file, glob="*.md", description=(
    ".md/.txt with YAML front matter (제목, 문서종류, 담당부서)."))
STATUTES = Reader("statutes", read_front_matter_file, glob="**/*.md", profile="legal",
                  description="A legalize-kr checkout (<법령명>/<구분>.md).")
RULINGS = Reader("rulings", read_front_matter_file, glob="**/*.md", profile="legal",
                 description="precedent-kr rulings.")
ORDINANCES = Reader("ordinances", read_front_matter_file, glob="*.md", profile="legal",
                    description="ordinance-kr files.")
TEXT = Reader("text", read_text_file, glob="**/*.txt", description="Plain text files.")
JSONL = Reader("jsonl", read_jsonl_records, options=JsonlOptions, glob="**/*.jsonl",
               description="One record per line; options.field_map names the keys.")
HWPX = Reader("hwpx", read_hwpx_file, glob="**/*.hwpx", description="한글 HWPX files.")
PDF = Reader("pdf", read_pdf_file, glob="**/*.pdf", description="PDF text layers.")
