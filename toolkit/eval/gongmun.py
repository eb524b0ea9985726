"""공문서 (official document) format rules, checked line by line on plain text.

Grounded in 「행정업무의 운영 및 혁신에 관한 규정」 (대통령령, 시행 2026. 5. 19.) and its
시행규칙 (행정안전부령, 시행 2023. 6. 28.), as in legalize-kr:

- `date`: 영 제7조제5항: 날짜는 숫자로 표기하되 연ㆍ월ㆍ일의 글자는 생략하고 그 자리에
  온점을 찍어 표시 -> "2025. 8. 7." (flagged: 2025.08.07, 2025-08-07, 2025/8/7, 2025년
  8월 7일, 8월 7일, 2025. 8. 7 without the last dot).
- `time`: 영 제7조제5항: 시ㆍ분은 24시각제에 따라 숫자로 표기하되 시ㆍ분의 글자는
  생략하고 그 사이에 쌍점 -> "14:00" (flagged: 오후 2시, 14시 00분, 14시, 2:00 PM).
- `numbering`: 시행규칙 제2조제1항: 항목은 1., 가., 1), 가), (1), (가), ①, ㉮ 의 순서로,
  숫자는 오름차순, 한글은 가나다순 (하 다음은 거, 너, 더 … 허). A level appears only under
  its parent level, and each level counts on from 1 (or 가) without gaps, restarting
  under a new parent. Markers and their order are `toolkit.korean.forms`'s, the ones the
  corpus and the eval references are written with. Special symbols (□, ○, -, ㆍ) are
  allowed and not checked.
- `end_mark`: 시행규칙 제4조제5항: 본문(붙임이 있으면 붙임)의 마지막 글자에서 한 글자
  띄우고 "끝." (one Hangul-width space: one or two ASCII spaces or one U+3000), or
  "끝." on a line of its own; "이하 빈칸" ends a document that ends inside a table.
  Lines after the mark (결문: 발신 명의, 기안자 …) are allowed.
- `attachment`: 시행규칙 제4조제4항: "붙임" 다음에 첨부물의 명칭과 수량, 두 가지
  이상이면 항목 구분 -> "붙임  1. 서식 1부." / "      2. 명단 1부.  끝."
  (quantity units: 부, 매, 건, 권, 개, 점, 장, 종, 책).
- `amount`: 시행규칙 제2조제2항 with 영 제7조제4항: 금액은 아라비아 숫자로 쓰되 숫자
  다음에 괄호를 하고 한글로 -> "금113,560원(금일십일만삼천오백육십원)". Flagged: no 금,
  no reading, a reading that is not the number's (readings are checked below 10**20:
  past 경 there is no unit to read with).

A rule with nothing to check in the text (no date, no 붙임, …) is not applicable; the
score is the share of applicable rules with no violation. `end_mark` always applies.
The 영's proviso (특별한 사유가 있으면 다른 방법으로) is not modelled.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from toolkit.korean.forms import ITEM_SHAPES, RULE_HANGUL_MARKERS, item_marker, item_marker_at
from toolkit.korean.numbers import READABLE_BELOW, korean_number_reading

RULES = ("date", "time", "numbering", "end_mark", "attachment", "amount")


@dataclass
class Violation:
    rule: str
    line: int  # 1-based
    message: str


@dataclass
class GongmunReport:
    score: float
    violations: list[Violation] = field(default_factory=list)
    checks: dict[str, bool | None] = field(default_factory=dict)  # None: not applicable


def check_gongmun(text: str) -> GongmunReport:
    """Check `text` against the 공문서 format rules in this module's docstring."""
    lines = unicodedata.normalize("NFC", text).replace("\r\n", "\n").split("\n")
    attachment_blocks = _attachment_blocks(lines)
    in_attachment = {i for block in attachment_blocks for i in block}
    results = {
        "date": _check_dates(lines),
        "time": _check_times(lines),
        "numbering": _check_numbering(lines, in_attachment),
        "end_mark": _check_end_mark(lines, attachment_blocks),
        "attachment": _check_attachments(lines, attachment_blocks),
        "amount": _check_amounts(lines),
    }
    checks: dict[str, bool | None] = {}
    violations: list[Violation] = []
    for rule in RULES:
        applicable, found = results[rule]
        checks[rule] = (not found) if applicable else None
        violations += found
    applicable_checks = [ok for ok in checks.values() if ok is not None]
    score = sum(applicable_checks) / len(applicable_checks)
    violations.sort(key=lambda v: (v.line, RULES.index(v.rule)))
    return GongmunReport(score, violations, checks)


