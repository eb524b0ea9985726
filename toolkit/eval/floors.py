"""What a suite's score is worth: the scores of answers that need no model (the floor)
and of the references themselves (the ceiling), on the suite's own items and metrics.

A metric that gives a no-model strategy a score near the references' measures the
strategy, not the skill. Every eval writes these beside the candidates' scores
(`results.json`: each suite's `floors` and `ceiling`), and `gongmu eval floors R` prints
them for a recipe's suites without loading a model.

The no-model strategies are the baselines registered in the `gongmu.floors` entry-point
group (`toolkit.eval.baselines` lists the built-ins; a city registers its own the same
way): each text baseline answers every generated-answer suite, each choice baseline picks
in every multiple-choice suite, and `chance` is 1 / number of choices in expectation.
`results.json` records them as each suite's `floors`; the best of them is the suite's
floor.

Perturbations of the reference, reported apart (`perturbations`: they need the answer,
so they are no floor; they show whether the metrics see facts and meaning):

- `facts_removed`: the reference with its dates, times, amounts and numbers removed;
- `wrong_facts`: the reference, well formatted, with years shifted, amounts and
  numbers changed;
- `reversed_polarity`: the reference with each obligation reversed (할 수 있다 <-> 할 수
  없다, 하여야 한다 -> 하지 아니한다).

"""

from __future__ import annotations

import re
from statistics import fmean
from typing import Callable

_DATE = re.compile(r"((?:19|20)\d{2})(\s?[.\-/년]\s?\d{1,2}\s?[.\-/월]\s?\d{1,2}\s?[.일]?)")
_NUMBER = re.compile(r"\d[\d,]*")


def _facts_removed(reference: str) -> str:
    text = re.sub(r"금?\d[\d,]*원(?:\([^)]*\))?", "", reference)
    text = _DATE.sub("", text)
    text = re.sub(r"\d{1,2}:\d{2}", "", text)
    return re.sub(r"(?<![①-⑳가-힣\d])\d[\d,]*(?=\s*(?:개|명|일|년|월|부|건|%|분의))", "", text)


def _shift_number(m: re.Match) -> str:
    digits = m.group(0).replace(",", "")
    value = int(digits) + (1 if len(digits) < 3 else 10 ** (len(digits) - 2))
    return f"{value:,}" if "," in m.group(0) else str(value)


def _wrong_facts(reference: str) -> str:
    """The reference with every year shifted by one and every other number changed,
    amounts keeping a correct reading of the wrong number (a well-formatted document)."""
    from toolkit.korean.forms import gongmun_amount

    def amount(m: re.Match) -> str:
        return gongmun_amount(int(m.group(1).replace(",", "")) + 10_000)

    text = re.sub(r"금(\d[\d,]*)원\(금[가-힣]+원\)", amount, reference)
    text = _DATE.sub(lambda m: f"{int(m.group(1)) + 1}{m.group(2)}", text)
    # Other bare numbers (counts, periods), not item markers ("1.", "가.") or 제N조.
    return re.sub(r"(?<![제\d,.])(?<!^)(?<!금)\d+(?=\s*(?:개|명|일|년|월|시간|%|분의|회|차례))",
                  _shift_number, text, flags=re.MULTILINE)


# One pass over every obligation form, so a reversed phrase is never reversed back by a
# later rule (할 수 있다 -> 할 수 없다 must stay 할 수 없다).
_REVERSAL = re.compile(r"(?P<can>할\s*수\s*있)|(?P<cannot>할\s*수\s*없)|(?P<must>(?:하|되)여야\s*한다)"
                       r"|(?P<must2>해야\s*한다)|(?P<mustnot>서는\s*아니\s*된다)|(?P<not>하지\s*아니한다)")


def _reverse_one(m: re.Match) -> str:
    kind = m.lastgroup
    if kind == "can":
        return "할 수 없"
    if kind == "cannot":
        return "할 수 있"
    if kind == "must":
        return m.group(0)[0] + "지 아니한다"
    if kind == "must2":
        return "하지 아니한다"
    if kind == "mustnot":  # 하여서는 아니 된다 (must not) -> 하여도 된다 (may)
        return "도 된다"
    return "하여야 한다"


def _reversed_polarity(reference: str) -> str:
    return _REVERSAL.sub(_reverse_one, reference)


Strategy = Callable[[dict, list[dict], int], str]
# Not floors (they start from the reference): whether the metrics see facts and meaning.
PERTURBATIONS: dict[str, Strategy] = {
    "facts_removed": lambda item, items, k: _facts_removed(item["reference"]),
    "wrong_facts": lambda item, items, k: _wrong_facts(item["reference"]),
    "reversed_polarity": lambda item, items, k: _reversed_polarity(item["reference"]),
}


def baselines() -> list:
    """Every installed no-model baseline (`gongmu.floors`), built-ins included."""
    from toolkit import plugins

    return [plugins.load(plugins.FLOORS, name) for name in plugins.names(plugins.FLOORS)]


def text_strategies() -> dict[str, Strategy]:
    return {b.name: b.answer for b in baselines() if b.answer is not None}


def choice_strategies() -> dict[str, Callable[[dict], int]]:
    return {b.name: b.choose for b in baselines() if b.choose is not None}


