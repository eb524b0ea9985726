"""Decontamination: drop training examples that share long word n-grams with eval items.

Words are runs of letters and digits of the NFC text (Korean eojeol without their
punctuation). An n-gram of 13 such words is a long sentence fragment, so a shared one
means copied text, not a shared phrase. A training example is dropped when, for some
eval item, the shared n-grams make up at least `threshold` of the smaller of the two
n-gram sets (a short eval item quoted whole inside a long example counts). Texts shorter
than n words have no n-grams and cannot be flagged this way; the document-level split
keeps those apart.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from typing import Iterable

_WORD = re.compile(r"\w+")


def ngrams(text: str, n: int) -> set[int]:
    words = _WORD.findall(unicodedata.normalize("NFC", text).lower())
    return {hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1)}


class EvalIndex:
    """The n-grams of every eval item, and which items hold each."""

    def __init__(self, n: int, grams=None):
        self.n = n
        self.grams = grams or ngrams
        self.size: dict[str, int] = {}
        self.holders: dict[int, list[str]] = defaultdict(list)

    def add(self, item_id: str, text: str) -> None:
        grams = self.grams(text, self.n)
        if not grams or item_id in self.size:
            return
        self.size[item_id] = len(grams)
        for g in grams:
            self.holders[g].append(item_id)

    def worst_overlap(self, text: str, item_side: bool = False) -> tuple[float, str | None]:
        """The largest overlap share of `text` with one eval item, and that item's id: the
        shared n-grams over the smaller of the two sets, or with `item_side` over the
        item's (how much of an eval reference one training example holds)."""
        grams = self.grams(text, self.n)
        if not grams:
            return 0.0, None
        shared: Counter = Counter()
        for g in grams:
            for item in self.holders.get(g, ()):
                shared[item] += 1
        best, best_id = 0.0, None
        for item, k in shared.items():
            share = k / (self.size[item] if item_side else min(len(grams), self.size[item]))
            if share > best:
                best, best_id = share, item
        return best, best_id


# ------------------------------------------------------------ overlap figures
# How much of an eval item's reference a training set already holds, in the two units the
# data card reports: 13-word sequences (copied sentences) and 20-character sequences of
# the text without spaces and punctuation (copied phrases, whatever the spacing). An item
# is "contaminated" when over `OVERLAP_LIMIT` of its reference's sequences occur anywhere
# in the training examples.
OVERLAP_WORDS = 13
OVERLAP_CHARS = 20
OVERLAP_LIMIT = 0.2
_NOT_TEXT = re.compile(r"[\W_]+")


def char_ngrams(text: str, n: int = OVERLAP_CHARS) -> set[int]:
    """Hashes of the `n`-character runs of `text` with spaces and punctuation removed."""
    s = _NOT_TEXT.sub("", unicodedata.normalize("NFC", text).lower())
    return {hash(s[i:i + n]) for i in range(len(s) - n + 1)}


def reference_overlap(references: dict[str, str], training_texts: Iterable[str],
                      words: int = OVERLAP_WORDS, chars: int = OVERLAP_CHARS,
                      limit: float = OVERLAP_LIMIT) -> dict:
    """For each reference, the share of its word and character n-grams found in any
    training text, and the summary the data card prints: items measured and the share
    of them above `limit`, per unit and for either unit. References too short to have
    an n-gram count as 0 in that unit."""
    refs = {k: (ngrams(v, words), char_ngrams(v, chars)) for k, v in references.items()}
    wanted_w = set().union(*(w for w, _ in refs.values())) if refs else set()
    wanted_c = set().union(*(c for _, c in refs.values())) if refs else set()
    found_w: set[int] = set()
    found_c: set[int] = set()
    for t in training_texts:  # streamed: only the references' n-grams are kept
        found_w |= ngrams(t, words) & wanted_w
        found_c |= char_ngrams(t, chars) & wanted_c
    per_item = {k: (len(w & found_w) / len(w) if w else 0.0, len(c & found_c) / len(c) if c else 0.0)
                for k, (w, c) in refs.items()}
    n = len(per_item)

    def share(pred) -> float:
        return round(sum(1 for v in per_item.values() if pred(v)) / n, 4) if n else 0.0

    return {
        "items": n,
        f"above_{limit:g}_{words}_words": share(lambda v: v[0] > limit),
        f"above_{limit:g}_{chars}_chars": share(lambda v: v[1] > limit),
        f"above_{limit:g}_either": share(lambda v: v[0] > limit or v[1] > limit),
        "per_item": {k: [round(a, 4), round(b, 4)] for k, (a, b) in sorted(per_item.items())},
    }
