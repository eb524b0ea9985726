"""ruling-summary (판례 요약): a ruling's 판시사항 and 판결요지 from its judgment text."""

from __future__ import annotations

import re

from toolkit.eval.builders.common import item, rulings, support
from toolkit.korean.excerpt import excerpt
from toolkit.korean.legal import Ruling

RULING_SOURCE_CHARS = 1500      # the judgment text shown
RULING_GIST_CHARS = 700         # cap on a 판결요지 reference

MIN_SUPPORT = 0.6               # share of the reference's content morphemes the excerpt holds

_JUDGMENT_START = re.compile(r"【\s*주\s*문\s*】")
# A summary dismissal (심리불속행 기각, 상고심절차에 관한 특례법 제4조): its 판결요지, where the
# source has one, comes from reasoning the excerpt does not hold.
_SUMMARY_DISMISSAL = re.compile(r"심리\s*불속행|상고심\s*절차에\s*관한\s*특례법\s*제\s*[45]\s*조")


_REASONS_START = re.compile(r"【\s*이\s*유\s*】")
# Paragraphs that state what others said: the lower court's reasoning (which the Supreme
# Court may reverse), the parties' arguments, the grounds of appeal as headings.
_NOT_THE_COURTS_OWN = re.compile(
    r"^\s*(?:[가-하]\.\s*|\d+\.\s*|\(\d+\)\s*)?(?:원심은|원심판결|원심이|원심의\s*판단|제1심|원고는|피고는|"
    r"원고들은|피고들은|상고이유\s*(?:제\s*[\d,\s]+점)?(?:에\s*대하여|를\s*판단|의\s*요지))")


def _judgment_text(ruling: Ruling) -> str:
    """The 주문 and the Supreme Court's own reasoning (판단): the 이유's paragraphs less
    those that restate the lower court's reasoning or the parties' arguments, cut at a
    sentence end within `RULING_SOURCE_CHARS`. (A lead excerpt often ended inside the
    lower court's reasoning, which the Supreme Court reversed.)"""
    text = ruling.full_text
    m = _JUDGMENT_START.search(text)
    text = text[m.start():] if m else text
    reasons = _REASONS_START.search(text)
    if reasons is None:
        return excerpt(text, RULING_SOURCE_CHARS)
    head, body = text[:reasons.end()], text[reasons.end():]
    own = [p for p in body.split("\n") if p.strip() and not _NOT_THE_COURTS_OWN.match(p)]
    return excerpt(head + "\n" + "\n".join(own), RULING_SOURCE_CHARS)


_ISSUE = re.compile(r"\[(\d+)\]")


def _issues(reference: str) -> list[tuple[str, str]]:
    """("", reference) for a single-issue reference; ("[n]", part) for each numbered
    issue of a reference with several ("[1] … [2] …"), scored one by one."""
    marks = list(_ISSUE.finditer(reference))
    if len(marks) < 2:
        return [("", reference)]
    out = []
    for k, mark in enumerate(marks):
        end = marks[k + 1].start() if k + 1 < len(marks) else len(reference)
        part = reference[mark.end():end].strip()
        if part:
            out.append((f"[{mark.group(1)}]", part))
    return out


def ruling_summary(documents: list[dict], seed: int) -> list[dict]:
    """The 판시사항 (the questions the court decided) and, as a second item, the 판결요지
    (its holdings, capped at `RULING_GIST_CHARS`) of each held-out ruling that has them,
    from the judgment text (`RULING_SOURCE_CHARS` characters from its 주문 on). `seed`
    is unused: the items follow from the rulings alone.

    The excerpt is the court's own reasoning (`_judgment_text`). A reference with several
    numbered issues ([1] … [2] …) gives one item per issue, each asking for that issue.
    Left out: summary dismissals (심리불속행), and items whose reference the excerpt
    cannot support (less than `MIN_SUPPORT` of its content morphemes in the excerpt);
    each item's `meta.support` gives the share."""
    suite, items = "ruling-summary", []
    for doc, ruling in rulings(documents):
        source = _judgment_text(ruling)
        if not source or _SUMMARY_DISMISSAL.search(source):
            continue
        case = " ".join(x for x in (ruling.court, ruling.case_number, ruling.case_name) if x)
        about = {"case_number": ruling.case_number, "case_name": ruling.case_name}
        asked = []
        if ruling.holding:
            asked.append(("판시사항", "ruling_holding", ruling.holding,
                          f"다음은 판결문의 일부입니다({case}). 이 판결에서 법원이 판단한 쟁점, 곧 "
                          f"판시사항을 간결하게 정리해 주세요.\n\n{source}"))
        if ruling.summary:
            asked.append(("판결요지", "ruling_gist", excerpt(ruling.summary, RULING_GIST_CHARS),
                          f"아래 판결문({case})을 읽고 판결요지, 곧 법원이 내린 판단의 핵심 법리를 "
                          f"문장으로 작성해 주세요.\n\n{source}"))
        for part, task, whole, prompt in asked:
            issues = _issues(whole)
            for mark, reference in issues:
                share = support(reference, source)
                if share < MIN_SUPPORT:
                    continue
                asks = prompt if not mark else prompt.replace(
                    "\n\n", f" 이 판결의 쟁점 가운데 {mark}번째 쟁점만 다루어 주세요.\n\n", 1)
                items.append(item(suite, doc, part + mark, task, asks, reference,
                                  meta={**about, "support": round(share, 3),
                                        **({"issue": mark, "issues": len(issues)} if mark else {})}))
    return items
