"""Impulse-response grid: one row per variable, one column per shock (Agg backend, returned)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from dsge_agents.errors import DSGEError

__all__ = ["plot_irf_grid"]


def plot_irf_grid(irf: pd.DataFrame, variables=None, shocks=None, title: str | None = None,
                  width: float = 2.6, height: float = 1.7, color: str = "C0", figure_kw: dict | None = None):
    """Grid of impulse responses (rows: variables, columns: shocks).

    Parameters
    ----------
    irf : DataFrame
        Tidy IRFs with columns ``shock, variable, period, value`` (``Solution.irf()``).
    variables, shocks : list of str, optional
        Subset and order (default: order of first appearance in ``irf``).
    title : str, optional
        Figure title.
    width, height : float
        Size of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure (never shown; the caller saves or displays it).
    """
    from matplotlib.figure import Figure   # no pyplot: no global state, no GUI backend

    need = {"shock", "variable", "period", "value"}
    if not need.issubset(irf.columns):
        raise DSGEError(f"IRF frame must have columns {sorted(need)}, got {list(irf.columns)}")
    all_vars = list(dict.fromkeys(irf["variable"]))
    all_shocks = list(dict.fromkeys(irf["shock"]))
    variables = all_vars if variables is None else list(variables)
    shocks = all_shocks if shocks is None else list(shocks)
    for v in variables:
        if v not in all_vars:
            raise DSGEError(f"unknown variable {v!r} in the IRFs (have {all_vars})")
    for s in shocks:
        if s not in all_shocks:
            raise DSGEError(f"unknown shock {s!r} in the IRFs (have {all_shocks})")
    nr, nc = max(len(variables), 1), max(len(shocks), 1)
    W, H = width * nc + 0.9, height * nr + 0.9
    fig = Figure(figsize=(W, H), **(figure_kw or {}))
    # fixed margins in inches instead of tight_layout (which measures every tick label)
    fig.subplots_adjust(left=0.75 / W, right=1 - 0.15 / W, bottom=0.5 / H, top=1 - 0.55 / H,
                        wspace=0.35, hspace=0.3)
    axes = np.atleast_2d(fig.subplots(nr, nc, sharex=True, squeeze=False))
    grouped = {k: g for k, g in irf.groupby(["variable", "shock"], sort=False)}
    # responses below 1e-9 of the variable's largest response across the shown shocks are rounding
    # noise (Dynare likewise does not plot responses below 1e-10); draw them as exact zeros
    row_scale = {v: max((float(np.abs(grouped[(v, s)]["value"]).max()) for s in shocks if (v, s) in grouped),
                        default=0.0) for v in variables}
    for i, v in enumerate(variables):
        for j, s in enumerate(shocks):
            ax = axes[i, j]
            g = grouped.get((v, s))
            if g is not None:
                g = g.sort_values("period")
                y = g["value"].to_numpy()
                if np.abs(y).max() <= 1e-9 * row_scale[v]:
                    y = np.zeros_like(y)
                ax.plot(g["period"].to_numpy(), y, color=color, lw=1.5)
            ax.axhline(0.0, color="0.6", lw=0.7)
            ax.tick_params(labelsize=7)
            ax.locator_params(nbins=4)
            if i == 0:
                ax.set_title(s, fontsize=9)
            if j == 0:
                ax.set_ylabel(v, fontsize=9)
            if i == nr - 1:
                ax.set_xlabel("period", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.12 / H, va="top")
    return fig
