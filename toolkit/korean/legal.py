"""Structure of Korean legal sources: statutes and ordinances (articles, paragraphs,
items) and court rulings (holding, summary, cited articles and cases).

Pure functions over the Markdown of legalize-kr statutes, ordinance-kr ordinances and
precedent-kr rulings. The layouts they read:

    # 법령명
    ## 제1장 총칙                       (also # 제1편, ### 제1절, #### 제1관)
    ##### 제1조 (목적)                  (also 제10조의2; a deleted article has no title)
    **①** 항 ...  <개정 2022.1.11>     (ordinances: ① without bold, sometimes indented)
      1\\. 호 ...                       (ordinances: 1. without the backslash)
        가\\. 목 ...
       1) ...                           (under a 목)
    [본조신설 2021.7.20]
    ## 부칙                             (supplementary provisions: never articles here)

Rulings: front matter, then `## 판시사항`, `## 판결요지`, `## 참조조문`, `## 참조판례`,
`## 판례내용`; all but 판례내용 are optional.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳㉑㉒㉓㉔㉕㉖㉗㉘㉙㉚㉛㉜㉝㉞㉟㊱㊲㊳㊴㊵㊶㊷㊸㊹㊺㊻㊼㊽㊾㊿"

# --------------------------------------------------------------------- amendment notes

_DATE = r"\d{4}\s*[.ㆍ]\s*\d{1,2}\s*[.ㆍ]\s*\d{1,2}\.?"
_DATES = rf"{_DATE}(?:\s*,\s*{_DATE})*"
# <개정 2022.1.11>, <개정 2020.12.22, 2022.1.11>, <신설 …>, <타법개정 …>, and the bare
# date of a deletion (삭제 <2020.2.4>). Never <105> (a paragraph number past ㊿),
# <제10465호,2011.3.29> (a 부칙 heading) or <단서 생략>.
_ANGLE_NOTE = (
    rf"<\s*(?:(?:개정|신설|타법개정|전문개정|일부개정|본조신설|제목개정|폐지|삭제)\s*)?{_DATES}\s*>"
)
# [전문개정 2021.3.23], [본조신설 …], [제목개정 …], [제10조에서 이동, 종전 제6조는 제15조로
# 이동 <2026.1.5>]. Not [시행일: 2023.6.11] 제5조제2항 (it names the provisions after it),
# not [별표 1].
_BRACKET_NOTE = (
    r"\[(?:전문개정|본조신설|본조제목개정|제목개정|신설|개정|타법개정|종전|"
    r"제\d+조(?:의\d+)?(?:제\d+항)?(?:에서|는))[^\[\]\n]*?\d{4}[^\[\]\n]*\]"
)
# The bracket form first: it may hold an angle note inside.
_NOTE = re.compile(rf"{_BRACKET_NOTE}|{_ANGLE_NOTE}")
_NOTE_WITH_SPACE = re.compile(rf"[ \t]*(?:{_BRACKET_NOTE}|{_ANGLE_NOTE})")


def amendment_notes(text: str) -> list[str]:
    """The amendment notes in `text`, in order, as written (`<개정 2022.1.11>`)."""
    return [m.group(0) for m in _NOTE.finditer(text)]


def strip_amendment_notes(text: str) -> tuple[str, int]:
    """`text` without amendment notes (`<개정 2022.1.11>`, `<신설 …>`, `<타법개정 …>`,
    `[전문개정 2021.3.23]`, `[본조신설 …]`, `[제목개정 …]`, `[제N조에서 이동 …]`, the date in
    `삭제 <2020.2.4>`), and how many were removed. The spaces before a note go with it; a
    line that held only notes is removed; everything else is kept as written."""
    count = 0
    out = []
    for line in text.split("\n"):
        new, n = _NOTE_WITH_SPACE.subn("", line)
        if n:
            count += n
            new = new.rstrip()
            if not new.strip():
                continue
        out.append(new)
    return "\n".join(out), count


# --------------------------------------------------------------------------- statutes


@dataclass
class Article:
    """One 조 of a statute or ordinance.

    `text` is the article as written without its heading (Markdown bold and `\\.`
    escapes removed, amendment notes kept); `clean_text` drops the notes. `outline` is
    the article's provisions in order as (level, mark, text) with notes removed: level 0
    a 항 (mark "①", or "" for unnumbered text), 1 a 호 ("1", "1의2"), 2 a 목 ("가"),
    3 a "1)" and 4 a "가)" under it."""

    number: str
    title: str
    chapter: str
    text: str
    paragraphs: list[tuple[str, str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    amendment_notes: list[str] = field(default_factory=list)
    deleted: bool = False
    section: str = ""
    outline: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def clean_text(self) -> str:
        return strip_amendment_notes(self.text)[0]

    @property
    def lead(self) -> str:
        """The unnumbered text before the first 항 (or the whole text of an article
        without 항), notes removed."""
        return " ".join(t for level, mark, t in self.outline if level == 0 and not mark)


@dataclass
class Statute:
    """A statute, decree, rule or ordinance. `ministry` is the 소관부처 (joined with ", "
    when several) or, for an ordinance, 지자체기관명 and 담당부서 ("서울특별시 정보보안과").
    `articles` are the body's articles only: 부칙 (supplementary provisions) are kept as
    raw text in `supplement`."""

    name: str
    kind: str
    law_id: str
    mst: str
    ministry: str
    chapters: list[tuple[str, str]] = field(default_factory=list)
    articles: list[Article] = field(default_factory=list)
    promulgated: str = ""
    effective: str = ""
    department: str = ""
    authority: str = ""
    divisions: list[tuple[str, str]] = field(default_factory=list)
    supplement: str = ""

    @property
    def is_ordinance(self) -> bool:
        return bool(self.authority)

    def article(self, number: str) -> Article | None:
        """The article numbered `number` ("제15조", "제7조의2"), or None."""
        return next((a for a in self.articles if a.number == number), None)


_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_ARTICLE_HEAD = re.compile(r"^(제\d+조(?:의\d+)?)\s*(?:\((.*)\))?\s*(.*)$")
_DIVISION = re.compile(r"^(제\d+(편|장|절|관)(?:의\d+)?)\s*(.*)$")
_PARAGRAPH = re.compile(rf"^\s*([{CIRCLED}])\s*(.*)$")
# A 호 is indented or escaped ("  1\. …", "  1. …", "1\. …"): a sentence may start "2020. …".
_ITEM = re.compile(r"^(?:\s+(\d+(?:의\d+)?)\\?\.|(\d+(?:의\d+)?)\\\.)\s*(.*)$")
_SUBITEM = re.compile(r"^(?:\s+([가-힣](?:의\d+)?)\\?\.|([가-힣](?:의\d+)?)\\\.)\s*(.*)$")
_NUM_PAREN = re.compile(r"^\s+(\d+)\)\s*(.*)$")
_HANGUL_PAREN = re.compile(r"^\s+([가-힣])\)\s*(.*)$")
_NOT_PROSE = re.compile(r"^\s*(?:[│┃|+┌└├┏┗┣─━]|<img|</img)")
_DELETED = re.compile(r"^삭제\.?$")


def meta_text(value) -> str:
    """A front-matter value as one string: lists (or their str() form, "['행정안전부']",
    as older readers stored them) joined with ", "; None as ""."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(meta_text(v) for v in value if v not in (None, ""))
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            return text
        if isinstance(parsed, (list, tuple)):
            return meta_text(parsed)
    return text


