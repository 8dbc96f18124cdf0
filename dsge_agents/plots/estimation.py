"""Estimation figures (returned, never shown): priors vs posteriors, traces, IRF bands,
smoothed shocks, historical shock decomposition, mode curvature."""
from __future__ import annotations

import math

import numpy as np

__all__ = ["plot_priors_posteriors", "plot_traces", "plot_irf_bands", "plot_shock_decomposition",
           "plot_smoothed", "plot_mode"]


def _fig(n, ncols=3, w=3.4, h=2.5):
    from matplotlib.figure import Figure   # no pyplot, no backend switch (the user's stays)
    nrows = max(1, math.ceil(n / ncols))
    ncols = min(ncols, max(n, 1))
    fig = Figure(figsize=(w * ncols, h * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return fig, axes


def plot_priors_posteriors(res):
    """Prior density (line), posterior histogram (or Laplace normal at the mode) and the mode."""
    sp = res.llk.space
    fig, axes = _fig(len(sp))
    D = res.kept().reshape(-1, len(sp)) if res.chains is not None else None
    for i, (ax, p) in enumerate(zip(axes, sp.params)):
        m, s = res.mode.mode[i], res.mode.std[i]
        if D is not None:
            lo, hi = np.quantile(D[:, i], [0.001, 0.999])
        else:
            lo, hi = m - 4 * s, m + 4 * s
        span = hi - lo
        grid = np.linspace(max(lo - span, p.lower + 1e-12 * max(1, abs(p.lower)) if np.isfinite(p.lower)
                               else lo - span), min(hi + span, p.upper - 1e-12 if np.isfinite(p.upper)
                                                    else hi + span), 300)
        if p.prior.shape != "flat":          # maximum-likelihood entry: no prior to draw
            pri = np.exp([p.prior.logpdf(g) for g in grid])
            ax.plot(grid, pri, color="0.5", lw=1.2, label="prior")
        if D is not None:
            ax.hist(D[:, i], bins=50, density=True, color="C0", alpha=0.6, label="posterior")
        else:
            ax.plot(grid, np.exp(-0.5 * ((grid - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)),
                    color="C0", label="Laplace")
        ax.axvline(m, color="C3", lw=1, label="mode")
        ax.set_title(p.name, fontsize=9)
    axes[0].legend(fontsize=7)
    fig.suptitle("Priors and posteriors")
    return fig


def plot_traces(res):
    """Trace of every parameter, one line per chain (burn-in shaded)."""
    sp = res.llk.space
    D = res.chains.draws
    fig, axes = _fig(len(sp), ncols=3, w=3.6, h=2.0)
    drop = int(np.floor(res.mh_drop * D.shape[1]))
    for i, ax in enumerate(axes[:len(sp)]):
        for c in range(D.shape[0]):
            ax.plot(D[c, :, i], lw=0.4, alpha=0.8)
        ax.axvspan(0, drop, color="0.9")
        ax.set_title(sp.names[i], fontsize=9)
    fig.suptitle("MCMC traces (shaded: burn-in)")
    return fig


def plot_irf_bands(irf, variables=None, shocks=None):
    """IRF posterior means with HPD bands from a tidy frame (shock, variable, period, value, hpd_*)."""
    shocks = list(dict.fromkeys(irf["shock"])) if shocks is None else list(shocks)
    variables = list(dict.fromkeys(irf["variable"]))[:8] if variables is None else list(variables)
    fig, axes = _fig(len(variables) * len(shocks), ncols=len(variables), w=2.6, h=2.0)
    k = 0
    for s in shocks:
        for v in variables:
            ax = axes[k]
            d = irf[(irf["shock"] == s) & (irf["variable"] == v)]
            ax.plot(d["period"], d["value"], color="C0")
            if "hpd_low" in d:
                ax.fill_between(d["period"], d["hpd_low"], d["hpd_high"], color="C0", alpha=0.25)
            ax.axhline(0, color="0.6", lw=0.6)
            ax.set_title(f"{v} ← {s}", fontsize=8)
            k += 1
    fig.suptitle("Posterior impulse responses (HPD bands)")
    return fig


def plot_shock_decomposition(dec, variables=None):
    """Stacked bars of shock contributions with the observed deviation as a line."""
    variables = list(dict.fromkeys(dec["variable"]))[:4] if variables is None else list(variables)
    fig, axes = _fig(len(variables), ncols=1, w=9, h=2.8)
    for ax, v in zip(axes, variables):
        d = dec[dec["variable"] == v].pivot(index="period", columns="component", values="value")
        pos = np.zeros(len(d))
        neg = np.zeros(len(d))
        for j, c in enumerate(d.columns):
            vals = d[c].to_numpy()
            base = np.where(vals >= 0, pos, neg)
            ax.bar(d.index, vals, bottom=base, width=1.0, label=c, color=f"C{j % 10}")
            pos += np.clip(vals, 0, None)
            neg += np.clip(vals, None, 0)
        ax.plot(d.index, d.sum(axis=1), color="k", lw=1, label="total")
        ax.set_title(v, fontsize=9)
    axes[0].legend(fontsize=7, ncol=4)
    fig.suptitle("Historical shock decomposition")
    return fig


def plot_smoothed(sm, which="shocks"):
    """Smoothed shocks (or variables) over time."""
    df = sm.shocks if which == "shocks" else sm.variables
    cols = list(df.columns)[:12]
    fig, axes = _fig(len(cols), ncols=3, w=3.4, h=2.0)
    for ax, c in zip(axes, cols):
        ax.plot(np.arange(len(df)), df[c].to_numpy(), lw=0.8)
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_title(c, fontsize=9)
    fig.suptitle(f"Smoothed {which}")
    return fig


def plot_mode(mode):
    """Prior densities with the mode ± 2 s.e. (Laplace) for each parameter."""
    sp = mode.space
    fig, axes = _fig(len(sp))
    for i, (ax, p) in enumerate(zip(axes, sp.params)):
        m, s = mode.mode[i], mode.std[i]
        grid = np.linspace(m - 4 * s, m + 4 * s, 200)
        ax.plot(grid, np.exp(-0.5 * ((grid - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)), color="C0")
        ax.plot(grid, np.exp([p.prior.logpdf(g) for g in grid]), color="0.5")
        ax.axvline(m, color="C3", lw=1)
        ax.set_title(p.name, fontsize=9)
    fig.suptitle("Posterior mode (Laplace) and priors")
    return fig
