"""Train/validation/test splits by source document, never by example: no document's
text (and so no article of a statute) appears on two sides."""

from __future__ import annotations

import hashlib
from collections import defaultdict

SPLITS = ("train", "validation", "test")


def split_documents(
    doc_groups: dict[str, str], validation_fraction: float, test_fraction: float, seed: int
) -> dict[str, str]:
    """Assign each document id to "train", "validation" or "test", stratified by its
    group (source and document type), in a way that depends only on the ids, the
    fractions and the seed. A group of one document stays in train."""
    by_group: dict[str, list[str]] = defaultdict(list)
    for doc_id, group in doc_groups.items():
        by_group[group].append(doc_id)
    assignment = {}
    for group in sorted(by_group):
        ids = sorted(
            by_group[group],
            key=lambda d: hashlib.sha256(f"{seed}:{d}".encode("utf-8")).hexdigest(),
        )
        n = len(ids) if len(ids) > 1 else 0
        n_test = round(n * test_fraction)
        n_val = round(n * validation_fraction)
        for i, doc_id in enumerate(ids):
            assignment[doc_id] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    return assignment