def _unmark(line: str) -> str:
    """Markdown bold and backslash escapes removed ("**①**" → "①", "1\\." → "1.")."""
    return re.sub(r"\\([.\\*_\[\]()#+\-!`제])", r"\1", line.replace("**", "")).rstrip()


def _outline(clean: str) -> list[tuple[int, str, str]]:
    entries: list[list] = []
    for line in clean.split("\n"):
        if not line.strip() or _NOT_PROSE.match(line):
            continue
        for level, pattern in ((0, _PARAGRAPH), (1, _ITEM), (2, _SUBITEM),
                               (3, _NUM_PAREN), (4, _HANGUL_PAREN)):
            m = pattern.match(line)
            if m:
                groups = [g for g in m.groups()]
                mark = next((g for g in groups[:-1] if g), "")
                entries.append([level, mark, groups[-1].strip()])
                break
        else:
            # Unmarked text continues the entry above when indented (legalize-kr indents a
            # 호's second paragraph with "\u3000") or when that entry is unmarked too.
            text = line.strip()
            if entries and (line[0].isspace() or (entries[-1][1] == "" and entries[-1][0] == 0)):
                entries[-1][2] = f"{entries[-1][2]} {text}".strip()
            else:
                entries.append([0, "", text])
    return [(lv, mark, text) for lv, mark, text in entries if text or mark]


def _article(number: str, title: str, chapter: str, section: str, lines: list[str]) -> Article:
    text = "\n".join(_unmark(x) for x in lines).strip()
    clean, _ = strip_amendment_notes(text)
    outline = _outline(clean)
    return Article(
        number=number,
        title=title,
        chapter=chapter,
        text=text,
        paragraphs=[(mark, t) for level, mark, t in outline if level == 0 and mark],
        items=[f"{mark}. {t}" for level, mark, t in outline if level == 1],
        amendment_notes=amendment_notes(text),
        deleted=bool(_DELETED.match(clean.strip())) or title == "삭제" or not clean.strip(),
        section=section,
        outline=outline,
    )


