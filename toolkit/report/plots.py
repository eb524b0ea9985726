"""Plots for the report, as inline SVG text (no image files, no CDN)."""

from __future__ import annotations

import io


def loss_curve_svg(curve: list[dict]) -> str:
    """Training loss per optimiser step, as an SVG document string."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcParams["svg.hashsalt"] = "gongmu"  # stable ids: same data, same bytes
    fig, ax = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    steps = [row["step"] for row in curve]
    ax.plot(steps, [row["loss"] for row in curve], color="#1f5fa8", linewidth=1.6)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss (assistant tokens)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    plt.close(fig)
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]
