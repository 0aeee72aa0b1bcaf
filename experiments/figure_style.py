"""One look and one way to save for every figure: the palette, the style, the formatters of
money, shares and counts, the labels of outcomes and factors, and ``save_figure``.

Figures are drawn for files only, never a window: importing this module selects matplotlib's
Agg backend (before any figure is made, so after the imports is in time).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import Formatter, FuncFormatter

from experiments.storage import atomic_write
from model.params import PARAMS

matplotlib.use("Agg")

PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
           "#000000", "#999999", "#882255", "#44AA99"]
"""Okabe-Ito colours (colour-blind safe), extended with two of Tol's."""
PNG_DPI = 150
STYLE = {"axes.prop_cycle": plt.cycler(color=PALETTE), "axes.spines.top": False,
         "axes.spines.right": False, "axes.grid": True, "grid.alpha": 0.3, "font.size": 10,
         "axes.titlesize": 11, "figure.titlesize": 12, "legend.frameon": False, "axes.axisbelow": True,
         "savefig.dpi": PNG_DPI}
"""One look for every figure: light grid, no box, the palette above, 150 dpi PNGs."""
HEATMAP = "viridis"
"""Perceptually uniform and readable by colour-blind viewers and in greyscale."""


# --- saving --------------------------------------------------------------------------------------
def save_figure(fig: Figure, stem: Path, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write ``fig`` as ``stem`` with each format's suffix (PNG at 150 dpi, SVG), each file whole
    or absent: written under a temporary name in the same folder, then renamed, so a reader or
    an interrupted command never meets half a figure. Closes the figure; returns the files in
    the order of ``formats``."""
    files = []
    for kind in formats:
        path = stem.with_suffix(f".{kind}")
        options = {"format": kind, "dpi": PNG_DPI} if kind == "png" else {"format": kind}
        atomic_write(path, lambda p, options=options: fig.savefig(p, **options))
        files.append(path)
    plt.close(fig)
    return files


# --- units ---------------------------------------------------------------------------------------
def money(value: float, _pos=None) -> str:
    sign = "-" if value < 0 else ""
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{sign}${abs(value) / limit:.3g}{suffix}"
    return f"{sign}${abs(value):.3g}"


def percent(share: float, _pos=None) -> str:
    return f"{100 * share:.3g}%"


def count(value: float, _pos=None, scale: float | None = None) -> str:
    """A count in M or k from 1e6 or 1e4 up (of ``scale``, the axis's largest value, so that an
    axis keeps one unit), else as it is."""
    scale = abs(value) if scale is None else scale
    if value == 0:
        return "0"
    if scale >= 1e6:
        return f"{value / 1e6:.4g}M"
    if scale >= 1e4:
        return f"{value / 1e3:.4g}k"
    return f"{value:,.0f}" if scale >= 100 else f"{value:.3g}"


class CountFormatter(Formatter):
    """``count`` with one unit per axis: 0, 5k, 10k rather than 0, 5,000, 10k."""

    def __call__(self, value, pos=None):
        scale = max(map(abs, self.axis.get_view_interval())) if self.axis else None
        return count(value, scale=scale)


# --- labels --------------------------------------------------------------------------------------
OUTCOME_LABELS = {
    "revenue_total": "revenue over the run (USD)",
    "churned_share": "users who left (% of all who joined)",
    "users_active_final": "active users at the end (sample)",
    "revenue_per_user_mean": "revenue per active user per day (USD)",
}


def factor_label(name: str) -> str:
    """A parameter with its unit, from the parameter schema."""
    unit = PARAMS[name].unit if name in PARAMS else ""
    return f"{name} ({unit})" if unit and unit != "mode" else name


def outcome_label(name: str) -> str:
    return OUTCOME_LABELS.get(name, name.replace("_", " "))


def outcome_formatter(name: str):
    if name.startswith("revenue"):
        return FuncFormatter(money)
    if "share" in name:
        return FuncFormatter(percent)
    return CountFormatter()


def format_value(name: str, value: float) -> str:
    return outcome_formatter(name)(value, None)
