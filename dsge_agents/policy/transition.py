"""Permanent parameter changes: transition from the old to the new steady state.

Two paths after an unanticipated, permanent change θ_old → θ_new at period 1,
starting from the old steady state (period 0):

* **first order** — the new regime's linear decision rule around the *new*
  steady state, ŷ_t = T(θ_new) ŷ_{t−1}, ŷ_0 = ȳ_old − ȳ_new (DESIGN §4); for
  ``loglinear`` models in logs;
* **perfect foresight** — the nonlinear model f(y_{t−1}, y_t, y_{t+1}, 0; θ_new) = 0
  for t = 1..N with y_0 = ȳ_old and y_{N+1} = ȳ_new, solved by Newton's method
  on the stacked system (Laffargue 1990; Boucekkine 1995; Juillard 1996 —
  Dynare's ``perfect_foresight_solver``). The stacked Jacobian is block
  tridiagonal; its blocks ∂f_t/∂y_{t−1}, ∂f_t/∂y_t, ∂f_t/∂y_{t+1} are taken
  from the model's compiled ``jacobian`` evaluated at each period's current
  iterate y_t (an inexact Newton / chord method: exact residuals, Jacobian
  blocks at (y_t, y_t, y_t)), assembled as a sparse matrix and solved with
  SuperLU. Convergence is declared on the max-norm of the stacked residual (``tol``), or, for
  models whose residuals cannot reach ``tol`` in floating point (levels ~1e5), when the Newton
  correction falls below ``xtol`` relative to the path (Dynare's solver has the same pair, tolf/tolx).

The difference between the two paths is the **linearization error**; for a
change of size h it is O(h²) (the first-order path is exact to first order in
h), so halving the change divides it by about four.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sps
import scipy.sparse.linalg as spla

from ..errors import DSGEError, PolicyError, SolutionError, SteadyStateError
from ._core import model_params
from .rules import apply_changes, check_parameters, check_values

__all__ = ["transition", "Transition", "perfect_foresight"]


@dataclass
class Transition:
    """Result of :func:`transition`.

    ``paths``: tidy DataFrame ``method, variable, period, value`` with methods
    ``first_order`` and ``perfect_foresight`` (period 0 = old steady state).
    """

    changes: dict
    periods: int
    variables: list[str]
    old_steady_state: pd.Series
    new_steady_state: pd.Series
    first_order: np.ndarray = field(repr=False)          # (periods+1, n) levels
    perfect_foresight: np.ndarray | None = field(repr=False, default=None)
    newton_iterations: int = 0
    max_residual: float = float("nan")
    pf_error: str | None = None

    @property
    def paths(self) -> pd.DataFrame:
        frames = []
        for method, arr in (("first_order", self.first_order), ("perfect_foresight", self.perfect_foresight)):
            if arr is None:
                continue
            n_t, n = arr.shape
            frames.append(pd.DataFrame({
                "method": method,
                "variable": np.tile(self.variables, n_t),
                "period": np.repeat(np.arange(n_t), n),
                "value": arr.ravel(),
            }))
        return pd.concat(frames, ignore_index=True)

    def path(self, method: str = "perfect_foresight") -> pd.DataFrame:
        """Wide path (rows period, columns variables)."""
        arr = self.perfect_foresight if method == "perfect_foresight" else self.first_order
        if arr is None:
            raise PolicyError(f"no {method} path ({self.pf_error or 'not computed: first order only'})")
        return pd.DataFrame(arr, columns=self.variables).rename_axis("period")

    def linearization_error(self) -> pd.Series:
        """max_t |y_PF − y_FO| per variable (NaN without a perfect-foresight path)."""
        if self.perfect_foresight is None:
            return pd.Series(np.nan, index=self.variables, name="linearization_error")
        e = np.abs(self.perfect_foresight - self.first_order).max(axis=0)
        return pd.Series(e, index=self.variables, name="linearization_error")

    def max_linearization_error(self, relative: bool = False) -> float:
        """Largest linearization error; ``relative=True`` divides each variable by
        max(|ȳ_new − ȳ_old|, 1e-12 · max(1, |ȳ_new|))."""
        e = self.linearization_error()
        if relative:
            d = (self.new_steady_state - self.old_steady_state).abs()
            d = np.maximum(d.to_numpy(), 1e-12 * np.maximum(1.0, self.new_steady_state.abs().to_numpy()))
            e = e / d
        return float(np.nanmax(e.to_numpy()))

    def table(self) -> pd.DataFrame:
        """Old and new steady state, change, and linearization error per variable."""
        return pd.DataFrame({"old": self.old_steady_state, "new": self.new_steady_state,
                             "change": self.new_steady_state - self.old_steady_state,
                             "linearization_error": self.linearization_error()})

    def summary(self) -> str:
        ch = ", ".join(f"{k}={v:g}" for k, v in self.changes.items())
        pf = (f"perfect foresight: {self.newton_iterations} Newton iterations, max residual "
              f"{self.max_residual:.2e}, max linearization error {self.max_linearization_error():.3e}"
              if self.perfect_foresight is not None else
              f"perfect foresight failed: {self.pf_error}" if self.pf_error is not None else
              "perfect foresight: not computed (first order only)")
        return f"transition after {ch} over {self.periods} periods\n{pf}\n" + \
            self.table().to_string(float_format=lambda x: f"{x:.6g}")

    def plot(self, variables=None, **kw):
        from ..plots.policy import plot_transition
        return plot_transition(self, variables=variables, **kw)


def _to_x(y, loglinear):
    return np.log(y) if loglinear else y


def _from_x(x, loglinear):
    return np.exp(x) if loglinear else x


def _fd_blocks(compiled, theta, xl, x, xp, u0, loglinear):
    """∂f_t/∂x_{t−1}, ∂f_t/∂x_t, ∂f_t/∂x_{t+1} at the period's own (x_{t−1}, x_t, x_{t+1}) by central
    differences of the compiled residual (step 1e-6·max(1, |x_j|); error O(h²) ≈ 1e-12 relative),
    for the exact Newton method of Juillard (1996) / Dynare's perfect_foresight_solver."""
    n = x.size
    args = [np.asarray(xl, float), np.asarray(x, float), np.asarray(xp, float)]
    out = []
    for which in range(3):
        B = np.empty((n, n))
        for j in range(n):
            h = 1e-6 * max(1.0, abs(args[which][j]))
            a = [v.copy() for v in args]
            b = [v.copy() for v in args]
            a[which][j] += h
            b[which][j] -= h
            fa = compiled.residual(*(_from_x(v, loglinear) for v in a), u0, theta)
            fb = compiled.residual(*(_from_x(v, loglinear) for v in b), u0, theta)
            B[:, j] = (np.asarray(fa) - np.asarray(fb)) / (2 * h)
        out.append(B)
    return out


