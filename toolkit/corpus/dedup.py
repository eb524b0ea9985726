"""Duplicates: exact (hash of the normalised text) and near (MinHash LSH).

Documents: datatrove's MinHash stages (signature → buckets → clusters) run inside the
corpus pipeline; `resolve_document_duplicates` turns their clusters into decisions.
Instructions: far fewer and shorter, so an in-process LSH over the same signature
function (`instruction_duplicates`).

Shingles are 5-character runs of the text with spaces and punctuation removed (see
`clean.shingle_codepoints`). 14 bands × 8 rows put the LSH threshold, (1/b)^(1/r), at a
Jaccard similarity of about 0.72: two copies of a statute that differ in a few amended
sentences are caught, while two different laws that share boilerplate
("이 법은 …을 목적으로 한다") stay below it.
"""

from __future__ import annotations

import hashlib
import struct
from collections import defaultdict
from pathlib import Path

from toolkit.corpus.clean import dedup_key


def text_hash(text: str) -> str:
    return hashlib.sha256(dedup_key(text)).hexdigest()


def read_clusters(folder: Path) -> dict[tuple[int, int], int]:
    """(rank, index in that rank's stream) -> cluster id, from datatrove's `.clusters`
    files (pairs of little-endian uint32: document index, cluster id)."""
    out: dict[tuple[int, int], int] = {}
    for path in sorted(folder.glob("*.clusters")):
        rank = int(path.name.split(".")[0])
        data = path.read_bytes()
        for doc, cluster in struct.iter_unpack("<II", data):
            out[(rank, doc)] = cluster
    return out


def resolve_document_duplicates(
    docs: list[dict], clusters: dict[tuple[int, int], int], exact: bool, near: bool
) -> dict[str, str]:
    """doc id -> reason, for every document to drop. Each doc dict has `id`, `text`,
    `rank`, `index`. The kept copy of a group is the one with the smallest id, so the
    choice does not depend on how the work was sharded."""
    drop: dict[str, str] = {}
    ordered = sorted(docs, key=lambda d: d["id"])
    if exact:
        first: dict[str, str] = {}
        for d in ordered:
            h = text_hash(d["text"])
            if h in first:
                drop[d["id"]] = f"exact duplicate of {first[h]}"
            else:
                first[h] = d["id"]
    if near:
        groups: dict[int, list[dict]] = defaultdict(list)
        for d in ordered:
            c = clusters.get((d["rank"], d["index"]))
            if c is not None:
                groups[c].append(d)
        for members in groups.values():
            alive = [d for d in members if d["id"] not in drop]
            for d in alive[1:]:
                drop[d["id"]] = f"near duplicate (MinHash) of {alive[0]['id']}"
    return drop


def record_text(record: dict) -> str:
    return "\n".join(m["content"] for m in record["messages"])


def instruction_duplicates(records: list[dict], signer, exact: bool, near: bool,
                           exempt: set[str] = frozenset()) -> dict[str, str]:
    """record id -> reason for records to drop, keeping the first of each group in the
    given order (callers put eval splits first, so a training copy is the one dropped).
    Examples are compared within their task family only: a title and a summary of the
    same passage share most of their text and are still different examples. Families in
    `exempt` (templated by design) get the exact check only.
    `signer` is a `steps.KoreanMinhashSignature` (its shingles and permutations)."""
    drop: dict[str, str] = {}
    if exact:
        first: dict[str, str] = {}
        for r in records:
            h = r["meta"].get("task", "") + ":" + text_hash(record_text(r))
            if h in first:
                drop[r["id"]] = f"exact duplicate of instruction {first[h]}"
            else:
                first[h] = r["id"]
    if near:
        tables: dict[str, list[dict[tuple, str]]] = {}
        for r in records:
            if r["id"] in drop or r["meta"].get("task") in exempt:
                continue
            bands = tables.setdefault(r["meta"].get("task", ""),
                                      [dict() for _ in range(signer.config.num_buckets)])
            shingles = signer.get_shingles(record_text(r))
            if shingles.size == 0:
                continue
            match = None
            keys = [tuple(b) for b in signer.get_signature(shingles)]
            for table, key in zip(bands, keys):
                if key in table:
                    match = table[key]
                    break
            if match is not None:
                drop[r["id"]] = f"near duplicate (MinHash) of instruction {match}"
                continue
            for table, key in zip(bands, keys):
                table[key] = r["id"]
    return drop
