"""Text normalisation for Korean administrative text.

NFC, and full-width ASCII folded to ASCII (`toolkit.korean.width`: ＡＢＣ１２３ → ABC123,
the ideographic space → a space). Never NFKC: it would rewrite characters official Korean
text relies on (ㆍ U+318D → ᆞ, ㈜ → (주), ㎡ → m2, ① → 1), so those are kept as written.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from toolkit.korean.width import fold_fullwidth

_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")


def normalize_text(text: str) -> str:
    """NFC, full-width ASCII folded, control and zero-width characters removed, no
    trailing spaces on lines, at most one blank line in a row, stripped."""
    text = unicodedata.normalize("NFC", text)
    text = fold_fullwidth(text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    text = _MANY_BLANK_LINES.sub("\n\n", text)
    return text.strip()


def codepoints(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)


def hangul_mask(cp: np.ndarray) -> np.ndarray:
    """Hangul syllables, compatibility jamo (ㄱ…ㆎ, incl. ㆍ) and conjoining jamo."""
    return (((cp >= 0xAC00) & (cp <= 0xD7A3)) | ((cp >= 0x3131) & (cp <= 0x318E))
            | ((cp >= 0x1100) & (cp <= 0x11FF)))


def letter_mask(cp: np.ndarray) -> np.ndarray:
    """Letters of the scripts Korean administrative text uses: Hangul, Latin (ASCII and
    Latin-1/Extended-A/B), Hanja (CJK unified ideographs and extension A)."""
    return (hangul_mask(cp) | ((cp | 0x20) >= 0x61) & ((cp | 0x20) <= 0x7A)
            | ((cp >= 0xC0) & (cp <= 0x24F) & (cp != 0xD7) & (cp != 0xF7))
            | ((cp >= 0x4E00) & (cp <= 0x9FFF)) | ((cp >= 0x3400) & (cp <= 0x4DBF)))


def hangul_ratio(text: str) -> float:
    """Share of Hangul among the letters of `text` (0 when it has none)."""
    cp = codepoints(text)
    letters = int(letter_mask(cp).sum())
    return int(hangul_mask(cp).sum()) / letters if letters else 0.0


def shingle_codepoints(text: str) -> np.ndarray:
    """The code points MinHash shingles are made of: letters and digits only (no spaces,
    no punctuation), ASCII lower-cased."""
    cp = codepoints(text)
    keep = letter_mask(cp) | ((cp >= 0x30) & (cp <= 0x39))
    cp = cp[keep]
    upper = (cp >= 0x41) & (cp <= 0x5A)
    return np.where(upper, cp | 0x20, cp)


def dedup_key(text: str) -> bytes:
    """What exact deduplication compares: the NFC text's letters and digits (no spaces,
    no punctuation; never NFD), ASCII lower-cased, as UTF-32 bytes."""
    return shingle_codepoints(unicodedata.normalize("NFC", text)).astype(np.uint32).tobytes()