# --- dates ----------------------------------------------------------------------------

_YEAR = r"(?:19|20)\d{2}"
_DOT_DATE = re.compile(
    rf"(?<![\d.])({_YEAR})\s?\.\s?(\d{{1,2}})\s?\.\s?(\d{{1,2}})(?!\d)(\.?)"
)
_DASH_DATE = re.compile(rf"(?<![\d\-/])({_YEAR})([-/])(\d{{1,2}})\2(\d{{1,2}})(?![\d\-/])")
_WORD_DATE = re.compile(
    rf"(?:({_YEAR})\s*년\s*)?(?<!\d)(\d{{1,2}})\s*월(?:\s*(\d{{1,2}})\s*일)?"
)


def _dotted(year: str | None, month: str, day: str | None) -> str:
    parts = [str(int(p)) for p in (year, month, day) if p]
    return ". ".join(parts) + "."


def _check_dates(lines: list[str]) -> tuple[bool, list[Violation]]:
    applicable, found = False, []
    for n, line in enumerate(lines, 1):
        for m in _DOT_DATE.finditer(line):
            year, month, day, final_dot = m.groups()
            if not (1 <= int(month) <= 12 and 1 <= int(day) <= 31):
                continue
            applicable = True
            right = f"write '{_dotted(year, month, day)}'"
            if month.startswith("0") or day.startswith("0"):
                found.append(Violation("date", n, f"'{m.group(0)}': no leading zeros; {right}"))
            elif not final_dot:
                found.append(Violation("date", n, f"'{m.group(0)}': the day ends with a dot; {right}"))
        for m in _DASH_DATE.finditer(line):
            applicable = True
            right = f"write '{_dotted(m.group(1), m.group(3), m.group(4))}'"
            found.append(Violation("date", n, f"'{m.group(0)}': dates use dots, not "
                                              f"'{m.group(2)}'; {right}"))
        for m in _WORD_DATE.finditer(line):
            year, month, day = m.groups()
            if not (year or day) or not 1 <= int(month) <= 12:
                continue  # "3월" alone is a month, not a date
            applicable = True
            found.append(Violation("date", n, f"'{m.group(0)}': 연ㆍ월ㆍ일 are written as dots; "
                                              f"write '{_dotted(year, month, day)}'"))
    return applicable, found


# --- times ----------------------------------------------------------------------------

_GOOD_TIME = re.compile(r"(?<![\d:])([01]?\d|2[0-4]):([0-5]\d)(?![\d:])")
_PM = ("오후", "밤", "저녁")


def _hhmm(hour: int, minute: int) -> str:
    return f"{hour:02d}:{minute:02d}"


def _from_period(g: tuple) -> str:  # 오후 2시 30분, 오전 9시 반
    period, hour, minute, half = g
    hour = int(hour)
    if (period in _PM and hour < 12) or (period == "낮" and hour < 6):
        hour += 12
    return _hhmm(hour, 30 if half else int(minute or 0))


def _from_ampm(g: tuple) -> str:  # 2:00 PM
    hour, minute, ampm = g
    return _hhmm(int(hour) % 12 + (12 if ampm in "Pp" else 0), int(minute))


def _from_bare_hour(g: tuple) -> str:  # 4시, 9시 반: morning or afternoon is not said
    hour, minute = int(g[0]), 30 if g[1] else 0
    if 1 <= hour < 12:
        return f"{_hhmm(hour, minute)}' or '{_hhmm(hour + 12, minute)}"
    return _hhmm(hour, minute)


# (pattern, its 24-hour reading), most specific first; a span is reported once.
_BAD_TIMES = (
    (re.compile(r"(오전|오후|낮|밤|새벽|아침|저녁)\s*(\d{1,2})\s*시(?:\s*(\d{1,2})\s*분|\s*(반))?"),
     _from_period),
    (re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})\s*([AaPp])\.?\s*[Mm]\.?"), _from_ampm),
    (re.compile(r"(?<![\d:.])(\d{1,2})\s*시\s*(\d{1,2})\s*분"),
     lambda g: _hhmm(int(g[0]), int(g[1]))),
    (re.compile(r"(?<![\d:.])(\d{1,2})\s*시(\s*반)?(?=\s|$|까지|부터|에|경|~|-|–|\)|,|\.)"),
     _from_bare_hour),
)


