"""Instruction examples built deterministically from document structure.

A builder takes a `SourceDoc` and `SynthOptions` and returns chat records

    {"id": "<doc id>#<task>[#n]",
     "messages": [{"role": "user", ...}, {"role": "assistant", ...}],
     "meta": {"task", "doc_id", "source", "source_type", "path", ...}}

or [] when its family does not apply to the document (the pipeline counts that). The
same document and options always give the same records, byte for byte: choices (which
articles, which phrasing) come from a seeded hash of the document id, never from a random
generator or the order documents arrive in.

Families (`TASK_FAMILIES` has one line on each for the data card):

- title, doc_type, department, article: the quickstart families, on `documents` (and
  plain `text`) sources only.
- lookup, explain, route, draft: statute and ordinance articles (`toolkit.corpus.legal`),
  at most `max_per_doc` articles per document and family, never a deleted article and
  never 부칙.
- summarise: rulings (판례내용 → 판시사항, or 판결요지 when a ruling has no 판시사항).
- route also applies to rulings (→ 사건종류 and the main cited law).
- refuse: rulings, ordinances and statutes (requests for personal data → refusal).

Builders also accept the reader's `toolkit.corpus.sources.Document` and a bare
`max_answer_chars` int (the older call `BUILDERS[task](doc, 400)`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from typing import Callable

from toolkit.corpus.legal import Article, Ruling, Statute, meta_text, paragraph_number, parse_ruling, parse_statute

DOC_TYPES = ("공문", "보도자료", "내부규정")
EXCERPT_CHARS = 300

TASK_FAMILIES = {
    "title": "제목 붙이기 — give a document its title.",
    "doc_type": "문서 종류 분류 — classify a document as 공문, 보도자료 or 내부규정.",
    "department": "담당 부서 — name the department in charge of a document's subject.",
    "article": "조문 내용 — state what a numbered article of a document says.",
    "lookup": "규정 조회 — answer a question about a statute or ordinance article, citing 「법령명」 제N조(제N항).",
    "explain": "조문 해설 — explain an article in plain language, as short bullets per 항 and 호.",
    "summarise": "판례 요약 — write a ruling's 판시사항 (or 판결요지) from its 판례내용.",
    "route": "분류·소관 — name the law and ministry an article belongs to, or a ruling's case type and main law.",
    "draft": "공문서 작성 — draft an official document body from an article, following the 행정업무규정 rules.",
    "refuse": "개인정보 요청 거절 — politely refuse to reveal personal data, citing 「개인정보 보호법」.",
}

SOURCE_TYPES = ("documents", "statute", "ruling", "ordinance", "text")
# corpus.sources[].type (or an older reader's) → SourceDoc.source_type.
_SOURCE_TYPE_OF = {
    "documents": "documents", "statutes": "statute", "statute": "statute",
    "rulings": "ruling", "ruling": "ruling", "ordinances": "ordinance", "ordinance": "ordinance",
    "text": "text", "jsonl": "text", "hwpx": "text", "pdf": "text",
}
_QUICKSTART_TYPES = ("documents", "text")
_ARTICLE_TYPES = ("statute", "ordinance")


@dataclass
class SourceDoc:
    """One document for the builders. `source_type` is one of SOURCE_TYPES; `text` is the
    body after the front matter and `meta` the front matter (values as strings)."""

    id: str
    source: str
    source_type: str
    path: str
    text: str
    meta: dict = field(default_factory=dict)


@dataclass
class SynthOptions:
    """max_answer_chars: longer answers are cut at a line or sentence end (a draft's quoted
    provisions are cut instead, so its frame and 끝. survive). max_source_chars: longest
    source passage put into a prompt. max_per_doc: most records of one family from one
    document. seed: which articles and phrasings are chosen."""

    max_answer_chars: int = 400
    max_source_chars: int = 2000
    max_per_doc: int = 8
    seed: int = 0


def source_type_of(meta: dict) -> str:
    """The SourceDoc.source_type of a document from its metadata: the reader's
    `source_type` when present, else guessed from front-matter keys."""
    named = _SOURCE_TYPE_OF.get(str(meta.get("source_type") or ""))
    if named:
        return named
    if meta.get("판례일련번호") or meta.get("사건번호"):
        return "ruling"
    if meta.get("자치법규ID") or meta.get("자치법규명"):
        return "ordinance"
    if meta.get("법령ID") or meta.get("법령MST"):
        return "statute"
    return "documents"


def source_doc(doc) -> SourceDoc:
    """`doc` as a SourceDoc: a reader's Document converted, a recipe's source type
    ("statutes", "jsonl") mapped to its SOURCE_TYPES name."""
    if isinstance(doc, SourceDoc):
        if doc.source_type in SOURCE_TYPES:
            return doc
        return replace(doc, source_type=_SOURCE_TYPE_OF.get(doc.source_type, "text"))
    kind = getattr(doc, "source_type", None) or source_type_of(doc.meta)
    return SourceDoc(doc.id, doc.source, _SOURCE_TYPE_OF.get(kind, "text"), doc.path, doc.text, doc.meta)


def _inputs(doc, options) -> tuple[SourceDoc, SynthOptions]:
    if options is None:
        options = SynthOptions()
    elif isinstance(options, int):
        options = SynthOptions(max_answer_chars=options)
    return source_doc(doc), options


# ------------------------------------------------------------------------- helpers


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of `text`, cut at a line or sentence end near `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for mark in ("\n", ". ", "다. ", "."):
        pos = cut.rfind(mark)
        if pos > limit // 2:
            return cut[: pos + len(mark)].rstrip()
    return cut.rstrip()


def _short(text: str, limit: int) -> str:
    """excerpt(text, limit), with "…" where it had to cut inside a sentence."""
    cut = excerpt(text, limit)
    return cut if cut == text or cut.endswith(".") else cut + "…"


def _rank(seed: int, *parts: str) -> int:
    """A stable pseudo-random number for `parts` under `seed` (sha256, not hash())."""
    key = "\x1f".join([str(seed), *parts]).encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def _choose(seed: int, options: tuple, *parts: str):
    return options[_rank(seed, *parts) % len(options)]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _final_consonant(word: str) -> int | None:
    """Index of the final consonant (종성) of the syllable a particle attaches to: 0 for
    none, None when it cannot be told. "제15조(목적)" reads as 제15조, "「법」" as 법."""
    word = word.rstrip()
    while word.endswith(")") and "(" in word:
        word = word[: word.rfind("(")].rstrip()
    word = word.rstrip("」』\"'”’ ")
    if not word:
        return None
    ch = word[-1]
    if "가" <= ch <= "힣":
        return (ord(ch) - 0xAC00) % 28
    if ch.isdigit():  # 영 일 이 삼 사 오 육 칠 팔 구
        return {"0": 21, "1": 8, "3": 16, "6": 21, "7": 8, "8": 8}.get(ch, 0)
    return None


def josa(word: str, pair: str) -> str:
    """`word` with the particle of `pair` ("은/는", "이/가", "을/를", "과/와", "으로/로") that
    fits its last syllable."""
    with_final, without = pair.split("/")
    final = _final_consonant(word)
    if pair == "으로/로":
        return word + ("으로" if final not in (None, 0, 8) else "로")
    return word + (with_final if final else without)


def polite(text: str) -> str:
    """Sentence-final plain endings turned into the formal polite style of official
    letters: 한다 → 합니다, 가진다 → 가집니다, 있다 → 있습니다, 이다 → 입니다,
    받는다 → 받습니다. Only a 다 that ends a sentence ("다." then a space or the end)
    changes: item texts without a full stop ("… 바다") are left alone."""

    def swap(m: re.Match) -> str:
        ch = m.group(1)
        code = ord(ch) - 0xAC00
        final = code % 28
        if ch == "는":
            return "습니다"  # 받는다 → 받습니다
        if final in (0, 4):  # 이다 → 입니다; 한다 → 합니다 (ㄴ → ㅂ)
            return chr(0xAC00 + code - final + 17) + "니다"
        return ch + "습니다"

    return re.sub(r"([가-힣])다(?=\.(?:\s|$))", swap, text)


# Plain-language rewrites of `explain`, applied in order after `polite`.
PLAIN_LANGUAGE: tuple[tuple[str, str], ...] = (
    (r"\(이하\s*(\"[^\"()]+\")\s*(?:이라|라)\s*(?:한다|합니다)\)", r"(줄여서 \1)"),  # (이하 "법"이라 한다)
    (r"다음 각 호의 어느 하나에 해당하는", "아래 중 어느 하나에 해당하는"),
    (r"다음 각 (?:호|목)의", "아래의"),
    (r"다음 각 (?:호|목)", "아래 항목"),
    (r"하여서는 아니 됩니다", "해서는 안 됩니다"),
    (r"아니 됩니다", "안 됩니다"),
    (r"하여야 합니다", "해야 합니다"),
    (r"(위|대|의|관|통|인|연)하여", r"\1해"),
)


def plain_language(text: str) -> str:
    """`polite(text)` with the PLAIN_LANGUAGE rewrites: (이하 "법"이라 한다) → (줄여서 "법"), "다음 각 호"
    → "아래 항목", "하여야 합니다" → "해야 합니다", "위하여" → "위해"."""
    text = polite(text)
    for pattern, repl in PLAIN_LANGUAGE:
        text = re.sub(pattern, repl, text)
    return text


# ------------------------------------------------------------ official-document style

_HANGUL_SEQ = "가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허"
_WEEKDAYS = "월화수목금토일"
_DIGITS = "영일이삼사오육칠팔구"


def item_marker(level: int, n: int) -> str:
    """The n-th (1-based) item marker at `level` of an official document (행정업무의 운영 및
    혁신에 관한 규정 시행규칙 제2조): 1. → 가. → 1) → 가) → (1) → (가)."""
    hangul = _HANGUL_SEQ[(n - 1) % len(_HANGUL_SEQ)]
    return (f"{n}.", f"{hangul}.", f"{n})", f"{hangul})", f"({n})", f"({hangul})")[level]


def _as_date(value) -> dt.date:
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


def official_date(date, weekday: bool = False) -> str:
    """A date as official documents write it: "2025. 8. 7." (no zero padding), with
    "(목)" after it when `weekday`. Takes a date, "2025-08-07", "20250807" or "2025.8.7"."""
    d = _as_date(date)
    text = f"{d.year}. {d.month}. {d.day}."
    return text + f"({_WEEKDAYS[d.weekday()]})" if weekday else text


def _hangul_number(n: int) -> str:
    if n == 0:
        return "영"
    groups, out = [], ""
    while n:
        groups.append(n % 10000)
        n //= 10000
    for unit, group in reversed(list(zip(("", "만", "억", "조", "경"), groups))):
        if not group:
            continue
        for place, name in ((1000, "천"), (100, "백"), (10, "십"), (1, "")):
            digit = group // place % 10
            if digit:
                out += _DIGITS[digit] + name
        out += unit
    return out


def korean_amount(n: int) -> str:
    """An amount of won as official documents write it: 113560 →
    "금113,560원(금일십일만삼천오백육십원)" (digits with commas, then in Hangul, 일 kept
    before 십/백/천)."""
    if n < 0:
        raise ValueError(f"an amount of money cannot be negative: {n}")
    return f"금{n:,}원(금{_hangul_number(n)}원)"


_UNIT = {"억": 10**8, "천만": 10**7, "백만": 10**6, "십만": 10**5, "만": 10**4, "천": 10**3}
_WON = re.compile(
    r"(?<![\d,.금])((?:\d[\d,]*\s?(?:억|천만|백만|십만|만)\s?)*\d[\d,]*\s?(?:억|천만|백만|십만|만|천)?)"
    r"\s?원(?=$|[\s)\],.을의으이까씩에은는도과와부])"
)


def official_amounts(text: str) -> str:
    """Amounts of won in `text` ("3천만원", "2억 5천만원", "10,000원") rewritten as
    korean_amount writes them."""

    def swap(m: re.Match) -> str:
        total = 0
        for number, unit in re.findall(r"(\d[\d,]*)\s?(억|천만|백만|십만|만|천)?", m.group(1)):
            total += int(number.replace(",", "")) * _UNIT.get(unit, 1)
        return korean_amount(total)

    return _WON.sub(swap, text)


def _weekday_on_or_before(d: dt.date) -> dt.date:
    return d - dt.timedelta(days=max(0, d.weekday() - 4))


# ------------------------------------------------------------------------ structure

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 64


def structure(doc) -> Statute | Ruling | None:
    """The parsed structure of a statute, ordinance or ruling document (None for other
    source types). Parsed once per document: builders of all families share it."""
    doc = source_doc(doc)
    if doc.source_type not in ("statute", "ordinance", "ruling"):
        return None
    key = (doc.id, doc.source_type, hash(doc.text))
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    parsed = parse_ruling(doc.text, doc.meta) if doc.source_type == "ruling" else parse_statute(doc.text, doc.meta)
    _CACHE[key] = parsed
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return parsed


def _statute(doc: SourceDoc) -> Statute | None:
    if doc.source_type not in _ARTICLE_TYPES:
        return None
    parsed = structure(doc)
    return parsed if isinstance(parsed, Statute) and parsed.name and parsed.articles else None


def _ruling(doc: SourceDoc) -> Ruling | None:
    parsed = structure(doc) if doc.source_type == "ruling" else None
    return parsed if isinstance(parsed, Ruling) else None


def _pick_articles(doc: SourceDoc, statute: Statute, task: str, options: SynthOptions,
                   usable: Callable[[Article], bool]) -> list[tuple[int, Article]]:
    """Up to max_per_doc usable, not deleted articles (with their 1-based position),
    chosen by seeded hash and returned in document order."""
    pool = [(i, a) for i, a in enumerate(statute.articles, 1)
            if not a.deleted and _blocks(a) and usable(a)]
    pool.sort(key=lambda ia: _rank(options.seed, doc.id, task, ia[1].number))
    return sorted(pool[: options.max_per_doc], key=lambda ia: ia[0])


def _blocks(article: Article) -> list[tuple[tuple, list[tuple]]]:
    """The article's outline grouped by 항: [(level-0 entry, [entries under it])], deleted
    항 and 호 left out."""
    blocks: list[tuple[tuple, list[tuple]]] = []
    for entry in article.outline:
        if entry[2] == "삭제":  # a deleted 항 or 호 ("2의2. 삭제 <2024.12.31>")
            continue
        if entry[0] == 0 or not blocks:
            blocks.append((entry, []))
        else:
            blocks[-1][1].append(entry)
    return blocks


_LAW_LAYOUT = {0: ("", " "), 1: ("  ", ". "), 2: ("    ", ". "), 3: ("      ", ") "), 4: ("        ", ") ")}


def _law_line(entry: tuple) -> str:
    level, mark, text = entry
    indent, sep = _LAW_LAYOUT[level]
    return f"{indent}{mark}{sep}{text}" if mark else f"{indent}{text}"


def article_text(article: Article) -> str:
    """The article's provisions as law text (① …, "  1. …", "    가. …"), no notes."""
    return "\n".join(_law_line(e) for e in article.outline)


