"""Steady state: analytic (verified by residuals) or numeric (SciPy root finding).

The deterministic steady state ȳ solves ``f(ȳ, ȳ, ȳ, 0; θ) = 0`` (DESIGN §3–§4;
Dynare's ``steady``). When the model file gives it (``steady_state:`` in YAML,
``steady_state_model`` in a ``.mod``) the compiled formula is evaluated and
checked: ``|f_i(ȳ)| ≤ max(tol · max(1, max_j |ȳ_j|), solve_tolf)`` with ``tol = 1e-8`` and Dynare's
``solve_tolf = eps^(1/3) ≈ 6.1e-6`` (what Dynare accepts from a steady-state file). Otherwise
``scipy.optimize.root`` (Powell hybrid method, MINPACK ``hybrj``, with the
compiled analytic static Jacobian) starts from ``initval`` (0 for variables
without one, as Dynare), falling back to Levenberg–Marquardt, to a solve in
logs for ``loglinear`` models, and to other starting points. Failures raise
:class:`SteadyStateError` listing the equations with the largest residuals and
their lines.
"""
from __future__ import annotations

import numpy as np

from dsge_agents.errors import SteadyStateError

__all__ = ["steady_state_vector", "check_steady_state", "solve_steady_state", "NumericSteadyState",
           "worst_equations"]

TOL = 1e-8
#: Dynare's ``options_.solve_tolf`` = eps^(1/3): the largest |residual| with which Dynare 5.3 accepts a
#: steady state computed by the model file (checked: 5e-6 accepted, 1e-5 "did not compute the steady state")
DYNARE_SOLVE_TOLF = float(np.finfo(float).eps) ** (1.0 / 3.0)


def worst_equations(model, res: np.ndarray, k: int = 5) -> str:
    """Text listing the ``k`` equations with largest |residual| (with file lines)."""
    res = np.asarray(res, dtype=float)
    bad = np.where(np.isfinite(res), np.abs(res), np.inf)
    order = np.argsort(-bad)[:k]
    lines = []
    for i in order:
        e = model.equations[i]
        where = f" (line {e.line})" if e.line else (" (auxiliary)" if e.aux else "")
        lines.append(f"  eq {i + 1}{where} residual {res[i]:.3g}: {e.text}")
    return "\n".join(lines)


def check_steady_state(model, ss: np.ndarray, theta: np.ndarray, what: str = "steady state",
                       tol: float = TOL, abs_tol: float = 0.0) -> None:
    """Raise :class:`SteadyStateError` unless ``ss`` solves the static model to ``tol`` (relative to
    ``max(1, max |ss|)``) or to ``abs_tol`` (absolute), whichever is larger."""
    cm = model.compiled
    ss = np.asarray(ss, dtype=float)
    if not np.all(np.isfinite(ss)):
        bad = [v for v, x in zip(model.variables, ss) if not np.isfinite(x)]
        raise SteadyStateError(f"{model.source or model.name}: {what} is not finite for: {', '.join(bad)}")
    try:
        res = cm.static_residual(ss, theta)
    except (ZeroDivisionError, ValueError, OverflowError) as exc:
        raise SteadyStateError(f"{model.source or model.name}: the {what} makes an equation undefined "
                               f"({type(exc).__name__}: {exc})") from None
    scale = max(1.0, float(np.max(np.abs(ss))) if ss.size else 1.0)
    if not np.all(np.abs(res) <= max(tol * scale, abs_tol)):
        nonfinite = int(np.sum(~np.isfinite(res)))
        worst = (f"{nonfinite} equation(s) undefined there (log or power of a non-positive number, "
                 "0/0, ...)" if nonfinite else f"max |residual| {np.max(np.abs(res)):.3g}")
        raise SteadyStateError(
            f"{model.source or model.name}: the {what} does not solve the model "
            f"({worst}); equations with largest residuals:\n"
            + worst_equations(model, res))
    if model.loglinear and np.any(ss <= tol * scale):
        bad = [f"{v}={x:.6g}" for v, x in zip(model.variables, ss) if x <= tol * scale]
        raise SteadyStateError(f"{model.source or model.name}: loglinear model needs positive steady states; "
                               f"non-positive: {', '.join(bad)}")


