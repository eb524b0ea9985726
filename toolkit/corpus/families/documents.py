"""The quickstart families, on `documents` (and plain `text`) sources only: title,
doc_type, department and article."""

from __future__ import annotations

import re

from toolkit.corpus.families.common import SourceDoc, family_inputs, record
from toolkit.korean.excerpt import excerpt

DOC_TYPES = ("공문", "보도자료", "내부규정")
EXCERPT_CHARS = 300  # the body a title or doc_type prompt shows
_QUICKSTART_TYPES = ("documents", "text")

_HEADING_LINE = re.compile(r"^#{1,6}\s.*$", re.MULTILINE)
_ARTICLE_HEADING = re.compile(r"^#{1,6}\s*(제\d+조(?:의\d+)?)\s*\(([^)]*)\)\s*$", re.MULTILINE)
_TITLE_LINE = re.compile(r"^(제목|# ).*$", re.MULTILINE)


def _quickstart(doc: SourceDoc) -> bool:
    return doc.source_type in _QUICKSTART_TYPES


def _body_without_title(doc: SourceDoc) -> str:
    return excerpt(_TITLE_LINE.sub("", doc.text).strip(), EXCERPT_CHARS)


def _doc_title(doc: SourceDoc) -> str | None:
    # 제목 from front matter; readers of other formats (jsonl field_map, HWPX) set `title`.
    return doc.meta.get("제목") or doc.meta.get("title")


def _doc_record(doc: SourceDoc, family: str, n: int | None, prompt: str, answer: str) -> dict:
    return record(doc, family, n, prompt, answer, doc_type=doc.meta.get("문서종류"))


def title_family(doc, options) -> list[dict]:
    """제목: the document body (title lines removed, first ~300 characters) → 제목."""
    doc, options = family_inputs(doc, options)
    title = _doc_title(doc)
    if not title or not _quickstart(doc):
        return []
    prompt = f"다음 문서에 알맞은 제목을 붙여 주세요.\n\n{_body_without_title(doc)}"
    return [_doc_record(doc, "title", None, prompt, title)]


def doc_type_family(doc, options) -> list[dict]:
    """문서 종류: the body → one of DOC_TYPES (documents whose 문서종류 is another are skipped)."""
    doc, options = family_inputs(doc, options)
    kind = doc.meta.get("문서종류")
    if kind not in DOC_TYPES or not _quickstart(doc):
        return []
    prompt = (
        f"다음 문서의 종류를 {', '.join(DOC_TYPES)} 중 하나로 답하세요.\n\n"
        f"{_body_without_title(doc)}"
    )
    return [_doc_record(doc, "doc_type", None, prompt, kind)]


def department_family(doc, options) -> list[dict]:
    """담당 부서: 「제목」 → 담당부서."""
    doc, options = family_inputs(doc, options)
    dept = doc.meta.get("담당부서")
    title = _doc_title(doc)
    if not dept or not title or not _quickstart(doc):
        return []
    prompt = f"「{title}」 업무는 어느 부서 담당입니까?"
    return [_doc_record(doc, "department", None, prompt, dept)]


def article_family(doc, options) -> list[dict]:
    """One record per `##### 제N조 (조목)` article of a document: the article's text, cited."""
    doc, options = family_inputs(doc, options)
    name = _doc_title(doc)
    matches = list(_ARTICLE_HEADING.finditer(doc.text))
    if not name or not matches or not _quickstart(doc):
        return []
    records = []
    for n, match in enumerate(matches):
        end = matches[n + 1].start() if n + 1 < len(matches) else len(doc.text)
        body = _HEADING_LINE.sub("", doc.text[match.end():end]).strip()
        if not body:
            continue
        number, heading = match.group(1), match.group(2).strip()
        prompt = f"「{name}」 {number}({heading})의 내용을 알려 주세요."
        answer = f"「{name}」 {number}({heading})에 따르면, {excerpt(body, options.max_answer_chars)}"
        records.append(_doc_record(doc, "article", n + 1, prompt, answer))
    return records
