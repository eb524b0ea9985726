"""The eval stage: every suite on the base model and on the tuned model (base + adapter,
or the fully fine-tuned checkpoint), same items, same prompts, greedy decoding.

    gongmu eval R

Prompts are rendered with the tokenizer the train stage saved (the one the export ships),
so the model is scored on exactly the text it will see when served.

The stage folder holds `results.json` (per suite: task type, item count, metrics and
their direction, primary metric, suite/prompts/chat-template hashes, thresholds, and per
model the mean scores, scores by task and threshold verdicts),
`outputs/<suite>.<base|tuned>.jsonl` (one row per item, see
`toolkit.eval.scoring.score_suite`) and, for suites built at eval time,
`items/<suite>.jsonl` (the items as built).
"""

from __future__ import annotations

import hashlib

from toolkit.artifacts import StageOutput
from toolkit.recipe import Recipe
from toolkit.stages import Stage

STAGE = Stage(
    name="eval",
    command="eval",
    summary="Score the base and the tuned model on the recipe's suites.",
    sections=("model", "eval"),
    upstream=("corpus", "train"),
    outputs=("results.json", "outputs/<suite>.<model>.jsonl", "items/<suite>.jsonl"),
    module=__name__,
)

MODELS = ("base", "tuned")


def check_paths(recipe: Recipe) -> list[str]:
    from toolkit.models import model_path_problems

    problems = model_path_problems(recipe)
    if not recipe.eval.suites:
        problems.append(f"{recipe.where('eval')}: eval.suites is empty; name at least one "
                        f"suite folder.")
    for i, suite in enumerate(recipe.eval.suites):
        if not (suite / "suite.yaml").is_file():
            problems.append(f"{recipe.where('eval', 'suites', i)}: eval.suites[{i}] {suite} "
                            f"has no suite.yaml.")
    return problems


def run(recipe: Recipe) -> StageOutput:
    """Score the base and the tuned model on every suite of `recipe.eval`."""
    from toolkit.stages import stage_run

    with stage_run(recipe, "eval") as stage:
        corpus, trained = stage.inputs["corpus"], stage.inputs["train"]
        tok, suites, prompts = _setup_suites(recipe, corpus, trained)
        rows = _score_models(recipe, trained, tok, suites, prompts)
        results, figures = _results(suites, prompts, tok, rows)
        stage.plugins = _plugins_used(suites)
        with stage.publish() as out:
            _write(out, results, suites, rows)
            out.figures.update(figures)
    return stage.output


def _setup_suites(recipe: Recipe, corpus, trained):
    """The training tokenizer, the suites (builders run on the corpus's held-out
    documents) and each suite's rendered prompts."""
    from toolkit.eval.suite import load_suite
    from toolkit.eval.scoring import suite_prompts
    from toolkit.models import check_base_unchanged, load_trained_tokenizer

    check_base_unchanged(recipe.model.path, trained.path)
    tok = load_trained_tokenizer(trained.path)
    suites = [load_suite(s, corpus.path) for s in recipe.eval.suites]
    prompts = {s.name: suite_prompts(tok, s) for s in suites}
    return tok, suites, prompts


def _score_models(recipe: Recipe, trained, tok, suites, prompts) -> dict[tuple[str, str], list[dict]]:
    """Per-item rows of every suite for the base model, then the tuned one."""
    from toolkit.console import progress
    from toolkit.eval.scoring import score_suite, work_units
    from toolkit.models import load_model, load_tuned_model

    rows: dict[tuple[str, str], list[dict]] = {}
    model = load_model(recipe.model, dtype="float32")
    with progress() as bar:
        for label in MODELS:
            if label == "tuned":
                method = trained.manifest["section"]["train"]["method"]
                if method == "full":
                    del model  # the tuned checkpoint replaces the base
                model = load_tuned_model(recipe.model, trained.path, method,
                                         base=None if method == "full" else model)
            for suite in suites:
                task = bar.add_task(f"{suite.name} · {label}", total=work_units(suite), info="")
                rows[(suite.name, label)] = score_suite(
                    model, tok, suite, prompts[suite.name], recipe.eval.batch_size,
                    recipe.eval.max_new_tokens, on_batch=lambda k, t=task: bar.advance(t, k),
                )
    return rows


def _results(suites, prompts, tok, rows) -> tuple[dict, dict]:
    from toolkit.eval.results import summarize

    results: dict = {"suites": {}}
    figures = {}
    for suite in suites:
        entry = {
            "path": str(suite.path),
            "task_type": suite.task_type,
            "suite_hash": suite.hash,
            "prompts_hash": hashlib.sha256("\n".join(prompts[suite.name]).encode()).hexdigest(),
            "chat_template_sha256": hashlib.sha256(tok.chat_template.encode()).hexdigest(),
            "items": len(suite.items),
            "few_shot": len(suite.shots),
            "items_file": f"items/{suite.name}.jsonl" if suite.built else None,
            "metrics": suite.metrics,
            "higher_is_better": suite.higher_is_better,
            "primary_metric": suite.primary,
            "thresholds": suite.spec.thresholds,
            "models": {},
        }
        for label in MODELS:
            entry["models"][label] = summarize(suite, rows[(suite.name, label)])
            for metric, value in entry["models"][label]["scores"].items():
                figures[f"{suite.name}/{label}/{metric}"] = round(value, 4)
        results["suites"][suite.name] = entry
    return results, figures


def _plugins_used(suites) -> list[dict]:
    """The registered builders and metrics the suites used (for the manifest)."""
    from toolkit.plugins import plugins_used

    used: dict[str, set[str]] = {}
    for suite in suites:
        for group, names in suite.plugins.items():
            used.setdefault(group, set()).update(names)
    return plugins_used(used)


def _write(out: StageOutput, results: dict, suites, rows) -> None:
    from toolkit.artifacts import write_json, write_jsonl

    write_json(out.path / "results.json", results)
    for suite in suites:
        if suite.built:  # the built items, so the run can be audited and re-scored
            write_jsonl(out.path / "items" / f"{suite.name}.jsonl", suite.raw_items)
    for (suite_name, label), suite_rows in rows.items():
        write_jsonl(out.path / "outputs" / f"{suite_name}.{label}.jsonl", suite_rows)