def solve_steady_state(model, theta: np.ndarray, guess: np.ndarray | None = None,
                       tol: float = TOL) -> np.ndarray:
    """Numeric steady state by ``scipy.optimize.root`` with fallbacks (see module docstring)."""
    from scipy import optimize   # imported here: a warm load with an analytic steady state needs no SciPy

    cm = model.compiled
    n = len(model.variables)
    x0 = np.zeros(n) if guess is None else np.asarray(guess, dtype=float).copy()
    if guess is None:
        for j, v in enumerate(model.variables):
            if v in model.initval:
                x0[j] = model.initval[v]

    def f(x):
        try:
            return cm.static_residual(x, theta)
        except (ZeroDivisionError, ValueError, OverflowError):   # Numba raises on x/0
            return np.full(n, np.nan)

    def jac(x):
        try:
            return cm.static_jacobian(x, theta)
        except (ZeroDivisionError, ValueError, OverflowError):
            return np.full((n, n), np.nan)

    def ok(x):
        if x is None or not np.all(np.isfinite(x)):
            return False
        r = f(x)
        return bool(np.all(np.isfinite(r))) and np.max(np.abs(r), initial=0.0) <= tol * max(
            1.0, float(np.max(np.abs(x), initial=0.0)))

    starts = [x0]
    if model.loglinear:
        starts.append(np.where(x0 > 0, x0, 1.0))
    starts += [np.ones(n), np.full(n, 0.5), np.zeros(n)]
    best, best_norm = x0, np.inf
    nonpos = None   # a solution with non-positive entries (loglinear): reported by check_steady_state
    with np.errstate(all="ignore"):
        for start in starts:
            for method in ("hybr", "lm"):
                try:
                    sol = optimize.root(f, start, jac=jac, method=method, options={"xtol": 1e-13})
                except (ValueError, ZeroDivisionError, FloatingPointError):
                    continue
                x = sol.x
                if ok(x):
                    if not (model.loglinear and np.any(x <= tol)):
                        return x
                    nonpos = x if nonpos is None else nonpos
                nr = np.linalg.norm(f(x)) if np.all(np.isfinite(x)) else np.inf
                if np.isfinite(nr) and nr < best_norm:
                    best, best_norm = x, nr
            if model.loglinear and np.all(start > 0):
                # solve in logs: keeps iterates positive
                try:
                    sol = optimize.root(lambda z: f(np.exp(z)), np.log(start),
                                        jac=lambda z: jac(np.exp(z)) * np.exp(z)[None, :], method="hybr")
                    x = np.exp(sol.x)
                    if ok(x) and np.all(x > tol * max(1.0, float(np.max(x)))):
                        return x
                except (ValueError, ZeroDivisionError, FloatingPointError):
                    pass
    if nonpos is not None:
        return nonpos
    res = f(best) if np.all(np.isfinite(best)) else np.full(n, np.nan)
    raise SteadyStateError(
        f"{model.source or model.name}: numeric steady-state search failed (best max |residual| "
        f"{np.nanmax(np.abs(res)) if np.any(np.isfinite(res)) else float('nan'):.3g}); "
        "give a better initval or an analytic steady state. Equations with largest residuals:\n"
        + worst_equations(model, res))


class NumericSteadyState:
    """Callable ``theta -> ss`` running :func:`solve_steady_state`, warm-started at the last solution."""

    def __init__(self, model, cm):
        self._model = model
        self._last = None

    def __call__(self, theta):
        m = self._model
        if self._last is not None:
            try:
                x = solve_steady_state(m, theta, guess=self._last)
                self._last = x
                return x
            except SteadyStateError:
                pass
        x = solve_steady_state(m, theta)
        self._last = x
        return x


def steady_state_vector(model, theta: np.ndarray) -> np.ndarray:
    """Steady state at θ, verified (analytic) or solved (numeric); raises :class:`SteadyStateError`."""
    cm = model.compiled
    if cm.analytic_steady_state:
        try:
            with np.errstate(all="ignore"):
                ss = np.asarray(cm.steady_state_at(theta), dtype=float)
        except (ZeroDivisionError, ValueError, OverflowError) as exc:
            raise SteadyStateError(f"{model.source or model.name}: evaluating the analytic steady state "
                                   f"failed ({type(exc).__name__}: {exc})") from None
        # the file's formulas are accepted as Dynare accepts them (|residual| <= solve_tolf), and used as they are
        check_steady_state(model, ss, theta, what="analytic steady state (from the model file)",
                           abs_tol=DYNARE_SOLVE_TOLF)
        return ss
    ss = cm.steady_state_at(theta)
    check_steady_state(model, ss, theta, what="numeric steady state")
    return ss