def perfect_foresight(compiled, theta: np.ndarray, y0: np.ndarray, y_end: np.ndarray, guess: np.ndarray,
                      loglinear: bool = False, tol: float = 1e-11, max_iter: int = 60, xtol: float = 1e-12,
                      exact: bool = False):
    """Stacked Newton for f(y_{t-1}, y_t, y_{t+1}, 0; θ) = 0, t = 1..N (see module docstring).

    Parameters
    ----------
    compiled : CompiledModel
        Provides ``residual(y_lag, y, y_lead, u, θ)`` and ``jacobian(y, θ)``.
    y0, y_end : (n,) levels of y_0 (initial lags) and y_{N+1} (terminal leads)
    guess : (N, n) initial path in levels
    loglinear : work in x = log y (the compiled Jacobian is then w.r.t. log y)
    tol : convergence when max |f| ≤ tol
    xtol : or when the Newton correction is below xtol·max(1, |x|) element by element, i.e.
        the path is exact to rounding although the residuals of equations with large terms
        stay above ``tol`` (models in levels)
    exact : Jacobian blocks at each period's own (y_{t−1}, y_t, y_{t+1}) by central differences
        (Newton proper, as Dynare; 6n residual evaluations per period and iteration) instead of the
        compiled Jacobian at (y_t, y_t, y_t) (chord method: cheaper, but it can stall on large changes)

    Returns
    -------
    path (N, n) levels, iterations, max residual
    """
    N, n = guess.shape
    nu = compiled.n_u
    u0 = np.zeros(nu)
    X = _to_x(np.asarray(guess, float), loglinear).copy()
    x0, xe = _to_x(np.asarray(y0, float), loglinear), _to_x(np.asarray(y_end, float), loglinear)

    def residuals(X):
        Y = _from_x(np.vstack([x0, X, xe]), loglinear)
        F = np.empty((N, n))
        for t in range(N):
            F[t] = compiled.residual(Y[t], Y[t + 1], Y[t + 2], u0, theta)
        return F

    with np.errstate(all="ignore"):
        F = residuals(X)
    it = 0
    err = float(np.max(np.abs(F)))
    if not np.isfinite(err):   # NaN would also make `err > tol` false and skip Newton altogether
        raise PolicyError("perfect-foresight Newton: residuals are not finite at the starting path (a "
                          "variable outside the domain of a power or log, e.g. negative hours)")
    at_floor = False
    while err > tol and it < max_iter:
        it += 1
        Y = _from_x(X, loglinear)
        rows, cols, vals = [], [], []
        rr, cc = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
        rr, cc = rr.ravel(), cc.ravel()
        Xf = np.vstack([x0, X, xe]) if exact else None
        for t in range(N):
            if exact:
                A_lag, A_cur, A_lead = _fd_blocks(compiled, theta, Xf[t], Xf[t + 1], Xf[t + 2], u0, loglinear)
            else:
                A_lag, A_cur, A_lead, _ = compiled.jacobian(Y[t], theta)
            for blk, s in ((A_lag, t - 1), (A_cur, t), (A_lead, t + 1)):
                if 0 <= s < N:
                    v = np.asarray(blk).ravel()
                    nz = v != 0
                    rows.append(t * n + rr[nz])
                    cols.append(s * n + cc[nz])
                    vals.append(v[nz])
        J = sps.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(N * n, N * n))
        try:
            dX = spla.spsolve(J, F.ravel())
        except RuntimeError as exc:  # singular factor
            raise PolicyError(f"perfect-foresight Newton: singular stacked Jacobian ({exc})") from None
        if not np.all(np.isfinite(dX)):
            raise PolicyError("perfect-foresight Newton: singular stacked Jacobian")
        dX = dX.reshape(N, n)
        # Rounding floor: a residual evaluated in floating point is only accurate to about
        # eps·(size of its terms), which for models in levels (variables ~1e5) exceeds an
        # absolute tol. A full Newton correction below xtol relative to the iterate means
        # the path is converged to rounding (the tolx test of Dynare's solver).
        rel_step = float(np.max(np.abs(dX) / np.maximum(1.0, np.abs(X))))
        tiny = rel_step <= xtol
        # damped step: halve while the residual does not decrease
        step = 1.0
        for _ in range(30):
            Xn = X - step * dX
            with np.errstate(all="ignore"):
                Fn = residuals(Xn)
            en = float(np.max(np.abs(Fn)))
            if np.isfinite(en) and (en < err or en <= tol):
                break
            if tiny:
                break
            step /= 2
        else:
            raise PolicyError(f"perfect-foresight Newton stalled at max residual {err:.3e} after {it} "
                              "iteration(s)")
        if tiny:
            if np.isfinite(en) and en < err:
                X, F, err = Xn, Fn, en
            at_floor = True
            break
        X, F, err = Xn, Fn, en
    if err > tol and not at_floor:
        raise PolicyError(f"perfect-foresight Newton did not converge in {max_iter} iterations "
                          f"(max residual {err:.3e})")
    return _from_x(X, loglinear), it, err


