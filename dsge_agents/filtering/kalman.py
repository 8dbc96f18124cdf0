"""Kalman filter, smoother and simulation smoother (user-facing wrappers).

State space (time invariant), as in docs/ARCHITECTURE.md::

    s_t = T s_{t-1} + R u_t,        u_t ~ N(0, Q)
    y_t = d + Z s_t + e_t,          e_t ~ N(0, H)

``y`` is an (n, p) array with NaN for missing values (any pattern).
The initial condition is the predicted mean/covariance of ``s_1``:

* ``init="stationary"`` (Dynare ``lik_init=1``): a_1 = 0, P_1 = Σ with
  Σ = T Σ T' + RQR' (discrete Lyapunov equation, solved by doubling);
* ``init="lik_init2"`` (Dynare ``lik_init=2``): P_1 = 10·I (``scale`` changes 10);
* ``init="diffuse"``: large-κ approximation P_1 = κ·I (default κ = 1e6). This is the
  classical approximation of the exact diffuse filter (Harvey 1989 §3.3.4); the
  log-likelihood then contains terms of order log κ in the first periods, so
  use ``presample`` ≥ number of diffuse states to leave them out, as Dynare's
  approximate diffuse option does. (The exact diffuse filter of Koopman &
  Durbin 2003 is not implemented.)
* or explicit ``a1``, ``P1`` arrays.

The exact filter uses the Chandrasekhar recursions when possible (no missing
data, stationary initialization; identical up to rounding), the conventional
filter otherwise. ``riccati_tol > 0`` switches to the steady-state gain once
the gain changes less than the tolerance (Dynare's ``riccati_tol``; off by
default) and the period of the switch is reported.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dsge_agents.errors import DSGEError
from dsge_agents.filtering import _kernels as K

__all__ = [
    "FilterError", "LoglikResult", "FilterResult", "SmootherResult",
    "initial_conditions", "kalman_loglik", "kalman_filter", "kalman_smoother",
    "simulation_smoother", "lyapunov",
]


class FilterError(DSGEError):
    """Bad state-space input or a filter that cannot run (e.g. unit roots with a stationary init)."""


def _f64(x, name, ndim):
    a = np.ascontiguousarray(np.asarray(x, dtype=np.float64))
    if a.ndim != ndim:
        raise FilterError(f"{name} must be {ndim}-dimensional, got shape {a.shape}")
    return a


def lyapunov(T, V) -> np.ndarray:
    """Solve Σ = T Σ T' + V (doubling; see :func:`_kernels.lyapunov_doubling`).

    Raises :class:`FilterError` if T has an eigenvalue on or outside the unit circle.
    """
    T = _f64(T, "T", 2)
    V = _f64(V, "V", 2)
    S, ok = K.lyapunov_doubling(T, V)
    if not ok:
        ev = np.max(np.abs(np.linalg.eigvals(T))) if T.size else 0.0
        raise FilterError(
            f"stationary initialization impossible: largest |eigenvalue| of T is {ev:.6g} "
            "(use init='lik_init2' or init='diffuse')")
    return S


def initial_conditions(T, R, Q, init="stationary", a1=None, P1=None, scale=10.0, kappa=1e6):
    """Predicted mean and covariance of s_1 for the initialization ``init`` (see module doc)."""
    T = _f64(T, "T", 2)
    m = T.shape[0]
    if P1 is not None:
        P1 = _f64(P1, "P1", 2)
        if P1.shape != (m, m):
            raise FilterError(f"P1 must be {m}x{m}, got {P1.shape}")
    else:
        if isinstance(init, (int, np.integer)):
            init = {1: "stationary", 2: "lik_init2", 3: "diffuse"}.get(int(init), init)
        if init == "stationary":
            RQR = np.asarray(R) @ np.asarray(Q) @ np.asarray(R).T
            P1 = lyapunov(T, RQR)
        elif init == "lik_init2":
            P1 = scale * np.eye(m)
        elif init == "diffuse":
            P1 = kappa * np.eye(m)
        else:
            raise FilterError(f"unknown init {init!r} (stationary, lik_init2, diffuse or 1/2/3)")
    a1 = np.zeros(m) if a1 is None else _f64(a1, "a1", 1)
    return a1, np.ascontiguousarray(P1)


def _prepare(y, T, R, Q, Z, d, H):
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    y = np.ascontiguousarray(y)
    T = _f64(T, "T", 2)
    R = _f64(R, "R", 2)
    Q = _f64(np.atleast_2d(Q), "Q", 2)
    Z = _f64(np.atleast_2d(Z), "Z", 2)
    n, p = y.shape
    m = T.shape[0]
    if T.shape != (m, m) or R.shape[0] != m or Q.shape != (R.shape[1], R.shape[1]):
        raise FilterError(f"inconsistent shapes T{T.shape}, R{R.shape}, Q{Q.shape}")
    if Z.shape != (p, m):
        raise FilterError(f"Z must be {p}x{m} for {p} observables and {m} states, got {Z.shape}")
    if d is None:
        d = np.zeros(p)
    else:
        d = np.asarray(d, dtype=np.float64)
        if d.size not in (1, p) or d.ndim > 1:
            raise FilterError(f"d must be a scalar or have {p} entries (one per observable), got shape "
                              f"{d.shape}")
        d = _f64(np.broadcast_to(d, (p,)), "d", 1)
    H = np.zeros((p, p)) if H is None else _f64(np.atleast_2d(H), "H", 2)
    if H.shape == (1, 1) and p > 1:
        H = H[0, 0] * np.eye(p)
    if H.shape != (p, p):
        raise FilterError(f"H must be {p}x{p}, got {H.shape}")
    for name, a in (("T", T), ("R", R), ("Q", Q), ("Z", Z), ("d", d), ("H", H)):
        if not np.isfinite(a).all():
            r = tuple(int(i) for i in np.argwhere(~np.isfinite(a))[0])
            raise FilterError(f"{name} has a non-finite entry {a[r]} at {r}")
    for name, a in (("Q", Q), ("H", H)):
        if not np.allclose(a, a.T, rtol=1e-10, atol=1e-14 * max(1.0, float(np.abs(a).max(initial=0)))):
            raise FilterError(f"covariance matrix {name} is not symmetric")
        if a.size and np.linalg.eigvalsh(a).min() < -1e-10 * max(1.0, float(np.abs(a).max())):
            raise FilterError(f"covariance matrix {name} is not positive semi-definite")
    if np.isinf(y).any():
        r, c = np.argwhere(np.isinf(y))[0]
        raise FilterError(f"infinite observation at row {r}, column {c} (use NaN for missing values)")
    RQR = np.ascontiguousarray(R @ Q @ R.T)
    return y, T, R, Q, Z, d, H, RQR


@dataclass
class LoglikResult:
    """Log-likelihood and its per-period contributions ℓ_t (Gaussian constant included)."""

    loglik: float
    contributions: np.ndarray
    presample: int = 0
    method: str = "standard"
    riccati_switch: int = -1   # period (0-based) where the steady-state gain was adopted, -1 = never

    def __float__(self) -> float:
        return float(self.loglik)


def kalman_loglik(y, T, R, Q, Z, d=None, H=None, a1=None, P1=None, init="stationary",
                  presample: int = 0, riccati_tol: float = 0.0, method: str = "auto",
                  scale: float = 10.0, kappa: float = 1e6) -> LoglikResult:
    """Gaussian log-likelihood of ``y`` by the prediction-error decomposition.

    ℓ = Σ_{t > presample} −½ (p_t log 2π + log|F_t| + v_t' F_t^{-1} v_t)
    (Harvey 1989, eq. 3.4.9), p_t the number of non-missing values in period t.

    Parameters
    ----------
    y : (n, p) array, NaN = missing.
    T, R, Q, Z, d, H : system matrices (shapes m×m, m×k, k×k, p×m, p, p×p).
    a1, P1, init, scale, kappa : initial condition (module doc).
    presample : periods filtered but left out of the sum (Dynare ``presample``).
    riccati_tol : > 0 switches to the steady-state gain (Dynare ``riccati_tol``).
    method : "auto" (Chandrasekhar when valid, else conventional), "standard", "chandrasekhar".
    """
    y, T, R, Q, Z, d, H, RQR = _prepare(y, T, R, Q, Z, d, H)
    a1, P1 = initial_conditions(T, R, Q, init, a1, P1, scale, kappa)
    n, p = y.shape
    if not 0 <= int(presample) < max(n, 1):
        raise FilterError(f"presample={presample} must be ≥ 0 and leave periods of the {n} in y")
    contrib = np.zeros(n)
    has_nan = bool(np.isnan(y).any())
    stationary = (P1 is not None and init == "stationary")
    use_ch = (method == "chandrasekhar") or (
        method == "auto" and not has_nan and riccati_tol <= 0.0 and stationary)
    if method == "chandrasekhar" and has_nan:
        raise FilterError("the Chandrasekhar recursions need complete data (no NaN)")
    if use_ch:
        ll = K.kf_loglik_chandrasekhar(y, T, RQR, Z, d, H, a1, P1, int(presample), contrib)
        return LoglikResult(float(ll), contrib, int(presample), "chandrasekhar", -1)
    ll, sw = K.kf_loglik_standard(y, T, RQR, Z, d, H, a1, P1, int(presample),
                                  float(riccati_tol), contrib)
    return LoglikResult(float(ll), contrib, int(presample), "standard", int(sw))


@dataclass
class FilterResult:
    """Output of :func:`kalman_filter` (0-based periods).

    ``predicted_state[t]`` = E[s_t | y_1..y_{t−1}] (row n is the one-step forecast
    beyond the sample), ``filtered_state[t]`` = E[s_t | y_1..y_t], with covariances.
    """

    loglik: float
    contributions: np.ndarray
    predicted_state: np.ndarray
    predicted_cov: np.ndarray
    filtered_state: np.ndarray
    filtered_cov: np.ndarray
    innovations: np.ndarray
    innovation_inv_cov: np.ndarray
    gain: np.ndarray
    nobs: np.ndarray
    system: dict = field(repr=False, default_factory=dict)


def kalman_filter(y, T, R, Q, Z, d=None, H=None, a1=None, P1=None, init="stationary",
                  presample: int = 0, scale: float = 10.0, kappa: float = 1e6) -> FilterResult:
    """Conventional exact Kalman filter storing all intermediate quantities (see kf_full)."""
    y, T, R, Q, Z, d, H, RQR = _prepare(y, T, R, Q, Z, d, H)
    a1, P1 = initial_conditions(T, R, Q, init, a1, P1, scale, kappa)
    out = K.kf_full(y, T, RQR, Z, d, H, a1, P1)
    a_pred, P_pred, a_filt, P_filt, v, Fi, Kg, contrib, nobs, ok = out
    if not ok:
        raise FilterError("innovation covariance F_t is not positive definite")
    ll = float(contrib[presample:].sum())
    return FilterResult(ll, contrib, a_pred, P_pred, a_filt, P_filt, v, Fi, Kg, nobs,
                        dict(y=y, T=T, R=R, Q=Q, Z=Z, d=d, H=H, RQR=RQR, a1=a1, P1=P1))


@dataclass
class SmootherResult:
    """Smoothed states ŝ_t = E[s_t|Y], covariances, shocks û_t = E[u_t|Y], measurement errors ê_t."""

    states: np.ndarray
    state_cov: np.ndarray
    shocks: np.ndarray
    measurement_errors: np.ndarray
    loglik: float
    filter: FilterResult = field(repr=False, default=None)


def _smooth_from_filter(fr: FilterResult) -> SmootherResult:
    s = fr.system
    y, T, R, Q, Z, d, H, RQR = (s[k] for k in ("y", "T", "R", "Q", "Z", "d", "H", "RQR"))
    s_hat, V, u_hat, _ = K.dk_smoother(y, T, RQR, R, Q, Z, fr.predicted_state,
                                       fr.predicted_cov, fr.innovations,
                                       fr.innovation_inv_cov, fr.gain, fr.nobs)
    e_hat = y - d[None, :] - s_hat @ Z.T
    e_hat[np.isnan(y)] = 0.0
    return SmootherResult(s_hat, V, u_hat, e_hat, fr.loglik, fr)


def kalman_smoother(y, T, R, Q, Z, d=None, H=None, a1=None, P1=None, init="stationary",
                    scale: float = 10.0, kappa: float = 1e6) -> SmootherResult:
    """Fixed-interval smoother (RTS estimates, Durbin–Koopman recursion; see dk_smoother).

    With the timing s_t = T s_{t−1} + R u_t the smoothed shocks û_t (t = 1..n) and
    states satisfy ŝ_t = T ŝ_{t−1} + R û_t exactly for t ≥ 2, and the smoothed
    measurement errors ê_t = y_t − d − Z ŝ_t (exact decomposition of the data).
    û_1 = Q R' r_0 is the conditional mean of u_1 when P_1 = T P_0 T' + RQR'
    (true for the stationary initialization).
    """
    fr = kalman_filter(y, T, R, Q, Z, d, H, a1, P1, init, 0, scale, kappa)
    return _smooth_from_filter(fr)


def _psd_sqrt(P):
    w, U = np.linalg.eigh(0.5 * (P + P.T))
    w = np.clip(w, 0.0, None)
    return U * np.sqrt(w)


def simulation_smoother(y, T, R, Q, Z, d=None, H=None, a1=None, P1=None, init="stationary",
                        ndraws: int = 1, seed=None, scale: float = 10.0, kappa: float = 1e6):
    """Draws of states and shocks from their joint distribution given the data.

    Durbin & Koopman (2002, *Biometrika* 89(3), "A simple and efficient
    simulation smoother"): simulate (s⁺, u⁺, e⁺, y⁺) from the model with the
    same missing pattern, smooth both y and y⁺, and return
    s̃ = ŝ(y) + s⁺ − ŝ(y⁺) (likewise for u and e), a draw from p(s, u | y).

    Returns (states (ndraws, n, m), shocks (ndraws, n, k)).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    base = kalman_filter(y, T, R, Q, Z, d, H, a1, P1, init, 0, scale, kappa)
    sm = _smooth_from_filter(base)
    s = base.system
    yy, T, R, Q, Z, d, H = (s[k] for k in ("y", "T", "R", "Q", "Z", "d", "H"))
    n, p = yy.shape
    m, k = R.shape
    Pc = _psd_sqrt(s["P1"])
    Qc = _psd_sqrt(Q)
    Hc = _psd_sqrt(H)
    miss = np.isnan(yy)
    out_s = np.empty((ndraws, n, m))
    out_u = np.empty((ndraws, n, k))
    P1 = s["P1"]
    stationary = np.allclose(T @ P1 @ T.T + s["RQR"], P1, rtol=1e-8, atol=1e-12)
    for j in range(ndraws):
        u = rng.standard_normal((n, k)) @ Qc.T
        e = rng.standard_normal((n, p)) @ Hc.T
        st = np.empty((n, m))
        if stationary:
            # s_0 ~ N(0, Σ), s_1 = T s_0 + R u_1 ~ N(0, Σ): u_1 is simulated too
            s0 = Pc @ rng.standard_normal(m)
            st[0] = s["a1"] + T @ s0 + R @ u[0]
        else:
            # s_1 ~ N(a1, P1) directly; u_1 is then not identified separately and
            # its draw is set to the conditional mean (the correction below is zero)
            st[0] = s["a1"] + Pc @ rng.standard_normal(m)
        for t in range(1, n):
            st[t] = T @ st[t - 1] + R @ u[t]
        yp = d[None, :] + st @ Z.T + e
        yp[miss] = np.nan
        yp = np.ascontiguousarray(yp)
        fr = K.kf_full(yp, T, s["RQR"], Z, d, H, s["a1"], P1)
        s_hat_p, _, u_hat_p, _ = K.dk_smoother(yp, T, s["RQR"], R, Q, Z,
                                               fr[0], fr[1], fr[4], fr[5], fr[6], fr[8])
        out_s[j] = sm.states + st - s_hat_p
        if not stationary:
            u[0] = u_hat_p[0]
        out_u[j] = sm.shocks + u - u_hat_p
    return out_s, out_u
