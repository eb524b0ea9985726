"""Eval items built from the corpus stage's held-out documents, one module per suite.

A suite whose suite.yaml says `items: {builder: <name>, split: test}` gets its items from
`BUILDERS[name](documents, seed)`: `documents` are the held-out documents of the corpus
stage (`{"id", "source", "source_type", "path", "text", "meta", "split"}`, text already
cleaned and redacted), `seed` the suite's `items.seed` (default 0), which picks the
articles, templates, distractors and orders. Every builder is a pure function of
its arguments: the same documents (in any order) and seed give byte-identical items,
and every item names the document it came from (`meta.doc_id`), so no text outside the
held-out split reaches an eval.

An item is `{"id", "messages": [{"role": "user", "content": prompt}], "reference",
"meta": {"doc_id", "source", "path", "split", "task", ...}}`, plus `choices` and `answer`
(multiple choice), `source_articles` (citation suites: every (법령명, 제N조) the prompt
shows). Ids are `<suite>/<doc_id>#<part>` and do not change when other documents are
added or removed.

How many items a document gives is capped per builder (`common.PER_DOC`), so one long
decree cannot fill a suite. With the seoul-admin corpus (test fraction 0.1: about 58
statutes, 2 ordinances and 150 rulings held out) the caps give 100-180 items per builder;
`ruling_summary` asks for both 판시사항 and 판결요지 of a ruling because only about 40% of
the rulings have either.
"""

from __future__ import annotations

from typing import Callable

from toolkit.eval.builders.doc_routing import doc_routing
from toolkit.eval.builders.gongmun_drafting import gongmun_drafting
from toolkit.eval.builders.grounded_citation import grounded_citation
from toolkit.eval.builders.pii_refusal import pii_refusal
from toolkit.eval.builders.regulation_lookup import regulation_lookup
from toolkit.eval.builders.ruling_summary import ruling_summary

Builder = Callable[[list[dict], int], list[dict]]

BUILDERS: dict[str, Builder] = {
    "regulation_lookup": regulation_lookup,
    "grounded_citation": grounded_citation,
    "ruling_summary": ruling_summary,
    "doc_routing": doc_routing,
    "gongmun_drafting": gongmun_drafting,
    "pii_refusal": pii_refusal,
}
