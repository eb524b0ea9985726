"""ruling-summary (판례 요약): a ruling's 판시사항 and 판결요지 from its judgment text."""

from __future__ import annotations

import re

from toolkit.eval.builders.common import item, rulings
from toolkit.korean.excerpt import excerpt
from toolkit.korean.legal import Ruling

RULING_SOURCE_CHARS = 1500      # the judgment text shown
RULING_GIST_CHARS = 700         # cap on a 판결요지 reference

_JUDGMENT_START = re.compile(r"【\s*주\s*문\s*】")


def _judgment_text(ruling: Ruling) -> str:
    """판례내용 from its 주문 on (the party lines before it name lawyers and companies),
    cut at a sentence end within `RULING_SOURCE_CHARS`."""
    text = ruling.full_text
    m = _JUDGMENT_START.search(text)
    return excerpt(text[m.start():] if m else text, RULING_SOURCE_CHARS)


def ruling_summary(documents: list[dict], seed: int) -> list[dict]:
    """The 판시사항 (the questions the court decided) and, as a second item, the 판결요지
    (its holdings, capped at `RULING_GIST_CHARS`) of each held-out ruling that has them,
    from the judgment text (`RULING_SOURCE_CHARS` characters from its 주문 on). `seed`
    is unused: the items follow from the rulings alone."""
    suite, items = "ruling-summary", []
    for doc, ruling in rulings(documents):
        source = _judgment_text(ruling)
        if not source:
            continue
        case = " ".join(x for x in (ruling.court, ruling.case_number, ruling.case_name) if x)
        about = {"case_number": ruling.case_number, "case_name": ruling.case_name}
        if ruling.holding:
            prompt = (f"다음은 판결문의 일부입니다({case}). 이 판결에서 법원이 판단한 쟁점, 곧 "
                      f"판시사항을 간결하게 정리해 주세요.\n\n{source}")
            items.append(item(suite, doc, "판시사항", "ruling_holding", prompt,
                              ruling.holding, meta=about))
        if ruling.summary:
            prompt = (f"아래 판결문({case})을 읽고 판결요지, 곧 법원이 내린 판단의 핵심 법리를 "
                      f"문장으로 작성해 주세요.\n\n{source}")
            items.append(item(suite, doc, "판결요지", "ruling_gist", prompt,
                              excerpt(ruling.summary, RULING_GIST_CHARS),
                              meta=about))
    return items
