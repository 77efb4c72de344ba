"""Figures of the claims stage (``workflow/rules/claims.smk``): ``paper_comparison_figure``, the run's
numbers beside the paper's (``summary/paper_comparison.csv``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from manifold_xai.figures.style import add_note, plt, save


def paper_comparison_figure(table: pd.DataFrame, path, *, dpi: int = 150) -> None:
    """One row per quantity of docs/paper.md §15 that is a number (``table``: the rows of
    paper_comparison.csv): our mean across seeds with its 95% interval (bar) and the paper's value
    (diamond), one colour per dataset; a row whose interval holds the paper's value is drawn filled."""
    numeric = table[pd.to_numeric(table["paper_value"], errors="coerce").notna()].copy()
    numeric["paper"] = pd.to_numeric(numeric["paper_value"])
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * max(len(numeric), 3) + 1.4))
    if numeric.empty:
        ax.axis("off")
        ax.set_title("The paper's numbers: no dataset runs the paper's MNIST32 protocol")
        save(fig, path, dpi)
        return
    datasets = sorted(numeric["dataset"].unique())
    palette = plt.cm.tab10.colors
    labels, colours = [], {d: palette[i % len(palette)] for i, d in enumerate(datasets)}
    for y, (_, r) in enumerate(numeric.iterrows()):
        colour = colours[r["dataset"]]
        low, high = r["ci_low"], r["ci_high"]
        if np.isfinite(low) and np.isfinite(high):
            ax.hlines(y, low, high, color=colour, lw=2)
        filled = r["inside"] == "yes"
        ax.plot(r["value"], y, "o", color=colour, mfc=colour if filled else "white", ms=6)
        ax.plot(r["paper"], y, "D", color="black", ms=5, mfc="none")
        labels.append(f"§15 #{r['paper_row']}: {r['quantity']} ({r['dataset']})")
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="value (fraction or error rate)", xlim=(0, 1.02))
    ax.set_title("This run (dot, 95% t-interval over seeds) beside the paper (◇)", fontsize=9)
    add_note(ax, "filled dot: the paper's value lies inside our interval")
    fig.tight_layout()
    save(fig, path, dpi)
