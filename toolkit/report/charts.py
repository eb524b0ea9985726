"""The report's charts as inline SVG (vector; glyphs drawn as paths, so they print
without the font): the loss curve, and each suite's intervals against its criterion."""

from __future__ import annotations

import glob
import math
import shutil
import subprocess

from toolkit.plots import svg_text

_FONT: list[str] | None = None


def korean_font() -> str | None:
    """A Korean font family matplotlib can draw (Noto Sans CJK KR, Nanum), registered on
    first use; None when none is installed (then the charts use English labels)."""
    global _FONT
    if _FONT is None:
        from matplotlib import font_manager

        files = glob.glob("/usr/share/fonts/**/NotoSansCJK-Regular.ttc", recursive=True)
        files += glob.glob("/usr/share/fonts/**/NanumGothic.ttf", recursive=True)
        if not files and shutil.which("fc-list"):
            out = subprocess.run(["fc-list", ":lang=ko", "file"], capture_output=True,
                                 text=True, timeout=30).stdout
            files = [line.split(":")[0] for line in out.splitlines() if line.strip()][:1]
        _FONT = []
        for path in files[:1]:
            font_manager.fontManager.addfont(path)
            _FONT = ["Noto Sans CJK KR" if "CJK" in path else
                     font_manager.FontProperties(fname=path).get_name()]
    return _FONT[0] if _FONT else None


def _axes(width: float, height: float, language: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "gongmu"
    matplotlib.rcParams["svg.fonttype"] = "path"
    font = korean_font() if language == "ko" else None
    matplotlib.rcParams["font.family"] = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    matplotlib.rcParams["axes.unicode_minus"] = False
    return plt.subplots(figsize=(width, height), dpi=100)


def _ko(language: str) -> bool:
    return language == "ko" and korean_font() is not None


def loss_svg(curve: list[dict], language: str) -> str:
    fig, ax = _axes(6.4, 2.8, language)
    ax.plot([r["step"] for r in curve], [r["loss"] for r in curve], color="#1f5fa8", linewidth=1.6)
    ko = _ko(language)
    ax.set_xlabel("학습 단계" if ko else "optimizer step")
    ax.set_ylabel("손실" if ko else "training loss")
    ax.grid(alpha=0.3)
    return svg_text(fig)


def intervals_svg(suite: dict, language: str) -> str:
    """Each candidate's mean and 95% interval of the suite's metric, with the criterion as
    a dashed line (the acceptance table, drawn)."""
    rows = [r for r in suite["rows"] if r.get("mean") is not None]
    fig, ax = _axes(6.4, 0.5 + 0.42 * max(len(rows), 1), language)
    for y, row in enumerate(rows):
        low, high = row.get("low"), row.get("high")
        if low is not None and high is not None and not math.isnan(low):
            ax.plot([low, high], [y, y], color="#444", linewidth=2)
        ax.plot([row["mean"]], [y], marker="o", color="#1f5fa8", markersize=6)
    ax.set_yticks(range(len(rows)), [r["candidate"] for r in rows])
    criterion = suite.get("criterion") or {}
    level = criterion.get("minimum", criterion.get("maximum"))
    if level is not None:
        ax.axvline(float(level), color="#a11", linestyle="--", linewidth=1.2)
    floor = suite.get("best_floor")
    if floor is not None:  # what a program with no model scores: 적합 must clear it
        ax.axvline(float(floor["score"]), color="#777", linestyle=":", linewidth=1.4)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.invert_yaxis()
    ax.grid(axis="x", alpha=0.3)
    ko = _ko(language)
    notes = ([("파선: 기준" if ko else "dashed: criterion")] if level is not None else []) + (
        [("점선: 모델 없는 전략의 최고 점수" if ko else "dotted: best no-model score")]
        if floor is not None else [])
    ax.set_xlabel(("평균과 95% 신뢰구간" if ko else "mean and 95% interval")
                  + (f" ({', '.join(notes)})" if notes else ""))
    return svg_text(fig)
