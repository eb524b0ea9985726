"""Families on court rulings: summarise (판례내용 → 판시사항 or 판결요지) and the ruling
side of route (→ 사건종류 and the main cited law)."""

from __future__ import annotations

import re
from collections import Counter

from toolkit.corpus.families.common import (
    SourceDoc,
    SynthOptions,
    family_inputs,
    record,
    ruling_meta,
    ruling_of,
)
from toolkit.korean.excerpt import excerpt
from toolkit.korean.josa import josa
from toolkit.korean.legal import Ruling

_LOWER_COURT = re.compile(r"^-{10,}\s*$", re.MULTILINE)
SUMMARY_MIN_CHARS = 15


def ruling_source(ruling: Ruling, max_chars: int) -> str:
    """The Supreme Court's own text of a ruling (lower-court text after the dashed line
    dropped), cut to `max_chars` at a line or sentence end."""
    own = _LOWER_COURT.split(ruling.full_text, maxsplit=1)[0].strip()
    return excerpt(own, max_chars)


def summarise_family(doc, options) -> list[dict]:
    """판례 요약: 판례내용 (cut to max_source_chars) → 판시사항; a ruling without
    판시사항 but with 판결요지 gets that as its target instead (meta.target says which).
    Targets shorter than SUMMARY_MIN_CHARS ("전심과 동일") are skipped."""
    doc, options = family_inputs(doc, options)
    ruling = ruling_of(doc)
    if ruling is None or not ruling.full_text:
        return []
    target, answer = ("판시사항", ruling.holding) if ruling.holding else ("판결요지", ruling.summary)
    if len(answer) < SUMMARY_MIN_CHARS:  # none, or "전심과 동일"
        return []
    source = ruling_source(ruling, options.max_source_chars)
    prompt = f"다음 판결문을 읽고 {josa(target, '을/를')} 정리해 주세요.\n\n{source}"
    return [record(doc, "summarise", None, prompt, excerpt(answer, options.max_answer_chars),
                   **ruling_meta(ruling), target=target)]


def main_cited_law(ruling: Ruling) -> str | None:
    """The law a ruling cites most in 참조조문 (the first cited on a tie), 부칙 counted
    with its law."""
    counts = Counter(re.sub(r" 부칙$", "", law) for law, _ in ruling.cited_articles)
    if not counts:
        return None
    best = max(counts.values())
    return next(law for law in counts if counts[law] == best)


def route_ruling(doc: SourceDoc, ruling: Ruling, options: SynthOptions) -> list[dict]:
    """The route record of a ruling: 판시사항 (or 판결요지, or the opening of 판례내용) →
    "「주요 법령」(사건종류: 일반행정)", or the 사건종류 alone when 참조조문 is empty."""
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
    return [record(doc, "route", None, prompt, answer, **ruling_meta(ruling), law_name=law)]
