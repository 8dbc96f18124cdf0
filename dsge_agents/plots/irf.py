"""Impulse-response grid: one row per variable, one column per shock (Agg, returned, never shown).

Two renderings of the same grid share one layout:

* the default draws one matplotlib ``Axes`` per panel (zoomable, restylable: ``fig.axes``);
* ``light=True`` draws every panel directly as figure-level artists (one polyline for all
  curves, one for all frames and tick marks, a few text labels): no ``Axes``/``Axis``/``Tick``
  objects, which is what makes a 27-panel PNG cost ~0.1 s instead of ~1 s. The command line
  (``dsge-agents irf``) writes its PNG this way.

Inputs are plain data: a tidy frame (``plot_irf_grid``) or arrays (``plot_irf_panels``); this module
imports pandas only to read a frame.
"""
from __future__ import annotations

import math

import numpy as np

from dsge_agents.errors import DSGEError

__all__ = ["plot_irf_grid", "plot_irf_panels"]

#: responses below this fraction of the variable's largest response across the shown shocks are
#: rounding noise (Dynare likewise does not plot responses below 1e-10); drawn as exact zeros
_NOISE = 1e-9


def plot_irf_grid(irf, variables=None, shocks=None, title: str | None = None,
                  width: float = 2.6, height: float = 1.7, color: str = "C0", figure_kw: dict | None = None,
                  light: bool = False):
    """Grid of impulse responses (rows: variables, columns: shocks) from a tidy frame.

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
    light : bool
        Draw panels as figure-level artists instead of Axes (fast; see the module docstring).

    Returns
    -------
    matplotlib.figure.Figure (never shown; the caller saves or displays it).
    """
    need = {"shock", "variable", "period", "value"}
    if not need.issubset(getattr(irf, "columns", ())):
        raise DSGEError(f"IRF frame must have columns {sorted(need)}, got {list(getattr(irf, 'columns', []))}")
    all_vars = list(dict.fromkeys(irf["variable"]))
    all_shocks = list(dict.fromkeys(irf["shock"]))
    periods = np.unique(irf["period"].to_numpy())
    # (shock, period, variable) array; combinations missing from the frame stay NaN (empty panels)
    arr = np.full((len(all_shocks), len(periods), len(all_vars)), np.nan)
    si = {s: k for k, s in enumerate(all_shocks)}
    vi = {v: k for k, v in enumerate(all_vars)}
    arr[irf["shock"].map(si).to_numpy(), np.searchsorted(periods, irf["period"].to_numpy()),
        irf["variable"].map(vi).to_numpy()] = irf["value"].to_numpy(dtype=float)
    return plot_irf_panels(periods, arr, all_shocks, all_vars, variables=variables, shocks=shocks, title=title,
                           width=width, height=height, color=color, figure_kw=figure_kw, light=light)


def plot_irf_panels(periods, responses, shock_names, var_names, variables=None, shocks=None,
                    title: str | None = None, width: float = 2.6, height: float = 1.7, color: str = "C0",
                    figure_kw: dict | None = None, light: bool = False):
    """Grid of impulse responses from arrays (what :meth:`Solution.plot_irf` calls; no pandas).

    Parameters
    ----------
    periods : array (P,)
        Horizontal axis (period 1 = impact).
    responses : array (n_shocks, P, n_vars)
        ``responses[k, t, j]`` = response of ``var_names[j]`` to ``shock_names[k]`` at ``periods[t]``
        (NaN = not available).
    variables, shocks : list of str, optional
        Panels to draw and their order (default: all).
    Other parameters as :func:`plot_irf_grid`.
    """
    shock_names, var_names = list(shock_names), list(var_names)
    variables = var_names if variables is None else ([variables] if isinstance(variables, str) else list(variables))
    shocks = shock_names if shocks is None else ([shocks] if isinstance(shocks, str) else list(shocks))
    for v in variables:
        if v not in var_names:
            raise DSGEError(f"unknown variable {v!r} in the IRFs (have {var_names})")
    for s in shocks:
        if s not in shock_names:
            raise DSGEError(f"unknown shock {s!r} in the IRFs (have {shock_names})")
    x = np.asarray(periods, dtype=float)
    resp = np.asarray(responses, dtype=float)
    if resp.shape != (len(shock_names), len(x), len(var_names)):
        raise DSGEError(f"responses have shape {resp.shape}, expected "
                        f"{(len(shock_names), len(x), len(var_names))} (shocks, periods, variables)")
    # panels[i][j]: the curve of variable i under shock j (None if missing), rounding noise zeroed
    panels = []
    for v in variables:
        cols = [resp[shock_names.index(s), :, var_names.index(v)] for s in shocks]
        scale = max((float(np.nanmax(np.abs(y))) for y in cols if np.isfinite(y).any()), default=0.0)
        row = []
        for y in cols:
            if not np.isfinite(y).any():
                row.append(None)
                continue
            row.append(np.zeros_like(y) if np.nanmax(np.abs(y)) <= _NOISE * scale else y)
        panels.append(row)
    draw = _draw_light if light else _draw_axes
    return draw(x, panels, variables, shocks, title, width, height, color, figure_kw or {})


