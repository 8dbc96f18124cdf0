"""Posterior mode, Hessian, standard errors and Laplace marginal likelihood.

The mode maximizes the log posterior kernel log L(x) + log p(x) (Dynare's
"minus the log posterior" minimized by ``mode_compute``). Optimizers run on the
unbounded reparameterization z (see :class:`ParameterSpace`), which has the same
maximizer; BFGS uses central-difference gradients. Several optimizers are
chained and restarted from the best point until the objective stops improving.

The Hessian of −log posterior is taken by finite differences in the
original parameterization with Dynare's steps and formulas (:func:`hessian`); standard errors are the square roots of the
diagonal of its inverse. Laplace approximation of the marginal data density
(Dynare ``lpd`` at the mode): log p(Y) ≈ log p(Y|x̂) + log p(x̂) + (k/2) log 2π − ½ log|H|.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from dsge_agents.errors import DSGEError

__all__ = ["ModeResult", "posterior_mode", "hessian", "make_pd", "HessianWarning"]


class HessianWarning(UserWarning):
    """The Hessian at the mode is not positive definite (a fallback is used)."""


def hessian(f, x, gstep=(1e-2, 1.0), lower=None, upper=None) -> np.ndarray:
    """Central finite-difference Hessian of f at x with Dynare's steps and formulas.

    Steps h_i = max(|x_i|, √gstep₁)·ε^{1/6}·gstep₂ (Dynare 5 ``hessian.m``,
    ``options_.gstep = [1e-2, 1]``), shrunk to stay inside [lower, upper].
    Diagonal: (f(x+h_i) + f(x−h_i) − 2f(x)) / h_i² (Abramowitz & Stegun 1965,
    25.3.23); cross terms by A&S 25.3.27:
    H_ij = [f(x+h_i+h_j) − f(x+h_i) − f(x+h_j) + 2f(x) − f(x−h_i) − f(x−h_j)
            + f(x−h_i−h_j)] / (2 h_i h_j).
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    h = np.maximum(np.abs(x), math.sqrt(gstep[0])) * np.finfo(float).eps ** (1 / 6) * gstep[1]
    if lower is not None:
        room = np.minimum(x - np.asarray(lower), np.asarray(upper) - x)
        h = np.minimum(h, 0.5 * np.where(np.isfinite(room), room, np.inf))
    f0 = f(x)
    H = np.empty((n, n))
    fp = np.empty(n)
    fm = np.empty(n)
    E = np.diag(h)
    for i in range(n):
        fp[i] = f(x + E[i])
        fm[i] = f(x - E[i])
        H[i, i] = (fp[i] + fm[i] - 2 * f0) / (h[i] * h[i])
    for i in range(n):
        for j in range(i + 1, n):
            fpp = f(x + E[i] + E[j])
            fmm = f(x - E[i] - E[j])
            H[i, j] = H[j, i] = (fpp - fp[i] - fp[j] + 2 * f0 - fm[i] - fm[j] + fmm) / (
                2 * h[i] * h[j])
    return H


def make_pd(H, floor=1e-10):
    """Nearest PD matrix by flooring eigenvalues: U max(|λ|, floor·max|λ|) U'."""
    H = 0.5 * (H + H.T)
    w, U = np.linalg.eigh(H)
    big = np.max(np.abs(w)) if w.size else 1.0
    w2 = np.maximum(np.abs(w), floor * max(big, 1e-300))
    return (U * w2) @ U.T


@dataclass
class ModeResult:
    """Posterior mode and curvature (original parameterization)."""

    names: list
    mode: np.ndarray
    log_posterior: float
    log_likelihood: float
    log_prior: float
    hessian: np.ndarray            # of −log posterior
    inv_hessian: np.ndarray
    std: np.ndarray
    log_marginal_laplace: float
    hessian_pd: bool
    optimizer_log: list = field(default_factory=list)
    n_evals: int = 0
    space: object = field(default=None, repr=False)

    def summary(self) -> pd.DataFrame:
        sp = self.space
        df = pd.DataFrame({"parameter": self.names, "mode": self.mode, "mode_std": self.std})
        if sp is not None:
            df.insert(1, "prior", [p.prior.shape for p in sp.params])
            df.insert(2, "prior_mean", [p.prior.mean for p in sp.params])
            df.insert(3, "prior_std", [p.prior.std for p in sp.params])
        return df

    def __str__(self):
        return (self.summary().to_string(index=False) +
                f"\nlog posterior {self.log_posterior:.6f}, log likelihood {self.log_likelihood:.6f}, "
                f"Laplace log marginal density {self.log_marginal_laplace:.6f}")

    def plot(self):
        from dsge_agents.plots.estimation import plot_mode
        return plot_mode(self)