#: largest model for the exact-Newton fallback of :func:`transition` (dense n × n blocks per period)
EXACT_NEWTON_MAX_VARIABLES = 400


def _tree_nodes(t):
    from dsge_agents.model import tree as T
    return T.nodes(t) if t is not None else ()


def _new_regime(model, changes):
    """Compiled functions, θ and steady state of the model after ``changes``.

    For an orchestrated economy whose SLO target (or another steady-state-moving
    SLO parameter) changes, the equations are unchanged but the builder derives a
    new steady state and new P̄, C̄ (DESIGN §5.2): those come from
    :func:`dsge_agents.economy.builder.build` and are used with the *old* compiled
    functions (same equations, new θ) — no recompilation. Otherwise the model is
    transformed with :func:`apply_changes` and its own compiled functions used.
    """
    from .rules import SLO_CONFIG_FIELDS, economy_config, needs_rebuild
    cfg = economy_config(model)
    if cfg is not None and needs_rebuild(model, changes) and set(changes) <= set(SLO_CONFIG_FIELDS):
        import dataclasses
        from ..economy import builder
        slo_kw = {k: float(model.parameters[k]) for k in SLO_CONFIG_FIELDS if k in model.parameters}
        slo_kw.update({k: float(v) for k, v in changes.items()})
        d = builder.build(cfg.copy(slo=dataclasses.replace(cfg.slo, **slo_kw)))
        comp = model.compiled
        if list(d["variables"]) == list(model.variables) and all(p in d["parameters"] for p in comp.param_names):
            params = dict(model.parameters)
            # steady-state-moving parameters from the rebuilt economy, the rest as in the model
            from .rules import _ss_neutral
            neutral = _ss_neutral(model)
            params.update({k: float(v) for k, v in d["parameters"].items() if k not in neutral})
            params.update({k: float(v) for k, v in changes.items()})
            theta = np.array([params[p] for p in comp.param_names], float)
            ss = np.array([float(d["steady_state"][v]) for v in model.variables])
            return comp, theta, ss
    new_model = apply_changes(model, changes)
    comp = new_model.compiled
    theta = comp.theta(model_params(new_model))
    return comp, theta, np.asarray(comp.steady_state_at(theta), float)