# --------------------------------------------------------------------------- Axes rendering
def _draw_axes(x, panels, variables, shocks, title, width, height, color, figure_kw):
    from matplotlib.figure import Figure   # no pyplot: no global state, no GUI backend

    nr, nc = max(len(variables), 1), max(len(shocks), 1)
    W, H = width * nc + 0.9, height * nr + 0.9
    fig = Figure(figsize=(W, H), **figure_kw)
    # fixed margins in inches instead of tight_layout (which measures every tick label)
    fig.subplots_adjust(left=0.75 / W, right=1 - 0.15 / W, bottom=0.5 / H, top=1 - 0.55 / H,
                        wspace=0.35, hspace=0.3)
    axes = np.atleast_2d(fig.subplots(nr, nc, sharex=True, squeeze=False))
    for i, v in enumerate(variables):
        for j, s in enumerate(shocks):
            ax = axes[i, j]
            y = panels[i][j]
            if y is not None:
                ax.plot(x, y, color=color, lw=1.5)
                ax.set_ylim(*_ylim(y))
            # the zero line as plain data (axhline re-runs autoscaling)
            ax.plot([x[0], x[-1]], [0.0, 0.0], color="0.6", lw=0.7, zorder=1)
            ax.tick_params(labelsize=7)
            ax.locator_params(nbins=4)
            if i == 0:
                ax.set_title(s, fontsize=9)
            if j == 0:
                ax.set_ylabel(v, fontsize=9)
            if i == nr - 1:
                ax.set_xlabel("period", fontsize=8)
    if len(x):
        axes[0, 0].set_xlim(*_xlim(x))
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.12 / H, va="top")
    return fig


# --------------------------------------------------------------------------- light rendering
_TICK_FS = 7           # tick label font size (points)
_CHAR_W = 0.62 / 72    # width of one tick-label character per point of font size (inches), DejaVu Sans
_TICK_LEN = 0.045      # tick mark length (inches)