def _grad_central(f, z, f0=None):
    g = np.empty_like(z)
    for i in range(z.size):
        h = 1e-5 * max(1.0, abs(z[i]))
        e = np.zeros_like(z)
        e[i] = h
        g[i] = (f(z + e) - f(z - e)) / (2 * h)
    return g


def posterior_mode(llk, x0=None, optimizers=("bfgs", "nelder-mead", "bfgs"), restarts: int = 2,
                   tol: float = 1e-9, maxiter: int = 5000, verbose: bool = False) -> ModeResult:
    """Maximize the log posterior of ``llk`` (:class:`LogLikelihood`).

    Parameters
    ----------
    x0 : start (original parameterization); default the estimated_params init values.
    optimizers : sequence of "bfgs", "nelder-mead", "powell", run one after the other,
        each from the best point so far; the whole sequence is repeated up to
        ``restarts`` times while the log posterior improves by more than ``tol``.
    """
    sp = llk.space
    if not optimizers:
        raise DSGEError("posterior_mode: no optimizer given (bfgs, nelder-mead, powell)")
    x0 = sp.x0 if x0 is None else np.asarray(x0, dtype=float)
    sp.check(x0, "start value")
    lp0 = llk.log_posterior(x0)
    if not np.isfinite(lp0):
        from dsge_agents.estimation.likelihood import STATUS
        why = STATUS.get(llk.last_status, "model cannot be solved/filtered there")
        raise DSGEError(f"log posterior is not finite at the start value "
                        f"({', '.join(f'{n} = {v:g}' for n, v in zip(sp.names, x0))}): {why}")
    BIG = 1e10

    def negf(z):
        x = sp.to_bounded(z)
        v = llk.log_posterior(x)
        return -v if np.isfinite(v) else BIG

    z = sp.to_unbounded(x0)
    # a start on a bound (an initial value equal to a declared or prior bound) maps to z = ±inf,
    # from where no optimizer moves (NaN gradients, the mode stayed on the bound with a NaN
    # Hessian): start just inside (|z| = 6.9: 0.1 % of a two-sided range from the bound)
    z = np.where(np.isfinite(z), z, np.sign(z) * 6.9)
    best = negf(z)
    log = []
    for rnd in range(restarts + 1):
        start = best
        for name in optimizers:
            name = name.lower()
            if name == "bfgs":
                res = optimize.minimize(negf, z, method="BFGS", jac=lambda zz: _grad_central(negf, zz),
                                        options=dict(gtol=1e-6, maxiter=maxiter))
            elif name in ("nelder-mead", "neldermead", "nm"):
                res = optimize.minimize(negf, z, method="Nelder-Mead",
                                        options=dict(xatol=1e-10, fatol=1e-11, maxiter=maxiter,
                                                     maxfev=20 * maxiter, adaptive=True))
            elif name == "powell":
                res = optimize.minimize(negf, z, method="Powell",
                                        options=dict(xtol=1e-10, ftol=1e-12, maxiter=maxiter))
            else:
                raise DSGEError(f"unknown optimizer {name!r} (bfgs, nelder-mead, powell)")
            log.append(dict(round=rnd, optimizer=name, f=float(res.fun), nfev=int(res.nfev),
                            success=bool(res.success)))
            if verbose:
                print(f"round {rnd} {name}: log posterior {-res.fun:.8f}")
            if res.fun < best:
                best, z = float(res.fun), np.asarray(res.x, dtype=float)
        if start - best < tol:
            break
    xm = sp.to_bounded(z)
    lp = llk.log_posterior(xm)
    ll = llk(xm)
    lpr = sp.log_prior(xm)

    def nlp(x):
        v = llk.log_posterior(x)
        return -v if np.isfinite(v) else BIG

    H = hessian(nlp, xm, lower=sp.lower, upper=sp.upper)
    pd_ok = True
    try:
        np.linalg.cholesky(0.5 * (H + H.T))
    except np.linalg.LinAlgError:
        pd_ok = False
        warnings.warn("Hessian of minus the log posterior at the mode is not positive definite; "
                      "eigenvalues are floored to make a positive-definite proposal", HessianWarning,
                      stacklevel=2)
        H = make_pd(H)
    Hinv = np.linalg.inv(0.5 * (H + H.T))
    Hinv = 0.5 * (Hinv + Hinv.T)
    std = np.sqrt(np.diag(Hinv))
    k = xm.size
    sign, logdet = np.linalg.slogdet(H)
    lap = lp + 0.5 * k * math.log(2 * math.pi) - 0.5 * logdet
    return ModeResult(list(sp.names), xm, float(lp), float(ll), float(lpr), H, Hinv, std,
                      float(lap), pd_ok, log, llk.n_evals, sp)
