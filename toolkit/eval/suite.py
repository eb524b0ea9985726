"""Eval suites as data: `evals/<suite>/suite.yaml` plus items.

suite.yaml keys: name, description, task (generation), metrics, primary_metric, and
`items:` either a JSONL file beside it (`items: items.jsonl`) or `items: {from_corpus:
eval}` for the corpus stage's held-out split. Each item has an `id`, `messages` (the
last one the reference assistant answer) and optional `meta`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit.artifacts import read_jsonl
from toolkit.errors import DataError
from toolkit.eval.metrics import METRICS
from toolkit.recipe import content_hash


class FromCorpus(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_corpus: Literal["eval"]


class SuiteSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str = ""
    task: Literal["generation"] = "generation"
    items: Union[str, FromCorpus]
    metrics: list[str] = Field(default_factory=lambda: ["exact_match", "chrf"])
    primary_metric: str | None = None
    max_new_tokens: int | None = None


@dataclass
class Suite:
    spec: SuiteSpec
    path: Path
    items: list[dict]
    hash: str = ""
    metrics: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def primary(self) -> str:
        return self.spec.primary_metric or self.metrics[0]


def load_suite(folder: Path, corpus_dir: Path | None = None) -> Suite:
    spec_path = Path(folder) / "suite.yaml"
    try:
        spec = SuiteSpec.model_validate(yaml.safe_load(spec_path.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise DataError(f"{spec_path}: not a valid suite ({str(exc).splitlines()[0]}).") from None
    unknown = [m for m in spec.metrics if m not in METRICS]
    if unknown:
        raise DataError(
            f"{spec_path}: unknown metric(s) {', '.join(unknown)}; known: {', '.join(METRICS)}."
        )
    if isinstance(spec.items, FromCorpus):
        if corpus_dir is None:
            raise DataError(f"{spec_path}: items come from the corpus stage, which is not given.")
        items_path = corpus_dir / "eval.jsonl"
    else:
        items_path = Path(folder) / spec.items
    if not items_path.is_file():
        raise DataError(f"{spec_path}: items file {items_path} does not exist.")
    items = read_jsonl(items_path)
    if not items:
        raise DataError(f"{spec_path}: its items ({items_path}) are empty; a suite needs items.")
    if spec.primary_metric and spec.primary_metric not in spec.metrics:
        raise DataError(
            f"{spec_path}: primary_metric '{spec.primary_metric}' is not one of its metrics "
            f"({', '.join(spec.metrics)})."
        )
    for n, item in enumerate(items, 1):
        msgs = item.get("messages")
        if not item.get("id") or not msgs or msgs[-1].get("role") != "assistant":
            raise DataError(
                f"{items_path}:{n}: an item needs an 'id' and 'messages' ending with the "
                f"reference assistant answer."
            )
    suite_hash = content_hash({"spec": spec.model_dump(mode="json"), "items": items})
    return Suite(spec, Path(folder), items, suite_hash, spec.metrics)
