"""Small numerical helpers shared by the policy tools (first-order solution, moments)."""
from __future__ import annotations

from typing import Mapping

import numpy as np

from ..errors import PolicyError

__all__ = ["single_threaded_blas", "first_order", "unconditional_cov", "variable_index", "model_params"]


def single_threaded_blas():
    """Context limiting BLAS to one thread (``threadpoolctl`` when installed).

    The policy tools factor many tiny matrices; multi-threaded OpenBLAS spends
    far longer synchronising its threads than computing on them (measured 10x
    slower on the 2-core CI machine), and process-parallel sweeps must not
    oversubscribe the cores.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        import contextlib
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def model_params(model, params: Mapping[str, float] | None = None) -> dict:
    p = dict(model.parameters)
    if params:
        p.update({k: float(v) for k, v in params.items()})
    return p


def first_order(model, params: Mapping[str, float] | None = None):
    """``(T, R, Q, ss)`` of the first-order solution ``y_t - ȳ = T (y_{t-1} - ȳ) + R u_t``.

    Uses the model layer's compiled Jacobian (DESIGN §4) and
    :func:`dsge_agents.linear.solve_matrices` (QZ, Blanchard–Kahn checks; raises
    ``IndeterminacyError`` / ``NoStableSolutionError`` / ``SingularPencilError``).
    ``Q`` is the shock covariance at ``params``; ``ss`` the steady state (n_var).
    """
    solve_matrices = _solve_matrices()
    comp = model.compiled
    theta = comp.theta(model_params(model, params))
    ss = np.asarray(comp.steady_state_at(theta), float)
    A_lag, A_cur, A_lead, A_u = comp.jacobian(ss, theta)
    T, R, _info = solve_matrices(A_lag, A_cur, A_lead, A_u)
    Q = np.asarray(comp.shock_cov(theta), float)
    return np.asarray(T, float), np.asarray(R, float), Q, ss


def _solve_matrices():
    try:
        from ..linear import solve_matrices
    except ImportError:  # linear/__init__ not populated yet
        from ..linear.qz import solve_matrices
    return solve_matrices


def lyapunov_doubling(A: np.ndarray, Q: np.ndarray, tol: float = 1e-15, max_iter: int = 64) -> np.ndarray:
    """Solve X = A X Aᵀ + Q (A stable) by the doubling algorithm.

    X = Σ_{k≥0} A^k Q (Aᵀ)^k is summed as X_{j+1} = X_j + A_j X_j A_jᵀ,
    A_{j+1} = A_j² (Smith 1968, "Matrix equation XA + BX = C", SIAM J. Appl.
    Math. 16(1); Anderson & Moore 1979, *Optimal Filtering*, §4.4), which doubles
    the number of terms per step. Every added term is positive semidefinite, so
    the sum is accurate to rounding, unlike the bilinear transformation that
    SciPy uses for larger systems (relative residual ~1e-9 on the orchestrated
    economy, enough to make optimal-rule losses noisy).
    """
    X = np.array(Q, float, copy=True)
    Ak = np.array(A, float, copy=True)
    for _ in range(max_iter):
        with np.errstate(over="ignore", invalid="ignore"):
            inc = Ak @ X @ Ak.T
            X = X + inc
        if not np.all(np.isfinite(X)):
            # a unit root in a Jordan block (integral SLO rule with φ_W = 0) overflows to inf − inf = NaN,
            # and NaN fails every comparison below: it used to come back as the "covariance"
            raise PolicyError("unconditional moments: the transition matrix is not stable (unit or explosive "
                              "root); the moments do not exist")
        if np.abs(inc).max() <= tol * max(np.abs(X).max(), 1e-300):
            break
        with np.errstate(over="ignore", invalid="ignore"):
            Ak = Ak @ Ak
    else:
        if not np.abs(Ak).max() <= 1e-8:
            raise PolicyError("unconditional moments: the transition matrix is not stable")
    return 0.5 * (X + X.T)


def unconditional_cov(T: np.ndarray, R: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """Unconditional covariance Σ of ``y_t = T y_{t-1} + R u_t``, ``u ~ (0, Q)``.

    Σ = T Σ Tᵀ + R Q Rᵀ (discrete Lyapunov equation), solved on the state block
    s (nonzero columns of T): Σ_ss = T_ss Σ_ss T_ssᵀ + R_s Q R_sᵀ by doubling
    (:func:`lyapunov_doubling`), then Σ = T_{:s} Σ_ss T_{:s}ᵀ + R Q Rᵀ.
    """
    T = np.asarray(T, float)
    R = np.asarray(R, float)
    RQR = R @ Q @ R.T
    s = np.flatnonzero(np.abs(T).max(axis=0) > 0)
    if s.size == 0:
        return RQR
    Tss = T[np.ix_(s, s)]
    Sss = lyapunov_doubling(Tss, RQR[np.ix_(s, s)])
    Ts = T[:, s]
    S = Ts @ Sss @ Ts.T + RQR
    return 0.5 * (S + S.T)


def variable_index(model, names, what: str = "variable") -> list[int]:
    """Positions of ``names`` in ``model.variables``; unknown names raise :class:`PolicyError`."""
    vars_ = list(model.variables)
    bad = [n for n in names if n not in vars_]
    if bad:
        raise PolicyError(f"unknown {what}{'s' if len(bad) > 1 else ''} {', '.join(map(repr, bad))} "
                          f"in model {getattr(model, 'name', '?')!r}; variables: {', '.join(vars_)}")
    return [vars_.index(n) for n in names]