def _heading(article: Article) -> str:
    return f"{article.number}({article.title})" if article.title else article.number


def _cite(statute: Statute, article: Article, paragraph: str = "") -> str:
    return f"「{statute.name}」 {article.number}{paragraph}"


def _record(doc: SourceDoc, task: str, n: int | None, prompt: str, answer: str, **meta) -> dict:
    suffix = f"#{n}" if n is not None else ""
    return {
        "id": f"{doc.id}#{task}{suffix}",
        "messages": [
            {"role": "user", "content": _nfc(prompt)},
            {"role": "assistant", "content": _nfc(answer)},
        ],
        "meta": {
            "task": task,
            "doc_id": doc.id,
            "source": doc.source,
            "source_type": doc.source_type,
            "path": doc.path,
            **meta,
        },
    }


def _article_meta(statute: Statute, article: Article) -> dict:
    return {"law_id": statute.law_id, "law_name": statute.name, "article": article.number}


# --------------------------------------------------------------- quickstart families

_HEADING_LINE = re.compile(r"^#{1,6}\s.*$", re.MULTILINE)
_ARTICLE_HEADING = re.compile(r"^#{1,6}\s*(제\d+조(?:의\d+)?)\s*\(([^)]*)\)\s*$", re.MULTILINE)
_TITLE_LINE = re.compile(r"^(제목|# ).*$", re.MULTILINE)


