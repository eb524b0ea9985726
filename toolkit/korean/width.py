"""Full-width ASCII (ＡＢＣ１２３, the ideographic space) folded to ASCII. Never NFKC: it
would rewrite characters official Korean text relies on (ㆍ U+318D → ᆞ, ㈜ → (주),
㎡ → m2, ① → 1)."""

from __future__ import annotations

import re

# U+FF01..U+FF5E are the full-width forms of U+0021..U+007E; U+3000 is the ideographic space.
_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULLWIDTH[0x3000] = 0x20
_HAS_FULLWIDTH = re.compile("[\uff01-\uff5e\u3000]")


def fold_fullwidth(text: str) -> str:
    """Full-width ASCII letters, digits and punctuation to ASCII; nothing else changes."""
    return text.translate(_FULLWIDTH) if _HAS_FULLWIDTH.search(text) else text