def _article_title(raw: str | None) -> str:
    title = (raw or "").strip()
    while title.startswith("(") and title.endswith(")"):  # "((목적))" in older decrees
        title = title[1:-1].strip()
    return title


def parse_statute(body: str, meta: dict) -> Statute:
    """The structure of a legalize-kr statute file or an ordinance-kr ordinance.

    `body` is the Markdown after the front matter; `meta` the front matter (values as
    strings or lists). Articles under `## 부칙` are not articles of the statute: that part
    is kept whole in `Statute.supplement`."""
    meta = {k: meta_text(v) for k, v in (meta or {}).items()}
    ordinance = bool(meta.get("자치법규ID") or meta.get("자치법규명"))
    name = meta.get("제목") or meta.get("자치법규명") or ""
    part = chapter = section = ""
    chapters: list[tuple[str, str]] = []
    divisions: list[tuple[str, str]] = []
    articles: list[Article] = []
    current: tuple[str, str, str, str] | None = None
    current_lines: list[str] = []
    supplement: list[str] | None = None

    def close() -> None:
        nonlocal current
        if current is not None:
            articles.append(_article(*current, current_lines[:]))
        current = None
        current_lines.clear()

    for line in body.split("\n"):
        heading = _HEADING.match(line)
        if heading and supplement is None:
            head = strip_amendment_notes(heading.group(2))[0].strip()
            close()
            if head.startswith("부칙"):
                supplement = []
                continue
            art = _ARTICLE_HEAD.match(head)
            if art:
                current = (art.group(1), _article_title(art.group(2)), chapter or part, section)
                continue
            div = _DIVISION.match(head)
            if div:
                number, unit, title = div.group(1), div.group(2), div.group(3).strip()
                divisions.append((number, title))
                if unit == "편":
                    part, chapter, section = title, "", ""
                elif unit == "장":
                    chapter, section = title, ""
                    chapters.append((number, title))
                else:
                    section = title
                continue
            if len(heading.group(1)) == 1 and not name:
                name = head
            continue
        if supplement is not None:
            supplement.append(line)
        elif current is not None:
            current_lines.append(line)
    close()

    if ordinance:
        authority, department = meta.get("지자체기관명", ""), meta.get("담당부서", "")
        ministry = " ".join(x for x in (authority, department) if x)
        kind = meta.get("자치법규종류", "")
        law_id, mst = meta.get("자치법규ID", ""), meta.get("자치법규일련번호", "")
    else:
        authority, department = "", ""
        ministry = meta.get("소관부처", "")
        kind = meta.get("법령구분", "")
        law_id, mst = meta.get("법령ID", ""), meta.get("법령MST", "")
    return Statute(
        name=name, kind=kind, law_id=law_id, mst=mst, ministry=ministry,
        chapters=chapters, articles=articles,
        promulgated=meta.get("공포일자", ""), effective=meta.get("시행일자", ""),
        department=department, authority=authority, divisions=divisions,
        supplement="\n".join(supplement or []).strip(),
    )


# --------------------------------------------------------------------------- rulings


@dataclass
class Ruling:
    """A court ruling. `holding` is 판시사항 and `summary` 판결요지 ("" when the ruling has
    none: about 60% of precedent-kr's administrative rulings have neither). `cited_articles`
    are (법령명, "제23조 제1항 제4호") pairs read from 참조조문, with "구 " (former version)
    and parenthesised version notes dropped; `cited_cases` the citations of 참조판례;
    `full_text` is 판례내용."""

    case_number: str
    case_name: str
    court: str
    date: str
    holding: str
    summary: str
    cited_articles: list[tuple[str, str]] = field(default_factory=list)
    cited_cases: list[str] = field(default_factory=list)
    full_text: str = ""
    kind: str = ""
    serial: str = ""
    references: str = ""


_SECTION = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)
_GROUP_MARK = re.compile(r"\[\d+\](?:\s*\[\d+\])*")
_DATE_LINE = re.compile(r"^\s*(\d{4})\.\s*(\d{1,2})\.\s*(\d{1,2})\.\s*$", re.MULTILINE)
_CITED_ARTICLE = re.compile(r"^(.*?)\s*(제\d+조(?:의\d+)?)(.*)$")
_CASE = re.compile(
    r"(?:대법원|헌법재판소|[가-힣]+(?:고법|지법|법원))\s*"
    r"(?:\d{4}\.\s*\d{1,2}\.\s*\d{1,2}\.\s*)?(?:선고|자)?\s*"
    r"\d{2,4}[가-힣]{1,3}\d+(?:\s*,\s*\d+(?:[가-힣]{1,3}\d+)?)*\s*(?:전원합의체\s*|전원재판부\s*)?"
    r"(?:판결|결정)"
)


