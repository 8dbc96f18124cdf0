"""Smoothed states and shocks, historical shock decomposition, IRFs at a parameter draw.

Smoothing runs the fixed-interval smoother (:func:`dsge_agents.filtering.kalman_smoother`)
on the restricted state space of :class:`LogLikelihood`. Full-vector smoothed
variables follow from the decision rule, ŷ_t = T ŷ_{t−1} + R û_t (T has non-zero
columns only for state variables, which belong to the restricted vector).

Historical shock decomposition (Dynare ``shock_decomposition``): by linearity,

    ŷ_t = T^t ŷ_0 + Σ_{j} Σ_{τ=1..t} T^{t−τ} R_{·j} û_{j,τ}

so each shock's contribution obeys c_{j,t} = T c_{j,t−1} + R_{·j} û_{j,t}, c_{j,0} = 0,
and the initial-condition term i_t = T i_{t−1}, i_0 = ŷ_0. The contributions and the
initial term add up to the smoothed deviations exactly; for observables they add up
to the observed deviation from the steady state minus the smoothed measurement error.
ŷ_0 = E[s_0|Y] = Σ T' r_0 for the stationary initialization (lik_init=1); for other
initializations ŷ_0 is the least-squares solution of T ŷ_0 = ŝ_1 − R û_1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dsge_agents.filtering import _kernels as K
from dsge_agents.filtering.kalman import kalman_filter, _smooth_from_filter

__all__ = ["Smoothed", "smooth", "shock_decomposition", "irf_at", "largest_shocks"]


@dataclass
class Smoothed:
    """Smoothed variables (deviations from steady state; logs for loglinear models) and shocks."""

    variables: pd.DataFrame          # full variable vector, deviations
    shocks: pd.DataFrame
    measurement_errors: pd.DataFrame
    initial: np.ndarray              # ŷ_0 (full vector)
    steady_state: pd.Series
    T: np.ndarray
    R: np.ndarray
    observed_deviation: pd.DataFrame  # data − d (NaN where missing)

    def plot(self, which="shocks"):
        from dsge_agents.plots.estimation import plot_smoothed
        return plot_smoothed(self, which)


def smooth(llk, x) -> Smoothed:
    """Smoothed states and shocks of ``llk`` (a LogLikelihood) at parameters x."""
    ss_ = llk.state_space(np.asarray(x, dtype=float))
    y = llk.y
    fr = kalman_filter(y, ss_["T"], ss_["R"], ss_["Q"], ss_["Z"], ss_["d"], ss_["H"],
                       a1=ss_["a1"], P1=ss_["P1"])
    sm = _smooth_from_filter(fr)
    Tf, Rf = ss_["T_full"], ss_["R_full"]
    n = y.shape[0]
    ridx = llk.ridx
    # r_0 from the smoother: ŝ_1 = a_1 + P_1 r_0  ->  r_0 = solve(P_1, ŝ_1 - a_1) is ill-posed;
    # recompute via the DK recursion output instead
    _, _, _, r_all = K.dk_smoother(fr.system["y"], fr.system["T"], fr.system["RQR"], fr.system["R"],
                                   fr.system["Q"], fr.system["Z"], fr.predicted_state,
                                   fr.predicted_cov, fr.innovations, fr.innovation_inv_cov,
                                   fr.gain, fr.nobs)
    Tr = ss_["T"]
    if llk.lik_init == 1:
        s0 = ss_["P1"] @ Tr.T @ r_all[0]
    else:
        target = sm.states[0] - ss_["R"] @ sm.shocks[0]
        s0 = np.linalg.lstsq(Tr, target, rcond=None)[0]
    nv = Tf.shape[0]
    y0 = np.zeros(nv)
    y0[ridx] = s0
    # full vector: only state columns of T matter, and they are in ridx
    Y = np.empty((n, nv))
    prev = y0
    for t in range(n):
        Y[t] = Tf @ prev + Rf @ sm.shocks[t]
        prev = Y[t]
    # consistency: restricted part equals the smoothed restricted states
    model = llk.model
    idx = llk.index
    obs_dev = y - ss_["d"][None, :]
    vars_ = list(model.variables)
    return Smoothed(pd.DataFrame(Y, index=idx, columns=vars_),
                    pd.DataFrame(sm.shocks, index=idx, columns=list(model.shocks)),
                    pd.DataFrame(sm.measurement_errors, index=idx, columns=llk.observables),
                    y0, pd.Series(ss_["ss"], index=vars_), Tf, Rf,
                    pd.DataFrame(obs_dev, index=idx, columns=llk.observables))


def shock_decomposition(sm: Smoothed, variables=None) -> pd.DataFrame:
    """Historical decomposition (module doc). Tidy frame: period, variable, component, value.

    Components: each shock, ``initial`` (initial condition) and, for observables,
    ``measurement_error``; for every (period, variable) they sum to the observed
    deviation (observables) or the smoothed deviation (other variables).
    """
    T, R = sm.T, sm.R
    U = sm.shocks.to_numpy()
    n, k = U.shape
    nv = T.shape[0]
    vars_all = list(sm.variables.columns)
    sel = vars_all if variables is None else list(variables)
    vidx = [vars_all.index(v) for v in sel]
    C = np.zeros((k + 1, n, nv))
    for j in range(k):
        c = np.zeros(nv)
        for t in range(n):
            c = T @ c + R[:, j] * U[t, j]
            C[j, t] = c
    c = sm.initial.copy()
    for t in range(n):
        c = T @ c
        C[k, t] = c
    comps = list(sm.shocks.columns) + ["initial"]
    rows = []
    periods = np.arange(1, n + 1)
    for ci, name in enumerate(comps):
        for v, vi in zip(sel, vidx):
            rows.append(pd.DataFrame({"period": periods, "variable": v, "component": name,
                                      "value": C[ci, :, vi]}))
    me = sm.measurement_errors
    for v in sel:
        if v in me.columns:
            rows.append(pd.DataFrame({"period": periods, "variable": v,
                                      "component": "measurement_error", "value": me[v].to_numpy()}))
    return pd.concat(rows, ignore_index=True)


def irf_at(llk, x, periods=40) -> np.ndarray:
    """IRFs to one-std shocks at parameters x: array (shocks, periods, variables).

    Response at horizon h (period h+1, impact = period 1) to shock j:
    T^h R c_j with c_j the j-th column of the Cholesky factor of Q (σ_j e_j for
    diagonal Q), as Dynare's ``irf``.
    """
    th, ss, T, R, Q, H, code = llk.solve(np.asarray(x, dtype=float))
    if code != 0:
        return None
    k = R.shape[1]
    try:
        Lq = np.linalg.cholesky(Q)
    except np.linalg.LinAlgError:
        Lq = np.diag(np.sqrt(np.clip(np.diag(Q), 0, None)))
    out = np.empty((k, periods, T.shape[0]))
    imp = R @ Lq
    for j in range(k):
        v = imp[:, j]
        for h in range(periods):
            out[j, h] = v
            v = T @ v
    return out


def largest_shocks(sm: Smoothed, shock_std, start=None, end=None, by="sum") -> pd.DataFrame:
    """Rank shocks by their standardized smoothed values z_{j,t} = û_{j,t}/σ_j in [start, end).

    ``by="sum"`` (default): |Σ_t z_{j,t}|, the cumulative standardized shock over the window
    (a persistent event such as an outage shows up as a run of same-signed shocks);
    ``by="max"``: max_t |z_{j,t}|. Returns a frame (shock, sum_z, max_abs_z, z_at_max,
    period_at_max) sorted accordingly: the attribution of a spike in the window.
    """
    z = sm.shocks / np.asarray(shock_std, dtype=float)
    idx = z.index
    mask = np.ones(len(idx), dtype=bool)
    if start is not None:
        mask &= idx >= start
    if end is not None:
        mask &= idx < end
    w = z[mask]
    am = w.abs().idxmax()
    rows = [dict(shock=c, sum_z=float(w[c].sum()), max_abs_z=float(w[c].abs().max()),
                 z_at_max=float(w.loc[am[c], c]), period_at_max=am[c]) for c in w.columns]
    df = pd.DataFrame(rows)
    key = df["sum_z"].abs() if by == "sum" else df["max_abs_z"]
    return df.loc[key.sort_values(ascending=False).index].reset_index(drop=True)
