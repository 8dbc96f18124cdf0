"""Figures of the policy what-if tools (returned, never shown)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["plot_determinacy", "plot_whatif", "plot_transition", "plot_replay"]

_STATUS_COLORS = {"determinate": "#4c9f70", "indeterminate": "#e8b04b",
                  "unstable": "#c8553d", "error": "#9a9a9a"}
_STATUS_CODE = {"determinate": 0, "indeterminate": 1, "unstable": 2, "error": 3}


def _figure(nrows=1, ncols=1, sharex=False, **kw):
    """A pyplot-free :class:`matplotlib.figure.Figure` (safe in workers and headless runs)."""
    from matplotlib.figure import Figure
    fig = Figure(**kw)
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=sharex)
    return fig, axes


def plot_determinacy(dmap, ax=None, title: str | None = None, boundary=None):
    """Regions of a :class:`~dsge_agents.policy.determinacy.DeterminacyMap`.

    1-D maps: a coloured strip per status along the coefficient axis; 2-D maps:
    a categorical image (first parameter on x, second on y). ``boundary`` may be
    a callable x -> y drawn as a reference line (e.g. the Taylor principle).
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch
    f = dmap.frame
    params = dmap.parameters
    if ax is None:
        fig, axes = _figure(figsize=(6, 4.5 if len(params) == 2 else 2.2), layout="constrained")
        ax = axes[0, 0]
    else:
        fig = ax.figure
    order = list(_STATUS_CODE)
    cmap = ListedColormap([_STATUS_COLORS[s] for s in order])
    if len(params) == 1:
        p = params[0]
        g = f.sort_values(p)
        x = g[p].to_numpy(float)
        codes = g["status"].map(_STATUS_CODE).fillna(3).to_numpy(int)
        edges = np.concatenate([[x[0]], (x[1:] + x[:-1]) / 2, [x[-1]]]) if x.size > 1 else \
            np.array([x[0] - 0.5, x[0] + 0.5])
        ax.pcolormesh(edges, [0, 1], codes[None, :], cmap=cmap, vmin=-0.5, vmax=3.5, shading="flat")
        ax.set_yticks([])
        ax.set_xlabel(p)
    elif len(params) == 2:
        a, b = params
        xs = np.sort(f[a].unique())
        ys = np.sort(f[b].unique())
        grid = np.full((ys.size, xs.size), 3)
        xi = {v: i for i, v in enumerate(xs)}
        yi = {v: i for i, v in enumerate(ys)}
        for va, vb, s in zip(f[a], f[b], f["status"]):
            grid[yi[vb], xi[va]] = _STATUS_CODE.get(s, 3)

        def edges(v):
            if v.size == 1:
                return np.array([v[0] - 0.5, v[0] + 0.5])
            mid = (v[1:] + v[:-1]) / 2
            return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])

        ax.pcolormesh(edges(xs), edges(ys), grid, cmap=cmap, vmin=-0.5, vmax=3.5, shading="flat")
        ax.set_xlabel(a)
        ax.set_ylabel(b)
        if boundary is not None:
            xx = np.linspace(xs[0], xs[-1], 200)
            ax.plot(xx, boundary(xx), "k--", lw=1, label="analytic boundary")
            ax.set_ylim(ys[0], ys[-1])
    else:
        raise ValueError("plot_determinacy draws one- or two-parameter maps")
    present = [s for s in order if s in set(f["status"])]
    handles = [Patch(color=_STATUS_COLORS[s], label=s) for s in present]
    if boundary is not None and len(params) == 2:
        from matplotlib.lines import Line2D
        handles.append(Line2D([], [], color="k", ls="--", label="analytic boundary"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ttl = title or f"Determinacy: {dmap.model_name}" + (f" ({dmap.form} rule)" if dmap.form else "")
    ax.set_title(ttl, fontsize=10)
    return fig


def plot_whatif(cmp, shock: str | None = None, variables: Sequence[str] | None = None,
                ncols: int = 3, figsize=None):
    """IRFs of every scenario side by side: one panel per variable, one line per scenario."""
    df = cmp.irfs
    if df.empty:
        raise ValueError("no IRFs to plot (every scenario failed)")
    if shock is None:
        shock = df["shock"].iloc[0]
    if variables is None:
        variables = cmp.report_variables[:9]
    variables = list(variables)
    nrows = int(np.ceil(len(variables) / ncols))
    fig, axes = _figure(nrows, min(ncols, len(variables)),
                        figsize=figsize or (3.3 * min(ncols, len(variables)), 2.5 * nrows),
                        layout="constrained")
    d = df[df["shock"] == shock]
    for k, v in enumerate(variables):
        ax = axes.flat[k]
        for s in cmp.scenarios:
            g = d[(d["scenario"] == s) & (d["variable"] == v)]
            if len(g):
                ax.plot(g["period"], g["value"], label=s, lw=1.4 if s == cmp.scenarios[0] else 1.1,
                        ls="-" if s == cmp.scenarios[0] else "--")
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_title(v, fontsize=9)
    for k in range(len(variables), axes.size):
        axes.flat[k].set_visible(False)
    _label_periods(axes, len(variables), "period (1 = impact)")
    axes.flat[0].legend(fontsize=7)
    fig.suptitle(f"Responses to {shock} (deviation from steady state)", fontsize=10)
    return fig


#: headline aggregates of an orchestrated economy, shown first in a transition figure when they move
_HEADLINE = ("latency", "slo_rate", "cost", "net_value")


def _label_periods(axes, n_used: int, label: str) -> None:
    """x label on the lowest visible panel of every column."""
    nrows, ncols = axes.shape
    for c in range(ncols):
        rows = [r for r in range(nrows) if r * ncols + c < n_used]
        if rows:
            axes[rows[-1], c].set_xlabel(label, fontsize=8)


def _transition_variables(tr, n: int = 6) -> list:
    """Default panels: the economy's headline aggregates that move, then the variables with the
    largest relative change |new − old| / max(|old|, |new|) (a level ranking picked six capacity
    stocks of ~600 requests/min and never latency or its price)."""
    old, new = tr.old_steady_state, tr.new_steady_state
    d = (new - old).abs()
    scale = np.maximum(old.abs(), new.abs())
    moved = d > 1e-9 * np.maximum(1.0, scale)
    rel = (d / scale.where(scale > 0, 1.0)).where(moved, 0.0)
    first = [v for v in _HEADLINE if v in rel.index and moved[v]]
    rest = [v for v in rel.sort_values(ascending=False, kind="stable").index if v not in first and moved[v]]
    chosen = (first + rest)[:n]
    return chosen or list(d.sort_values(ascending=False, kind="stable").index[:n])


def plot_transition(tr, variables: Sequence[str] | None = None, ncols: int = 3, figsize=None):
    """First-order and perfect-foresight transition paths (levels), with the new steady state."""
    if variables is None:
        variables = _transition_variables(tr)
    variables = list(variables)
    nrows = int(np.ceil(len(variables) / ncols))
    nc = min(ncols, len(variables))
    fig, axes = _figure(nrows, nc, figsize=figsize or (3.3 * nc, 2.5 * nrows), layout="constrained")
    t = np.arange(tr.first_order.shape[0])
    for k, v in enumerate(variables):
        j = tr.variables.index(v)
        ax = axes.flat[k]
        ax.plot(t, tr.first_order[:, j], label="first order", lw=1.2)
        if tr.perfect_foresight is not None:
            ax.plot(t, tr.perfect_foresight[:, j], "--", label="perfect foresight", lw=1.2)
        ax.axhline(tr.new_steady_state[v], color="0.5", lw=0.7, ls=":")
        ax.set_title(v, fontsize=9)
    for k in range(len(variables), axes.size):
        axes.flat[k].set_visible(False)
    _label_periods(axes, len(variables), "period (0 = old steady state)")
    axes.flat[0].legend(fontsize=7)
    ch = ", ".join(f"{k}={v:g}" for k, v in tr.changes.items())
    fig.suptitle(f"Transition after {ch} (levels; dotted: new steady state)", fontsize=10)
    return fig


def plot_replay(rep, variables: Sequence[str] | None = None, figsize=None, mark=None):
    """Observed (or baseline) history vs the counterfactual under another rule.

    ``mark``: a period (or list of periods) drawn as a vertical line, e.g. an incident.
    """
    if variables is None:
        variables = [v for v in ("latency", "cost", "slo_rate") if v in rep.counterfactual.columns] or \
            list(rep.counterfactual.columns[:3])
    variables = list(variables)
    fig, axes = _figure(len(variables), 1, figsize=figsize or (7, 2.2 * len(variables)),
                        layout="constrained", sharex=False)
    for k, v in enumerate(variables):
        ax = axes[k, 0]
        ax.plot(rep.baseline.index, rep.baseline[v], label=rep.baseline_label, lw=1.2)
        ax.plot(rep.counterfactual.index, rep.counterfactual[v], "--", label=rep.label, lw=1.2)
        ax.set_title(v, fontsize=9)
        for p in ([] if mark is None else np.atleast_1d(mark)):
            ax.axvline(p, color="0.4", lw=0.8, ls=":")
    axes[0, 0].legend(fontsize=7)
    return fig
