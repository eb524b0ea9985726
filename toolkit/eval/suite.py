"""Eval suites as data: `evals/<suite>/suite.yaml` plus its items.

suite.yaml keys:

- `name`, `description`.
- `task_type`: `generation` (greedy text, scored against `reference`), `multiple_choice`
  (log-likelihood of each of `choices`), `classification` (the model writes a label;
  its first line is scored against the gold label, plus log-likelihood accuracy over
  the label set when items give `choices`) or `grounded_qa` (generation whose prompt
  carries the item's `context` articles; citation metrics check `source_articles`).
- `items`: where the items come from, one of
  `items.jsonl` (a JSONL file beside suite.yaml);
  `{from_corpus: test|validation}` (the corpus stage's chat records: the last message is
  the reference answer);
  `{builder: NAME, split: test, seed: 0}` (built at eval time by the item builder
  registered as NAME in the `gongmu.suites` entry-point group, built-in or plug-in:
  `build(documents, seed)` over the corpus stage's `heldout_documents.jsonl` rows of that
  split; the eval stage writes them to `items/<suite>.jsonl`).
- `metrics`, `primary_metric` (default: the first metric; `acc_per_char` for
  multiple choice): metrics registered in the `gongmu.metrics` group
  (`toolkit.eval.metrics.metric_names()`), each declaring whether higher is better.
  Multiple-choice suites score `acc_<n>` for each `n` of `normalisation` instead.
- `gated_metrics` (default: the primary metric): what `gongmu eval gate` and the report's
  non-inferiority verdicts judge, the primary metric and a meaning metric where one
  applies (key_facts beside citation_accuracy or content_f1).
- `normalisation` (multiple choice and classification label sets): any of `raw`
  (summed log-probability), `per_char` (divided by the choice's characters), `per_byte`
  (by its UTF-8 bytes: a Hangul syllable is 3); default all three.
- `max_new_tokens` (default: the recipe's `eval.max_new_tokens`), `stop` (strings that
  end a generation; the output is cut at the first one).
- `few_shot: k` (default 0): the first k items of the `few_shot_items` file beside
  suite.yaml when it is named, else the first k items of the suite, which are then not
  scored. Either way the same k examples, in file order, precede every prompt as
  earlier user/assistant turns, so scores are deterministic.
- `system_prompt`: a system turn for items that do not start with one.
- `thresholds: {metric: value}`: acceptance levels reported as pass/fail in results
  (a minimum; a maximum for lower-is-better metrics such as pii_leak). Never an error.

Item fields: `id` (a string, unique in the suite), `messages` (the chat prompt, ending
with a user turn; or, the legacy form, ending with the reference assistant turn),
`reference`, `choices` and `answer` (an index into `choices`), `context` (text or list
of texts put before the last user turn, grounded_qa), `context_pii`, `source_articles`
([[law, article], ...]) and `meta` (free; `meta.task`, the instruction family or kind of
item, groups scores).
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from toolkit import plugins
from toolkit.errors import DataError
from toolkit.eval.metrics import CHOICE_METRICS, NORMALISATIONS, higher_is_better, metric_names
from toolkit.recipe import content_hash
from toolkit.safe_yaml import load_yaml

TaskType = Literal["generation", "multiple_choice", "classification", "grounded_qa"]
Normalisation = Literal["raw", "per_char", "per_byte"]
HELDOUT_DOCUMENTS = "heldout_documents.jsonl"

DEFAULT_METRICS: dict[str, list[str]] = {
    "generation": ["exact_match", "chrf"],
    "grounded_qa": ["chrf", "citation_accuracy"],
    "classification": ["exact_match"],
}
ITEM_KEYS = frozenset({"id", "messages", "reference", "choices", "answer", "context",
                       "context_pii", "source_articles", "meta"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FromCorpus(_Strict):
    from_corpus: Literal["test", "validation"]


class FromBuilder(_Strict):
    builder: str
    split: Literal["test", "validation"] = "test"
    seed: int = 0


class SuiteSpec(_Strict):
    name: str
    description: str = ""
    task_type: TaskType = "generation"
    items: Union[str, FromCorpus, FromBuilder]
    metrics: list[str] | None = None
    primary_metric: str | None = None
    gated_metrics: list[str] | None = None
    max_new_tokens: int | None = Field(None, gt=0)
    stop: list[str] = Field(default_factory=list)
    few_shot: int = Field(0, ge=0)
    few_shot_items: str | None = None
    system_prompt: str | None = None
    normalisation: list[Normalisation] = Field(default_factory=lambda: list(NORMALISATIONS))
    thresholds: dict[str, float] = Field(default_factory=dict)


class _Message(_Strict):
    role: Literal["system", "user", "assistant"]
    content: str


class _Item(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: str = Field(min_length=1)
    messages: list[_Message] = Field(min_length=1)
    reference: str | None = None
    choices: list[str] | None = None
    answer: int | None = None
    context: str | list[str] | None = None
    context_pii: list[str] | None = None
    source_articles: list[tuple[str, str]] | None = None
    meta: dict[str, Any] = Field(default_factory=dict)


@dataclass
class Suite:
    """A loaded suite: `items` are the scored items, `shots` the few-shot examples, both
    in canonical form (`messages` is the prompt, ending with a user turn; `reference` is
    set). `raw_items` are the items as read or built (what `hash` covers)."""

    spec: SuiteSpec
    path: Path
    items: list[dict]
    hash: str = ""
    metrics: list[str] = field(default_factory=list)
    shots: list[dict] = field(default_factory=list)
    items_path: Path | None = None  # the file the items were read from; None when built
    raw_items: list[dict] = field(default_factory=list)
    pool: dict = field(default_factory=lambda: {"kind": "file"})  # `item_pool`

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def task_type(self) -> str:
        return self.spec.task_type

    @property
    def primary(self) -> str:
        return self.spec.primary_metric or self.metrics[0]

    @property
    def gated(self) -> list[str]:
        """The metrics the gate and the acceptance verdicts judge: the primary one, and
        a meaning metric where one applies (`gated_metrics`, e.g. key_facts beside
        citation_accuracy: citing the right article while reversing what it says must
        not pass)."""
        return list(dict.fromkeys([self.primary, *(self.spec.gated_metrics or [])]))

    @property
    def built(self) -> bool:
        return isinstance(self.spec.items, FromBuilder)

    @property
    def choice_metrics(self) -> list[str]:
        """The log-likelihood accuracies this suite scores (empty for generation)."""
        return [m for m in self.metrics if m in CHOICE_METRICS]

    @property
    def text_metrics(self) -> list[str]:
        """The metrics scored on generated text."""
        return [m for m in self.metrics if m not in CHOICE_METRICS]

    @property
    def higher_is_better(self) -> dict[str, bool]:
        """Each metric's direction, as the metric declares it (what results.json records)."""
        return {m: higher_is_better(m) for m in self.metrics}

    @property
    def plugins(self) -> dict[str, list[str]]:
        """The registered plug-ins this suite uses, {group: names}, for the manifest."""
        used = {plugins.METRICS: self.text_metrics}
        if self.built:
            used[plugins.SUITES] = [self.spec.items.builder]
        return used


