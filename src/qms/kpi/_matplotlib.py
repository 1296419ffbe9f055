"""The one place matplotlib is used: a KPI's trend (one line per group), its target line and the
latest period green (met) or red (missed), as SVG (web; text drawn as paths: offline, no font on
the reader's side) or PNG (documents). Figure + the Agg canvas, never pyplot: no global state
shared between the web server's threads, and no pyplot import (~0.8 s)."""

from __future__ import annotations

import io

from .compute import Series, fmt

FONT = "Noto Sans CJK SC"
GREEN, RED, GREY, BLUE = "#1a7f37", "#cf222e", "#6e7781", "#0b5cad"
PALETTE = ("#0b5cad", "#8250df", "#bf8700", "#1b7c83", "#a40e26", "#57606a")
_READY = False


def _setup():
    global _READY
    if _READY:
        return
    import matplotlib    # lazy: matplotlib loads in ~400 ms; only drawing a chart needs it
    matplotlib.use("Agg", force=False)
    matplotlib.rcParams.update({"font.family": "sans-serif", "font.sans-serif": [FONT, "DejaVu Sans"],
                                "axes.unicode_minus": False, "svg.fonttype": "path", "svg.hashsalt": "qms",
                                "font.size": 9})
    _READY = True


def chart(s: Series, fmt_: str = "svg", *, width_in: float = 6.0, height_in: float = 2.6) -> bytes:
    _setup()
    from matplotlib.backends.backend_agg import FigureCanvasAgg    # lazy: matplotlib loads in ~400 ms; only drawing a chart needs it
    from matplotlib.figure import Figure
    k = s.kpi
    fig = Figure(figsize=(width_in, height_in), dpi=150 if fmt_ == "png" else 100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    periods = s.periods
    xs = list(range(len(periods)))
    groups = s.groups[:len(PALETTE)]
    for gi, g in enumerate(groups):
        ys = [(c.value if c.value is not None else float("nan"))
              for p in periods for c in [s.cell(p, g)] if c is not None]
        ax.plot(xs[:len(ys)], ys, marker="o", markersize=3.5, linewidth=1.6, color=PALETTE[gi],
                label=g or k.title)
        last = s.cell(periods[-1], g) if periods else None
        if last is not None and last.value is not None:
            color = {True: GREEN, False: RED}.get(last.met, GREY)
            ax.plot([xs[-1]], [last.value], marker="o", markersize=9, color=color, zorder=5)
            ax.annotate(fmt(k, last.value), (xs[-1], last.value), textcoords="offset points", xytext=(6, 6),
                        color=color, fontsize=9, fontweight="bold")
    if k.target is not None:
        ax.axhline(k.target, color=RED, linestyle="--", linewidth=1.1)
        ax.annotate(f"目标 {'≥' if k.direction == '>=' else '≤'} {fmt(k, k.target)}", (0, k.target),
                    xycoords=("axes fraction", "data"), textcoords="offset points", xytext=(2, 3),
                    color=RED, fontsize=8)
    ax.set_xticks(xs)
    step = max(1, len(xs) // 12)
    ax.set_xticklabels([p if i % step == 0 else "" for i, p in enumerate(periods)], rotation=0, fontsize=8)
    ax.set_title(f"{k.title}" + (f"（{k.unit}）" if k.unit and k.measure != "count" else ""), fontsize=10)
    ax.grid(axis="y", color="#d0d7de", linewidth=0.6)
    ax.spines[["top", "right"]].set_visible(False)
    if len(groups) > 1:
        ax.legend(fontsize=7, frameon=False, loc="best")
    if k.measure == "share":
        ax.set_ylim(bottom=0, top=105)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format=fmt_, metadata={"Date": None} if fmt_ == "svg" else None)
    return out.getvalue()
