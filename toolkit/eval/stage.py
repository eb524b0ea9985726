"""The eval stage: every suite on every candidate of `eval.candidates` (by default the
base model and the tuned one), same items, same prompt messages, same scoring, greedy
decoding.

    gongmu eval R

A candidate is a local model folder, a base plus an adapter, this recipe's base, tuned or
exported model, or an OpenAI-compatible endpoint (`toolkit.eval.candidates`). The base
and the tuned model render prompts with the tokenizer the train stage saved (the one the
export ships), so they are scored on exactly the text they will see when served.

The stage reads only the folders its suites and candidates need (`upstream`): the
corpus for suites whose items come from it, the train folder for `stage: train`, the
export folder for `stage: export`. A recipe with file-based suites and endpoint or
local-folder candidates needs no other stage.

The stage folder holds `results.json`:

    {"reference": NAME,
     "candidates": {NAME: {"kind", where it came from, dtype/device or the endpoint's
                           requests, cache hits, tokens, latency, cost, ...}},
     "suites": {SUITE: {task type, items, metrics and their direction, primary metric,
                        suite/prompts/chat-template hashes, thresholds,
                        "models": {NAME: {"scores", "by_task", "thresholds", "passed",
                                          "items", "answered", "failed", "failures", ...}},
                        "comparison": {"reference": NAME, "candidates": {NAME: {METRIC:
                                       {"diff", "ci_low", "ci_high", ...}}}}}}}

`outputs/<suite>.<candidate>.jsonl` (one row per item, see
`toolkit.eval.scoring.score_answers`; an item an endpoint never answered has `failed`
and no scores) and, for suites built at eval time, `items/<suite>.jsonl`.
"""

from __future__ import annotations

import hashlib
import os

from toolkit.artifacts import StageOutput
from toolkit.recipe import Recipe
from toolkit.stages import Stage

STAGE = Stage(
    name="eval",
    command="eval",
    summary="Score the candidates (by default the base and the tuned model) on the recipe's suites.",
    sections=("model", "eval"),
    upstream=("corpus", "train"),  # what the default candidates need; see upstream()
    outputs=("results.json", "outputs/<suite>.<candidate>.jsonl", "items/<suite>.jsonl"),
    module=__name__,
)

BOOTSTRAP_RESAMPLES = 2000


def upstream(recipe: Recipe) -> tuple[str, ...]:
    """The folders this recipe's eval reads: the corpus when a suite's items come from it,
    train and export when a `stage` candidate names them."""
    from toolkit.eval.candidates import needed_stages

    corpus = ("corpus",) if any(_suite_reads_corpus(s) for s in recipe.eval.suites) else ()
    return corpus + needed_stages(recipe)


def _suite_reads_corpus(folder) -> bool:
    from toolkit.safe_yaml import load_yaml

    try:
        spec = load_yaml((folder / "suite.yaml").read_text(encoding="utf-8"), str(folder))
    except Exception:  # noqa: BLE001 - an unreadable suite.yaml is reported when it loads
        return False
    return isinstance(spec, dict) and isinstance(spec.get("items"), dict)


def check_paths(recipe: Recipe) -> list[str]:
    from toolkit.eval.candidates import (
        candidate_path_problems,
        check_backend,
        uses_model_path,
    )
    from toolkit.models import model_path_problems

    problems = model_path_problems(recipe) if uses_model_path(recipe) else []
    if not recipe.eval.suites:
        problems.append(f"{recipe.where('eval')}: eval.suites is empty; name at least one "
                        f"suite folder.")
    for i, suite in enumerate(recipe.eval.suites):
        if not (suite / "suite.yaml").is_file():
            problems.append(f"{recipe.where('eval', 'suites', i)}: eval.suites[{i}] {suite} "
                            f"has no suite.yaml.")
    secret = recipe.eval.item_secret_env
    if secret is not None and not os.environ.get(secret):
        problems.append(f"{recipe.where('eval', 'item_secret_env')}: eval.item_secret_env names "
                        f"the environment variable {secret}, which is not set. Export the "
                        f"secret in it, or remove item_secret_env to build the public items.")
    return problems + candidate_path_problems(recipe) + check_backend(recipe)


def run(recipe: Recipe) -> StageOutput:
    """Score every candidate of `recipe.eval` on every suite."""
    from toolkit.stages import stage_run

    with stage_run(recipe, "eval") as stage:
        suites = _setup_suites(recipe, stage.inputs)
        _setup_candidates(recipe, suites)
        scored = _score_candidates(recipe, stage.inputs, suites)
        corpus = stage.inputs.get("corpus")
        results, figures = _results(recipe, suites, scored,
                                    corpus.manifest.get("figures") if corpus else None)
        stage.plugins = _plugins_used(suites)
        with stage.publish() as out:
            _write(out, results, suites, scored)
            out.figures.update(figures)
    return stage.output


def _setup_suites(recipe: Recipe, inputs: dict):
    """The suites (builders run on the corpus's held-out documents, under the recipe's
    item secret when it names one)."""
    from toolkit.eval.suite import recipe_suites

    corpus = inputs.get("corpus")
    return recipe_suites(recipe, corpus.path if corpus else None)


