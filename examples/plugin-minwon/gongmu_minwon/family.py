"""An instruction family: given a 민원, name the department in charge and say what it
will do (the answer a 민원 desk gives first).

    corpus:
      families: [minwon_routing]
      family_options:
        minwon_routing: {max_complaint_chars: 400}
"""

from __future__ import annotations

import unicodedata

from pydantic import BaseModel, ConfigDict, Field

from gongmu_minwon import DEPARTMENT
from toolkit.plugins import Family

NAME = "minwon_routing"


class MinwonRoutingOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_complaint_chars: int = Field(600, gt=0, description="Longer complaints are cut.")
    closing: str = Field(
        "처리 결과는 담당 부서에서 다시 안내해 드리겠습니다.",
        description="The answer's last sentence.")


def routing_question(title: str | None, complaint: str, max_chars: int) -> str:
    """The prompt: the 민원 as received, and the question (shared with the eval builder)."""
    body = complaint if len(complaint) <= max_chars else complaint[:max_chars].rstrip() + "…"
    heading = f"[민원 제목] {title}\n" if title else ""
    return (f"다음 민원을 처리할 담당 부서를 안내해 주세요.\n\n{heading}[민원 내용] {body}")


def routing_answer(department: str, closing: str) -> str:
    return f"이 민원은 {department}에서 담당합니다. {closing}"


def minwon_routing(doc, options: MinwonRoutingOptions) -> list[dict]:
    """One record per 민원 document that names its department; [] for any other document."""
    department = doc.meta.get(DEPARTMENT)
    if doc.meta.get("source_type") != "minwon_csv" or not department:
        return []
    prompt = routing_question(doc.meta.get("title"), doc.text, options.max_complaint_chars)
    return [{
        "id": f"{doc.id}#{NAME}",
        "messages": [
            {"role": "user", "content": unicodedata.normalize("NFC", prompt)},
            {"role": "assistant", "content": routing_answer(department, options.closing)},
        ],
        "meta": {"task": NAME, "doc_id": doc.id, "source": doc.source,
                 "source_type": doc.source_type, "path": doc.path, DEPARTMENT: department},
    }]


FAMILY = Family(NAME, minwon_routing, options=MinwonRoutingOptions,
                description="민원 담당 부서 안내 — name the department that handles a 민원.")
