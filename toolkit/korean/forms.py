"""How a 공문서 (official document) writes dates, times, amounts and item markers: one
vocabulary for the code that writes official documents (corpus drafts, eval references)
and the code that checks them (`toolkit.eval.gongmun`), so training data and metric
agree.

Grounded in 「행정업무의 운영 및 혁신에 관한 규정」 제7조 and its 시행규칙 제2조:

- dates: "2025. 8. 7." (연ㆍ월ㆍ일 as dots, no zero padding), optionally "(목)" after;
- times: "14:00" (24-hour, a colon);
- amounts: "금113,560원(금일십일만삼천오백육십원)";
- item markers: 1. → 가. → 1) → 가) → (1) → (가) → ① → ㉮. Hangul markers go 가 … 하,
  then 거 … 허 (시행규칙 제2조제1항 비고). Past 허 the rule says nothing; the markers
  go on with the next vowel of each row (고 … 호, 구 … 후, 그 … 흐, 기 … 히), and a checker
  takes such a marker for one only where it continues a list (see `item_marker_at`).
"""

from __future__ import annotations

import datetime as dt
import re

from toolkit.korean.numbers import korean_number_reading

# ----------------------------------------------------------------------------- dates

_WEEKDAYS = "월화수목금토일"


def as_date(value) -> dt.date:
    """A date from a date, a datetime, "2025-08-07", "20250807" or "2025. 8. 7."; ValueError
    for anything else."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    digits = re.findall(r"\d+", str(value))
    if len(digits) == 1 and len(digits[0]) == 8:
        digits = [digits[0][:4], digits[0][4:6], digits[0][6:]]
    if len(digits) < 3:
        raise ValueError(f"not a date: {value!r} (expected 2025-08-07, 20250807 or 2025. 8. 7.)")
    return dt.date(int(digits[0]), int(digits[1]), int(digits[2]))


def gongmun_date(value, weekday: bool = False) -> str:
    """A date as a 공문 writes it (영 제7조제5항): "2025. 8. 7." (no zero padding), with
    "(목)" after it when `weekday`. Takes what `as_date` takes."""
    day = as_date(value)
    text = f"{day.year}. {day.month}. {day.day}."
    return text + f"({_WEEKDAYS[day.weekday()]})" if weekday else text


# ----------------------------------------------------------------------------- times


def gongmun_time(hour: int, minute: int = 0) -> str:
    """A time as a 공문 writes it (영 제7조제5항: 24-hour, a colon): 14, 0 → "14:00"."""
    if not (0 <= hour < 24 and 0 <= minute <= 59 or (hour, minute) == (24, 0)):
        raise ValueError(f"not a time of day: {hour}:{minute}")
    return f"{hour:02d}:{minute:02d}"


# --------------------------------------------------------------------------- amounts


def gongmun_amount(won: int) -> str:
    """An amount of won as a 공문 writes it (시행규칙 제2조제2항): 113560 →
    "금113,560원(금일십일만삼천오백육십원)": digits with commas, then the Hangul reading
    with 일 kept before 십/백/천/만."""
    if won < 0:
        raise ValueError(f"an amount of money cannot be negative: {won}")
    return f"금{won:,}원(금{korean_number_reading(won)}원)"


_UNIT = {"억": 10**8, "천만": 10**7, "백만": 10**6, "십만": 10**5, "만": 10**4, "천": 10**3}
_WON = re.compile(
    r"(?<![\d,.금])((?:\d[\d,]*\s?(?:억|천만|백만|십만|만)\s?)*\d[\d,]*\s?(?:억|천만|백만|십만|만|천)?)"
    r"\s?원(?=$|[\s)\],.을의으이까씩에은는도과와부])"
)


def rewrite_amounts(text: str) -> str:
    """Amounts of won in `text` written the everyday way ("3천만원", "2억 5천만원",
    "10,000원") rewritten as `gongmun_amount` writes them."""

    def swap(m: re.Match) -> str:
        total = 0
        for number, unit in re.findall(r"(\d[\d,]*)\s?(억|천만|백만|십만|만|천)?", m.group(1)):
            total += int(number.replace(",", "")) * _UNIT.get(unit, 1)
        return gongmun_amount(total)

    return _WON.sub(swap, text)


# ---------------------------------------------------------------------- item markers

ITEM_SHAPES = ("1.", "가.", "1)", "가)", "(1)", "(가)", "①", "㉮")  # level 0 … 7
_HANGUL_ROWS = (
    "가나다라마바사아자차카타파하",
    "거너더러머버서어저처커터퍼허",  # 시행규칙 제2조제1항 비고: after 하
    "고노도로모보소오조초코토포호",  # past 허: not in the rule (see the module docstring)
    "구누두루무부수우주추쿠투푸후",
    "그느드르므브스으즈츠크트프흐",
    "기니디리미비시이지치키티피히",
)
HANGUL_MARKERS = "".join(_HANGUL_ROWS)
RULE_HANGUL_MARKERS = 28  # 가 … 하, 거 … 허: the markers the rule names
CIRCLED_NUMBERS = "".join(chr(0x2460 + i) for i in range(20))  # ① … ⑳
CIRCLED_HANGUL = "".join(chr(0x326E + i) for i in range(14))   # ㉮ … ㉻
_SYMBOLS = {1: HANGUL_MARKERS, 3: HANGUL_MARKERS, 5: HANGUL_MARKERS,
            6: CIRCLED_NUMBERS, 7: CIRCLED_HANGUL}


def item_marker(level: int, n: int) -> str:
    """The n-th (1-based) item marker at `level` (0-7) of a 공문서: 1. → 가. → 1) → 가) →
    (1) → (가) → ① → ㉮. ValueError past the last marker of a Hangul or circled level
    (기 … 히: 84; ⑳: 20; ㉻: 14)."""
    if not 0 <= level < len(ITEM_SHAPES) or n < 1:
        raise ValueError(f"no item marker at level {level} for item {n}")
    shape = ITEM_SHAPES[level]
    symbols = _SYMBOLS.get(level)
    if symbols is None:
        return shape.replace("1", str(n))
    if n > len(symbols):
        raise ValueError(f"level {level} ({shape}) has {len(symbols)} markers; item {n} has none. "
                         f"Split the list or start a deeper level.")
    return symbols[n - 1] if level >= 6 else shape.replace("가", symbols[n - 1])


_H = f"[{HANGUL_MARKERS}]"
_MARKER_PATTERNS = (
    re.compile(r"(\d+)\.(?=\s|$)"),
    re.compile(rf"({_H})\.(?=\s|$)"),
    re.compile(r"(\d+)\)"),
    re.compile(rf"({_H})\)"),
    re.compile(r"\((\d+)\)"),
    re.compile(rf"\(({_H})\)"),
    re.compile(f"([{CIRCLED_NUMBERS}])"),
    re.compile(f"([{CIRCLED_HANGUL}])"),
)


def item_marker_at(line: str) -> tuple[int, int, str] | None:
    """(level, ordinal, marker) of the item marker `line` starts with (after its
    indentation), None when it starts with none. A Hangul marker past 허 (an ordinal over
    RULE_HANGUL_MARKERS) is returned too; whether it is one depends on the items before
    it ("(주)" opens many lines), which the caller knows."""
    stripped = line.lstrip()
    for level, pattern in enumerate(_MARKER_PATTERNS):
        if m := pattern.match(stripped):
            symbol = m.group(1)
            ordinal = int(symbol) if symbol.isdecimal() else _SYMBOLS[level].index(symbol) + 1
            return level, ordinal, m.group(0)
    return None


def numbered_lines(entries: list[tuple[int, str]], indent: str = "  ") -> list[str]:
    """(level, text) entries as lines that start with their item markers (`item_marker`),
    indented by `indent` per level; numbering restarts under each new parent:
    [(0, "a"), (1, "b"), (1, "c"), (0, "d")] → ["1. a", "  가. b", "  나. c", "2. d"]."""
    counters = [0] * len(ITEM_SHAPES)
    lines = []
    for level, text in entries:
        counters[level] += 1
        for deeper in range(level + 1, len(counters)):
            counters[deeper] = 0
        lines.append(f"{indent * level}{item_marker(level, counters[level])} {text}")
    return lines