def _quickstart(doc: SourceDoc) -> bool:
    return doc.source_type in _QUICKSTART_TYPES


def _body_without_title(doc: SourceDoc) -> str:
    return excerpt(_TITLE_LINE.sub("", doc.text).strip())


def _doc_title(doc: SourceDoc) -> str | None:
    # 제목 from front matter; readers of other formats (jsonl field_map, HWPX) set `title`.
    return doc.meta.get("제목") or doc.meta.get("title")


def _doc_record(doc: SourceDoc, task: str, n: int | None, prompt: str, answer: str) -> dict:
    return _record(doc, task, n, prompt, answer, doc_type=doc.meta.get("문서종류"))


def title_task(doc, options) -> list[dict]:
    """제목: the document body (title lines removed, first ~300 characters) → 제목."""
    doc, options = _inputs(doc, options)
    title = _doc_title(doc)
    if not title or not _quickstart(doc):
        return []
    prompt = f"다음 문서에 알맞은 제목을 붙여 주세요.\n\n{_body_without_title(doc)}"
    return [_doc_record(doc, "title", None, prompt, title)]


def doc_type_task(doc, options) -> list[dict]:
    """문서 종류: the body → one of DOC_TYPES (documents whose 문서종류 is another are skipped)."""
    doc, options = _inputs(doc, options)
    kind = doc.meta.get("문서종류")
    if kind not in DOC_TYPES or not _quickstart(doc):
        return []
    prompt = (
        f"다음 문서의 종류를 {', '.join(DOC_TYPES)} 중 하나로 답하세요.\n\n"
        f"{_body_without_title(doc)}"
    )
    return [_doc_record(doc, "doc_type", None, prompt, kind)]


