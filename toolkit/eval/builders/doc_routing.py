"""doc-routing (분류·소관): which law an article (its law's name masked) belongs to,
out of four."""

from __future__ import annotations

import re

from toolkit.eval.builders.common import PER_DOC, chosen_articles, item, rank, render_article, statutes
from toolkit.korean.legal import Statute

ROUTING_ARTICLE_CHARS = 400     # the article asked about
MASK = "○○"


def _law_family(name: str) -> str:
    """A law and its decree and rule are one family: "청원법 시행령" -> "청원법"."""
    return re.sub(r"\s*시행\s*(?:령|규칙)$", "", name).replace(" ", "")


def _name_pattern(name: str) -> re.Pattern:
    return re.compile(r"\s*".join(re.escape(c) for c in name.replace(" ", "")))


def mask_law_name(text: str, name: str) -> str:
    """`text` with the law's name, and the name of the law it implements, replaced by
    ○○ (spaces inside the name ignored)."""
    for n in sorted({name, _law_family(name)}, key=len, reverse=True):
        if n:
            text = _name_pattern(n).sub(MASK, text)
    return text


def _routing_group(statute: Statute) -> str:
    if statute.is_ordinance:
        return statute.authority
    return statute.ministry.split(",")[0].strip()


def doc_routing(documents: list[dict], seed: int) -> list[dict]:
    """Which law an article belongs to: the article (law name masked) and four law
    names, the right one and three other held-out laws, preferring laws of the same
    ministry (ordinances: the same local government) and never a law of the same
    family (its decree or rule), whose articles can be near copies."""
    suite, items = "doc-routing", []
    laws: dict[str, tuple[dict, Statute]] = {}
    for doc, statute in statutes(documents):
        laws.setdefault(statute.name, (doc, statute))
    for name, (doc, statute) in laws.items():
        group = _routing_group(statute)
        others = [s for _, s in laws.values() if _law_family(s.name) != _law_family(name)]
        if len(others) < 3:
            continue
        for art in chosen_articles(statute, doc["id"], suite, seed, PER_DOC["doc_routing"]):
            nearest = sorted(others, key=lambda s: (
                _routing_group(s) != group, rank(seed, suite, doc["id"], art.number, s.name)))
            distractors = [s.name for s in nearest[:3]]
            choices = sorted([name, *distractors],
                             key=lambda n: rank(seed, suite, doc["id"], art.number, "choice", n))
            text = mask_law_name(f"{art.number}({art.title})\n"
                                 f"{render_article(art, ROUTING_ARTICLE_CHARS)}", name)
            listing = "\n".join(f"{i}. {c}" for i, c in enumerate(choices, 1))
            prompt = (f"다음 조문은 어느 법령(자치법규 포함)의 조문입니까? 조문 속 법령명은 "
                      f"{MASK}(으)로 가렸습니다.\n\n{text}\n\n보기:\n{listing}\n\n"
                      "보기 중 알맞은 법령명을 그대로 쓰세요.")
            items.append(item(
                suite, doc, art.number, "doc_routing", prompt, name,
                choices=choices, answer=choices.index(name),
                meta={"law_name": name, "article": art.number, "ministry": group},
            ))
    return items