POOL_DOMAIN = b"gongmu item pool\0"


def secret_fingerprint(secret: str) -> str:
    """What results.json records of an item secret: a keyed hash that names it without
    revealing it (16 hex digits)."""
    return hashlib.sha256(POOL_DOMAIN + secret.encode("utf-8")).hexdigest()[:16]


def private_seed(secret: str, suite: str, seed: int) -> int:
    """The builder seed a secret gives a suite: nobody without the secret can rebuild
    which documents, distractors and wordings were drawn."""
    digest = hmac.new(secret.encode("utf-8"), f"{suite}:{seed}".encode(), hashlib.sha256)
    return int.from_bytes(digest.digest()[:4], "big")


def item_pool(spec: SuiteSpec, secret: str | None) -> dict:
    """Whether a suite's items can be rebuilt by anyone: "public" (a builder over public
    documents with its public seed), "private" (a builder under the recipe's secret) or
    "file" (a committed or shared items file: as private as the file)."""
    if not isinstance(spec.items, FromBuilder):
        return {"kind": "file"}
    if secret:
        return {"kind": "private", "secret_fingerprint": secret_fingerprint(secret)}
    return {"kind": "public", "seed": spec.items.seed}


def recipe_suites(recipe, corpus_dir: Path | None) -> list[Suite]:
    """The suites of `recipe.eval`, builders run over the corpus stage's held-out
    documents, under the recipe's item secret when it names one (`eval.item_secret_env`):
    the one place the eval stage and `gongmu eval floors` get their suites from."""
    secret = item_secret(recipe)
    return [load_suite(s, corpus_dir, secret=secret) for s in recipe.eval.suites]


