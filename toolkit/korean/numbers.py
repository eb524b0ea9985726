"""Numbers read the Sino-Korean way (일, 이, 삼 …), as official documents and particles
need them."""

from __future__ import annotations

SINO_KOREAN_DIGITS = "영일이삼사오육칠팔구"  # 0-9 as read aloud
_SMALL_UNITS = ("", "십", "백", "천")
_LARGE_UNITS = ("", "만", "억", "조", "경")
READABLE_BELOW = 10 ** (4 * len(_LARGE_UNITS))  # 10**20: past 경 there is no unit here


def korean_number_reading(n: int) -> str:
    """How an amount is read out in a 공문: 113560 -> "일십일만삼천오백육십".

    Every digit is spoken, 일 included (10 -> "일십", 10000 -> "일만"), as in 시행규칙
    제2조제2항's example; 0 -> "영". Accepts 0 <= n < 10**20 (READABLE_BELOW).
    """
    if not isinstance(n, int) or n < 0 or n >= READABLE_BELOW:
        raise ValueError(f"korean_number_reading takes an integer from 0 to 10**20 - 1, not {n!r}")
    if n == 0:
        return SINO_KOREAN_DIGITS[0]
    parts = []
    for power in range(len(_LARGE_UNITS) - 1, -1, -1):
        group = n // 10 ** (4 * power) % 10000
        if group:
            digits = f"{group:04d}"
            parts.append("".join(SINO_KOREAN_DIGITS[int(d)] + _SMALL_UNITS[3 - i]
                                 for i, d in enumerate(digits) if d != "0"))
            parts.append(_LARGE_UNITS[power])
    return "".join(parts)