def transition(model, changes: Mapping[str, Any], periods: int = 60, *, nonlinear: bool = True,
               tol: float = 1e-11, max_iter: int = 60) -> Transition:
    """Transition after a permanent, unanticipated change of parameters (e.g. the SLO target).

    Parameters
    ----------
    model : Model
    changes : mapping parameter -> new value
        E.g. ``{"slo_target_latency": 28.0}`` (the default economy has 30 s). Unknown names raise :class:`PolicyError`.
    periods : int
        Horizon N; the perfect-foresight path is pinned to the new steady state at N + 1.
    nonlinear : bool
        Also compute the perfect-foresight path (stacked Newton).

    Returns
    -------
    Transition
    """
    from ._core import _solve_matrices
    solve_matrices = _solve_matrices()
    changes = dict(changes)
    if not changes:
        raise PolicyError("no parameter change given (use NAME=VALUE)")
    if "form" in changes:
        raise PolicyError("a transition needs parameter changes; the rule form cannot change here")
    check_parameters(model, list(changes))
    check_values(changes)
    if int(periods) < 1:
        raise PolicyError("periods must be >= 1")
    N = int(periods)
    old_c = model.compiled
    th_old = old_c.theta(model_params(model))
    ss_old = np.asarray(old_c.steady_state_at(th_old), float)
    try:
        new_c, th_new, ss_new = _new_regime(model, changes)
    except SteadyStateError as exc:   # name the change: the file itself has a steady state
        label = ", ".join(f"{k}={v:g}" for k, v in changes.items())
        raise SteadyStateError(f"no steady state of the new regime after {label}: {exc}") from None
    r_ss = np.asarray(new_c.static_residual(ss_new, th_new), float)
    if not np.all(np.isfinite(r_ss)) or np.abs(r_ss).max() > 1e-8 * max(1.0, np.abs(ss_new).max()):
        raise PolicyError(f"the new steady state does not solve the model (max residual "
                          f"{np.abs(r_ss).max():.3e})")
    loglin = bool(getattr(model, "loglinear", False))
    A_lag, A_cur, A_lead, A_u = new_c.jacobian(ss_new, th_new)
    try:
        T, _R, _info = solve_matrices(A_lag, A_cur, A_lead, A_u)
    except SolutionError as exc:   # name the change that made the new regime fail
        label = ", ".join(f"{k}={v:g}" for k, v in changes.items())
        raise type(exc)(f"the new regime after {label} has no unique stable solution: {exc}",
                        exc.n_explosive, exc.n_forward, exc.eigenvalues) from None
    xo, xn = _to_x(ss_old, loglin), _to_x(ss_new, loglin)
    n = ss_new.size
    X = np.empty((N + 1, n))
    X[0] = xo
    dev = xo - xn
    for t in range(1, N + 1):
        dev = T @ dev
        X[t] = xn + dev
    fo = _from_x(X, loglin)
    fo[0] = ss_old
    # results over the declared variables (auxiliary lead/lag variables of a .mod file are
    # internal, as in the IRFs and moments)
    aux = set(getattr(model, "aux_variables", None) or [])
    keep = [j for j, v in enumerate(model.variables) if v not in aux]
    vars_ = [model.variables[j] for j in keep]
    res = Transition(changes, N, vars_, pd.Series(ss_old[keep], index=vars_, name="old"),
                     pd.Series(ss_new[keep], index=vars_, name="new"), fo[:, keep])
    uses_ss_op = nonlinear and any(n[0] == "fn" and n[1] == "STEADY_STATE"
                                   for e in model.equations for n in _tree_nodes(getattr(e, "tree", None)))
    if uses_ss_op:
        # the compiled dynamic residual evaluates STEADY_STATE(x) as x in the current period (right at the
        # steady state, where the rules are computed, but not along a path)
        res.pf_error = ("perfect-foresight paths of a model using Dynare's STEADY_STATE() operator are not "
                        "supported (the first-order path is)")
    elif nonlinear:
        # start from the first-order path; if Newton cannot work from there (a large change can push
        # the linear path out of the model's domain), from the new steady state in every period
        # (the starting path of Dynare's perfect_foresight_setup with an endval block)
        # and, for models of moderate size, exact Newton (finite-difference blocks) from the new steady
        # state, which is Dynare's method when the chord iteration stalls on a large change
        failures = []
        attempts = [("the first-order path", fo[1:], False), ("the new steady state", np.tile(ss_new, (N, 1)), False)]
        if n <= EXACT_NEWTON_MAX_VARIABLES:
            attempts.append(("the new steady state with exact Newton", np.tile(ss_new, (N, 1)), True))
        for label, guess, exact in attempts:
            try:
                path, it, err = perfect_foresight(new_c, th_new, ss_old, ss_new, guess, loglinear=loglin,
                                                  tol=tol, max_iter=max_iter, exact=exact)
            except (DSGEError, FloatingPointError, np.linalg.LinAlgError) as exc:
                failures.append(f"from {label}: {type(exc).__name__}: {exc}")
                continue
            pf = np.vstack([ss_old, path])[:, keep]
            res.perfect_foresight, res.newton_iterations, res.max_residual = pf, it, err
            break
        else:
            res.pf_error = "; ".join(failures)
    return res
