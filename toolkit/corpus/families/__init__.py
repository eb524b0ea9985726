"""Instruction families: chat records built deterministically from document structure.

A family is a function `(doc, options) -> list[dict]` taking a `SourceDoc` and
`SynthOptions` and returning chat records

    {"id": "<doc id>#<family>[#n]",
     "messages": [{"role": "user", ...}, {"role": "assistant", ...}],
     "meta": {"task": "<family>", "doc_id", "source", "source_type", "path", ...}}

or [] when it does not apply to the document (the pipeline counts that). The family's
name is stored as `meta.task`, the field the corpus has always written. The same
document and options always give the same records, byte for byte: choices (which
articles, which phrasing) come from a seeded hash of the document id
(`toolkit.korean.seeded`), never from a random generator or the order documents arrive
in.

`FAMILIES` maps each name to its function; `FAMILY_DESCRIPTIONS` has one line on each
for the data card. By source kind:

- `documents`: title, doc_type, department, article — the quickstart families, on
  `documents` (and plain `text`) sources only.
- `statutes`: lookup, explain, draft and route on statute and ordinance articles, at
  most `max_per_doc` articles per document and family, never a deleted article and
  never 부칙.
- `rulings`: summarise (판례내용 → 판시사항, or 판결요지 when a ruling has none) and the
  ruling side of route (→ 사건종류 and the main cited law).
- `refusals`: refuse, on rulings, ordinances and statutes (requests for personal data →
  refusal).

Families also accept the reader's `toolkit.corpus.sources.Document` and a bare
`max_answer_chars` int for `options`.
"""

from __future__ import annotations

from toolkit.corpus.families.common import Family, SourceDoc, SynthOptions
from toolkit.corpus.families.documents import article_family, department_family, doc_type_family, title_family
from toolkit.corpus.families.refusals import refuse_family
from toolkit.corpus.families.rulings import summarise_family
from toolkit.corpus.families.statutes import draft_family, explain_family, lookup_family, route_family

FAMILY_DESCRIPTIONS = {
    "title": "제목 붙이기 — give a document its title.",
    "doc_type": "문서 종류 분류 — classify a document as 공문, 보도자료 or 내부규정.",
    "department": "담당 부서 — name the department in charge of a document's subject.",
    "article": "조문 내용 — state what a numbered article of a document says.",
    "lookup": "규정 조회 — answer a question about a statute or ordinance article, citing 「법령명」 제N조(제N항).",
    "explain": "조문 해설 — explain an article in plain language, as short bullets per 항 and 호.",
    "summarise": "판례 요약 — write a ruling's 판시사항 (or 판결요지) from its 판례내용.",
    "route": "분류·소관 — name the law and ministry an article belongs to, or a ruling's case type and main law.",
    "draft": "공문서 작성 — draft an official document body from an article, following the 행정업무규정 rules.",
    "refuse": "개인정보 요청 거절 — politely refuse to reveal personal data, citing 「개인정보 보호법」.",
}

FAMILIES: dict[str, Family] = {
    "title": title_family,
    "doc_type": doc_type_family,
    "department": department_family,
    "article": article_family,
    "lookup": lookup_family,
    "explain": explain_family,
    "summarise": summarise_family,
    "route": route_family,
    "draft": draft_family,
    "refuse": refuse_family,
}

__all__ = ["FAMILIES", "FAMILY_DESCRIPTIONS", "Family", "SourceDoc", "SynthOptions"]
