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
from toolkit.console import console
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
    """The signing key, and for `report.pdf: true` the browser and font the PDF needs:
    checked before the first stage starts, not after the whole pipeline."""
    from toolkit.report.pdf import INSTALL, missing_for_pdf

    problems = []
    key = signing_key(recipe)
    if key is not None and not key.is_file():
        where = ("signing_key",) if recipe.signing_key else (
            ("report", "signing_key") if recipe.report.signing_key else ("export", "signing_key"))
        problems.append(f"{recipe.where(*where)}: {'.'.join(where)} {key} does not exist; give "
                        f"a PEM elliptic-curve private key.")
    if recipe.report.pdf is True and (missing := missing_for_pdf()):
        problems.append(
            f"{recipe.where('report', 'pdf')}: report.pdf is true, and printing it needs "
            f"{' and '.join(missing)}, which this machine lacks: {INSTALL}. Or set "
            f"report.pdf: auto to write report.html alone and be told how to print the PDF "
            f"later (override: report.pdf=auto).")
    return problems


def notices(recipe: Recipe) -> list[str]:
    """What the run will do differently on this machine, said before the first stage."""
    from toolkit.report.pdf import missing_for_pdf

    if recipe.report.pdf == "auto" and (missing := missing_for_pdf()):
        return [f"report.pdf: auto, and this machine lacks {' and '.join(missing)}: the report "
                f"stage will write report.html alone. {_how_to_get_pdf(recipe)}"]
    return []


def _how_to_get_pdf(recipe: Recipe) -> str:
    from toolkit.report.pdf import INSTALL

    return (f"To get report.pdf: {INSTALL}; then run `gongmu report {recipe.file}` again "
            f"(seconds: it reads the folders already built).")


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
    from toolkit.report.pdf import missing_for_pdf

    missing = missing_for_pdf() if recipe.report.pdf == "auto" else []
    render_folder(out.path, pdf=bool(recipe.report.pdf) and not missing)
    out.figures["pdf"] = ("printed" if recipe.report.pdf and not missing else
                          "not asked (report.pdf: false)" if not recipe.report.pdf else
                          f"not printed: no {' and no '.join(missing)}")
    if missing:
        console.print(f"[yellow]report.pdf was not printed[/]: this machine lacks "
                      f"{' and '.join(missing)}. report.html is complete. "
                      f"{_how_to_get_pdf(recipe)}", highlight=False, soft_wrap=True)
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
