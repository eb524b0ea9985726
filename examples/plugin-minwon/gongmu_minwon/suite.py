"""An eval item builder: the routing question on held-out 민원 documents, the department
as the reference (scored by `department_named`)."""

from __future__ import annotations

from gongmu_minwon import DEPARTMENT
from gongmu_minwon.family import MinwonRoutingOptions, routing_answer, routing_question
from toolkit.plugins import ItemBuilder


def minwon_routing_items(documents: list[dict], seed: int) -> list[dict]:
    """One item per held-out 민원 with a department, in document order (no choices to
    seed)."""
    options = MinwonRoutingOptions()
    items = []
    for doc in documents:
        meta = doc.get("meta") or {}
        department = meta.get(DEPARTMENT)
        if meta.get("source_type") != "minwon_csv" or not department:
            continue
        prompt = routing_question(meta.get("title"), doc["text"], options.max_complaint_chars)
        items.append({"id": f"{doc['id']}#routing",
                      "messages": [{"role": "user", "content": prompt}],
                      "reference": routing_answer(department, options.closing),
                      "meta": {"task": "minwon_routing", "department": department}})
    return items


BUILDER = ItemBuilder("minwon_routing", minwon_routing_items,
                      description="민원 routing questions on held-out complaints.")
