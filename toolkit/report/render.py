"""The report's HTML, rendered from summary.json alone (plus the fixed words of
`toolkit.report.labels`): the same summary gives the same page, and an edited summary
gives a changed page."""

from __future__ import annotations

import difflib
import html as html_lib
import math
from pathlib import Path

from toolkit.report import charts, labels


def _num(value, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:.{digits}f}"


def _signed(value, digits: int = 3) -> str:
    return "–" if value is None else f"{value:+.{digits}f}"


def highlight(reference: str, output: str | None) -> str:
    """`output` as HTML with the characters that differ from `reference` marked."""
    if output is None:
        return ""
    matcher = difflib.SequenceMatcher(None, reference or "", output, autojunk=False)
    parts = []
    for op, _, _, j1, j2 in matcher.get_opcodes():
        text = html_lib.escape(output[j1:j2])
        parts.append(text if op == "equal" else f'<mark class="diff">{text}</mark>' if text else "")
    return "".join(parts)


def criterion_text(criterion: dict | None, language: str) -> str:
    if not criterion:
        return labels.t("no_criterion", language)
    if "minimum" in criterion:
        return labels.t("min_of", language, v=_num(float(criterion["minimum"])))
    if "maximum" in criterion:
        return labels.t("max_of", language, v=_num(float(criterion["maximum"])))
    ni = criterion["non_inferiority"]
    return labels.t("noninf_of", language, ref=ni["reference"], m=_num(float(ni["margin"])))


def render_html(summary: dict, summary_sha256: str) -> str:
    """The report page for `summary` (a parsed summary.json)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    lang = summary.get("language", "ko")
    env = Environment(loader=FileSystemLoader(Path(__file__).parent),
                      autoescape=select_autoescape(["html", "j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["num"] = _num
    env.filters["signed"] = _signed
    suites = summary["suites"]
    charts_by_suite = {s["name"]: charts.intervals_svg(s, lang) for s in suites}
    training = summary.get("training") or {}
    loss = charts.loss_svg(training["loss_curve"], lang) if training.get("loss_curve") else ""
    return env.get_template("report.html.j2").render(
        s=summary, lang=lang, summary_sha256=summary_sha256,
        T=lambda key, **kw: labels.t(key, lang, **kw),
        metric=lambda name: labels.metric_label(name, lang),
        suite_label=lambda name, d="": labels.suite_label(name, lang, d),
        task=lambda name: labels.task_label(name, lang),
        verdict=lambda v: labels.verdict_label(v, lang),
        floor=lambda name: labels.floor_label(name, lang),
        mark=lambda v: labels.VERDICT_MARK[v],
        pii=lambda k: labels.pii_label(k, lang),
        date=lambda d: labels.korean_date(d, lang),
        datetime=lambda d: labels.korean_datetime(d, lang) if d else "–",
        criterion=lambda c: criterion_text(c, lang),
        highlight=highlight,
        interval_chart=charts_by_suite, loss_svg=loss,
    )
