"""What every instruction family shares: the document and options it is given, the
parsed structure of legal documents, and the record it returns."""

from __future__ import annotations

import unicodedata
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import Callable

from toolkit.korean.legal import Article, Ruling, Statute, parse_ruling, parse_statute
from toolkit.korean.seeded import seeded_rank

SOURCE_TYPES = ("documents", "statute", "ruling", "ordinance", "text")
# corpus.sources[].type (or an older reader's) → SourceDoc.source_type.
_SOURCE_TYPE_OF = {
    "documents": "documents", "statutes": "statute", "statute": "statute",
    "rulings": "ruling", "ruling": "ruling", "ordinances": "ordinance", "ordinance": "ordinance",
    "text": "text", "jsonl": "text", "hwpx": "text", "pdf": "text",
}
ARTICLE_TYPES = ("statute", "ordinance")


@dataclass
class SourceDoc:
    """One document for the families. `source_type` is one of SOURCE_TYPES; `text` is the
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


Family = Callable[[SourceDoc, SynthOptions], list[dict]]


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


def family_inputs(doc, options) -> tuple[SourceDoc, SynthOptions]:
    """A family's arguments as a SourceDoc and SynthOptions (a reader's Document and a bare
    max_answer_chars int are accepted too)."""
    if options is None:
        options = SynthOptions()
    elif isinstance(options, int):
        options = SynthOptions(max_answer_chars=options)
    return source_doc(doc), options


# ------------------------------------------------------------------------ structure

_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 64


def structure(doc) -> Statute | Ruling | None:
    """The parsed structure of a statute, ordinance or ruling document (None for other
    source types). Parsed once per document: all families share it."""
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


def statute_of(doc: SourceDoc) -> Statute | None:
    """The statute or ordinance `doc` holds, when it has a name and articles."""
    if doc.source_type not in ARTICLE_TYPES:
        return None
    parsed = structure(doc)
    return parsed if isinstance(parsed, Statute) and parsed.name and parsed.articles else None


def ruling_of(doc: SourceDoc) -> Ruling | None:
    """The ruling `doc` holds."""
    parsed = structure(doc) if doc.source_type == "ruling" else None
    return parsed if isinstance(parsed, Ruling) else None


def pick_articles(doc: SourceDoc, statute: Statute, family: str, options: SynthOptions,
                  usable: Callable[[Article], bool]) -> list[tuple[int, Article]]:
    """Up to max_per_doc usable, not deleted articles (with their 1-based position),
    chosen by seeded hash and returned in document order."""
    pool = [(i, a) for i, a in enumerate(statute.articles, 1)
            if not a.deleted and article_blocks(a) and usable(a)]
    pool.sort(key=lambda ia: seeded_rank(options.seed, doc.id, family, ia[1].number))
    return sorted(pool[: options.max_per_doc], key=lambda ia: ia[0])


def article_blocks(article: Article) -> list[tuple[tuple, list[tuple]]]:
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


def law_line(entry: tuple) -> str:
    """One outline entry (level, mark, text) as a line of law text: "① …", "  1. …"."""
    level, mark, text = entry
    indent, sep = _LAW_LAYOUT[level]
    return f"{indent}{mark}{sep}{text}" if mark else f"{indent}{text}"


def article_text(article: Article) -> str:
    """The article's provisions as law text (① …, "  1. …", "    가. …"), no notes."""
    return "\n".join(law_line(e) for e in article.outline)


def article_heading(article: Article) -> str:
    """"제15조(개인정보의 수집ㆍ이용)", or the number alone for an untitled article."""
    return f"{article.number}({article.title})" if article.title else article.number


def cite(statute: Statute, article: Article, paragraph: str = "") -> str:
    """「법령명」 제N조, with "제1항" after it when `paragraph` is given."""
    return f"「{statute.name}」 {article.number}{paragraph}"


# --------------------------------------------------------------------------- records


def record(doc: SourceDoc, family: str, n: int | None, prompt: str, answer: str, **meta) -> dict:
    """A chat record of `family` from `doc`: id "<doc id>#<family>[#n]", the prompt and
    answer in NFC, meta naming the family (as `task`) and the document."""
    suffix = f"#{n}" if n is not None else ""
    return {
        "id": f"{doc.id}#{family}{suffix}",
        "messages": [
            {"role": "user", "content": unicodedata.normalize("NFC", prompt)},
            {"role": "assistant", "content": unicodedata.normalize("NFC", answer)},
        ],
        "meta": {
            "task": family,
            "doc_id": doc.id,
            "source": doc.source,
            "source_type": doc.source_type,
            "path": doc.path,
            **meta,
        },
    }


def article_meta(statute: Statute, article: Article) -> dict:
    return {"law_id": statute.law_id, "law_name": statute.name, "article": article.number}


def ruling_meta(ruling: Ruling) -> dict:
    return {"case_number": ruling.case_number, "court": ruling.court, "date": ruling.date or None}