def _draw_light(x, panels, variables, shocks, title, width, height, color, figure_kw):
    """Every panel as figure-level artists (inches → figure fractions computed here)."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    nr, nc = max(len(variables), 1), max(len(shocks), 1)
    xlo, xhi = _xlim(x) if len(x) else (0.0, 1.0)
    xticks = [t for t in _nice_ticks(xlo, xhi, 4, integer=True) if xlo <= t <= xhi]
    # y ticks and their labels first: the label widths size the margins
    yinfo = [[_yticks(panels[i][j]) for j in range(len(shocks))] for i in range(len(variables))]
    lab_w = max((len(s) for row in yinfo for (_, _, labs, _) in row for s in labs), default=1)
    lab_in = lab_w * _CHAR_W * _TICK_FS + _TICK_LEN + 0.06          # tick labels + mark + pad
    # overall size as the Axes rendering (``width`` x ``height`` per cell incl. gaps + 0.9 in margins)
    W, H = width * nc + 0.9, height * nr + 0.9
    top, bottom, right = 0.55, 0.5, 0.15
    left = max(0.75, lab_in + 9 / 72 + 0.12)                         # tick labels + the variable name
    gap = max(0.25 * width, lab_in + 0.12)
    pw = max((W - left - right - (nc - 1) * gap) / nc, 0.5)
    W = left + nc * pw + (nc - 1) * gap + right
    ph = (H - top - bottom) / (nr + 0.3 * (nr - 1))
    vgap = 0.3 * ph
    fig = Figure(figsize=(W, H), **figure_kw)
    fx, fy = (lambda a: np.asarray(a, float) / W), (lambda a: np.asarray(a, float) / H)

    curves, frames, marks, zeros = [], [], [], []
    texts = []   # (x_in, y_in, s, size, ha, va, rotation)

    def add(store, xs, ys):
        store.append((np.append(np.asarray(xs, float), np.nan), np.append(np.asarray(ys, float), np.nan)))

    for i in range(nr):
        y0 = bottom + (nr - 1 - i) * (ph + vgap)                # panel's lower edge (inches)
        for j in range(nc):
            x0 = left + j * (pw + gap)
            add(frames, [x0, x0 + pw, x0 + pw, x0, x0], [y0, y0, y0 + ph, y0 + ph, y0])

            def px(v):
                return x0 + (np.asarray(v, float) - xlo) / (xhi - xlo) * pw

            if i >= len(variables) or j >= len(shocks):
                continue
            (ylo, yhi), ticks, labels, offset = yinfo[i][j]

            def py(v):
                return y0 + (np.asarray(v, float) - ylo) / (yhi - ylo) * ph

            if ylo <= 0.0 <= yhi:
                add(zeros, px([xlo, xhi]), py([0.0, 0.0]))
            y = panels[i][j]
            if y is not None:
                add(curves, px(x), py(y))
            for t, s in zip(ticks, labels):
                yy = float(py(t))
                add(marks, [x0 - _TICK_LEN, x0], [yy, yy])
                texts.append((x0 - _TICK_LEN - 0.03, yy, s, _TICK_FS, "right", "center", 0))
            if offset:
                texts.append((x0, y0 + ph + 0.03, offset, _TICK_FS, "left", "bottom", 0))
            for t in xticks:
                xx = float(px(t))
                add(marks, [xx, xx], [y0, y0 - _TICK_LEN])
                if i == nr - 1:
                    texts.append((xx, y0 - _TICK_LEN - 0.03, _fmt(t, 0), _TICK_FS, "center", "top", 0))
            if i == 0:
                texts.append((x0 + pw / 2, y0 + ph + (0.2 if offset else 0.06), shocks[j], 9,
                              "center", "bottom", 0))
            if j == 0:
                texts.append((x0 - lab_in - 0.04, y0 + ph / 2, variables[i], 9, "right", "center", 90))
            if i == nr - 1:
                texts.append((x0 + pw / 2, y0 - 0.3, "period", 8, "center", "top", 0))

    def polyline(store, **kw):
        if store:
            xs = np.concatenate([a for a, _ in store])
            ys = np.concatenate([b for _, b in store])
            fig.add_artist(Line2D(fx(xs), fy(ys), transform=fig.transFigure, **kw))

    polyline(zeros, color="0.6", lw=0.7)
    polyline(curves, color=color, lw=1.5)
    polyline(frames, color="black", lw=0.8)
    polyline(marks, color="black", lw=0.8)
    for xi, yi, s, size, ha, va, rot in texts:
        fig.text(xi / W, yi / H, s, fontsize=size, ha=ha, va=va, rotation=rot)
    if title:
        fig.text(0.5, 1 - 0.12 / H, title, fontsize=10, ha="center", va="top")
    return fig


# --------------------------------------------------------------------------- scales and ticks
def _xlim(x):
    lo, hi = float(np.min(x)), float(np.max(x))
    m = 0.03 * (hi - lo) if hi > lo else 0.5
    return lo - m, hi + m


def _ylim(y):
    """Range of a curve with the zero line included and a 6 % margin (a flat zero curve: ±1)."""
    y = y[np.isfinite(y)]
    lo, hi = min(float(y.min(initial=0.0)), 0.0), max(float(y.max(initial=0.0)), 0.0)
    if hi <= lo:
        return -1.0, 1.0
    pad = 0.06 * (hi - lo)
    return lo - pad, hi + pad


def _nice_ticks(lo: float, hi: float, nbins: int, integer: bool = False) -> list[float]:
    """At most ``nbins + 1`` round tick values covering [lo, hi]: step 1, 2, 2.5 or 5 × 10^k (Heckbert 1990)."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / nbins
    mag = 10.0 ** math.floor(math.log10(raw))
    steps = (1.0, 2.0, 5.0, 10.0) if integer else (1.0, 2.0, 2.5, 5.0, 10.0)
    step = next(s * mag for s in steps if s * mag >= raw * (1 - 1e-12))
    if integer:
        step = max(step, 1.0)
    first = math.ceil(lo / step - 1e-9) * step
    out, k = [], 0
    while first + k * step <= hi + 1e-9 * step:
        t = first + k * step
        out.append(0.0 if abs(t) < 1e-9 * step else t)
        k += 1
    return out


def _fmt(t: float, decimals: int) -> str:
    s = f"{t:.{decimals}f}"
    return "0" if float(s) == 0 else s.replace("-", "\u2212")


def _yticks(y):
    """``((lo, hi), ticks, labels, offset)`` of one panel; labels share a power of ten shown as
    ``offset`` (e.g. ``1e-6``) when the values are below 1e-3 or above 1e4 in magnitude."""
    lo, hi = _ylim(y) if y is not None else (-1.0, 1.0)
    if y is not None and not np.any(y):
        return (lo, hi), [0.0], ["0"], ""
    ticks = _nice_ticks(lo, hi, 4)
    big = max(abs(t) for t in ticks) or 1.0
    e = math.floor(math.log10(big))
    scale, offset = (10.0 ** e, f"1e{e}") if (e < -3 or e > 4) else (1.0, "")
    scaled = [t / scale for t in ticks]
    step = (scaled[1] - scaled[0]) if len(scaled) > 1 else 1.0
    decimals = 0
    while decimals < 8 and any(abs(round(s, decimals) - s) > 1e-6 * step for s in scaled):
        decimals += 1
    return (lo, hi), ticks, [_fmt(s, decimals) for s in scaled], offset