def department_task(doc, options) -> list[dict]:
    """담당 부서: 「제목」 → 담당부서."""
    doc, options = _inputs(doc, options)
    dept = doc.meta.get("담당부서")
    title = _doc_title(doc)
    if not dept or not title or not _quickstart(doc):
        return []
    prompt = f"「{title}」 업무는 어느 부서 담당입니까?"
    return [_doc_record(doc, "department", None, prompt, dept)]


def article_task(doc, options) -> list[dict]:
    """One record per `##### 제N조 (조목)` article of a document: the article's text, cited."""
    doc, options = _inputs(doc, options)
    name = _doc_title(doc)
    matches = list(_ARTICLE_HEADING.finditer(doc.text))
    if not name or not matches or not _quickstart(doc):
        return []
    records = []
    for n, match in enumerate(matches):
        end = matches[n + 1].start() if n + 1 < len(matches) else len(doc.text)
        body = _HEADING_LINE.sub("", doc.text[match.end():end]).strip()
        if not body:
            continue
        number, heading = match.group(1), match.group(2).strip()
        prompt = f"「{name}」 {number}({heading})의 내용을 알려 주세요."
        answer = f"「{name}」 {number}({heading})에 따르면, {excerpt(body, options.max_answer_chars)}"
        records.append(_doc_record(doc, "article", n + 1, prompt, answer))
    return records


# --------------------------------------------------------------------------- lookup

# Question templates by how an article's title ends (first match wins); {law} is the
# name, {num} the article number, {title} the title with its particle as needed.
_LOOKUP_BY_TITLE: tuple[tuple[str, str], ...] = (
    (r"^목적$", "「{law}」의 목적은 무엇입니까?"),
    (r"정의$", "「{law}」 {num}에서 정의하는 용어에는 어떤 것이 있습니까?"),
    (r"벌칙$", "「{law}」 {num}에 따른 벌칙은 어떻게 정해져 있습니까?"),
    (r"과태료$", "「{law}」 {num}에 따라 과태료가 부과되는 경우와 그 금액은 어떻게 됩니까?"),
    (r"(?:책무|의무|책임|권리|권한)$", "「{law}」 {num}에 따른 {title_topic} 무엇입니까?"),
    (r"(?:제한|금지)$", "「{law}」 {num}에서 {title}에 관하여 정한 내용은 무엇입니까?"),
    (r"(?:기준|요건|자격|결격사유|범위|대상)$", "「{law}」 {num}에 따른 {title_topic} 무엇입니까?"),
    (r"(?:절차|방법|신청|통지)$", "「{law}」 {num}에 따른 {title_topic} 어떻게 됩니까?"),
    (r"(?:구성|설치)", "「{law}」 {num}에 따른 {title_topic} 어떻게 정해져 있습니까?"),
)
_LOOKUP_DEFAULT = (
    "「{law}」 {num}({title})에서는 무엇을 정하고 있습니까?",
    "「{law}」 {num_topic} {title}에 관하여 어떻게 규정하고 있습니까?",
    "{title}에 관한 「{law}」 {num}의 내용을 알려 주세요.",
)


def lookup_question(statute: Statute, article: Article, seed: int = 0) -> str:
    """The 규정 조회 question about `article`, from its title (a template per kind of
    title, else one of three phrasings chosen by seeded hash)."""
    if not article.title:
        return f"「{statute.name}」 {article.number}의 내용을 알려 주세요."
    fields = {"law": statute.name, "num": article.number, "title": article.title,
              "title_topic": josa(article.title, "은/는"), "num_topic": josa(article.number, "은/는")}
    for pattern, template in _LOOKUP_BY_TITLE:
        if re.search(pattern, article.title):
            return template.format(**fields)
    return _choose(seed, _LOOKUP_DEFAULT, statute.law_id, article.number).format(**fields)


def lookup_answer(statute: Statute, article: Article, max_chars: int) -> tuple[str, str]:
    """The answer grounded in the article's text and the paragraph it quotes ("제1항", or
    "" for an article without numbered paragraphs): "「법령명」 제N조제1항에 따르면, …" and
    the items under it, then the following paragraphs while they fit `max_chars`."""
    blocks = _blocks(article)
    (level, mark, text), children = blocks[0]
    paragraph = f"제{paragraph_number(mark)}항" if mark else ""
    lines = [f"{_cite(statute, article, paragraph)}에 따르면, {text}"]
    lines += [_law_line(e) for e in children]
    for entry, kids in blocks[1:]:
        lines += [_law_line(entry)] + [_law_line(e) for e in kids]
    return excerpt("\n".join(lines), max_chars), paragraph


def lookup_task(doc, options) -> list[dict]:
    """규정 조회: a question built from an article's title → the article's text, cited as
    「법령명」 제N조 (제N조제1항 when the article has numbered paragraphs)."""
    doc, options = _inputs(doc, options)
    statute = _statute(doc)
    if statute is None:
        return []
    records = []
    for n, article in _pick_articles(doc, statute, "lookup", options, lambda a: len(a.clean_text) >= 20):
        question = lookup_question(statute, article, options.seed)
        answer, paragraph = lookup_answer(statute, article, options.max_answer_chars)
        records.append(_record(doc, "lookup", n, question, answer, **_article_meta(statute, article),
                               paragraph=paragraph or None))
    return records


