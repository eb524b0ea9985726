"""Final consonants (받침) and the particles (조사) that depend on them."""

from __future__ import annotations

import re

from toolkit.korean.numbers import READABLE_BELOW, SINO_KOREAN_DIGITS, korean_number_reading

RIEUL = 8  # the index of ㄹ among final consonants: 으로/로 treats it as no consonant
# Latin letters as their Korean names end: 엘, 엠, 엔, 알 (the others end in a vowel
# or, like 에프 and 엑스, in a written vowel).
_LETTER_FINALS = {"l": RIEUL, "m": 16, "n": 4, "r": RIEUL}
_CLOSING = "」』》〉\"'”’ "
# The number a word ends with ("제10", "1,000"); after a decimal point ("1.10") digits
# are read one by one.
_TRAILING_NUMBER = re.compile(r"(?<![\d,])(\d{1,3}(?:,\d{3})+|\d+)$")
_DECIMAL = re.compile(r"\d\.\d+$")


def _syllable_final(ch: str) -> int:
    return (ord(ch) - 0xAC00) % 28


def final_consonant(word: str) -> int | None:
    """Index (1-27) of the final consonant of the sound a particle attaches to, 0 when
    that sound ends in a vowel, None when it cannot be told (a symbol, a Hanja).

    - A Hangul syllable: its own final (목적 → ㄱ, 1; 조 → 0).
    - A number: its Sino-Korean reading. Digits 0-9 are 영 일 이 삼 사 오 육 칠 팔 구
      (0 ㅇ, 1 ㄹ, 3 ㅁ, 6 ㄱ, 7 ㄹ, 8 ㄹ; 2, 4, 5, 9 none); a longer number ends in its
      last spoken unit ("10" 십 ㅂ, "100" 백 ㄱ, "1,000" 천 ㄴ, "15" 오); digits after a
      decimal point are read one by one. "제15조" ends in 조.
    - A Latin letter: its Korean name (L 엘, M 엠, N 엔, R 알; others none).
    - Parentheses and closing quotes are not read: "제15조(목적)" reads as 제15조 and
      "「법」" as 법, as 한글 맞춤법 attaches a particle to the word before them.
    """
    word = word.rstrip()
    while word.endswith(")") and "(" in word:
        word = word[: word.rfind("(")].rstrip()
    word = word.rstrip(_CLOSING)
    if not word:
        return None
    ch = word[-1]
    if "가" <= ch <= "힣":
        return _syllable_final(ch)
    if "0" <= ch <= "9":
        number = _TRAILING_NUMBER.search(word)
        value = int(number.group(1).replace(",", "")) if number else READABLE_BELOW
        if _DECIMAL.search(word) or value >= READABLE_BELOW:
            return _syllable_final(SINO_KOREAN_DIGITS[int(ch)])
        return _syllable_final(korean_number_reading(value)[-1])
    if ch.isascii() and ch.isalpha():
        return _LETTER_FINALS.get(ch.lower(), 0)
    return None


def has_final_consonant(word: str) -> bool:
    """Whether the sound a particle attaches to ends in a consonant (받침)."""
    return bool(final_consonant(word))


def josa(word: str, pair: str) -> str:
    """`word` with the particle of `pair` ("은/는", "이/가", "을/를", "과/와", "으로/로")
    that its last sound takes: the first form after a final consonant, the second after a
    vowel (or a sound that cannot be told). Forms that start with 으 (으로/로, 으로서/로서)
    take the second after ㄹ too: josa("목적", "은/는") → "목적은", josa("정보보안과",
    "으로/로") → "정보보안과로", josa("제1조", "으로/로") → "제1조로"."""
    with_final, without = pair.split("/")
    final = final_consonant(word)
    if with_final.startswith("으"):
        return word + (with_final if final not in (None, 0, RIEUL) else without)
    return word + (with_final if final else without)
