"""`gongmu corpus scan-pii`: personal information in a file, decoded as the corpus
readers decode it."""

from __future__ import annotations

import unicodedata
from pathlib import Path

from toolkit.corpus.formats import Unreadable, decode_text
from toolkit.errors import DataError
from toolkit.korean.pii import Finding, find_pii


def scan_file(path) -> list[Finding]:
    """Findings in a text file, decoded as the corpus readers decode (UTF-8/16 with or
    without BOM, CP949/EUC-KR); offsets are into its NFC text."""
    path = Path(path)
    try:
        raw, _ = decode_text(path.read_bytes())
    except Unreadable as e:
        raise DataError(f"{path} cannot be scanned: {e}. Give a text file.") from None
    return find_pii(unicodedata.normalize("NFC", raw))
