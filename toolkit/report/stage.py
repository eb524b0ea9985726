"""The report stage: one self-contained HTML page (no CDN, images inline) a reviewer can
read and sign: base vs tuned scores, training loss, export verification, lineage.

    gongmu report R

Reads the corpus, train, eval and export folders (never their code); writes
<run>/report/report.html and summary.json.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from toolkit.artifacts import StageOutput, read_json, read_jsonl, write_json
from toolkit.recipe import Recipe
from toolkit.stages import Stage

STAGE = Stage(
    name="report",
    command="report",
    summary="Write the self-contained HTML report.",
    sections=("report",),
    upstream=("corpus", "train", "eval", "export"),
    outputs=("report.html", "summary.json"),
    module=__name__,
)

SAMPLES_PER_TASK = 2


def _samples(eval_dir: Path, suite: str) -> list[dict]:
    base = {r["id"]: r for r in read_jsonl(eval_dir / "outputs" / f"{suite}.base.jsonl")}
    tuned = read_jsonl(eval_dir / "outputs" / f"{suite}.tuned.jsonl")
    picked, per_task = [], {}
    for row in tuned:
        task = row.get("task") or "-"
        if per_task.get(task, 0) < SAMPLES_PER_TASK:
            per_task[task] = per_task.get(task, 0) + 1
            picked.append({**row, "base_output": base[row["id"]]["output"]})
    return picked


def check_paths(recipe: Recipe) -> list[str]:
    return []


def run(recipe: Recipe) -> StageOutput:
    """Write the HTML report for `recipe`'s run."""
    from toolkit.stages import stage_run

    with stage_run(recipe, "report") as stage:
        with stage.publish() as out:
            _render(recipe, stage.inputs, out)
        stage.tracking.log_artifact(out.path / "report.html")
    return stage.output


def _render(recipe: Recipe, inputs: dict, out: StageOutput) -> None:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from toolkit import __version__
    from toolkit.plots import loss_curve_svg

    ups = [inputs[s] for s in STAGE.upstream]
    corpus, trained, evaluated, exported = ups
    results = read_json(evaluated.path / "results.json")
    curve = read_jsonl(trained.path / "loss_curve.jsonl")
    suites = []
    for name, entry in results["suites"].items():
        rows = []
        for metric in entry["metrics"]:
            base = entry["models"]["base"]["scores"][metric]
            tuned = entry["models"]["tuned"]["scores"][metric]
            rows.append({"metric": metric, "base": base, "tuned": tuned, "delta": tuned - base,
                         "primary": metric == entry["primary_metric"]})
        tasks = []
        for task, scores in entry["models"]["tuned"]["by_task"].items():
            base_scores = entry["models"]["base"]["by_task"][task]
            tasks.append({"task": task, "items": scores["items"],
                          "base": base_scores[entry["primary_metric"]],
                          "tuned": scores[entry["primary_metric"]]})
        suites.append({"name": name, "entry": entry, "rows": rows, "tasks": tasks,
                       "samples": _samples(evaluated.path, name)})
    context = {
        "title": recipe.report.title or f"gongmu report — {recipe.name}",
        "recipe": recipe,
        "recipe_hash": recipe.hash(),
        "generated": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "suites": suites,
        "train": trained.manifest["figures"],
        "corpus": corpus.manifest["figures"],
        "export": exported.manifest["figures"],
        "verification": read_json(exported.path / "verification.json"),
        "loss_svg": loss_curve_svg(curve) if curve else "",
        "lineage": [(u.stage, u.manifest_sha256, u.manifest["finished_at"]) for u in ups],
        "packages": trained.manifest["packages"],
        "model_path": recipe.model.path,
        "base_model_sha256": read_json(trained.path / "base_model.json")["sha256"],
    }
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = env.get_template("report.html.j2").render(**context)
    summary = {
        "recipe": recipe.name,
        "recipe_hash": recipe.hash(),
        "suites": {
            s["name"]: {r["metric"]: {"base": r["base"], "tuned": r["tuned"]} for r in s["rows"]}
            for s in suites
        },
        "lineage": {stage: sha for stage, sha, _ in context["lineage"]},
    }
    (out.path / "report.html").write_text(html, encoding="utf-8")
    write_json(out.path / "summary.json", summary)
    for s in suites:
        primary = s["entry"]["primary_metric"]
        for label in ("base", "tuned"):
            out.figures[f"{s['name']}/{label}/{primary}"] = round(
                s["entry"]["models"][label]["scores"][primary], 4)