def _check_times(lines: list[str]) -> tuple[bool, list[Violation]]:
    applicable, found = False, []
    for n, line in enumerate(lines, 1):
        applicable = applicable or bool(_GOOD_TIME.search(line))
        taken: list[tuple[int, int]] = []
        for pattern, as_24h in _BAD_TIMES:
            for m in pattern.finditer(line):
                if any(a < m.end() and m.start() < b for a, b in taken):
                    continue
                taken.append(m.span())
                applicable = True
                found.append(Violation("time", n, f"'{m.group(0).strip()}': times are 24-hour "
                                                  f"with a colon; write '{as_24h(m.groups())}'"))
    return applicable, found


# --- item numbering ---------------------------------------------------------------------

_HANGUL_LEVELS = (1, 3, 5)


def _symbol(level: int, ordinal: int) -> str:
    try:
        return item_marker(level, ordinal)
    except ValueError:
        return ITEM_SHAPES[level].replace("가", "?").replace("1", "?")


def _item_marker(line: str) -> tuple[int, int, str] | None:
    """(level, ordinal, marker) of an item line, None for any other line."""
    if _DOT_DATE.match(line.lstrip()):
        return None  # "2025. 8. 7. 회의" starts with a date, not item 2025
    return item_marker_at(line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _quoted_statute_lines(lines: list[str]) -> set[int]:
    """Line indexes of statute text quoted inside an item: a block that opens with ① (a
    statute's first 항) or "제N조" where no (가) item is open, indented deeper than the item
    it sits under, and runs while the lines stay at least that deep. Its ①, 1. and 가.
    are the statute's own numbering, not the document's."""
    quoted: set[int] = set()
    depth, item_indent, i = -1, -1, 0
    while i < len(lines):
        line = lines[i]
        item = _item_marker(line)
        opens = (item is not None and item[0] == 6 and item[1] == 1 and depth < 5) or \
            _QUOTED_ARTICLE.match(line)
        if opens and _indent(line) > item_indent >= 0:
            floor = _indent(line)
            while i < len(lines) and (not lines[i].strip() and i + 1 < len(lines)
                                      and _indent(lines[i + 1]) >= floor
                                      or lines[i].strip() and _indent(lines[i]) >= floor):
                quoted.add(i)
                i += 1
            continue
        if item is not None:
            depth, item_indent = item[0], _indent(line)
        i += 1
    return quoted


_QUOTED_ARTICLE = re.compile(r"^\s*(?:「[^」]+」\s*)?제\d+조(?:의\d+)?\s*\(")


def _check_numbering(lines: list[str], skip: set[int]) -> tuple[bool, list[Violation]]:
    applicable, found = False, []
    depth, last = -1, {}  # deepest open level; last ordinal per open level
    skip = skip | _quoted_statute_lines(lines)
    for i, line in enumerate(lines):
        item = None if i in skip else _item_marker(line)
        if item is None:
            continue
        level, ordinal, marker = item
        expected = last.get(level, 0) + 1 if level <= depth else 1
        if level in _HANGUL_LEVELS and ordinal > RULE_HANGUL_MARKERS and ordinal != expected:
            continue  # past 허 a marker only continues a list: "(주)한빛건설" starts no item
        applicable = True
        if level > depth + 1:
            parent = ITEM_SHAPES[level - 1]
            found.append(Violation("numbering", i + 1,
                                   f"'{marker}' comes before any '{parent}' item: items go "
                                   f"1., 가., 1), 가), (1), (가), ①, ㉮"))
        elif ordinal != expected:
            found.append(Violation("numbering", i + 1, f"'{marker}' should be "
                                   f"'{_symbol(level, expected)}' (numbered in order)"))
        depth, last[level] = level, ordinal
        last = {k: v for k, v in last.items() if k <= level}
    return applicable, found


# --- 붙임 and 끝 ------------------------------------------------------------------------

_ATTACHMENT = re.compile(r"^\s*붙\s*임(?=\s|\d|$)\s*(.*)$")
_NUMBERED = re.compile(r"^\s*\d+\.\s")
_END_MARK = re.compile(r"^(.*?)([ \t\u3000]*)끝(\.?)\s*$")
_QUANTITY = re.compile(r"(\S.*?)\s*\d+\s*(?:부|매|건|권|개|점|장|종|책)(\.?)$")


def _attachment_blocks(lines: list[str]) -> list[list[int]]:
    """Line indexes of each 붙임 block: the 붙임 line and, when its entry is numbered
    ("붙임  1. …"), the numbered lines that follow it."""
    blocks, i = [], 0
    while i < len(lines):
        if m := _ATTACHMENT.match(lines[i]):
            block = [i]
            while (i + 1 < len(lines) and _NUMBERED.match(m.group(1))
                   and _NUMBERED.match(lines[i + 1])):
                i += 1
                block.append(i)
            blocks.append(block)
        i += 1
    return blocks


def _without_end_mark(entry: str) -> str:
    m = _END_MARK.match(entry)
    return m.group(1).rstrip() if m else entry.rstrip()


def _check_attachments(lines: list[str], blocks: list[list[int]]) -> tuple[bool, list[Violation]]:
    found = []
    for block in blocks:
        entries = [(block[0], _ATTACHMENT.match(lines[block[0]]).group(1))]
        entries += [(i, lines[i].strip()) for i in block[1:]]
        entries = [(i, _without_end_mark(e)) for i, e in entries if _without_end_mark(e)]
        if not entries:
            found.append(Violation("attachment", block[0] + 1, "'붙임' names no attachment"))
            continue
        for k, (i, entry) in enumerate(entries, 1):
            number = re.match(r"(\d+)\.\s+", entry)
            if len(entries) > 1 and (not number or int(number.group(1)) != k):
                found.append(Violation("attachment", i + 1, f"'{entry}': several attachments "
                                       f"are numbered 1., 2., …; this one is {k}."))
            name = entry[number.end():] if number else entry
            quantity = _QUANTITY.search(name)
            if not quantity:
                found.append(Violation("attachment", i + 1, f"'{entry}': name the attachment and "
                                                            f"how many, e.g. '서식 1부.'"))
            elif not quantity.group(2):
                found.append(Violation("attachment", i + 1, f"'{entry}': end the count with a dot "
                                                            f"('1부.')"))
    return bool(blocks), found


def _check_end_mark(lines: list[str], blocks: list[list[int]]) -> tuple[bool, list[Violation]]:
    filled = [i for i, line in enumerate(lines) if line.strip()]
    last_line = (filled[-1] + 1) if filled else 1
    ends = [i for i, line in enumerate(lines) if _END_MARK.match(line) or "이하 빈칸" in line]
    if not ends:
        return True, [Violation("end_mark", last_line, "the text does not end with '끝.' "
                                                       "(two spaces after the last sentence)")]
    i = ends[-1]
    found = []
    m = _END_MARK.match(lines[i])
    if m:
        before, gap, dot = m.groups()
        if before.strip() and not (gap in (" ", "  ", "\u3000")):
            how = "is attached to the sentence" if not gap else "is too far from the sentence"
            found.append(Violation("end_mark", i + 1, f"'끝.' {how}; leave one character "
                                                      f"(two spaces) before it"))
        if not dot:
            found.append(Violation("end_mark", i + 1, "write the end mark as '끝.' (with its dot)"))
    if blocks and i < blocks[-1][-1]:
        found.append(Violation("end_mark", i + 1, "'끝.' comes before the 붙임 list; it goes after "
                                                  "the last attachment"))
    return True, found


# --- amounts ----------------------------------------------------------------------------

_AMOUNT = re.compile(
    r"(금\s?)?(?<![\d,.])(\d{1,3}(?:,\d{3})+|\d+)\s?원"
    r"(?!칙|장|인|본|래|형|리|활|격|회|고|단|문|서|생|자|소|유)"
    r"(\s?\(([^)]*)\))?"
)


def _check_amounts(lines: list[str]) -> tuple[bool, list[Violation]]:
    applicable, found = False, []
    for n, line in enumerate(lines, 1):
        for m in _AMOUNT.finditer(line):
            applicable = True
            geum, number, _, reading = m.groups()
            value = int(number.replace(",", ""))
            readable = value < READABLE_BELOW
            in_words = f"금{korean_number_reading(value)}원" if readable else "금…원"
            right = f"write '금{number}원({in_words})'"
            if not geum:
                found.append(Violation("amount", n, f"'{m.group(0)}': 금 goes before the amount; {right}"))
            if reading is None:
                found.append(Violation("amount", n, f"'{m.group(0)}': the amount in Hangul is missing; "
                                                    f"{right}"))
            elif readable and re.sub(r"\s+", "", reading) != in_words:
                found.append(Violation("amount", n, f"'({reading})' does not read {number}; {right}"))
    return applicable, found


# --- the facts of the request and the required parts ------------------------------------
#
# A format check alone rewards leaving content out ("끝." alone follows every rule that
# applies). `check_draft` also asks that the facts the request states are in the body,
# right (a date shifted by a year is a wrong date), and that the parts 시행규칙 제4조 names
# as the 본문 are there: 제목 and the body text. The facts are the item's (`item.meta`:
# the keys in FACT_KEYS) together with what its reference body states in 공문서 form
# (dates, times, amounts with their reading, 수신, 장소, each 붙임 with its count).

# meta keys read as facts: ISO dates, "HH:MM" times, amounts of won, text that must appear.
DATE_KEYS = ("date", "meeting", "deadline", "start", "end")  # "effective": not asked in every kind
TIME_KEYS = ("time",)
AMOUNT_KEYS = ("amount",)
TEXT_KEYS = ("recipient", "place")
FACT_KEYS = DATE_KEYS + TIME_KEYS + AMOUNT_KEYS + TEXT_KEYS + ("attachments",)
# Any wrong or missing fact, or a missing part, keeps a draft below this (the suite's
# threshold is 0.8): a well-formatted document with wrong facts is a wrong document.
IMPERFECT_CAP = 0.7


@dataclass
class DraftReport:
    """`score`: format share x share of facts and parts present, capped at IMPERFECT_CAP
    when any is missing or wrong. `missing` names each fact or part not found."""

    score: float
    format: GongmunReport
    facts: dict[str, bool] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)