def _without_parentheses(text: str) -> str:
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()]*\)", "", text)
    return text


def _law_name(prefix: str) -> str:
    name = re.sub(r"\s+", " ", prefix).strip(" ,/ㆍ·")
    return re.sub(r"^구\s+", "", name)


def parse_cited_articles(text: str) -> list[tuple[str, str]]:
    """(법령명, 조문) pairs from a 참조조문 text such as "[1] 지방자치법 제22조 / [2] 구 국토의
    계획 및 이용에 관한 법률(2011. 4. 14. …) 제36조 제1항, 제76조 제1항, 제3항": a 제N조
    without a law name before it belongs to the last law named, a bare 제N항/제N호 to the
    last article, "부칙(2013. 8. 13.) 제2조" to "<last law> 부칙". In order, without repeats."""
    text = re.sub(r"\(([가-힣])\)\s*목", r"\1목", _GROUP_MARK.sub(" / ", text))
    text = _without_parentheses(text)
    pairs: list[tuple[str, str]] = []
    base = law = article = None
    for segment in re.split(r"\s*[,/]\s*", text):
        segment = re.sub(r"\s+", " ", segment).strip()
        if not segment:
            continue
        m = _CITED_ARTICLE.match(segment)
        if m:
            name = _law_name(m.group(1))
            if name == "부칙":
                law = f"{base} 부칙" if base else None
            elif name:
                base = law = name
            if not law:
                continue
            article = m.group(2)
            pairs.append((law, f"{article}{m.group(3)}".strip()))
        elif law and article and re.match(r"^제\d+(?:항|호)", segment):
            pairs.append((law, f"{article} {segment}"))
        elif law and pairs and re.fullmatch(r"[가-힣]목", segment):  # "제1호 가목, 다목"
            last = pairs[-1][1]
            pairs.append((law, re.sub(r"\S+목$", segment, last) if last.endswith("목") else f"{last} {segment}"))
        else:
            name = _law_name(segment)
            if name and name != "부칙":
                base = law = name
            article = None
    return list(dict.fromkeys(pairs))


def parse_cited_cases(text: str) -> list[str]:
    """The case citations of a 참조판례 text ("대법원 2014. 2. 13. 선고 2011두21652 판결"), in
    order, without repeats and without their reporter notes."""
    text = _without_parentheses(_GROUP_MARK.sub(" ", text))
    return list(dict.fromkeys(re.sub(r"\s+", " ", m.group(0)) for m in _CASE.finditer(text)))


def ruling_sections(body: str) -> dict[str, str]:
    """The `## ` sections of a ruling body, by heading, text stripped."""
    parts = _SECTION.split(body)
    return {parts[i].strip(): parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def _tidy(text: str) -> str:
    """Lines stripped, blank lines and runs of spaces (old rulings' layout) removed."""
    lines = (re.sub(r"[ \t]{2,}", " ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


def parse_ruling(body: str, meta: dict) -> Ruling:
    """The structure of a precedent-kr ruling file (`body` after the front matter)."""
    meta = {k: meta_text(v) for k, v in (meta or {}).items()}
    sections = ruling_sections(body)
    title = re.search(r"^#\s+(.+?)\s*$", body, re.MULTILINE)
    references = sections.get("참조조문", "")
    full_text = sections.get("판례내용", "")
    date = meta.get("선고일자", "")
    if not date:  # half of the files lack 선고일자: the judgment's date line ("2012. 8. 30.")
        m = _DATE_LINE.search(full_text)
        date = f"{int(m.group(1)):04d}-{int(m.group(2)):02d}-{int(m.group(3)):02d}" if m else ""
    return Ruling(
        case_number=meta.get("사건번호", ""),
        case_name=meta.get("사건명", "") or (title.group(1) if title else ""),
        court=meta.get("법원명", ""),
        date=date,
        holding=_tidy(sections.get("판시사항", "")),
        summary=_tidy(sections.get("판결요지", "")),
        cited_articles=parse_cited_articles(references),
        cited_cases=parse_cited_cases(sections.get("참조판례", "")),
        full_text=full_text,
        kind=meta.get("사건종류", ""),
        serial=meta.get("판례일련번호", ""),
        references=references,
    )


def paragraph_number(mark: str) -> int:
    """1 for "①", 2 for "②" … 50 for "㊿"."""
    return CIRCLED.index(mark) + 1