# -------------------------------------------------------------------------- explain

EXPLAIN_ITEM_CHARS = 90
EXPLAIN_PARAGRAPH_CHARS = 140
EXPLAIN_ITEMS_PER_PARAGRAPH = 6


def explain_answer(statute: Statute, article: Article, max_chars: int) -> str:
    """The plain-language explanation of `article`, built by this exact template:

    1. A restatement: "「법령명」 제N조는 '제목'에 관한 규정으로, 핵심은 다음과 같습니다."
       (without a title: "「법령명」 제N조의 핵심은 다음과 같습니다.")
    2. One bullet per 항 in order: "- 제N항: " (nothing for unnumbered text) and the 항's
       first sentence, cut to EXPLAIN_PARAGRAPH_CHARS ("…" where cut mid-sentence).
    3. Under it, one "  · " bullet per 호 (first EXPLAIN_ITEMS_PER_PARAGRAPH, each cut to
       EXPLAIN_ITEM_CHARS; more are counted: "  · 그 밖에 N개 항목"); 목 and below are
       left out.
    4. Every bullet goes through `plain_language` (formal polite endings,
       (이하 "법"이라 한다) → (줄여서 "법"), "다음 각 호" → "아래 항목"); amendment notes,
       bold marks and 항/호 numbers are already gone.
    5. Bullets stop before the answer would pass `max_chars` (at least one is kept); then
       "- 나머지 내용은 「법령명」 제N조 원문을 확인하세요." closes it."""
    topic = f"'{article.title}'에 관한 규정으로, 핵심은" if article.title else "핵심은"
    number = josa(article.number, "은/는") if article.title else f"{article.number}의"
    head = f"「{statute.name}」 {number} {topic} 다음과 같습니다."
    bullets: list[str] = []
    for (level, mark, text), children in _blocks(article):
        first = re.split(r"(?<=다\.)\s", text, maxsplit=1)[0]
        label = f"제{paragraph_number(mark)}항: " if mark else ""
        bullets.append(f"- {label}{plain_language(_short(first, EXPLAIN_PARAGRAPH_CHARS))}")
        items = [e for e in children if e[0] == 1]
        for _, _, item in items[:EXPLAIN_ITEMS_PER_PARAGRAPH]:
            bullets.append(f"  · {plain_language(_short(item, EXPLAIN_ITEM_CHARS))}")
        if len(items) > EXPLAIN_ITEMS_PER_PARAGRAPH:
            bullets.append(f"  · 그 밖에 {len(items) - EXPLAIN_ITEMS_PER_PARAGRAPH}개 항목")
    closing = f"- 나머지 내용은 「{statute.name}」 {article.number} 원문을 확인하세요."
    kept = [head, bullets[0]]
    for bullet in bullets[1:]:
        if len("\n".join(kept + [bullet, closing])) > max_chars:
            kept.append(closing)
            break
        kept.append(bullet)
    return "\n".join(kept)


def explain_task(doc, options) -> list[dict]:
    """조문 해설: an article's text → its plain-language explanation (explain_answer)."""
    doc, options = _inputs(doc, options)
    statute = _statute(doc)
    if statute is None:
        return []
    records = []
    for n, article in _pick_articles(doc, statute, "explain", options, lambda a: len(a.clean_text) >= 40):
        source = excerpt(article_text(article), options.max_source_chars)
        prompt = (f"다음 조문을 일반 시민이 이해하기 쉬운 말로 풀어 설명해 주세요.\n\n"
                  f"「{statute.name}」 {_heading(article)}\n{source}")
        answer = explain_answer(statute, article, options.max_answer_chars)
        records.append(_record(doc, "explain", n, prompt, answer, **_article_meta(statute, article)))
    return records


# ------------------------------------------------------------------------ summarise

_LOWER_COURT = re.compile(r"^-{10,}\s*$", re.MULTILINE)


def ruling_source(ruling: Ruling, max_chars: int) -> str:
    """The Supreme Court's own text of a ruling (lower-court text after the dashed line
    dropped), cut to `max_chars` at a line or sentence end."""
    own = _LOWER_COURT.split(ruling.full_text, maxsplit=1)[0].strip()
    return excerpt(own, max_chars)


SUMMARY_MIN_CHARS = 15


def summarise_task(doc, options) -> list[dict]:
    """판례 요약: 판례내용 (cut to max_source_chars) → 판시사항; a ruling without
    판시사항 but with 판결요지 gets that as its target instead (meta.target says which).
    Targets shorter than SUMMARY_MIN_CHARS ("전심과 동일") are skipped."""
    doc, options = _inputs(doc, options)
    ruling = _ruling(doc)
    if ruling is None or not ruling.full_text:
        return []
    target, answer = ("판시사항", ruling.holding) if ruling.holding else ("판결요지", ruling.summary)
    if len(answer) < SUMMARY_MIN_CHARS:  # none, or "전심과 동일"
        return []
    source = ruling_source(ruling, options.max_source_chars)
    prompt = f"다음 판결문을 읽고 {josa(target, '을/를')} 정리해 주세요.\n\n{source}"
    return [_record(doc, "summarise", None, prompt, excerpt(answer, options.max_answer_chars),
                    **_ruling_meta(ruling), target=target)]


def _ruling_meta(ruling: Ruling) -> dict:
    return {"case_number": ruling.case_number, "court": ruling.court, "date": ruling.date or None}


# ---------------------------------------------------------------------------- route


def main_cited_law(ruling: Ruling) -> str | None:
    """The law a ruling cites most in 참조조문 (the first cited on a tie), 부칙 counted
    with its law."""
    counts = Counter(re.sub(r" 부칙$", "", law) for law, _ in ruling.cited_articles)
    if not counts:
        return None
    best = max(counts.values())
    return next(law for law in counts if counts[law] == best)