def _compact(text: str) -> str:
    return re.sub(r"[\s「」『』\"'“”‘’]", "", text)


def _dates_in(text: str) -> set[tuple[int, int, int]]:
    """Every date `text` names, in any spelling (dotted, dashed, 년 월 일)."""
    found = set()
    for line in text.split("\n"):
        for m in _DOT_DATE.finditer(line):
            found.add((int(m.group(1)), int(m.group(2)), int(m.group(3))))
        for m in _DASH_DATE.finditer(line):
            found.add((int(m.group(1)), int(m.group(3)), int(m.group(4))))
        for m in _WORD_DATE.finditer(line):
            if m.group(1) and m.group(3):
                found.add((int(m.group(1)), int(m.group(2)), int(m.group(3))))
    return found


def _times_in(text: str) -> set[tuple[int, int]]:
    return {(int(h), int(mi)) for h, mi in _GOOD_TIME.findall(text)}


def _read_amounts(text: str) -> set[int]:
    """Amounts written with their right Hangul reading: "금774,070원(금칠십칠만사천칠십원)"."""
    found = set()
    for m in _AMOUNT.finditer(text):
        _, number, _, reading = m.groups()
        value = int(number.replace(",", ""))
        if reading and (value >= READABLE_BELOW or re.sub(r"\s+", "", reading)
                        == f"금{korean_number_reading(value)}원"):
            found.add(value)
    return found