def item_secret(recipe) -> str | None:
    """The recipe's item secret from its environment variable; DataError when the
    variable is named but not set (the secret itself is never in any message)."""
    name = recipe.eval.item_secret_env
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise DataError(f"{recipe.where('eval', 'item_secret_env')}: eval.item_secret_env names "
                        f"the environment variable {name}, which is not set. Export the "
                        f"secret in it, or remove item_secret_env to build the public items.")
    return value


def load_suite(folder: Path, corpus_dir: Path | None = None, *, secret: str | None = None) -> Suite:
    """Read and check `folder/suite.yaml` and its items (building them when the suite
    names a builder, under `secret` when given). Raises DataError naming the file, line
    and key at fault."""
    folder = Path(folder)
    spec_path = folder / "suite.yaml"
    spec = _read_spec(spec_path)
    if secret and isinstance(spec.items, FromBuilder):
        spec = spec.model_copy(update={"items": spec.items.model_copy(
            update={"seed": private_seed(secret, spec.name, spec.items.seed)})})
    raw, where, items_path = _read_items(spec, spec_path, folder, corpus_dir)
    lenient = isinstance(spec.items, FromCorpus)  # corpus records may carry other keys
    items = [_canonical_item(spec, r, where(n), lenient) for n, r in enumerate(raw, 1)]
    _refuse_duplicate_ids(items, where)

    raw_shots: list[dict] = []
    if spec.few_shot and spec.few_shot_items:
        shots_path = folder / spec.few_shot_items
        lines: list[int] = []
        raw_shots = _read_jsonl(shots_path, spec_path, lines)
        if len(raw_shots) < spec.few_shot:
            raise DataError(f"{spec_path}: few_shot is {spec.few_shot} but {shots_path} holds "
                            f"only {len(raw_shots)} items.")
        raw_shots = raw_shots[: spec.few_shot]
        shots = [_canonical_item(spec, r, f"{shots_path}:{line}", False)
                 for line, r in zip(lines, raw_shots)]
        both = {s["id"] for s in shots} & {i["id"] for i in items}
        if both:
            raise DataError(f"{shots_path}: item id '{sorted(both)[0]}' is also a scored item of "
                            f"the suite; a few-shot example must not be one of the test items.")
    else:
        shots, items = items[: spec.few_shot], items[spec.few_shot:]
    if not items:
        raise DataError(f"{spec_path}: no items left to score ({len(raw)} items, few_shot "
                        f"{spec.few_shot}); a suite needs items.")

    metrics = _suite_metrics(spec, spec_path, items)
    suite_hash = content_hash({"spec": spec.model_dump(mode="json"), "items": raw,
                               "few_shot_items": raw_shots})
    return Suite(spec, folder, items, suite_hash, metrics, shots, items_path, raw,
                 pool=item_pool(spec, secret))


# --------------------------------------------------------------------------- spec


def _read_spec(spec_path: Path) -> SuiteSpec:
    if not spec_path.is_file():
        raise DataError(f"{spec_path} does not exist: a suite folder needs a suite.yaml.")
    try:
        text = spec_path.read_text(encoding="utf-8")
        return SuiteSpec.model_validate(load_yaml(text, str(spec_path)))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        hint = ""
        if err["type"] == "extra_forbidden" and len(err["loc"]) == 1:
            close = difflib.get_close_matches(key, list(SuiteSpec.model_fields), n=1, cutoff=0.5)
            hint = f" Did you mean '{close[0]}'?" if close else ""
        raise DataError(f"{spec_path}: key '{key}': {err['msg']}.{hint}") from None
    except yaml.YAMLError as exc:
        raise DataError(f"{spec_path}: not valid YAML ({str(exc).splitlines()[0]}).") from None


