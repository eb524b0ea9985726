"""regulation-lookup (규정 조회), grounded: a question about a held-out article, answered
from 3-5 candidate articles of the same law family shown with it, one of them relevant."""

from __future__ import annotations

from toolkit.eval.builders.common import (
    ARTICLE_REFERENCE_CHARS,
    PER_DOC,
    chosen_articles,
    item,
    pick,
    rank,
    render_article,
    statutes,
    usable_articles,
)
from toolkit.eval.builders.doc_routing import _law_family
from toolkit.korean.josa import josa

CANDIDATE_CHARS = 450           # each candidate article shown

_LOOKUP_QUESTIONS = (
    "{title}에 관하여 무엇을 하도록 하거나 할 수 있도록 정하고 있습니까?",
    "{title_gwa} 관련하여 정한 의무나 권한, 절차를 설명해 주세요.",
    "업무 담당자입니다. '{title}'에 관해 요구하거나 허용하는 사항을 정리해 주세요.",
    "{title_eun} 어떻게 규율됩니까? 요건과 효과를 중심으로 답해 주세요.",
)


def regulation_lookup(documents: list[dict], seed: int) -> list[dict]:
    """A question about what a held-out article requires or permits (by its title), with
    3-5 candidate articles of the same law family (the law, its 시행령 and 시행규칙) shown
    without titles, in seeded order; one is the article asked about. The reference
    answers from it (at most `ARTICLE_REFERENCE_CHARS` characters) and cites it as
    「법령명」 제N조; `source_articles` lists every candidate, `meta.relevant` the right one."""
    suite, items = "regulation-lookup", []
    held = statutes(documents)
    family: dict[str, list] = {}
    for doc, statute in held:
        family.setdefault(_law_family(statute.name), []).append(statute)
    for doc, statute in held:
        pool = [(s, a) for s in family[_law_family(statute.name)] for a in usable_articles(s)]
        for art in chosen_articles(statute, doc["id"], suite, seed, PER_DOC["regulation_lookup"]):
            others = sorted(((s, a) for s, a in pool if a.title != art.title),
                            key=lambda p: rank(seed, suite, doc["id"], art.number, p[0].name, p[1].number))
            if len(others) < 2:
                continue
            n = 3 + rank(seed, suite, doc["id"], art.number, "n", bits=8) % 3
            shown = [(statute, art), *others[: n - 1]]
            shown.sort(key=lambda p: rank(seed, suite, doc["id"], art.number, "order", p[0].name, p[1].number))
            context = "\n\n".join(f"[후보 {i}] 「{s.name}」 {a.number}\n{render_article(a, CANDIDATE_CHARS)}"
                                  for i, (s, a) in enumerate(shown, 1))
            question = pick(seed, _LOOKUP_QUESTIONS, suite, doc["id"], art.number).format(
                title=art.title, title_gwa=josa(art.title, "과/와"), title_eun=josa(art.title, "은/는"))
            prompt = (f"다음은 「{_family_label(statute.name)}」 계열 법령의 조문 후보입니다. 이 중 질문과 관련된 "
                      f"조문은 하나입니다.\n\n{context}\n\n질문: {question}\n관련 조문만 근거로 답하고, "
                      "근거 조문을 「법령명」 제N조 형식으로 밝혀 주세요.")
            reference = (f"「{statute.name}」 {art.number}에 따르면, "
                         f"{render_article(art, ARTICLE_REFERENCE_CHARS, marks=False)}")
            items.append(item(
                suite, doc, art.number, "regulation_lookup", prompt, reference,
                source_articles=[[s.name, a.number] for s, a in shown],
                meta={"law_name": statute.name, "article": art.number, "article_title": art.title,
                      "relevant": [statute.name, art.number], "candidates": len(shown)},
            ))
    return items


def _family_label(name: str) -> str:
    import re

    return re.sub(r"\s*시행\s*(?:령|규칙)$", "", name)