def _attachments_in(text: str) -> list[tuple[str, str]]:
    """(name, count) of each 붙임 entry: ("점검 결과", "1부")."""
    lines = unicodedata.normalize("NFC", text).split("\n")
    out = []
    for block in _attachment_blocks(lines):
        entries = [_ATTACHMENT.match(lines[block[0]]).group(1)] + [lines[i] for i in block[1:]]
        for entry in entries:
            entry = re.sub(r"^\s*\d+\.\s+", "", _without_end_mark(entry)).strip()
            if m := re.match(r"(.*?)\s*(\d+\s*(?:부|매|건|권|개|점|장|종|책))\.?$", entry):
                out.append((m.group(1), re.sub(r"\s+", "", m.group(2))))
    return out


_LABELLED = re.compile(r"^\s*(?:\S+\s+)?(수신|장소)\s*[:：]?\s+(.+?)\s*$")


def request_facts(reference: str, meta: dict | None = None) -> dict[str, object]:
    """{fact name: value} a draft must state: the item's meta facts (FACT_KEYS) and the
    dates, times, read amounts, 수신, 장소 and 붙임 entries of the reference body."""
    from toolkit.korean.forms import as_date

    meta = meta or {}
    reference = unicodedata.normalize("NFC", reference or "")
    facts: dict[str, object] = {}
    for key in DATE_KEYS:
        if meta.get(key):
            try:
                d = as_date(meta[key])
                facts[f"date {d.isoformat()}"] = (d.year, d.month, d.day)
            except ValueError:
                pass
    for key in TIME_KEYS:
        if m := re.fullmatch(r"(\d{1,2}):(\d{2})", str(meta.get(key) or "")):
            facts[f"time {m.group(0)}"] = (int(m.group(1)), int(m.group(2)))
    for key in AMOUNT_KEYS:
        if isinstance(meta.get(key), int) and not isinstance(meta.get(key), bool):
            facts[f"amount {meta[key]:,}"] = meta[key]
    for key in TEXT_KEYS:
        if isinstance(meta.get(key), str) and meta[key].strip():
            facts[f"{key} {meta[key].strip()}"] = ("text", meta[key].strip())
    for entry in meta.get("attachments") or []:
        if isinstance(entry, dict) and entry.get("name"):
            count = re.sub(r"\s+", "", str(entry.get("count") or "1부"))
            facts[f"붙임 {entry['name']} {count}"] = ("attachment", entry["name"], count)
    for y, mo, d in _dates_in(reference):
        facts.setdefault(f"date {y:04d}-{mo:02d}-{d:02d}", (y, mo, d))
    for h, mi in _times_in(reference):
        facts.setdefault(f"time {h:02d}:{mi:02d}", (h, mi))
    for value in _read_amounts(reference):
        facts.setdefault(f"amount {value:,}", value)
    for line in reference.split("\n"):
        if (m := _LABELLED.match(line)) and "(" not in m.group(2)[:1]:
            facts.setdefault(f"{'recipient' if m.group(1) == '수신' else 'place'} {m.group(2)}",
                             ("text", m.group(2)))
    for name, count in _attachments_in(reference):
        facts.setdefault(f"붙임 {name} {count}", ("attachment", name, count))
    return facts


