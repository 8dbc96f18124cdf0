"""Optimal simple rules, as Dynare's ``osr``.

Minimise over chosen rule coefficients c (with bounds) the loss

    L(c) = Σ_i w_i Var(y_i) + Σ_{i≠j} w_ij Cov(y_i, y_j) + γ Σ_k c_k²

where the moments are the unconditional first-order moments of the model's
solution under c: Σ(c) = T Σ Tᵀ + R Q Rᵀ (discrete Lyapunov equation). This is
the objective of Dynare's ``osr`` (``optim_weights``: a quadratic form of the
unconditional covariance of the endogenous variables; Dynare reference manual,
"Optimal simple rules"), plus an optional penalty γ on the size of the
coefficients. Coefficient vectors where the model is not determinate get a
large penalty, as in Dynare.

The search uses :func:`scipy.optimize.minimize` (L-BFGS-B with bounds, central
finite-difference gradients) from the starting point and ``restarts`` random
points in the box, then polishes the best point (Nelder–Mead inside the box
followed by L-BFGS-B).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize

from ..errors import DSGEError, PolicyError
from ._core import first_order, single_threaded_blas, unconditional_cov, variable_index
from .rules import apply_changes, check_fast_parameters, check_parameters

__all__ = ["optimal_rule", "OSRResult", "osr_loss", "parse_loss", "parse_params"]

_PENALTY = 1e10


def parse_loss(model, loss: Mapping) -> tuple[np.ndarray, list[str]]:
    """Weight matrix W (n_var × n_var) from ``{var: w}`` or ``{(var1, var2): w}``.

    A pair weight is split symmetrically (W_ij = W_ji = w / 2), so
    ``tr(W Σ) = Σ w_i Var_i + Σ w_ij Cov_ij``.
    """
    if not loss:
        raise PolicyError("empty loss: give at least one VARIABLE=WEIGHT")
    n = len(model.variables)
    W = np.zeros((n, n))
    used: list[str] = []
    for key, w in loss.items():
        w = float(w)
        if not np.isfinite(w):
            raise PolicyError(f"loss weight of {key!r} is not finite")
        if isinstance(key, tuple):
            i, j = variable_index(model, list(key), what="loss variable")
            W[i, j] += w / 2
            W[j, i] += w / 2
            used += list(key)
        else:
            (i,) = variable_index(model, [key], what="loss variable")
            W[i, i] += w
            used.append(key)
    # tr(WΣ) is bounded below over covariance matrices only for W ⪰ 0: a negative weight rewards
    # variance and the search runs to the edge of determinacy (loss → −∞).
    neg = [k for k, w in loss.items() if not isinstance(k, tuple) and float(w) < 0]
    if neg:
        raise PolicyError(f"negative loss weight on {', '.join(map(repr, neg))}: weights on variances "
                          "must be >= 0")
    lam = np.linalg.eigvalsh(W)
    if lam.min() < -1e-12 * max(1.0, np.abs(W).max()):
        raise PolicyError("loss weights are not positive semidefinite (the covariance weights outweigh the "
                          f"variance weights; smallest eigenvalue {lam.min():.3g}): the loss has no minimum")
    return W, list(dict.fromkeys(used))


def parse_params(model, params) -> tuple[list[str], np.ndarray]:
    """Names and bounds (k × 2) from ``{name: (low, high)}``, ``{name: None}`` or a list of names."""
    if params is None or len(params) == 0:
        raise PolicyError("no rule coefficients to optimise")
    if isinstance(params, Mapping):
        items = list(params.items())
    else:
        items = [(p, None) for p in params]
    names = [k for k, _ in items]
    check_parameters(model, names, what="rule parameter")
    check_fast_parameters(model, names, what="rule parameter")
    bounds = np.empty((len(names), 2))
    for k, (name, b) in enumerate(items):
        if b is None:
            bounds[k] = (-np.inf, np.inf)
        else:
            lo, hi = (float(b[0]) if b[0] is not None else -np.inf,
                      float(b[1]) if b[1] is not None else np.inf)
            if not lo < hi:
                raise PolicyError(f"bounds of {name!r} are empty: [{lo}, {hi}]")
            bounds[k] = (lo, hi)
    return names, bounds


def osr_loss(model, names: Sequence[str], values: Sequence[float], W: np.ndarray,
             coef_weight: float = 0.0) -> float:
    """Loss tr(W Σ(c)) + γ‖c‖² at coefficients ``values`` (raises if not determinate)."""
    T, R, Q, _ = first_order(model, dict(zip(names, values)))
    S = unconditional_cov(T, R, Q)
    return float(np.sum(W * S) + coef_weight * np.sum(np.square(values)))


class _Objective:
    def __init__(self, model, names, W, coef_weight):
        self.model, self.names, self.W, self.coef_weight = model, list(names), W, coef_weight
        self.evals = 0

    def __call__(self, x):
        self.evals += 1
        try:
            v = osr_loss(self.model, self.names, x, self.W, self.coef_weight)
        except (DSGEError, np.linalg.LinAlgError, ValueError, ZeroDivisionError):
            return _PENALTY
        return v if np.isfinite(v) else _PENALTY


@dataclass
class OSRResult:
    """Result of :func:`optimal_rule`.

    Attributes: ``params`` (optimum, by name), ``loss`` (at the optimum),
    ``baseline_params``, ``baseline_loss`` (the model's current rule),
    ``improvement`` (baseline_loss − loss), ``bounds``, ``at_bound`` (names of
    coefficients on a bound), ``starts`` (one row per local search), ``model``
    (with the optimal coefficients), ``baseline_model``, ``weights`` (the loss
    weights as given), ``success`` (a local search met its convergence test and the
    reported optimum is at least as good as where it stopped).
    """

    params: dict[str, float]
    loss: float
    baseline_params: dict[str, float]
    baseline_loss: float
    bounds: dict[str, tuple[float, float]]
    at_bound: list[str]
    starts: pd.DataFrame
    weights: dict
    coef_weight: float
    model: Any = field(repr=False, default=None)
    baseline_model: Any = field(repr=False, default=None)
    success: bool = True

    @property
    def improvement(self) -> float:
        return self.baseline_loss - self.loss

    def loss_at(self, values: Mapping[str, float]) -> float:
        W, _ = parse_loss(self.baseline_model, self.weights)
        names = list(self.params)
        v = [float(values.get(n, self.params[n])) for n in names]
        return osr_loss(self.baseline_model, names, v, W, self.coef_weight)

    def gradient(self, rel_step: float = 1e-5) -> dict[str, float]:
        """Central finite-difference gradient of the loss at the optimum."""
        g = {}
        for n, v in self.params.items():
            h = rel_step * max(1.0, abs(v))
            g[n] = (self.loss_at({n: v + h}) - self.loss_at({n: v - h})) / (2 * h)
        return g

    def irfs(self, periods: int = 40, shocks=None) -> pd.DataFrame:
        """IRFs under the baseline and the optimal rule (``scenario`` column first)."""
        from .whatif import whatif
        return whatif(self.baseline_model, {"optimal": self.params}, periods=periods,
                      shocks=shocks).irfs

    def comparison(self, **kw):
        """A :class:`~dsge_agents.policy.whatif.WhatIf` of baseline vs the optimal rule."""
        from .whatif import whatif
        w = {k: v for k, v in self.weights.items() if not isinstance(k, tuple)}
        return whatif(self.baseline_model, {"optimal": self.params}, loss=w or None, **kw)

    def to_dict(self) -> dict:
        """Plain JSON-ready dict; non-finite numbers (an open bound, the loss of an indeterminate
        baseline) are ``None`` (JSON has no Infinity/NaN)."""
        from dsge_agents.linear.solution import json_number as num
        return {
            "params": self.params, "loss": num(self.loss),
            "baseline_params": self.baseline_params, "baseline_loss": num(self.baseline_loss),
            "improvement": num(self.improvement),
            "bounds": {k: [num(v[0]), num(v[1])] for k, v in self.bounds.items()},
            "at_bound": self.at_bound,
            "weights": {("*".join(k) if isinstance(k, tuple) else k): v for k, v in self.weights.items()},
            "coef_weight": self.coef_weight, "success": self.success,
        }

    def summary(self) -> str:
        lines = ["Optimal simple rule (loss = Σ w Var" + (" + γ‖c‖²" if self.coef_weight else "") + ")"]
        lines.append(f"{'parameter':<22}{'baseline':>12}{'optimal':>14}  bounds")
        for n, v in self.params.items():
            lo, hi = self.bounds[n]
            flag = "  (at bound)" if n in self.at_bound else ""
            lines.append(f"{n:<22}{self.baseline_params[n]:>12.6g}{v:>14.8g}  [{lo:g}, {hi:g}]{flag}")
        lines.append(f"loss: baseline {self.baseline_loss:.8g}, optimal {self.loss:.8g}, "
                     f"improvement {self.improvement:.6g}")
        return "\n".join(lines)

    def plot(self, **kw):
        return self.comparison().plot(**kw)


def _converged(best, rows, fx: float) -> bool:
    """Whether the search converged: the final local search met L-BFGS-B's test, or one of the
    searches did and the reported optimum is no worse than its end point. (The polish after the
    starts often ends on 'ABNORMAL_TERMINATION_IN_LNSRCH' at an optimum already found: with
    central-difference gradients the line search cannot improve a flat minimum to ftol.)"""
    if bool(best.success):
        return True
    slack = 1e-12 * max(1.0, abs(fx))
    return any(r["success"] and fx <= r["loss"] + slack for r in rows)


def optimal_rule(model, loss: Mapping, params, *, coef_weight: float = 0.0,
                 x0: Mapping[str, float] | None = None, restarts: int = 4, seed: int = 0,
                 tol: float = 1e-12) -> OSRResult:
    """Optimal simple rule: minimise the weighted unconditional variances (Dynare ``osr``).

    Parameters
    ----------
    model : Model
    loss : mapping
        ``{variable: weight}`` on variances, optionally ``{(v1, v2): weight}`` on covariances.
    params : mapping name -> (low, high) or sequence of names
        Rule coefficients to optimise, with bounds (``None`` = unbounded).
    coef_weight : float
        γ ≥ 0, weight on the squared size of the coefficients.
    x0 : mapping, optional
        Starting point (default: the model's values, clipped into the bounds).
    restarts : int
        Extra local searches from uniform random points in the box (boxes with an
        infinite side use the start ± 1).
    seed : int
        Seed of the random restarts.
    """
    with single_threaded_blas():
        return _optimal_rule(model, loss, params, coef_weight=coef_weight, x0=x0, restarts=restarts,
                             seed=seed, tol=tol)


def _optimal_rule(model, loss, params, *, coef_weight, x0, restarts, seed, tol) -> OSRResult:
    W, _ = parse_loss(model, loss)
    names, bounds = parse_params(model, params)
    if not coef_weight >= 0:
        raise PolicyError("coef_weight must be >= 0")
    if int(restarts) < 0:
        raise PolicyError(f"restarts must be >= 0, got {restarts}")
    base = np.array([float(model.parameters[n]) for n in names])
    obj = _Objective(model, names, W, coef_weight)
    try:
        base_loss = osr_loss(model, names, base, W, coef_weight)
    except DSGEError:
        base_loss = float("nan")
    start = np.array([float((x0 or {}).get(n, model.parameters[n])) for n in names])
    start = np.clip(start, bounds[:, 0], bounds[:, 1])
    lo = np.where(np.isfinite(bounds[:, 0]), bounds[:, 0], start - 1.0)
    hi = np.where(np.isfinite(bounds[:, 1]), bounds[:, 1], start + 1.0)
    rng = np.random.default_rng(seed)
    starts = [start] + [lo + (hi - lo) * rng.random(len(names)) for _ in range(int(restarts))]
    sb = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b) for a, b in bounds]

    def local(x):
        r = optimize.minimize(obj, x, method="L-BFGS-B", jac="3-point", bounds=sb,
                              options={"ftol": tol, "gtol": 1e-10, "maxiter": 300})
        return r

    rows, best = [], None
    for k, x in enumerate(starts):
        r = local(x)
        rows.append({"start": k, **{f"x0_{n}": v for n, v in zip(names, x)},
                     **dict(zip(names, r.x)), "loss": float(r.fun), "success": bool(r.success),
                     "nfev": int(r.nfev)})
        if best is None or r.fun < best.fun:
            best = r
    # polish: Nelder-Mead (derivative-free, robust to kinks at bounds), then L-BFGS-B again
    xb = np.clip(best.x, bounds[:, 0], bounds[:, 1])
    interior = np.any((xb > bounds[:, 0] + 1e-9 * (hi - lo)) & (xb < bounds[:, 1] - 1e-9 * (hi - lo)))
    if best.fun < _PENALTY and interior:
        nm = optimize.minimize(obj, best.x, method="Nelder-Mead", bounds=sb,
                               options={"xatol": 1e-9, "fatol": 1e-14, "maxfev": 150 * len(names)})
        cand = local(nm.x) if nm.fun <= best.fun else best
        if cand.fun <= best.fun:
            best = cand
    x = np.clip(best.x, bounds[:, 0], bounds[:, 1])
    fx = obj(x)
    if fx >= _PENALTY:
        raise PolicyError("optimal rule search found no coefficients where the model is determinate "
                          "inside the bounds")
    span = np.where(np.isfinite(hi - lo), hi - lo, 1.0)
    at_bound = [n for n, v, (a, b), s in zip(names, x, bounds, span)
                if (np.isfinite(a) and v - a <= 1e-7 * s) or (np.isfinite(b) and b - v <= 1e-7 * s)]
    opt = dict(zip(names, map(float, x)))
    return OSRResult(
        params=opt, loss=float(fx),
        baseline_params=dict(zip(names, map(float, base))), baseline_loss=float(base_loss),
        bounds={n: (float(a), float(b)) for n, (a, b) in zip(names, bounds)},
        at_bound=at_bound, starts=pd.DataFrame(rows), weights=dict(loss),
        coef_weight=float(coef_weight), model=apply_changes(model, opt), baseline_model=model,
        success=_converged(best, rows, fx),
    )