def _suite_metrics(spec: SuiteSpec, spec_path: Path, items: list[dict]) -> list[str]:
    choice_metrics = [f"acc_{n}" for n in spec.normalisation]
    if not spec.normalisation and spec.task_type == "multiple_choice":
        raise DataError(f"{spec_path}: normalisation is empty; name at least one of "
                        f"{', '.join(NORMALISATIONS)}.")
    if spec.task_type == "multiple_choice":
        if spec.metrics is not None:
            raise DataError(
                f"{spec_path}: a multiple_choice suite scores {', '.join(CHOICE_METRICS)}; "
                f"choose among them with `normalisation`, not `metrics`."
            )
        metrics = choice_metrics
        default_primary = "acc_per_char" if "per_char" in spec.normalisation else metrics[0]
    else:
        metrics = list(spec.metrics if spec.metrics is not None else DEFAULT_METRICS[spec.task_type])
        known = metric_names()
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise DataError(f"{spec_path}: unknown metric(s) {', '.join(unknown)}; known: "
                            f"{', '.join(known)}.")
        if not metrics:
            raise DataError(f"{spec_path}: metrics is empty; name at least one.")
        if spec.task_type == "classification" and all(i["choices"] for i in items):
            metrics += [m for m in choice_metrics if m not in metrics]
        default_primary = metrics[0]
    primary = spec.primary_metric or default_primary
    if primary not in metrics:
        raise DataError(f"{spec_path}: primary_metric '{primary}' is not one of its metrics "
                        f"({', '.join(metrics)}).")
    if spec.primary_metric is None and primary != metrics[0]:
        metrics.remove(primary)
        metrics.insert(0, primary)  # `Suite.primary` is the first metric unless named
    for metric in spec.thresholds:
        if metric not in metrics:
            raise DataError(f"{spec_path}: thresholds names '{metric}', which the suite does not "
                            f"score ({', '.join(metrics)}).")
    for metric in spec.gated_metrics or []:
        if metric not in metrics:
            raise DataError(f"{spec_path}: gated_metrics names '{metric}', which the suite does "
                            f"not score ({', '.join(metrics)}).")
    return metrics


# --------------------------------------------------------------------------- items


def _read_jsonl(path: Path, spec_path: Path, lines: list[int] | None = None) -> list[dict]:
    """The JSON objects of `path`, blank lines skipped (their line numbers into `lines`)."""
    if not path.is_file():
        raise DataError(f"{spec_path}: items file {path} does not exist.")
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(f"{path}:{n}: not valid JSON ({exc.msg}).") from None
            if not isinstance(row, dict):
                raise DataError(f"{path}:{n}: an item must be a JSON object.")
            rows.append(row)
            if lines is not None:
                lines.append(n)
    return rows


def _read_items(spec: SuiteSpec, spec_path: Path, folder: Path, corpus_dir: Path | None):
    """(raw items, where(n) -> 'file:line' for messages, the items file or None)."""
    source = spec.items
    if isinstance(source, str):
        items_path = folder / source
    elif corpus_dir is None:
        raise DataError(f"{spec_path}: items come from the corpus stage, which is not given; "
                        f"load the suite with the corpus stage folder.")
    elif isinstance(source, FromCorpus):
        items_path = Path(corpus_dir) / f"{source.from_corpus}.jsonl"
    else:
        raw = build_items(source, Path(corpus_dir), spec_path)
        label = f"{spec_path} (builder '{source.builder}', split {source.split})"
        return raw, lambda n: f"{label}, item {n}", None
    lines: list[int] = []
    raw = _read_jsonl(items_path, spec_path, lines)
    if not raw:
        raise DataError(f"{spec_path}: its items ({items_path}) are empty; a suite needs items.")
    return raw, lambda n: f"{items_path}:{lines[n - 1]}", items_path