def _setup_candidates(recipe: Recipe, suites) -> None:
    """Before any model loads or request goes out: each endpoint's key is set, and no
    item holding personal data goes to an endpoint off this machine unless allowed."""
    from toolkit.eval.candidates_endpoint import api_key, header_values, refuse_remote_pii

    for i, candidate in enumerate(recipe.eval.candidates):
        if candidate.kind == "openai":
            api_key(recipe, candidate, i)
            header_values(recipe, candidate, i)
            refuse_remote_pii(recipe, candidate, i, suites)


def _score_candidates(recipe: Recipe, inputs: dict, suites) -> dict:
    """{candidate name: Scored}, one candidate after the other (each local model freed
    before the next loads)."""
    from toolkit.console import progress
    from toolkit.eval.candidates import score_candidate

    scored = {}
    with progress() as bar:
        for candidate in recipe.eval.candidates:
            scored[candidate.name] = score_candidate(recipe, candidate, inputs, suites, bar)
    return scored


def _results(recipe: Recipe, suites, scored: dict,
             corpus_figures: dict | None = None) -> tuple[dict, dict]:
    from toolkit.eval.contamination import contamination_statement
    from toolkit.eval.floors import results_entry as floor_entry
    from toolkit.eval.results import (
        compare_with_reference,
        detectable_difference_entry,
        summarize,
    )

    reference = recipe.eval.reference_name
    results: dict = {"reference": reference, "bootstrap_resamples": BOOTSTRAP_RESAMPLES,
                     "candidates": {name: s.info for name, s in scored.items()},
                     "suites": {}}
    figures = {}
    for suite in suites:
        first_local = next((s.per_suite[suite.name] for s in scored.values()
                            if s.per_suite[suite.name]["chat_template_sha256"]), None)
        shown = scored[reference].per_suite[suite.name]
        if not shown["chat_template_sha256"] and first_local:
            shown = first_local
        entry = {
            "path": str(suite.path),
            "task_type": suite.task_type,
            "suite_hash": suite.hash,
            "prompts_hash": shown["prompts_hash"],
            "chat_template_sha256": shown["chat_template_sha256"],
            "messages_hash": _messages_hash(suite),
            "items": len(suite.items),
            "few_shot": len(suite.shots),
            "items_file": f"items/{suite.name}.jsonl" if suite.built else None,
            "metrics": suite.metrics,
            "higher_is_better": suite.higher_is_better,
            "primary_metric": suite.primary,
            "gated_metrics": suite.gated,
            "item_pool": suite.pool,
            "thresholds": suite.spec.thresholds,
            "models": {},
        }
        for name, s in scored.items():
            summary = summarize(suite, s.rows[suite.name])
            entry["models"][name] = {**summary, **s.per_suite[suite.name]}
            for metric, value in summary["scores"].items():
                figures[f"{suite.name}/{name}/{metric}"] = round(value, 4)
            if summary["failed"]:
                figures[f"{suite.name}/{name}/failed"] = summary["failed"]
        rows = {name: s.rows[suite.name] for name, s in scored.items()}
        entry.update(floor_entry(suite, scored[reference].rows[suite.name]))
        entry.update(detectable_difference_entry(suite, rows, reference))
        # Every candidate against every other, so a verdict against any reference reads
        # its paired interval here (the report recomputes nothing).
        entry["comparisons"] = {
            ref: compare_with_reference(suite, rows, ref, n_resamples=BOOTSTRAP_RESAMPLES,
                                        seed=recipe.seed) for ref in rows}
        entry["comparison"] = entry["comparisons"][reference]
        entry["contamination"] = contamination_statement(suite, corpus_figures)
        results["suites"][suite.name] = entry
    return results, figures


def _messages_hash(suite) -> str:
    """One hash of every item's prompt messages: what every candidate was asked."""
    from toolkit.eval.candidates import messages_hash
    from toolkit.eval.scoring import prompt_messages

    hashes = [messages_hash(prompt_messages(suite, item)) for item in suite.items]
    return hashlib.sha256("\n".join(hashes).encode()).hexdigest()


def _plugins_used(suites) -> list[dict]:
    """The registered builders and metrics the suites used (for the manifest)."""
    from toolkit.plugins import plugins_used

    used: dict[str, set[str]] = {}
    for suite in suites:
        for group, names in suite.plugins.items():
            used.setdefault(group, set()).update(names)
    return plugins_used(used)


def _write(out: StageOutput, results: dict, suites, scored: dict) -> None:
    from toolkit.artifacts import write_json, write_jsonl

    write_json(out.path / "results.json", results)
    for suite in suites:
        if suite.built:  # the built items, so the run can be audited and re-scored
            write_jsonl(out.path / "items" / f"{suite.name}.jsonl", suite.raw_items)
    for name, s in scored.items():
        for suite_name, rows in s.rows.items():
            write_jsonl(out.path / "outputs" / f"{suite_name}.{name}.jsonl", rows)
