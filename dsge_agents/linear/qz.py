"""First-order solution of linear rational-expectations models by ordered QZ.

The model is the linearization of ``f(y_{t-1}, y_t, y_{t+1}, u_t) = 0`` at the
steady state,

.. math::

    A_- \\hat y_{t-1} + A_0 \\hat y_t + A_+ E_t \\hat y_{t+1} + A_u u_t = 0 ,

and the solution sought is the stable recursive law
:math:`\\hat y_t = T \\hat y_{t-1} + R u_t`, where ``T`` solves the matrix
quadratic equation :math:`A_+ T^2 + A_0 T + A_- = 0` and
:math:`R = -(A_+ T + A_0)^{-1} A_u`.

The algorithm follows the generalized Schur (QZ) method of Klein (2000) and
Sims (2002) as organised by Villemot (2011), "Solving rational expectations
models at first order: what Dynare does", Dynare Working Paper 2:

1. variables are classified by incidence into *static* (only at t), *purely
   predetermined* (lag, no lead), *mixed* (lag and lead) and *forward* (lead,
   no lag);
2. static variables are eliminated by a QR decomposition of their columns of
   :math:`A_0` (Villemot §3);
3. a pencil :math:`E - \\lambda D` of size ``nspred + nsfwrd`` is built on the
   dynamic variables (Villemot eq. 6), with the identities that link the
   current and the lead copy of each mixed variable;
4. the ordered real QZ decomposition puts the generalized eigenvalues of
   modulus ≤ ``qz_criterium`` first; the Blanchard–Kahn (1980) order condition
   compares the number of the others with ``nsfwrd`` (the variables with a lead)
   and the rank condition requires the stable block :math:`Z_{11}` to be
   invertible;
5. the decision rules follow from the stable invariant subspace
   (Villemot eqs. 8–10) and the static rows from the QR-triangular block.

Blanchard–Kahn is always counted from the generalized eigenvalues, never from
which variables carry leads or lags alone.

Badly scaled models (non-zero Jacobian entries spanning more than 2^16) are first rescaled by
exact powers of two (:mod:`dsge_agents.linear.scaling`) and their decision rules refined by
Newton's method afterwards (:mod:`dsge_agents.linear.refine`); see :func:`solve_matrices`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla

from dsge_agents.errors import IndeterminacyError, NoStableSolutionError, SingularPencilError
from dsge_agents.linear.refine import impact, refine_solvent
from dsge_agents.linear.scaling import equilibrate

__all__ = ["solve_matrices", "SolveInfo", "classify_variables", "format_eigenvalues"]

#: Dynare's ``qz_zero_threshold``: a generalized eigenvalue alpha/beta with both
#: |alpha| and |beta| below it is 0/0 and the pencil is singular.
QZ_ZERO_THRESHOLD = 1e-6
#: Dynare's threshold on the reciprocal condition number of the stable block.
RANK_RCOND = 1e-9


@dataclass
class SolveInfo:
    """Diagnostics of :func:`solve_matrices`.

    Attributes
    ----------
    eigenvalues : ndarray (complex)
        Generalized eigenvalues of the pencil sorted by modulus (ascending), as
        Dynare's ``check`` lists them; ``inf`` where beta = 0.
    n_explosive : int
        Number of eigenvalues of modulus > ``qz_criterium``.
    n_forward : int
        Number of variables with a lead (mixed + forward, Dynare's ``nsfwrd``).
    n_states : int
        Number of variables with a lag (predetermined + mixed, ``nspred``).
    state_indices : ndarray of int
        Indices of the state variables (those with a lag) in the variable vector,
        ascending (declaration order).
    static, predetermined, mixed, forward : ndarray of int
        Variable indices of each class.
    rank_rcond : float
        Reciprocal condition number of the stable block Z11 (rank condition).
    qz_criterium : float
    newton_steps : int
        Newton steps that refined the QZ solvent (:func:`dsge_agents.linear.refine.refine_solvent`;
        0 when its componentwise backward error was already at rounding level).
    backward_error : float
        Componentwise backward error of the QZ solvent before refinement
        (:func:`dsge_agents.linear.refine.backward_error`).
    rescaled : bool
        Whether equations and variables were rescaled before the QZ
        (:func:`dsge_agents.linear.scaling.equilibrate`).
    """

    eigenvalues: np.ndarray
    n_explosive: int
    n_forward: int
    n_states: int
    state_indices: np.ndarray
    static: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    predetermined: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    mixed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    forward: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rank_rcond: float = 1.0
    qz_criterium: float = 1 + 1e-6
    newton_steps: int = 0
    backward_error: float = 0.0
    rescaled: bool = False

    @property
    def bk(self) -> dict:
        """Blanchard–Kahn summary as a plain dict."""
        return {"n_explosive": int(self.n_explosive), "n_forward": int(self.n_forward),
                "n_states": int(self.n_states), "rank_condition": bool(self.rank_rcond >= RANK_RCOND),
                "determinate": bool(self.n_explosive == self.n_forward and self.rank_rcond >= RANK_RCOND),
                "qz_criterium": float(self.qz_criterium)}

    # tuple-like access for users who unpack (T, R, info) and index info
    def __getitem__(self, key):
        return getattr(self, key)


def classify_variables(A_lag, A_lead, lag_mask=None, lead_mask=None):
    """Split variables into static / purely predetermined / mixed / forward.

    Incidence is the union of the non-zero columns of ``A_lag`` / ``A_lead`` and
    the optional ``lag_mask`` / ``lead_mask`` (booleans per variable, e.g. the
    model's symbolic lead–lag incidence, which keeps a variable a state when its
    coefficient happens to be zero at the current parameters).

    Returns
    -------
    static, pred, mixed, fwrd : ndarray of int (ascending)
    """
    n = A_lag.shape[1]
    has_lag = np.any(A_lag != 0, axis=0)
    has_lead = np.any(A_lead != 0, axis=0)
    # structural incidence may add variables (zero coefficients at these parameters), never remove any
    if lag_mask is not None:
        lag_mask = np.asarray(lag_mask, bool)
        if lag_mask.shape != (n,):
            raise ValueError("lag_mask must have one entry per variable")
        has_lag = has_lag | lag_mask
    if lead_mask is not None:
        lead_mask = np.asarray(lead_mask, bool)
        if lead_mask.shape != (n,):
            raise ValueError("lead_mask must have one entry per variable")
        has_lead = has_lead | lead_mask
    idx = np.arange(n)
    static = idx[~has_lag & ~has_lead]
    pred = idx[has_lag & ~has_lead]
    mixed = idx[has_lag & has_lead]
    fwrd = idx[~has_lag & has_lead]
    return static, pred, mixed, fwrd


def format_eigenvalues(eigenvalues) -> str:
    """Table of eigenvalues (modulus, real, imaginary) as Dynare's ``check`` prints it."""
    lines = [f"{'Modulus':>14s} {'Real':>14s} {'Imaginary':>14s}"]
    for ev in eigenvalues:
        if np.isinf(ev.real) or np.isinf(ev.imag) or np.isnan(ev):
            lines.append(f"{'Inf':>14s} {'Inf':>14s} {'0':>14s}")
        else:
            lines.append(f"{abs(ev):14.6g} {ev.real:14.6g} {ev.imag:14.6g}")
    return "\n".join(lines)


def _bk_message(kind: str, n_explosive: int, n_forward: int, extra: str = "") -> str:
    return (f"Blanchard-Kahn conditions are not satisfied: {kind}. There are {n_explosive} eigenvalue(s) "
            f"larger than 1 in modulus for {n_forward} forward-looking variable(s)." + extra)


def solve_matrices(A_lag, A_cur, A_lead, A_u, qz_criterium: float = 1 + 1e-6,
                   lag_mask=None, lead_mask=None, balance: bool = True):
    """Stable first-order solution of ``A_lag y_{t-1} + A_cur y_t + A_lead E y_{t+1} + A_u u_t = 0``.

    Ordered generalized Schur (QZ) decomposition as in Klein (2000), Sims (2002)
    and Villemot (2011, "Solving rational expectations models at first order:
    what Dynare does"); see the module docstring for the steps.

    Parameters
    ----------
    A_lag, A_cur, A_lead : array_like (n, n)
        Derivatives of the residuals w.r.t. y_{t-1}, y_t, y_{t+1}.
    A_u : array_like (n, n_u)
        Derivatives w.r.t. the shocks u_t.
    qz_criterium : float
        Eigenvalues of modulus > qz_criterium are explosive (Dynare's default 1+1e-6).
    lag_mask, lead_mask : array_like of bool (n,), optional
        Structural incidence (a variable that appears with a lag / lead even if its
        column is numerically zero at these parameters). Default: non-zero columns.
    balance : bool
        Rescale equations and variables by powers of two before the QZ
        (:func:`dsge_agents.linear.scaling.equilibrate`; exact, same eigenvalues) and refine the
        decision rules afterwards (:mod:`dsge_agents.linear.refine`). ``False``: the pencil as
        given, as Dynare builds it, and no Newton refinement (the impact matrix is still refined).

    Returns
    -------
    T : ndarray (n, n)
        Transition matrix; columns of non-state variables are zero.
    R : ndarray (n, n_u)
        Impact matrix.
    info : SolveInfo
        Eigenvalues sorted by modulus, explosive / forward counts, state indices.

    Raises
    ------
    IndeterminacyError
        Fewer explosive eigenvalues than forward-looking variables.
    NoStableSolutionError
        More explosive eigenvalues than forward-looking variables.
    SingularPencilError
        A generalized eigenvalue is 0/0, the static columns are rank deficient,
        or the rank condition fails (Z11 singular).
    """
    A_lag = np.asarray(A_lag, dtype=float)
    A_cur = np.asarray(A_cur, dtype=float)
    A_lead = np.asarray(A_lead, dtype=float)
    A_u = np.asarray(A_u, dtype=float)
    if A_u.ndim == 1:
        A_u = A_u[:, None]
    n = A_cur.shape[0]
    for name, M in (("A_lag", A_lag), ("A_cur", A_cur), ("A_lead", A_lead)):
        if M.shape != (n, n):
            raise ValueError(f"{name} has shape {M.shape}, expected ({n}, {n}) (square: equations × variables)")
    if A_u.shape[0] != n:
        raise ValueError(f"A_u has {A_u.shape[0]} rows, expected {n}")
    if not (np.all(np.isfinite(A_lag)) and np.all(np.isfinite(A_cur)) and np.all(np.isfinite(A_lead))
            and np.all(np.isfinite(A_u))):
        raise SingularPencilError("the Jacobian contains non-finite values (NaN/Inf)")

    if balance:
        try:
            T, R, info = _solve(A_lag, A_cur, A_lead, A_u, qz_criterium, lag_mask, lead_mask, True)
            if not info.rescaled or _plausible(A_lag, A_cur, A_lead, T):
                return T, R, info
        except SingularPencilError:
            pass
        # Safety net: the tests of singularity (Dynare's absolute qz_zero_threshold, the rank tests)
        # act on the rescaled pencil, and rescaling factors spanning hundreds of binary orders can
        # amplify rounding residue. Whatever Dynare's procedure solves is solved: the pencil as given.
    return _solve(A_lag, A_cur, A_lead, A_u, qz_criterium, lag_mask, lead_mask, False)


def _plausible(A_lag, A_cur, A_lead, T) -> bool:
    """Normwise relative residual of ``A_+ T² + A_0 T + A_-`` below 1e-8 (max norms)."""
    if not np.all(np.isfinite(T)):
        return False
    tn = np.max(np.abs(T), initial=0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        res = A_lead @ (T @ T) + A_cur @ T + A_lag
        den = (np.max(np.abs(A_lead), initial=0.0) * tn * tn + np.max(np.abs(A_cur), initial=0.0) * tn
               + np.max(np.abs(A_lag), initial=0.0))
        r = np.max(np.abs(res), initial=0.0)
    return bool(np.isfinite(r) and np.isfinite(den) and r <= 1e-8 * max(den, 1e-300))


def _solve(A_lag, A_cur, A_lead, A_u, qz_criterium, lag_mask, lead_mask, balance):
    """:func:`solve_matrices` on validated float arrays."""
    n = A_cur.shape[0]
    static, pred, mixed, fwrd = classify_variables(A_lag, A_lead, lag_mask, lead_mask)
    # --- 0. equilibrate: equations and variables rescaled by powers of two (exact; scaling.py)
    r_eq, c_var = equilibrate(A_lag, A_cur, A_lead) if balance else (None, None)
    if r_eq is not None:
        A_lag, A_cur, A_lead = ((M * r_eq[:, None]) * c_var[None, :] for M in (A_lag, A_cur, A_lead))
        A_u = A_u * r_eq[:, None]
    n_s, npred, nboth, nfwrd = len(static), len(pred), len(mixed), len(fwrd)
    nspred, nsfwrd = npred + nboth, nboth + nfwrd
    dyn = np.concatenate([pred, mixed, fwrd])          # dynamic variables in DR order
    n_d = len(dyn)
    states = np.sort(np.concatenate([pred, mixed]))    # declaration order

    # --- 1. eliminate static variables: Q' A_cur[:, static] = [R_s; 0] (Villemot §3)
    if n_s > 0:
        Q, Rs = np.linalg.qr(A_cur[:, static], mode="complete")
        diag = np.abs(np.diag(Rs[:n_s, :n_s]))
        scale = max(np.max(np.abs(A_cur[:, static])), 1.0)
        if diag.min() <= 1e-12 * scale:
            raise SingularPencilError(
                "the columns of the static variables are rank deficient "
                f"(static variables {list(static)}); the model is singular",
                n_explosive=None, n_forward=nsfwrd)
        QT = Q.T
        Bl, Bc, Bf = QT @ A_lag, QT @ A_cur, QT @ A_lead
    else:
        Bl, Bc, Bf = A_lag, A_cur, A_lead
    rows_d = slice(n_s, n)                              # dynamic equations

    # --- 2. pencil D w_t = E w_{t-1},  w_t = (y^-_t, y^+_{t+1}), y^- = (pred, mixed), y^+ = (mixed, fwrd)
    size = nspred + nsfwrd
    D = np.zeros((size, size))
    E = np.zeros((size, size))
    back = np.concatenate([pred, mixed])
    fore = np.concatenate([mixed, fwrd])
    if n_d > 0:
        D[:n_d, :nspred] = Bc[rows_d][:, back]
        D[:n_d, nspred:] = Bf[rows_d][:, fore]
        E[:n_d, :nspred] = -Bl[rows_d][:, back]
        E[:n_d, nspred + nboth:] = -Bc[rows_d][:, fwrd]
        # identities: mixed part of y^-_t equals mixed part of y^+_t (carried in w_{t-1})
        for k in range(nboth):
            D[n_d + k, npred + k] = 1.0
            E[n_d + k, nspred + k] = 1.0

    # --- 3. ordered QZ: stable (|alpha| <= crit |beta|) first
    if size > 0:
        def _stable(alpha, beta):
            return np.abs(alpha) <= qz_criterium * np.abs(beta)
        try:
            S, Tt, alpha, beta, _Qz, Z = sla.ordqz(E, D, sort=_stable, output="real")
        except ValueError as exc:   # LAPACK's reordering refused: too ill-conditioned to separate
            raise SingularPencilError(f"the ordered QZ decomposition failed ({exc})", n_explosive=None,
                                      n_forward=nsfwrd) from None
        abs_a, abs_b = np.abs(alpha), np.abs(beta)
        zero_zero = (abs_a < QZ_ZERO_THRESHOLD) & (abs_b < QZ_ZERO_THRESHOLD)
        with np.errstate(divide="ignore", invalid="ignore"):
            eig = np.where(abs_b > 0, alpha / np.where(abs_b > 0, beta, 1.0), np.inf + 0j)
        order = np.argsort(np.where(np.isfinite(np.abs(eig)), np.abs(eig), np.inf), kind="stable")
        eig_sorted = eig[order]
        sdim = int(np.sum(abs_a <= qz_criterium * abs_b))
    else:
        S = Tt = Z = np.zeros((0, 0))
        zero_zero = np.zeros(0, bool)
        eig_sorted = np.zeros(0, complex)
        sdim = 0
    n_explosive = size - sdim
    info = SolveInfo(eigenvalues=eig_sorted, n_explosive=n_explosive, n_forward=nsfwrd, n_states=nspred,
                     state_indices=states.astype(np.int64), static=static, predetermined=pred, mixed=mixed,
                     forward=fwrd, qz_criterium=qz_criterium)

    def _err(cls, kind, extra=""):
        return cls(_bk_message(kind, n_explosive, nsfwrd, extra), n_explosive=n_explosive, n_forward=nsfwrd,
                   eigenvalues=eig_sorted)

    if np.any(zero_zero):
        raise _err(SingularPencilError, "the pencil is singular (an eigenvalue is close to 0/0)")
    if n_explosive > nsfwrd:
        raise _err(NoStableSolutionError, "no stable equilibrium")
    if n_explosive < nsfwrd:
        raise _err(IndeterminacyError, "indeterminacy")

    # --- 4. decision rules from the stable invariant subspace
    T = np.zeros((n, n))
    if nspred > 0:
        Z11 = Z[:nspred, :nspred]
        Z21 = Z[nspred:, :nspred]
        rc = _rcond(Z11)
        info.rank_rcond = rc
        if rc < RANK_RCOND:
            raise _err(SingularPencilError, "the rank condition is not satisfied",
                       f" The rank condition fails (rcond of Z11 = {rc:.3g}).")
        S11 = S[:nspred, :nspred]
        T11 = Tt[:nspred, :nspred]
        # y^-_t = Z11 T11^{-1} S11 Z11^{-1} y^-_{t-1};  y^+_t = Z21 Z11^{-1} y^-_{t-1}
        Z11inv = np.linalg.inv(Z11)
        g_minus = Z11 @ sla.solve_triangular(T11, S11 @ Z11inv)
        g_plus = Z21 @ Z11inv
        T[np.ix_(back, back)] = g_minus
        if nfwrd > 0:
            T[np.ix_(fwrd, back)] = g_plus[nboth:, :]
        if n_s > 0:
            # static rows (first n_s equations after Q'): R_s y_s = -(Bc_dyn T_dyn + Bl + Bf T T) restricted
            Tdyn = T[dyn][:, back]
            rhs = (Bc[:n_s][:, dyn] @ Tdyn + Bl[:n_s][:, back]
                   + Bf[:n_s][:, fore] @ (T[fore][:, back] @ g_minus))
            T[np.ix_(static, back)] = -sla.solve_triangular(Rs[:n_s, :n_s], rhs)
    # --- 5. impact matrix R = -(A_lead T + A_cur)^{-1} A_u on the equilibrated LU of M
    #     (dsge_agents.linear.refine.impact). For a rescaled (badly scaled) model: Newton refinement of
    #     T in working precision when its componentwise backward error is above ~60 eps
    #     (refine.refine_solvent: Higham & Kim 2001), and R from the refined T with one step of iterative
    #     refinement (Skeel 1980). The eigenvalues and BK counts above are the QZ's, untouched.
    try:
        R = impact(A_lead @ T + A_cur, A_u, refine=r_eq is not None)
        if r_eq is not None:
            T, info.newton_steps, info.backward_error = refine_solvent(A_lag, A_cur, A_lead, T, states)
            if info.newton_steps:
                R = impact(A_lead @ T + A_cur, A_u)
    except (np.linalg.LinAlgError, ValueError):
        raise _err(SingularPencilError, "A_lead T + A_cur is singular (shock impact undetermined)") from None
    info.rescaled = r_eq is not None
    if r_eq is not None:           # back to the model's units: y = C y~, T = C T~ C^-1, R = C R~ (exact)
        T = (T * c_var[:, None]) / c_var[None, :]
        R = R * c_var[:, None]
    return T, R, info


def _rcond(M: np.ndarray) -> float:
    """Reciprocal 1-norm condition number of a square matrix (inf-safe)."""
    if M.size == 0:
        return 1.0
    try:
        s = np.linalg.svd(M, compute_uv=False)
    except np.linalg.LinAlgError:
        return 0.0
    return float(s[-1] / s[0]) if s[0] > 0 else 0.0
