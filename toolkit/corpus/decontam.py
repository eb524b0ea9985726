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

_WORD = re.compile(r"\w+")


def ngrams(text: str, n: int) -> set[int]:
    words = _WORD.findall(unicodedata.normalize("NFC", text).lower())
    return {hash(tuple(words[i:i + n])) for i in range(len(words) - n + 1)}


class EvalIndex:
    """The n-grams of every eval item, and which items hold each."""

    def __init__(self, n: int):
        self.n = n
        self.size: dict[str, int] = {}
        self.holders: dict[int, list[str]] = defaultdict(list)

    def add(self, item_id: str, text: str) -> None:
        grams = ngrams(text, self.n)
        if not grams or item_id in self.size:
            return
        self.size[item_id] = len(grams)
        for g in grams:
            self.holders[g].append(item_id)

    def worst_overlap(self, text: str) -> tuple[float, str | None]:
        """The largest overlap share of `text` with one eval item, and that item's id."""
        grams = ngrams(text, self.n)
        if not grams:
            return 0.0, None
        shared: Counter = Counter()
        for g in grams:
            for item in self.holders.get(g, ()):
                shared[item] += 1
        best, best_id = 0.0, None
        for item, k in shared.items():
            share = k / min(len(grams), self.size[item])
            if share > best:
                best, best_id = share, item
        return best, best_id