def build_items(source: FromBuilder, corpus_dir: Path, spec_path: Path) -> list[dict]:
    """Items from the item builder registered as `source.builder` (`gongmu.suites`) over
    the corpus stage's held-out documents of `source.split`."""
    try:
        builder = plugins.load(plugins.SUITES, source.builder)
    except plugins.UnknownPlugin as exc:
        raise DataError(f"{spec_path}: items.builder: {exc}.") from None
    docs_path = corpus_dir / HELDOUT_DOCUMENTS
    if not docs_path.is_file():
        raise DataError(f"{spec_path}: builder '{source.builder}' needs {docs_path}, which the "
                        f"corpus stage did not write; re-run `gongmu corpus` with this version.")
    documents = [d for d in _read_jsonl(docs_path, spec_path) if d.get("split") == source.split]
    if not documents:
        raise DataError(f"{spec_path}: {docs_path} holds no documents of split "
                        f"'{source.split}' for builder '{source.builder}'.")
    items = list(builder.build(documents, source.seed))
    if not items:
        raise DataError(f"{spec_path}: builder '{source.builder}' built no items from "
                        f"{len(documents)} '{source.split}' documents.")
    return items


def _canonical_item(spec: SuiteSpec, raw: dict, where: str, lenient: bool) -> dict:
    """The item with `messages` as the prompt (ending with a user turn, `context` put
    before its text) and `reference` set; DataError naming `where` when it is not one."""
    if not lenient:
        extra = sorted(set(raw) - ITEM_KEYS)
        if extra:
            raise DataError(f"{where}: unknown item key(s) {', '.join(extra)}; an item has "
                            f"{', '.join(sorted(ITEM_KEYS))} (free fields go under `meta`).")
    try:
        item = _Item.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        raise DataError(f"{where}: item key '{key}': {err['msg']}.") from None
    messages = [m.model_dump() for m in item.messages]
    reference = item.reference
    if messages[-1]["role"] == "assistant":  # legacy: the last turn is the reference
        reference = reference if reference is not None else messages[-1]["content"]
        messages = messages[:-1]
    if not messages or messages[-1]["role"] != "user":
        raise DataError(f"{where}: item '{item.id}': messages must end with a user turn (the "
                        f"prompt), optionally followed by the reference assistant answer.")
    if item.context:
        context = item.context if isinstance(item.context, str) else "\n\n".join(item.context)
        messages[-1] = {"role": "user", "content": f"{context}\n\n{messages[-1]['content']}"}
    choices = item.choices
    if choices is not None:
        if len(choices) < 2 or any(not c for c in choices):
            raise DataError(f"{where}: item '{item.id}': choices must be two or more non-empty "
                            f"strings.")
        if item.answer is None or not 0 <= item.answer < len(choices):
            raise DataError(f"{where}: item '{item.id}': answer must be an index into its "
                            f"{len(choices)} choices (0 to {len(choices) - 1}).")
        if reference is None:
            reference = choices[item.answer]
    elif spec.task_type == "multiple_choice":
        raise DataError(f"{where}: item '{item.id}': a multiple_choice item needs `choices` and "
                        f"`answer`.")
    if reference is None:
        raise DataError(f"{where}: item '{item.id}': no reference answer (give `reference`, "
                        f"`choices` with `answer`, or end messages with the assistant answer).")
    return {"id": item.id, "messages": messages, "reference": reference, "choices": choices,
            "answer": item.answer, "context_pii": item.context_pii,
            "source_articles": ([list(a) for a in item.source_articles]
                                if item.source_articles is not None else None),
            "meta": item.meta}


def _refuse_duplicate_ids(items: list[dict], where) -> None:
    first: dict[str, int] = {}
    for n, item in enumerate(items, 1):
        if item["id"] in first:
            raise DataError(f"{where(n)}: duplicate item id '{item['id']}' (first at "
                            f"{where(first[item['id']])}); item ids must be unique and stable.")
        first[item["id"]] = n
