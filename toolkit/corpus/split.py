"""Train/validation/test splits by cluster of source documents, never by example: no
document's text (and so no article of a statute) appears on two sides, and neither does
a near copy of it.

A cluster (`contamination_clusters`) joins the documents whose text an eval item could
find in training otherwise:

- a law family: a 법률 with its 시행령 and 시행규칙 (an ordinance with its 시행규칙), which
  repeat each other's provisions;
- near duplicates over the whole corpus by MinHash at a lower threshold than document
  dedup (`NEAR_JACCARD`): provinces' copies of one 특별법 시행령, parallel rulings;
- rulings citing each other in 참조판례;
- the same 규칙 issued by several ministries or provinces (one title after the issuer's
  name).

Clusters are assigned whole, so a cluster never straddles the splits.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from typing import Callable, Iterable

import numpy as np

SPLITS = ("train", "validation", "test")

# Ordinances are few beside national statutes and they are the local government's own
# text: at least this share of them is held out, so an eval has local items to score.
ORDINANCE_TEST_SHARE = 0.25
# MinHash near-duplicate clusters for the split: bands of `NEAR_ROWS` rows over the
# document-dedup signature (14 x 8 = 112 hashes -> 28 bands of 4: LSH threshold about
# 0.43), a candidate pair kept when its signatures agree on at least `NEAR_JACCARD`.
NEAR_ROWS = 4
NEAR_JACCARD = 0.4

_FAMILY_SUFFIX = re.compile(r"(?:시행령|시행규칙)$")
_ISSUER = re.compile(r"^(?:\S+(?:부|처|청|위원회|특별시|광역시|특별자치시|특별자치도|도)|감사원)\s+"
                     r"(?:소관\s+)?(?=\S)")


_CASE_NUMBER = re.compile(r"\d{2,4}[가-힣]{1,3}\d+")


def law_family(title: str) -> str:
    """The family a law belongs to: "청원법 시행령" and "청원법시행규칙" -> "청원법"."""
    return _FAMILY_SUFFIX.sub("", re.sub(r"\s+", "", title))


def issuer_free_title(title: str) -> str:
    """A 규칙's title without its issuer ("행정안전부 소관 비영리법인의 설립 및 감독에 관한
    규칙" -> "비영리법인의설립및감독에관한규칙"), so one rule issued by several ministries or
    provinces is one title. Titles without a space after the issuer are unchanged."""
    stripped = _ISSUER.sub("", title.strip())
    return law_family(stripped)


class _Clusters:
    def __init__(self, ids: Iterable[str]):
        self.parent = {i: i for i in ids}

    def find(self, i: str) -> str:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: str, b: str, why: str, reasons: dict) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            lo, hi = sorted((ra, rb))
            self.parent[hi] = lo
            reasons[why] += 1


def _title(meta: dict) -> str:
    return str(meta.get("제목") or meta.get("자치법규명") or meta.get("법령명") or "")


def contamination_clusters(docs: list[dict], signature: Callable[[str], np.ndarray] | None = None,
                           cited_cases: Callable[[dict], list[str]] | None = None,
                           ) -> tuple[dict[str, str], dict[str, int]]:
    """(doc id -> cluster id, how many joins each rule made). Each doc has `id`, `text`
    and `meta` (front matter: 제목/자치법규명, 사건번호). `signature(text)` gives a document's
    MinHash values (one flat array); `cited_cases(doc)` the case numbers its 참조판례
    cites. The cluster id is its smallest document id, so it does not depend on order."""
    ids = sorted(d["id"] for d in docs)
    uf = _Clusters(ids)
    reasons: dict[str, int] = defaultdict(int)
    by_key: dict[tuple[str, str], str] = {}
    by_case: dict[str, str] = {}
    for d in sorted(docs, key=lambda d: d["id"]):
        title = _title(d["meta"])
        if title:
            for rule, key in (("law family", law_family(title)),
                              ("same rule, other issuer", issuer_free_title(title))):
                first = by_key.setdefault(("title", key), d["id"])
                if first != d["id"]:
                    uf.join(first, d["id"], rule, reasons)
        case = str(d["meta"].get("사건번호") or "").strip()
        if case:
            by_case.setdefault(case, d["id"])
    if cited_cases is not None:
        for d in docs:
            for case in cited_cases(d):
                for token in _CASE_NUMBER.findall(case):
                    if token in by_case and by_case[token] != d["id"]:
                        uf.join(by_case[token], d["id"], "참조판례", reasons)
    if signature is not None:
        sigs = {d["id"]: np.asarray(signature(d["text"])).ravel() for d in docs}
        sigs = {k: v for k, v in sigs.items() if v.size}
        bands: dict[tuple, list[str]] = defaultdict(list)
        for doc_id in sorted(sigs):
            s = sigs[doc_id]
            for b in range(len(s) // NEAR_ROWS):
                bands[(b, s[b * NEAR_ROWS:(b + 1) * NEAR_ROWS].tobytes())].append(doc_id)
        checked: set[tuple[str, str]] = set()
        for members in bands.values():
            for other in members[1:]:
                pair = (members[0], other)
                if pair in checked:
                    continue
                checked.add(pair)
                a, b = sigs[pair[0]], sigs[pair[1]]
                if len(a) == len(b) and float(np.mean(a == b)) >= NEAR_JACCARD:
                    uf.join(pair[0], pair[1], "MinHash near duplicate", reasons)
    return {i: uf.find(i) for i in ids}, dict(reasons)


def split_documents(
    doc_groups: dict[str, str], validation_fraction: float, test_fraction: float, seed: int,
    clusters: dict[str, str] | None = None, min_test_share: dict[str, float] | None = None,
) -> dict[str, str]:
    """Assign each document id to "train", "validation" or "test", stratified by its
    group (source and document type), in a way that depends only on the ids, the
    clusters, the fractions and the seed. Documents of one cluster (`clusters`: doc id
    -> cluster id; default, each its own) go to one side together: clusters are taken
    in seeded order and placed in test, then validation, while they fit the side's
    count, so a cluster larger than what is left of a side goes to train. A group of one
    document stays in train. `min_test_share` raises a group's test share (group ->
    share); such a group's test side is filled until it reaches the share, even when the
    last cluster overshoots it."""
    clusters = clusters or {d: d for d in doc_groups}
    members: dict[str, list[str]] = defaultdict(list)
    for doc_id in doc_groups:
        members[clusters.get(doc_id, doc_id)].append(doc_id)
    by_group: dict[str, list[str]] = defaultdict(list)
    for cluster, docs in members.items():
        by_group[doc_groups[min(docs)]].append(cluster)
    assignment = {}
    for group in sorted(by_group):
        ordered = sorted(by_group[group],
                         key=lambda c: hashlib.sha256(f"{seed}:{c}".encode("utf-8")).hexdigest())
        # The group's size counts its own documents, also those a cluster took to
        # another group's side ("서울특별시 공무원 행동강령" goes with 공무원 행동강령).
        n = sum(1 for g in doc_groups.values() if g == group)
        n = n if n > 1 else 0
        share = max(test_fraction, (min_test_share or {}).get(group, 0.0))
        n_test = round(n * test_fraction) if share == test_fraction else math.ceil(n * share)
        n_val = round(n * validation_fraction)
        at_least = share != test_fraction  # a minimum share may be overshot, never missed
        taken = {"test": 0, "validation": 0}
        for cluster in ordered:
            size = len(members[cluster])
            side = "train"
            if taken["test"] + size <= n_test or (at_least and taken["test"] < n_test):
                side = "test"
            elif taken["validation"] + size <= n_val:
                side = "validation"
            if side != "train":
                taken[side] += size
            for doc_id in members[cluster]:
                assignment[doc_id] = side
    return assignment
