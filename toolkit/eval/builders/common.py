"""What the suite builders share: the held-out documents as parsed statutes and
rulings, seeded choices, article text and the item they return."""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import Callable

from toolkit.korean.excerpt import excerpt
from toolkit.korean.forms import as_date
from toolkit.korean.legal import Article, Ruling, Statute, meta_text, parse_ruling, parse_statute
from toolkit.korean.seeded import seeded_choice, seeded_rank

# Items per document, per builder.
PER_DOC = {
    "regulation_lookup": 3,
    "grounded_citation": 3,
    "doc_routing": 3,
    "gongmun_drafting": 2,
    "pii_refusal": 2,  # per ruling (two different requests); an ordinance gives one per contact request kind
}
ARTICLE_REFERENCE_CHARS = 400   # regulation_lookup's reference, gongmun_drafting's quoted article
MIN_ARTICLE_CHARS = 40          # shorter articles ("삭제", one-line 시행일) ask nothing

_STATUTE_TYPES = {"statutes": "statute", "statute": "statute",
                  "ordinances": "ordinance", "ordinance": "ordinance"}
_RULING_TYPES = {"rulings", "ruling"}

# The builders' seeded key: sha256 of "seed:part:part…". Kept as written before
# toolkit.korean.seeded existed, so every suite keeps its items (see seeded_rank).
_SEP = ":"


def rank(seed: int, *parts: str, bits: int = 256) -> int:
    """A stable number for `parts` under `seed` (the first `bits` bits of a sha256): a
    sort key at 256 bits, a small random number at fewer."""
    return seeded_rank(seed, *parts, sep=_SEP, bits=bits)


def pick(seed: int, options: list | tuple, *parts: str):
    """One of `options`, chosen by seed and `parts`."""
    return seeded_choice(seed, options, *parts, sep=_SEP, bits=32)


def date_or_none(value) -> dt.date | None:
    """The date a front-matter value holds ("2025-08-07"), None when it holds none."""
    try:
        return as_date(meta_text(value))
    except ValueError:
        return None


def render_article(article: Article, limit: int, marks: bool = True) -> str:
    """The article's provisions as plain lines ("① …", "  1. …", "    가. …"), notes
    removed, cut after the last whole provision that fits in `limit` characters (the
    first one cut at a sentence end when it alone is longer). Without `marks`, one
    paragraph of running text: no ①, items inline ("… 말한다. 1. …")."""
    lines = []
    for level, mark, text in article.outline:
        if level == 0:
            lines.append(f"{mark} {text}" if mark and marks else text)
        else:
            sep = "." if level in (1, 2) else ")"
            lines.append(("  " * min(level, 2) if marks else "") + f"{mark}{sep} {text}")
    joiner = "\n" if marks else " "
    out: list[str] = []
    for line in lines:
        if out and len(joiner.join(out + [line])) > limit:
            break
        out.append(line)
    return excerpt(joiner.join(out), limit)


def _document_kind(doc: dict) -> str:
    kind = str(doc.get("source_type") or "")
    if kind in _RULING_TYPES:
        return "ruling"
    if kind in _STATUTE_TYPES:
        return _STATUTE_TYPES[kind]
    meta = doc.get("meta") or {}
    if meta.get("자치법규ID") or meta.get("자치법규명"):
        return "ordinance"
    if meta.get("법령ID") or meta.get("법령MST"):
        return "statute"
    if meta.get("사건번호"):
        return "ruling"
    return "other"


def _sorted(documents: list[dict]) -> list[dict]:
    return sorted(documents, key=lambda d: d["id"])


@lru_cache(maxsize=1024)
def _parsed_statute(text: str, meta_json: str) -> Statute:
    # Parsing is most of a builder's time and every suite parses the same held-out
    # documents; builders never modify what they get.
    return parse_statute(text, json.loads(meta_json))


def statutes(documents: list[dict], kinds: tuple[str, ...] = ("statute", "ordinance"),
             ) -> list[tuple[dict, Statute]]:
    """(document, parsed statute or ordinance) with at least one usable article, in id
    order."""
    out = []
    for doc in _sorted(documents):
        if _document_kind(doc) not in kinds:
            continue
        meta = json.dumps(doc.get("meta") or {}, ensure_ascii=False, sort_keys=True, default=str)
        statute = _parsed_statute(doc["text"], meta)
        if statute.name and usable_articles(statute):
            out.append((doc, statute))
    return out


def rulings(documents: list[dict]) -> list[tuple[dict, Ruling]]:
    """(document, parsed ruling) of every ruling, in id order."""
    return [(doc, parse_ruling(doc["text"], doc.get("meta") or {}))
            for doc in _sorted(documents) if _document_kind(doc) == "ruling"]


def usable_articles(statute: Statute) -> list[Article]:
    """Articles with a title and some text, one per number (item ids use the number)."""
    seen: set[str] = set()
    usable = []
    for a in statute.articles:
        if (a.number not in seen and not a.deleted and a.title
                and len(render_article(a, 10_000)) >= MIN_ARTICLE_CHARS):
            seen.add(a.number)
            usable.append(a)
    return usable


def chosen_articles(statute: Statute, doc_id: str, suite: str, seed: int, k: int,
                    keep: Callable[[Article], bool] = lambda a: True) -> list[Article]:
    """Up to `k` usable articles, chosen by seed (different per suite), in article order."""
    usable = [a for a in usable_articles(statute) if keep(a)]
    chosen = {a.number for a in sorted(usable, key=lambda a: rank(seed, suite, doc_id, a.number))[:k]}
    return [a for a in usable if a.number in chosen]


def item(suite: str, doc: dict, part: str, task: str, prompt: str, reference: str,
         **extra) -> dict:
    """An eval item of `suite` about `doc`: id "<suite>/<doc id>#<part>", the prompt as
    one user message, `reference`, any `extra` fields and meta naming the document."""
    meta = {"doc_id": doc["id"], "source": doc.get("source"), "path": doc.get("path"),
            "split": doc.get("split"), "task": task}
    meta.update(extra.pop("meta", {}))
    return {"id": f"{suite}/{doc['id']}#{part}",
            "messages": [{"role": "user", "content": prompt}],
            "reference": reference, **extra, "meta": meta}


def support(reference: str, source: str) -> float:
    """The share of the reference's distinct content morphemes (`metrics.content_morphemes`:
    particles, endings and affixes dropped) that the source holds: how much of an answer
    the text shown can support (1.0 for a reference with none)."""
    from toolkit.eval.metrics import content_morphemes

    ref = set(content_morphemes(reference))
    return len(ref & set(content_morphemes(source))) / len(ref) if ref else 1.0