def _text_scores(suite, outputs: list[str]) -> dict[str, float]:
    from toolkit.eval.metrics import score

    return {m: fmean(score(m, out, item["reference"], item) for out, item in zip(outputs, suite.items))
            for m in suite.text_metrics}


def suite_floors(suite) -> dict:
    """{"floors": {strategy: {metric: mean}}, "ceiling": {metric: mean}, "perturbations":
    {name: {metric: mean}}, "primary_metric"} for a loaded suite
    (`toolkit.eval.suite.Suite`): each no-model strategy scored with the suite's own
    metrics, the references scored as if they were answers, and altered references."""
    items = suite.items
    floors: dict[str, dict[str, float]] = {}
    ceiling: dict[str, float] = {}
    if suite.choice_metrics:
        for name, pick in choice_strategies().items():
            right = fmean(float(pick(i) == i["answer"]) for i in items)
            floors[name] = {m: right for m in suite.choice_metrics}
        floors["chance"] = {m: fmean(1 / len(i["choices"]) for i in items)
                            for m in suite.choice_metrics}
        ceiling.update({m: 1.0 for m in suite.choice_metrics})
    perturbed: dict[str, dict[str, float]] = {}
    if suite.text_metrics and suite.task_type != "multiple_choice":
        for table, strategies in ((floors, text_strategies()), (perturbed, PERTURBATIONS)):
            for name, strategy in strategies.items():
                outputs = [strategy(item, items, k) for k, item in enumerate(items)]
                table.setdefault(name, {}).update(_text_scores(suite, outputs))
        ceiling.update(_text_scores(suite, [i["reference"] for i in items]))
    return {"floors": floors, "ceiling": ceiling, "perturbations": perturbed,
            "primary_metric": suite.primary}


def degenerate_margin(entry: dict, higher_is_better: bool = True) -> tuple[str, float] | None:
    """The strategy scoring closest to the ceiling on the primary metric and its distance
    (ceiling - floor, or floor - ceiling for a lower-is-better metric); None when none."""
    primary = entry["primary_metric"]
    if primary not in entry["ceiling"]:
        return None
    gaps = {name: (entry["ceiling"][primary] - s[primary]) * (1 if higher_is_better else -1)
            for name, s in entry["floors"].items() if primary in s}
    if not gaps:
        return None
    name = min(gaps, key=gaps.get)
    return name, gaps[name]


def floors_table(entries: dict[str, dict]):
    """A rich table: suite x strategy, the primary metric's score, the ceiling last."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title="no-model floors, altered references (dim) and the references' "
                  "ceiling (primary metric)",
                  title_justify="left", box=None, padding=(0, 1, 0, 0))
    table.add_column("suite", overflow="fold")
    table.add_column("metric", overflow="fold")
    table.add_column("strategy", overflow="fold")
    table.add_column("score", justify="right", no_wrap=True)
    for suite, entry in entries.items():
        primary = entry["primary_metric"]
        for name, scores in entry["floors"].items():
            if primary in scores:
                table.add_row(escape(suite), escape(primary), escape(name), f"{scores[primary]:.3f}")
        for name, scores in entry.get("perturbations", {}).items():
            if primary in scores:
                table.add_row(escape(suite), escape(primary), f"[dim]reference, {escape(name)}[/]",
                              f"[dim]{scores[primary]:.3f}[/]")
        if primary in entry["ceiling"]:
            table.add_row(escape(suite), escape(primary), "[bold]references[/]",
                          f"[bold]{entry['ceiling'][primary]:.3f}[/]")
    return table


def floors_command(recipe_path, overrides=(), json_out=None) -> int:
    """`gongmu eval floors R`: the recipe's suites, built from its corpus stage folder the
    way the eval stage builds them, each scored with every no-model strategy and with its
    references; a table on the console, and with `json_out` the entries as JSON."""
    import json

    from toolkit.console import console
    from toolkit.errors import GongmuError
    from toolkit.eval.suite import recipe_suites
    from toolkit.recipe import load_recipe

    recipe = load_recipe(recipe_path, list(overrides))
    if not recipe.eval.suites:
        raise GongmuError(f"{recipe_path}: eval.suites is empty; name the suites to score "
                          f"(e.g. eval.suites=[evals/gongmun-drafting]).")
    corpus = recipe.stage_dir("corpus")
    entries = {suite.name: suite_floors(suite)
               for suite in recipe_suites(recipe, corpus if corpus.is_dir() else None)}
    console.print(floors_table(entries))
    if json_out:
        from pathlib import Path

        Path(json_out).write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n",
                                  encoding="utf-8")
        console.print(f"written: {json_out}", highlight=False, soft_wrap=True)
    return 0


def results_entry(suite, reference_rows: list[dict] | None = None) -> dict:
    """What the eval stage adds to a suite's entry in results.json: `floors` and
    `ceiling` (`suite_floors`), `clusters` ({item id: cluster}, what the bootstrap
    resamples) and their count. (`min_detectable_diff` comes from the candidates' paired
    differences: `results.detectable_difference_entry`.)"""
    from toolkit.eval.statistics import item_clusters

    entry = suite_floors(suite)
    del entry["primary_metric"]
    clusters = item_clusters(suite.items)
    entry["clusters"] = clusters
    entry["n_clusters"] = len(set(clusters.values()))
    return entry
