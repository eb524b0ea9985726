"""Text normalisation for Korean administrative text.

NFC only: NFKC would rewrite characters official Korean text relies on (ㆍ U+318D,
㈜, ㎡, ①), so it is never applied to whole texts.
"""

from __future__ import annotations

import re
import unicodedata

_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def normalize_text(text: str) -> str:
    """NFC, no trailing spaces on lines, at most one blank line in a row, stripped."""
    text = unicodedata.normalize("NFC", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _MANY_BLANK_LINES.sub("\n\n", text)
    return text.strip()
