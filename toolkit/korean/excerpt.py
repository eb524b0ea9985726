"""Cutting text short at a line or sentence end, for prompts, references and answers."""

from __future__ import annotations

# Where a cut may fall, tried in this order: the last line end in the second half of the
# allowed length, else the last full stop before a space (most sentences end "다. "),
# else the last full stop.
_ENDS = ("\n", ". ", ".")


def excerpt(text: str, limit: int) -> str:
    """`text` without surrounding whitespace, cut at a line or sentence end at most
    `limit` characters in when it is longer (a hard cut only when no end falls in the
    second half)."""
    text = text.strip()
    if len(text) <= limit:
        return text
    head = text[:limit]
    for mark in _ENDS:
        pos = head.rfind(mark)
        if pos > limit // 2:
            return head[: pos + len(mark)].rstrip()
    return head.rstrip()


def excerpt_with_ellipsis(text: str, limit: int) -> str:
    """`excerpt(text, limit)`, with "…" after it where it had to cut inside a sentence."""
    cut = excerpt(text, limit)
    return cut if cut == text.strip() or cut.endswith(".") else cut + "…"