def _has_fact(value, output: str, dates, times, amounts, attachments, flat: str) -> bool:
    if isinstance(value, tuple) and value and value[0] == "text":
        return _compact(value[1]) in flat
    if isinstance(value, tuple) and value and value[0] == "attachment":
        return any(_compact(value[1]) == _compact(n) and value[2] == c for n, c in attachments)
    if isinstance(value, tuple) and len(value) == 3:
        return value in dates
    if isinstance(value, tuple) and len(value) == 2:
        return value in times
    return value in amounts


_TITLE = re.compile(r"^\s*제\s*목\s*[:：]?\s*\S")


def _required_parts(reference: str) -> list[str]:
    parts = ["본문"]
    if any(_TITLE.match(line) for line in reference.split("\n")):
        parts.insert(0, "제목")
    return parts


def _has_body(lines: list[str]) -> bool:
    """Some text beyond the 두문 lines, 붙임 and the end mark: two sentences' worth."""
    skip = re.compile(r"^\s*(?:수\s*신|\(경유\)|제\s*목|붙\s*임)")
    words = [w for line in lines if line.strip() and not skip.match(line)
             for w in _END_MARK.sub(lambda m: m.group(1), line).split()]
    return len(words) >= 8


def check_draft(output: str, reference: str = "", meta: dict | None = None) -> DraftReport:
    """The combined 공문서 score of a drafted body (the `gongmun_format` metric): the share
    of format rules followed (`check_gongmun`) times the share of the request's facts
    (`request_facts`) and required parts (제목 when the reference has one, a body) the
    output has right; at most IMPERFECT_CAP when any fact or part is missing or wrong."""
    output = unicodedata.normalize("NFC", output or "")
    form = check_gongmun(output)
    lines = output.replace("\r\n", "\n").split("\n")
    flat = _compact(output)
    dates, times, amounts = _dates_in(output), _times_in(output), _read_amounts(output)
    attachments = _attachments_in(output)
    checks: dict[str, bool] = {}
    for name, value in request_facts(reference, meta).items():
        checks[name] = _has_fact(value, output, dates, times, amounts, attachments, flat)
    for part in _required_parts(reference or ""):
        checks[f"part {part}"] = (any(_TITLE.match(line) for line in lines) if part == "제목"
                                  else _has_body(lines))
    share = sum(checks.values()) / len(checks)
    score = form.score * share
    missing = [name for name, ok in checks.items() if not ok]
    if missing:
        score = min(score, IMPERFECT_CAP)
    return DraftReport(score, form, checks, missing)