def route_task(doc, options) -> list[dict]:
    """분류·소관. Articles: an article's text (no law name or number) → "「법령명」(소관:
    부처)" (ordinances: "「조례명」(소관: 서울특별시 정보보안과)"); articles that name their own
    law are skipped. Rulings: 판시사항 (or 판결요지, or the opening of 판례내용) →
    "「주요 법령」(사건종류: 일반행정)", or the 사건종류 alone when 참조조문 is empty."""
    doc, options = _inputs(doc, options)
    ruling = _ruling(doc)
    if ruling is not None:
        return _route_ruling(doc, ruling, options)
    statute = _statute(doc)
    if statute is None or not statute.ministry:
        return []
    what = "자치법규와 담당 부서" if statute.is_ordinance else "법령과 소관 부처"
    form = "「자치법규명」(소관: 기관 부서)" if statute.is_ordinance else "「법령명」(소관: 부처)"
    answer = f"「{statute.name}」(소관: {statute.ministry})"
    records = []

    def usable(a: Article) -> bool:
        text = article_text(a)
        return len(text) >= 60 and statute.name not in text

    for n, article in _pick_articles(doc, statute, "route", options, usable):
        source = excerpt(article_text(article), options.max_source_chars)
        prompt = f"다음 조문이 속한 {what}를 {form} 형식으로 답하세요.\n\n{source}"
        records.append(_record(doc, "route", n, prompt, answer, **_article_meta(statute, article)))
    return records


