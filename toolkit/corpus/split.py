"""Train/eval splits by document, never by example: no document's text appears on both
sides."""

from __future__ import annotations

import hashlib
from collections import defaultdict


def split_documents(
    doc_groups: dict[str, str], eval_fraction: float, seed: int
) -> dict[str, str]:
    """Assign each document id to "train" or "eval", stratified by its group (document
    type), in a way that depends only on the ids, the fraction and the seed."""
    by_group: dict[str, list[str]] = defaultdict(list)
    for doc_id, group in doc_groups.items():
        by_group[group].append(doc_id)
    assignment = {}
    for group in sorted(by_group):
        ids = sorted(
            by_group[group],
            key=lambda d: hashlib.sha256(f"{seed}:{d}".encode("utf-8")).hexdigest(),
        )
        n_eval = round(len(ids) * eval_fraction) if len(ids) > 1 else 0
        for i, doc_id in enumerate(ids):
            assignment[doc_id] = "eval" if i < n_eval else "train"
    return assignment
