"""Instruction examples built deterministically from document structure.

Each builder takes a cleaned document and returns chat records
`{"id", "messages": [{"role": "user", ...}, {"role": "assistant", ...}], "meta"}`.
A builder that does not apply to a document (no title, no articles) returns nothing, and
the pipeline counts that.
"""

from __future__ import annotations

import re

from toolkit.corpus.sources import Document

DOC_TYPES = ("공문", "보도자료", "내부규정")
EXCERPT_CHARS = 300

_ARTICLE = re.compile(r"^#{1,6}\s*(제\d+조(?:의\d+)?)\s*\(([^)]*)\)\s*$", re.MULTILINE)
_HEADING = re.compile(r"^#{1,6}\s.*$", re.MULTILINE)
_TITLE_LINE = re.compile(r"^(제목|# ).*$", re.MULTILINE)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of `text`, cut at a line or sentence end near `limit` characters."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for mark in ("\n", ". ", "다. ", "."):
        pos = cut.rfind(mark)
        if pos > limit // 2:
            return cut[: pos + len(mark)].rstrip()
    return cut.rstrip()


def _record(doc: Document, task: str, n: int | None, prompt: str, answer: str) -> dict:
    suffix = f"#{n}" if n is not None else ""
    return {
        "id": f"{doc.id}#{task}{suffix}",
        "messages": [
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": answer},
        ],
        "meta": {
            "task": task,
            "doc_id": doc.id,
            "source": doc.source,
            "path": doc.path,
            "doc_type": doc.meta.get("문서종류"),
        },
    }


def _body_without_title(doc: Document) -> str:
    return excerpt(_TITLE_LINE.sub("", doc.text).strip())


def title_task(doc: Document, max_answer_chars: int) -> list[dict]:
    title = doc.meta.get("제목")
    if not title:
        return []
    prompt = f"다음 문서에 알맞은 제목을 붙여 주세요.\n\n{_body_without_title(doc)}"
    return [_record(doc, "title", None, prompt, title)]


def doc_type_task(doc: Document, max_answer_chars: int) -> list[dict]:
    kind = doc.meta.get("문서종류")
    if kind not in DOC_TYPES:
        return []
    prompt = (
        f"다음 문서의 종류를 {', '.join(DOC_TYPES)} 중 하나로 답하세요.\n\n"
        f"{_body_without_title(doc)}"
    )
    return [_record(doc, "doc_type", None, prompt, kind)]


def department_task(doc: Document, max_answer_chars: int) -> list[dict]:
    dept = doc.meta.get("담당부서")
    title = doc.meta.get("제목")
    if not dept or not title:
        return []
    prompt = f"「{title}」 업무는 어느 부서 담당입니까?"
    return [_record(doc, "department", None, prompt, dept)]


def article_task(doc: Document, max_answer_chars: int) -> list[dict]:
    """One record per `##### 제N조 (조목)` article: the article's text, cited."""
    name = doc.meta.get("제목")
    matches = list(_ARTICLE.finditer(doc.text))
    if not name or not matches:
        return []
    records = []
    for n, match in enumerate(matches):
        end = matches[n + 1].start() if n + 1 < len(matches) else len(doc.text)
        body = _HEADING.sub("", doc.text[match.end():end]).strip()
        if not body:
            continue
        number, heading = match.group(1), match.group(2).strip()
        prompt = f"「{name}」 {number}({heading})의 내용을 알려 주세요."
        answer = f"「{name}」 {number}({heading})에 따르면, {excerpt(body, max_answer_chars)}"
        records.append(_record(doc, "article", n + 1, prompt, answer))
    return records


BUILDERS = {
    "title": title_task,
    "doc_type": doc_type_task,
    "department": department_task,
    "article": article_task,
}