def _route_ruling(doc: SourceDoc, ruling: Ruling, options: SynthOptions) -> list[dict]:
    if not ruling.kind:
        return []
    passage = ruling.holding or ruling.summary or ruling_source(ruling, options.max_source_chars // 2)
    if not passage:
        return []
    law = main_cited_law(ruling)
    if law:
        prompt = ("다음 판결 내용이 속한 사건 종류와 주로 적용된 법령을 「법령명」(사건종류: 종류) "
                  f"형식으로 답하세요.\n\n{excerpt(passage, options.max_source_chars)}")
        answer = f"「{law}」(사건종류: {ruling.kind})"
    else:
        prompt = f"다음 판결 내용이 속한 사건 종류를 답하세요.\n\n{excerpt(passage, options.max_source_chars)}"
        answer = ruling.kind
    return [_record(doc, "route", None, prompt, answer, **_ruling_meta(ruling), law_name=law)]


# ---------------------------------------------------------------------------- draft

DRAFT_PARAGRAPH_CHARS = 150
DRAFT_ITEM_CHARS = 100
DRAFT_DEADLINE_DAYS = 14
DRAFT_MEETING_DAYS = 7


def _draft_provisions(article: Article, max_chars: int) -> tuple[str, list[tuple[int, str]]]:
    """What a draft quotes from `article`: the lead of its 2. line and the numbered lines
    under it as (level, text) with level 1 = 가., 2 = 1), 3 = 가). An article with one 항
    puts it in the lead and its 호 at 가.; with several, 항 are 가. and 호 are 1). Quoted
    text stops once it passes `max_chars` (the first line always stays)."""
    blocks = _blocks(article)
    if len(blocks) == 1:
        (_, _, lead), children = blocks[0]
        entries = [(lv, t) for lv, _, t in children if lv <= 3]
        lead = _short(lead, DRAFT_PARAGRAPH_CHARS)
    else:
        lead, entries = "", []
        for (_, _, text), children in blocks:
            entries.append((1, _short(text, DRAFT_PARAGRAPH_CHARS)))
            entries += [(lv + 1, t) for lv, _, t in children if lv <= 2]
    kept, used = [], len(lead)
    for level, text in entries:
        text = _short(text, DRAFT_ITEM_CHARS if level > 1 else DRAFT_PARAGRAPH_CHARS)
        if kept and used + len(text) > max_chars:
            break
        kept.append((level, text))
        used += len(text)
    return lead, kept


def _numbered(entries: list[tuple[int, str]]) -> list[str]:
    """Lines with official markers and two-space indentation per level; numbering
    restarts under each new parent."""
    counters = [0] * 6
    lines = []
    for level, text in entries:
        counters[level] += 1
        for deeper in range(level + 1, len(counters)):
            counters[deeper] = 0
        lines.append(f"{'  ' * level}{item_marker(level, counters[level])} {text}")
    return lines


def _draft_parties(statute: Statute) -> tuple[str, str, str]:
    """(sender, receiver, who must act) of a draft about `statute`."""
    if statute.is_ordinance:
        sender = statute.ministry
        return sender, f"{statute.authority} 각 실ㆍ본부ㆍ국장", "각 부서"
    sender = statute.ministry.split(",")[0].strip()
    return sender, "각 중앙행정기관의 장 및 시ㆍ도지사", "각 기관"


def _promulgation(statute: Statute, meta: dict) -> str:
    number = meta_text(meta.get("공포번호"))
    kind = f"{statute.authority}{statute.kind}" if statute.is_ordinance else statute.kind
    parts = [f"{kind} 제{number}호" if number else kind]
    if statute.promulgated:
        parts.append(f"{official_date(statute.promulgated)} 공포")
    return ", ".join(p for p in parts if p)


def draft_document(statute: Statute, article: Article, meta: dict, variant: str,
                   max_chars: int) -> tuple[str, str]:
    """(request, body) of an official document about `article`. `variant` is "협조 요청"
    (comply and report by a deadline; 붙임 list, 끝. after it) or "시행 안내" (notice and a
    briefing at 14:00; 끝. two spaces after the last text). Dates come from the statute's
    시행일자 (공포일자 when it has none): deadline +14 days, briefing +7 days, each moved
    back to a Friday when it falls on a weekend. Amounts are rewritten by official_amounts."""
    base = _as_date(statute.effective or statute.promulgated)
    sender, receiver, actor = _draft_parties(statute)
    cite = f"「{statute.name}」 {_heading(article)}"
    lead, entries = _draft_provisions(article, max_chars)
    lead, entries = official_amounts(polite(lead)), [(lv, official_amounts(polite(t))) for lv, t in entries]
    if lead:
        intro = f"{cite}에 따르면 {lead}"
    else:
        intro = f"{cite}의 주요 내용은 다음과 같습니다."
    source = article_text(article)
    if variant == "협조 요청":
        deadline = official_date(_weekday_on_or_before(base + dt.timedelta(days=DRAFT_DEADLINE_DAYS)), weekday=True)
        title = f"{cite} 준수 협조 요청"
        lines = [
            f"1. 관련: 「{statute.name}」({_promulgation(statute, meta)})",
            f"2. {intro}",
            *_numbered(entries),
            f"3. {actor}에서는 위 사항을 준수하여 주시고, 이행 상황을 점검하여 {deadline} 18:00까지 "
            f"{josa(sender, '으로/로')} 제출하여 주시기 바랍니다.",
            "",
            f"붙임  1. 「{statute.name}」 {article.number} 조문 1부.",
            "      2. 이행 상황 점검표 1부.  끝.",
        ]
        request = (f"다음 조문을 바탕으로 {receiver}에게 보낼 {title} 공문을 작성해 주세요. 발신은 "
                   f"{sender}이고, 이행 상황은 {deadline} 18:00까지 제출받으며, 붙임은 조문과 이행 "
                   f"상황 점검표입니다.")
    else:
        meeting = official_date(_weekday_on_or_before(base + dt.timedelta(days=DRAFT_MEETING_DAYS)), weekday=True)
        effective = official_date(base)
        title = f"{cite} 시행 안내"
        lines = [
            f"1. {josa(f'「{statute.name}」', '이/가')} {effective} 시행됨에 따라 {article.number}의 내용을 "
            f"다음과 같이 알려 드립니다.",
            f"2. {intro}",
            *_numbered(entries),
            "3. 위 사항에 대한 설명회를 다음과 같이 개최하오니 업무 담당자가 참석할 수 있도록 "
            "협조하여 주시기 바랍니다.",
            *_numbered([(1, f"일시: {meeting} 14:00"), (1, f"장소: {sender} 회의실")]),
            f"4. 관련 문의는 {josa(sender, '으로/로')} 하여 주시기 바랍니다.  끝.",
        ]
        request = (f"다음 조문을 바탕으로 {receiver}에게 보낼 {title} 공문을 작성해 주세요. 발신은 "
                   f"{sender}이고, 시행일은 {effective}, 설명회는 {meeting} 14:00에 {sender} "
                   f"회의실에서 엽니다.")
    body = "\n".join([f"수신  {receiver}", "(경유)", f"제목  {title}", "", *lines])
    return f"{request}\n\n{cite}\n{source}", body


_OBLIGATION = re.compile(r"하여야 한다|해야 한다|아니 된다|하여서는")


def draft_task(doc, options) -> list[dict]:
    """공문서 작성: a request (with the article's text) → an official document body (see
    draft_document). Only articles with at least two provisions (항 or 호); an article
    that imposes duties (하여야 한다, 아니 된다) gets a 협조 요청, any other a 시행 안내."""
    doc, options = _inputs(doc, options)
    statute = _statute(doc)
    if statute is None or not (statute.effective or statute.promulgated) or not statute.ministry:
        return []
    try:
        _as_date(statute.effective or statute.promulgated)
    except ValueError:
        return []
    records = []
    for n, article in _pick_articles(doc, statute, "draft", options, lambda a: len(a.outline) >= 2):
        variant = "협조 요청" if _OBLIGATION.search(article_text(article)) else "시행 안내"
        request, body = draft_document(statute, article, doc.meta, variant, options.max_answer_chars)
        request = excerpt(request, options.max_source_chars)
        records.append(_record(doc, "draft", n, request, body, **_article_meta(statute, article),
                               variant=variant))
    return records


# --------------------------------------------------------------------------- refuse

_PROVIDE = ("「개인정보 보호법」 제17조와 제18조에 따라 개인정보는 정보주체의 동의를 받았거나 법률에 "
            "특별한 규정이 있는 경우 등이 아니면 제3자에게 제공할 수 없습니다.")
_RRN = ("주민등록번호는 「개인정보 보호법」 제24조의2에 따라 법령에 근거가 있는 경우 등에만 처리할 수 "
        "있으며, 같은 법 제17조와 제18조에 따라 정보주체의 동의나 법률상 근거 없이 제3자에게 제공할 수 "
        "없습니다.")
_HEALTH = ("건강에 관한 정보는 「개인정보 보호법」 제23조의 민감정보로서 처리가 엄격히 제한되며, 같은 법 "
           "제17조와 제18조에 따라 정보주체의 동의나 법률상 근거 없이 제3자에게 제공할 수 없습니다.")

# (key, request subject, what it is, the law sentence); {case}, {dept}, {law} filled in.
_REFUSE_RULING = (
    ("rrn", "사건 {case} 원고의 주민등록번호를 알려 주세요.", "원고의 주민등록번호", _RRN),
    ("address", "{case} 사건 원고의 집 주소와 전화번호를 알 수 있을까요?", "원고의 주소와 전화번호", _PROVIDE),
    ("health", "사건 {case}에서 원고의 진단명과 병력을 자세히 알려 주세요.", "원고의 건강 정보", _HEALTH),
    ("official", "{case} 사건을 처리한 피고 측 담당 공무원의 이름과 개인 휴대전화 번호를 알려 주세요.",
     "담당 공무원의 개인 연락처", _PROVIDE),
    ("party", "사건 {case}의 당사자 실명과 직장을 알려 주세요.", "사건 당사자의 실명과 직장", _PROVIDE),
)
_REFUSE_OFFICE = (
    ("phone", "{dept} 담당자 개인 휴대전화 번호를 알려 주세요.", "담당자의 개인 휴대전화 번호", _PROVIDE),
    ("address", "「{law}」 업무를 맡은 {dept} 담당 공무원의 집 주소를 알려 주세요.", "담당 공무원의 집 주소", _PROVIDE),
    ("rrn", "「{law}」 업무 담당자의 주민등록번호를 알려 주실 수 있나요?", "담당자의 주민등록번호", _RRN),
    ("birth", "{dept} 직원 명단과 생년월일을 정리해 주세요.", "직원의 생년월일", _PROVIDE),
)
_REFUSE_OPENINGS = (
    "죄송하지만 요청하신 {what}{josa} 특정 개인을 알아볼 수 있는 개인정보이므로 알려 드릴 수 없습니다.",
    "요청하신 {what}{josa} 개인정보에 해당하여 제공해 드리기 어렵습니다.",
    "{what}{josa} 개인정보이므로 본인의 동의나 법적 근거 없이 알려 드릴 수 없습니다. 양해 부탁드립니다.",
)


def _refusal_channel(doc: SourceDoc, key: str) -> str:
    ruling = _ruling(doc)
    if ruling is not None:
        return ("판결 내용이 필요하시면 국가법령정보센터 등에 공개된 비실명 판결문을 참고하시고, 사건의 "
                "당사자나 이해관계인이라면 해당 법원에 소송기록의 열람ㆍ복사를 신청하실 수 있습니다.")
    statute = _statute(doc)
    office = statute.ministry if statute else ""
    directory = (f" 업무용 연락처는 {statute.authority or office} 누리집의 조직도(직원 안내)에서 "
                 f"확인하실 수 있습니다." if key in ("phone", "birth") and statute else "")
    dasan = "다산콜센터(120), " if statute and statute.authority == "서울특별시" else ""
    return (f"업무에 관한 문의는 {office}의 대표 전화나 {dasan}국민신문고(www.epeople.go.kr) 등 "
            f"공식 창구를 이용해 주시기 바랍니다.{directory}")


def refuse_task(doc, options) -> list[dict]:
    """개인정보 요청 거절: a request for someone's personal data about a ruling (사건번호)
    or an ordinance/statute's office (담당부서, 소관부처) → a polite refusal that cites
    「개인정보 보호법」 and points to official channels. Two requests per document (at most
    max_per_doc), chosen with the opening sentence by seeded hash of the doc id."""
    doc, options = _inputs(doc, options)
    ruling = _ruling(doc)
    statute = None if ruling else _statute(doc)
    if ruling is not None and ruling.case_number:
        templates, fields = _REFUSE_RULING, {"case": ruling.case_number}
        meta = _ruling_meta(ruling)
    elif statute is not None and statute.ministry:
        dept = f"{statute.authority} {statute.department}".strip() if statute.is_ordinance else statute.ministry.split(",")[0]
        templates, fields = _REFUSE_OFFICE, {"dept": dept, "law": statute.name}
        meta = {"law_id": statute.law_id, "law_name": statute.name}
    else:
        return []
    chosen = sorted(templates, key=lambda t: _rank(options.seed, doc.id, "refuse", t[0]))
    records = []
    for key, request, what, law in chosen[: min(2, options.max_per_doc)]:
        opening = _choose(options.seed, _REFUSE_OPENINGS, doc.id, "refuse-opening", key)
        opening = opening.format(what=what, josa=josa(what, "은/는")[len(what):])
        answer = f"{opening} {law} {_refusal_channel(doc, key)}"
        n = [t[0] for t in templates].index(key) + 1
        records.append(_record(doc, "refuse", n, request.format(**fields), answer, **meta, request=key))
    return records


# ---------------------------------------------------------------------------- views

_SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
_SHAREGPT_ROLE = {v: k for k, v in _SHAREGPT_FROM.items()}


def to_alpaca(record: dict) -> dict:
    """{"instruction", "input", "output"} of a one-turn chat record: the user message's
    first paragraph is the instruction, the rest (the source passage) the input; a system
    message, if any, is put before the instruction. Raises ValueError on several turns."""
    messages = record["messages"]
    system = [m["content"] for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    if [m["role"] for m in turns] != ["user", "assistant"]:
        raise ValueError(f"record {record.get('id')}: the alpaca view takes one user and one "
                         f"assistant message, not {[m['role'] for m in turns]}")
    instruction, _, given = turns[0]["content"].partition("\n\n")
    if system:
        instruction = "\n\n".join(system + [instruction])
    return {"instruction": instruction, "input": given, "output": turns[1]["content"]}


def from_alpaca(row: dict) -> list[dict]:
    """The chat messages of an alpaca row (inverse of to_alpaca for records without a
    system message)."""
    user = f"{row['instruction']}\n\n{row['input']}" if row.get("input") else row["instruction"]
    return [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]


def to_sharegpt(record: dict) -> dict:
    """{"conversations": [{"from": "system"|"human"|"gpt", "value"}]} of a chat record."""
    return {"conversations": [{"from": _SHAREGPT_FROM[m["role"]], "value": m["content"]}
                              for m in record["messages"]]}


def from_sharegpt(row: dict) -> list[dict]:
    """The chat messages of a sharegpt row (inverse of to_sharegpt)."""
    return [{"role": _SHAREGPT_ROLE[t["from"]], "content": t["value"]} for t in row["conversations"]]


Builder = Callable[[SourceDoc, SynthOptions], list[dict]]

BUILDERS: dict[str, Builder] = {
    "title": title_task,
    "doc_type": doc_type_task,
    "department": department_task,
    "article": article_task,
    "lookup": lookup_task,
    "explain": explain_task,
    "summarise": summarise_task,
    "route": route_task,
    "draft": draft_task,
    "refuse": refuse_task,
}
