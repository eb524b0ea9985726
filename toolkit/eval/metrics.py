"""Metrics that handle Korean correctly, all offline.

`rouge_score`'s default tokenizer deletes every non-ASCII character, so two identical
Korean sentences score 0.0 with it; here ROUGE-L runs over characters (whitespace
ignored) and chrF over character n-grams (sacrebleu). Each metric scores one output
against one reference in [0, 1]; a suite's score is the mean over items.
"""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def normalize_answer(text: str) -> str:
    """NFC, whitespace collapsed, ends trimmed, a final period dropped."""
    text = _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()
    return text[:-1].rstrip() if text.endswith(".") else text


def exact_match(output: str, reference: str) -> float:
    return float(normalize_answer(output) == normalize_answer(reference))


def chrf(output: str, reference: str) -> float:
    """chrF (character 6-grams, beta 2) from sacrebleu, scaled to [0, 1]."""
    from sacrebleu.metrics import CHRF

    out, ref = normalize_answer(output), normalize_answer(reference)
    if not out and not ref:
        return 1.0
    return CHRF().sentence_score(out, [ref]).score / 100.0


def _lcs(a: str, b: str) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if ca == cb else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l_char(output: str, reference: str) -> float:
    """ROUGE-L F1 over characters, whitespace removed (Korean needs no word tokenizer)."""
    out = _SPACE.sub("", normalize_answer(output))
    ref = _SPACE.sub("", normalize_answer(reference))
    if not out and not ref:
        return 1.0
    lcs = _lcs(out, ref)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(out), lcs / len(ref)
    return 2 * precision * recall / (precision + recall)


METRICS = {"exact_match": exact_match, "chrf": chrf, "rouge_l_char": rouge_l_char}
