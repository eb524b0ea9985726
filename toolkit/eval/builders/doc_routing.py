"""doc-routing (소관 분류): where a passage goes — the governing law and its 소관부처
(statutes) or 담당부서 (ordinances) — out of four, the law named nowhere in the text."""

from __future__ import annotations

import re

from toolkit.eval.builders.common import PER_DOC, chosen_articles, item, rank, render_article, statutes
from toolkit.korean.legal import Statute

ROUTING_ARTICLE_CHARS = 400     # the passage asked about
MASK = "○○"
_KINDS = (("시행규칙", "시행규칙"), ("시행령", "시행령"), ("조례", "조례"), ("규칙", "규칙"),
          ("규정", "령"), ("령", "령"), ("법률", "법률"), ("법", "법률"))


def _law_family(name: str) -> str:
    """A law and its decree and rule are one family: "청원법 시행령" -> "청원법"."""
    return re.sub(r"\s*시행\s*(?:령|규칙)$", "", name).replace(" ", "")


def law_kind(name: str) -> str:
    """법률, 시행령, 시행규칙, 령 (other decrees), 규칙, 조례 or 기타, read from the name."""
    compact = name.replace(" ", "")
    return next((kind for suffix, kind in _KINDS if compact.endswith(suffix)), "기타")


def _name_pattern(name: str) -> re.Pattern:
    return re.compile(r"\s*".join(re.escape(c) for c in name.replace(" ", "")))


# Words of a law's name that say nothing about its topic.
_GENERIC = re.compile(r"^(?:법률?|시행령|시행규칙|규칙|규정|조례|관한|대한|따른|위한|등의?|및|"
                      r"특별법|기본법|특례법|특별조치법|서울특별시|지방|국가|공공|운영|관리|설치)$")
_PARTICLE = re.compile(r"(?:에\s*관한|에\s*대한|에\s*따른|을\s*위한|를\s*위한|의|과|와|및|등)$")


def name_words(name: str) -> list[str]:
    """The topic words of a law's name: "고향사랑 기부금에 관한 법률" -> ["고향사랑",
    "기부금"]; generic words (법률, 관한, 시행령 …) and particles left out."""
    words = []
    for w in re.split(r"[\sㆍ·,]+", name):
        w = _PARTICLE.sub("", w)
        w = re.sub(r"(?<=..)(?:에|의|을|를|과|와|으로|로)$", "", w)
        if len(w) >= 2 and not _GENERIC.match(w):
            words.append(w)
    return words


def mask_law_name(text: str, name: str, words: bool = False) -> str:
    """`text` with the law's name, and the name of the law it implements, replaced by
    ○○ (spaces inside the name ignored); with `words`, each topic word of the name too
    (`name_words`), so the name cannot be read back from the passage."""
    for n in sorted({name, _law_family(name)}, key=len, reverse=True):
        if n:
            text = _name_pattern(n).sub(MASK, text)
    if words:  # each topic word and its stems ("공익신고자" -> "공익신고", "기부금" -> "기부")
        stems = {w[:k] for w in name_words(name) for k in range(max(2, len(w) - 2), len(w) + 1)}
        for w in sorted(stems, key=len, reverse=True):
            text = _name_pattern(w).sub(MASK, text)
    return text


def routing_office(statute: Statute) -> str:
    """Where a matter under the law goes: its 소관부처, or for an ordinance its
    지자체 and 담당부서."""
    if statute.is_ordinance:
        return " ".join(x for x in (statute.authority, statute.department) if x)
    return statute.ministry.split(",")[0].strip()


def _route(statute: Statute) -> str:
    return f"{statute.name} — {routing_office(statute) or '소관 미상'}"


def _bigrams(text: str) -> set[str]:
    s = re.sub(r"[\W_]+", "", text)
    return {s[i:i + 2] for i in range(len(s) - 1)}


def lexical_overlap(passage: str, choice: str) -> float:
    """The share of a choice's character bigrams found in the passage: what a reader
    that knows no law can match."""
    grams = _bigrams(choice)
    return len(grams & _bigrams(passage)) / len(grams) if grams else 0.0


def bigram_baseline(item: dict) -> int:
    """No-model baseline: the choice with the most character-bigram overlap with the
    passage (the first on ties)."""
    passage = item["meta"]["passage"]
    scores = [lexical_overlap(passage, c) for c in item["choices"]]
    return scores.index(max(scores))


def kind_baseline(item: dict) -> int:
    """No-model baseline: the only choice of its kind (법률, 시행령, 시행규칙 …) when one is
    alone of its kind, else the first."""
    kinds = [law_kind(c.split(" — ")[0]) for c in item["choices"]]
    alone = [i for i, k in enumerate(kinds) if kinds.count(k) == 1]
    return alone[0] if len(alone) == 1 else 0


def doc_routing(documents: list[dict], seed: int) -> list[dict]:
    """Where a passage of a held-out law goes: the passage (an article, its law's name
    and family masked, its topic words kept) and four routes, "법령명 — 소관부처" (an
    ordinance: "조례명 — 서울특별시 담당부서"), the right one and three hard negatives: other
    held-out laws of the same kind (법률, 시행령, 시행규칙, 조례 …) and, before those, of
    the same ministry or local government, ranked by how many of the passage's character
    bigrams their route shares, so word matching does not find the answer. Never a law
    of the same family (its decree or rule), whose articles can be near copies."""
    suite, items = "doc-routing", []
    laws: dict[str, tuple[dict, Statute]] = {}
    for doc, statute in statutes(documents):
        laws.setdefault(statute.name, (doc, statute))
    for name, (doc, statute) in laws.items():
        office, kind = routing_office(statute), law_kind(name)
        others = [s for _, s in laws.values() if _law_family(s.name) != _law_family(name)]
        if len(others) < 3:
            continue
        for art in chosen_articles(statute, doc["id"], suite, seed, PER_DOC["doc_routing"]):
            passage = mask_law_name(f"{art.number}({art.title})\n"
                                    f"{render_article(art, ROUTING_ARTICLE_CHARS)}", name, words=True)
            nearest = sorted(others, key=lambda s: (
                law_kind(s.name) != kind, s.is_ordinance != statute.is_ordinance,
                -round(lexical_overlap(passage, _route(s)), 2), routing_office(s) != office,
                rank(seed, suite, doc["id"], art.number, s.name)))
            routes = [_route(statute), *(_route(s) for s in nearest[:3])]
            choices = sorted(routes, key=lambda n: rank(seed, suite, doc["id"], art.number, "choice", n))
            listing = "\n".join(f"{i}. {c}" for i, c in enumerate(choices, 1))
            prompt = (f"다음 조문이 정한 업무에 관한 민원은 어느 법령에 따라 어느 기관(부서)이 "
                      f"처리합니까? 조문 속 법령명은 {MASK}(으)로 가렸습니다.\n\n{passage}\n\n"
                      f"보기:\n{listing}\n\n보기 중 알맞은 것을 그대로 쓰세요.")
            items.append(item(
                suite, doc, art.number, "doc_routing", prompt, routes[0],
                choices=choices, answer=choices.index(routes[0]),
                meta={"law_name": name, "article": art.number, "ministry": office,
                      "kind": kind, "passage": passage, "seoul": statute.is_ordinance},
            ))
    return items
