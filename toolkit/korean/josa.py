"""Final consonants (받침) and the particles (조사) that depend on them."""

from __future__ import annotations

from toolkit.korean.numbers import SINO_KOREAN_DIGITS

RIEUL = 8  # the index of ㄹ among final consonants: 으로/로 treats it as no consonant
# Latin letters as their Korean names end: 엘, 엠, 엔, 알 (the others end in a vowel
# or, like 에프 and 엑스, in a written vowel).
_LETTER_FINALS = {"l": RIEUL, "m": 16, "n": 4, "r": RIEUL}
_CLOSING = "」』》〉\"'”’ "


def _syllable_final(ch: str) -> int:
    return (ord(ch) - 0xAC00) % 28


def final_consonant(word: str) -> int | None:
    """Index (1-27) of the final consonant of the sound a particle attaches to, 0 when
    that sound ends in a vowel, None when it cannot be told (a symbol, a Hanja).

    - A Hangul syllable: its own final (목적 → ㄱ, 1; 조 → 0).
    - A digit: its Sino-Korean reading (영 일 이 삼 사 오 육 칠 팔 구): 0 ㅇ, 1 ㄹ, 3 ㅁ,
      6 ㄱ, 7 ㄹ, 8 ㄹ; 2, 4, 5, 9 none. "제15조" ends in 조, "15" in 오.
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
        return _syllable_final(SINO_KOREAN_DIGITS[int(ch)])
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
