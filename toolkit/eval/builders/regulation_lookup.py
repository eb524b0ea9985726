"""regulation-lookup (규정 조회): what a held-out article requires or permits."""

from __future__ import annotations

from toolkit.eval.builders.common import (
    ARTICLE_REFERENCE_CHARS,
    PER_DOC,
    chosen_articles,
    item,
    pick,
    render_article,
    statutes,
)
from toolkit.korean.josa import josa

_LOOKUP_QUESTIONS = (
    "「{law}」 {number}({title})에서는 무엇을 하도록 하거나 할 수 있도록 정하고 있습니까? "
    "조문에 근거하여 답해 주세요.",
    "{title_gwa} 관련하여 「{law}」에서 정한 의무나 권한, 절차를 설명해 주세요. ({number})",
    "업무 담당자입니다. 「{law}」의 '{title}' 조항({number})에서 요구하거나 허용하는 사항을 "
    "정리해 주세요.",
    "{law}에 따르면 {title_eun} 어떻게 규율됩니까? 해당 조문({number})의 요건과 효과를 "
    "중심으로 답해 주세요.",
)


def regulation_lookup(documents: list[dict], seed: int) -> list[dict]:
    """What a held-out article requires or permits, asked by law name and article
    title; the reference is the article's text (its first provisions, at most
    `ARTICLE_REFERENCE_CHARS` characters)."""
    suite, items = "regulation-lookup", []
    for doc, statute in statutes(documents):
        for art in chosen_articles(statute, doc["id"], suite, seed, PER_DOC["regulation_lookup"]):
            template = pick(seed, _LOOKUP_QUESTIONS, suite, doc["id"], art.number)
            prompt = template.format(law=statute.name, number=art.number, title=art.title,
                                     title_gwa=josa(art.title, "과/와"),
                                     title_eun=josa(art.title, "은/는"))
            items.append(item(
                suite, doc, art.number, "regulation_lookup", prompt,
                render_article(art, ARTICLE_REFERENCE_CHARS),
                meta={"law_name": statute.name, "article": art.number, "article_title": art.title},
            ))
    return items
