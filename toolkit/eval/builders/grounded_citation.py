"""grounded-citation (근거 인용): answer from articles shown as context and cite the one
used."""

from __future__ import annotations

from toolkit.eval.builders.common import (
    PER_DOC,
    chosen_articles,
    item,
    pick,
    rank,
    render_article,
    statutes,
    usable_articles,
)
from toolkit.eval.metrics import extract_citations
from toolkit.korean.josa import josa
from toolkit.korean.legal import Article

CONTEXT_ARTICLE_CHARS = 500     # each article shown in the context
GROUNDED_ANSWER_CHARS = 300     # the article text in the reference

_GROUNDED_QUESTIONS = (
    "{title}에 관하여 위 자료는 어떻게 정하고 있습니까?",
    "위 자료에 따르면 '{title}'에 관한 사항은 무엇입니까?",
    "{title_gwa} 관련된 규정의 내용을 요약해 주세요.",
)


def _answerable(article: Article) -> bool:
    """Whether the article's opening (the reference's text) cites no law: the reference
    must cite exactly one article, the one in the context."""
    return not extract_citations(render_article(article, GROUNDED_ANSWER_CHARS, marks=False))


def grounded_citation(documents: list[dict], seed: int) -> list[dict]:
    """A question answerable from one of two or three articles of the same held-out law
    shown as context (titles hidden, order shuffled by seed); the reference answers
    from that article and cites it as 「법령명」 제N조. `source_articles` lists every
    context article, so citing anything else scores 0 on citation_accuracy.

    Only articles whose opening cites no other law are asked about: the reference must
    cite exactly one article, the one in the context."""
    suite, items = "grounded-citation", []
    for doc, statute in statutes(documents):
        law = statute.name
        usable = usable_articles(statute)
        for target in chosen_articles(statute, doc["id"], suite, seed,
                                      PER_DOC["grounded_citation"], keep=_answerable):
            others = sorted((a for a in usable if a.title != target.title),
                            key=lambda a: rank(seed, suite, doc["id"], target.number, a.number))
            if not others:
                continue
            n_context = 2 if rank(seed, suite, doc["id"], target.number, "n", bits=8) % 2 else 3
            shown = [target, *others[: n_context - 1]]
            shown.sort(key=lambda a: rank(seed, suite, doc["id"], target.number, "order", a.number))
            context = "\n\n".join(
                f"[자료 {i}] 「{law}」 {a.number}\n{render_article(a, CONTEXT_ARTICLE_CHARS)}"
                for i, a in enumerate(shown, 1)
            )
            question = pick(seed, _GROUNDED_QUESTIONS, suite, doc["id"], target.number).format(
                title=target.title, title_gwa=josa(target.title, "과/와"))
            prompt = (
                f"다음은 「{law}」의 조문 일부입니다.\n\n{context}\n\n질문: {question}\n"
                "위 자료만 근거로 답하고, 근거가 된 조문을 「법령명」 제N조 형식으로 밝혀 주세요."
            )
            reference = (f"「{law}」 {target.number}에 따르면, "
                         f"{render_article(target, GROUNDED_ANSWER_CHARS, marks=False)}")
            if [(c[0].replace(" ", ""), c[1]) for c in extract_citations(reference)] != [
                    (law.replace(" ", ""), target.number)]:
                continue  # the article's text cites something the context does not hold
            items.append(item(
                suite, doc, target.number, "grounded_citation", prompt, reference,
                source_articles=[[law, a.number] for a in shown],
                meta={"law_name": law, "article": target.number, "article_title": target.title},
            ))
    return items
