"""Plots for the report, as inline SVG text (no image files, no CDN)."""

from __future__ import annotations

import io


def _axes(height: float):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "gongmu"  # stable ids: same data, same bytes
    return plt.subplots(figsize=(6.4, height), dpi=100)


def svg_text(fig) -> str:
    """The figure as an SVG document string without a date (same data, same bytes)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]


def loss_curve_svg(curve: list[dict]) -> str:
    """Training loss per optimiser step, as an SVG document string."""
    fig, ax = _axes(3.2)
    steps = [row["step"] for row in curve]
    ax.plot(steps, [row["loss"] for row in curve], color="#1f5fa8", linewidth=1.6)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (assistant tokens)")
    ax.grid(alpha=0.3)
    return svg_text(fig)


def histogram_svg(values: list[float], xlabel: str, ylabel: str) -> str:
    """A 40-bin histogram, as an SVG document string."""
    fig, ax = _axes(3.0)
    ax.hist(values, bins=40, color="#1f5fa8")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    return svg_text(fig)
