"""The report stage: the evaluation report a procurement reviewer reads, signs and
defends, in Korean (or English with `report.language: en`).

    gongmu report R
    gongmu report verify DIR [--public-key PEM]

Reads the upstream folders (manifests, results.json, outputs/*.jsonl, verification.json;
never another stage's code) and writes <run>/report/:

- summary.json: every figure the report shows (`toolkit.report.summary`);
- report.html: rendered from summary.json alone (`toolkit.report.render`);
- report.pdf: report.html printed by headless Chromium (A4, page numbers, Korean fonts
  embedded; `toolkit.report.pdf`).

All three are hashed in the manifest, which is signed when `signing_key`,
`report.signing_key` or `export.signing_key` is set. `gongmu report verify` checks the
hashes, the signature and the lineage back to the corpus (`toolkit.report.verify`).
"""

from __future__ import annotations

import datetime as dt
import json

from toolkit.artifacts import StageOutput
from toolkit.recipe import Recipe
from toolkit.stages import Stage

STAGE = Stage(
    name="report",
    command="report",
    summary="Write the evaluation report: report.html, report.pdf and summary.json.",
    sections=("report",),
    upstream=("eval",),
    optional_upstream=("corpus", "train", "export"),
    outputs=("report.html", "report.pdf", "summary.json"),
    module=__name__,
)


def signing_key(recipe: Recipe):
    """The key that signs the report folder: signing_key, report.signing_key or
    export.signing_key (the first set)."""
    return recipe.signing_key or recipe.report.signing_key or recipe.export.signing_key


def check_paths(recipe: Recipe) -> list[str]:
    key = signing_key(recipe)
    if key is not None and not key.is_file():
        where = ("signing_key",) if recipe.signing_key else (
            ("report", "signing_key") if recipe.report.signing_key else ("export", "signing_key"))
        return [f"{recipe.where(*where)}: {'.'.join(where)} {key} does not exist; give a PEM "
                f"elliptic-curve private key."]
    return []


def run(recipe: Recipe) -> StageOutput:
    """Write summary.json, report.html and report.pdf for `recipe`'s run."""
    from toolkit.stages import stage_run

    with stage_run(recipe, "report") as stage:
        summary = _setup_summary(recipe, stage.inputs)
        seal = None
        key = signing_key(recipe)
        if key is not None and recipe.signing_key is None:
            from toolkit.signing import sign_manifest

            seal = lambda folder: sign_manifest(folder, key)  # noqa: E731
        with stage.publish(seal=seal) as out:
            _write(recipe, summary, out)
        stage.tracking.log_artifact(out.path / "report.html")
    return stage.output


def _setup_summary(recipe: Recipe, inputs: dict) -> dict:
    from toolkit.report.summary import build_summary

    return build_summary(recipe, inputs, generated=dt.datetime.now(dt.timezone.utc).date().isoformat())


def _write(recipe: Recipe, summary: dict, out: StageOutput) -> None:
    from toolkit.report.summary import summary_bytes, summary_sha256

    data = summary_bytes(summary)
    (out.path / "summary.json").write_bytes(data)
    render_folder(out.path, pdf=recipe.report.pdf)
    out.figures["summary_sha256"] = summary_sha256(data)
    out.figures["language"] = summary["language"]
    for name, verdict in summary["overall"].items():
        out.figures[f"verdict/{name}"] = verdict
    for suite in summary["suites"]:
        for row in suite["rows"]:
            out.figures[f"{suite['name']}/{row['candidate']}/verdict"] = row["verdict"]


def render_folder(folder, *, pdf: bool = True) -> None:
    """(Re)write report.html, and report.pdf, in `folder` from its summary.json alone."""
    from toolkit.report.pdf import print_pdf
    from toolkit.report.render import render_html
    from toolkit.report.summary import summary_sha256

    data = (folder / "summary.json").read_bytes()
    html = render_html(json.loads(data), summary_sha256(data))
    (folder / "report.html").write_text(html, encoding="utf-8")
    if pdf:
        print_pdf(folder / "report.html", folder / "report.pdf")
