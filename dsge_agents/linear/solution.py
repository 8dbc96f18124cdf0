"""Model-level first-order solution: :func:`solve` and the :class:`Solution` results object.

``solve(model)`` evaluates the compiled steady state and Jacobians at θ and
solves ``A_lag ŷ_{t-1} + A_cur ŷ_t + A_lead E ŷ_{t+1} + A_u u_t = 0`` by ordered
QZ (:func:`dsge_agents.linear.qz.solve_matrices`, Villemot 2011) or by cyclic
reduction (:mod:`dsge_agents.linear.cyclic`). The decision rules are
Dynare's ``oo_.dr.ghx`` / ``ghu`` rearranged in declaration order; for
``loglinear`` models they act on log deviations, as in Dynare.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dsge_agents.errors import DSGEError
from dsge_agents.linear.qz import SolveInfo, format_eigenvalues, solve_matrices

__all__ = ["solve", "Solution", "lower_cholesky", "incidence"]


class _Lazy:
    """A module imported on first attribute access, then bound to its global name here.

    A QZ solve and its IRF arrays need neither pandas (``pd``: the DataFrame-returning methods) nor
    Numba (``kernels``: simulation and moments), and importing them costs a one-shot command
    (``dsge-agents irf``) a large part of its start-up time."""

    def __init__(self, module: str, name: str):
        self._module, self._name = module, name

    def __getattr__(self, attr):
        import importlib
        mod = importlib.import_module(self._module)
        globals()[self._name] = mod
        return getattr(mod, attr)


pd = _Lazy("pandas", "pd")
kernels = _Lazy("dsge_agents.linear.kernels", "kernels")


def lower_cholesky(Q: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a positive semi-definite shock covariance.

    Shocks with zero variance get a zero column (Dynare skips them in IRFs).
    Raises :class:`DSGEError` if the positive-variance block is not positive definite.
    """
    Q = np.asarray(Q, dtype=float)
    n = Q.shape[0]
    L = np.zeros_like(Q)
    pos = np.flatnonzero(np.diag(Q) > 0)
    if len(pos):
        try:
            L[np.ix_(pos, pos)] = np.linalg.cholesky(Q[np.ix_(pos, pos)])
        except np.linalg.LinAlgError:
            raise DSGEError("the shock covariance matrix is not positive definite") from None
    return L if n else L


def incidence(model) -> tuple[np.ndarray, np.ndarray]:
    """Structural lead–lag incidence: ``(has_lag, has_lead)`` booleans per variable.

    Read from the timing symbols of the model's equations (Dynare's
    ``lead_lag_incidence``), so a variable stays a state even when its lag
    coefficient is zero at the current parameters (e.g. ``rho_i = 0``).
    Uses ``model.lead_lag_incidence`` (stored at parse time, no SymPy) when the model has it.
    Returns ``(None, None)`` when the equations carry no symbolic form.
    """
    try:
        stored = getattr(model, "lead_lag_incidence", None)
    except Exception:  # noqa: BLE001 - a model without it: scan the equations below
        stored = None
    if stored is not None:
        lag, lead = stored
        return np.asarray(lag, bool), np.asarray(lead, bool)
    try:
        import sympy as sp
        from dsge_agents.model.expr import split_tsym
    except ImportError:  # pragma: no cover
        return None, None
    idx = {v: j for j, v in enumerate(model.variables)}
    lag = np.zeros(len(idx), bool)
    lead = np.zeros(len(idx), bool)
    try:
        for eq in model.equations:
            expr = eq.expr if isinstance(eq.expr, sp.Basic) else sp.sympify(eq.expr)
            for s in expr.free_symbols:
                name, k = split_tsym(s)
                if name in idx:
                    if k < 0:
                        lag[idx[name]] = True
                    elif k > 0:
                        lead[idx[name]] = True
    except Exception:  # noqa: BLE001 - fall back to the numeric pattern
        return None, None
    return lag, lead


def _theta_of(cm, params):
    if params is None or isinstance(params, dict):
        return cm.theta(params)
    th = np.asarray(params, dtype=float)
    if th.shape != (len(cm.param_names),):
        raise DSGEError(f"parameter vector has shape {th.shape}, expected ({len(cm.param_names)},) "
                        f"in the order {cm.param_names}")
    return th


def _check_inputs(model, cm, theta) -> None:
    """Parameters the model uses must have values, and the shock covariance must be a covariance:
    a parameter never assigned (NaN, as Dynare leaves it) surfaced as a "non-finite Jacobian" or a
    failed steady-state search, a negative variance as NaN moments and IRFs silently left out."""
    from dsge_agents.model import tree as T
    values = np.asarray(cm.all_params(theta), dtype=float)
    names = list(model.parameters)
    bad = [n for n, v in zip(names, values) if not np.isfinite(v)]
    if bad:
        used = set()
        for e in model.equations:
            used |= {n for n, _ in e.symbols}
        for t in list(model.shock_cov_entries.values()) + [e for _, e in (model.ss_block or [])]:
            used |= {n for n, _ in T.symbols(t)}
        bad = [n for n in bad if n in used]
        if bad:
            raise DSGEError(f"{model.source or model.name}: parameter(s) without a value: {', '.join(bad)} "
                            "(never assigned in the model file, or computed from one that is not; give them "
                            "a value there or with params={...})")
    Q = np.asarray(cm.shock_cov(theta), dtype=float)
    shocks = list(model.shocks)
    if not np.all(np.isfinite(Q)):
        raise DSGEError(f"{model.source or model.name}: the shock covariance has non-finite entries")
    d = np.diag(Q)
    neg = [f"{shocks[i]} ({d[i]:.6g})" for i in range(len(d)) if d[i] < 0]
    if neg:
        raise DSGEError(f"{model.source or model.name}: negative shock variance: {', '.join(neg)}")
    for i in range(len(d)):
        for j in range(i):
            if Q[i, j] ** 2 > d[i] * d[j] * (1 + 1e-10) and Q[i, j] != 0:
                r = Q[i, j] / np.sqrt(d[i] * d[j]) if d[i] * d[j] > 0 else float("inf")
                raise DSGEError(f"{model.source or model.name}: shocks {shocks[j]} and {shocks[i]} have a "
                                f"correlation of {r:.6g}, outside [-1, 1]")


def solve(model, params=None, method: str = "auto", qz_criterium: float = 1 + 1e-6) -> "Solution":
    """First-order solution of ``model`` at the calibration updated by ``params``.

    Parameters
    ----------
    model : dsge_agents.model.Model
    params : dict or ndarray, optional
        Parameter overrides ``{name: value}`` or a full θ in ``model.param_names`` order.
    method : {"auto", "qz", "cr", "cycle_reduction", "large"}
        Ordered generalized Schur (Villemot 2011) or cyclic reduction (Bini,
        Iannazzo & Meini 2012). With "cr" the eigenvalues / BK diagnostics are
        computed by QZ on demand (and whenever CR reports a failure). "large":
        the sparse structured solver of :mod:`dsge_agents.linear.large`
        (exogenous blocks + low-rank cyclic reduction on sparse Jacobians); "auto"
        (default) uses it above :data:`dsge_agents.model.compiled.LARGE_THRESHOLD`
        variables (400, or ``$DSGE_AGENTS_LARGE_THRESHOLD``) and QZ up to it (on the dense
        Jacobian of whichever code path the model has).
    qz_criterium : float
        Modulus above which an eigenvalue counts as explosive (Dynare: 1 + 1e-6).

    Raises
    ------
    SteadyStateError, IndeterminacyError, NoStableSolutionError, SingularPencilError
    """
    from dsge_agents.model.steady import steady_state_vector

    method = {"cycle_reduction": "cr", "cyclic_reduction": "cr"}.get(method, method)
    if method not in ("auto", "qz", "cr", "large"):
        raise DSGEError(f"unknown solution method {method!r} (use 'auto', 'qz', 'cr' or 'large')")
    cm = model.compiled
    theta = _theta_of(cm, params)
    _check_inputs(model, cm, theta)
    ss = np.asarray(steady_state_vector(model, theta), dtype=float)
    if method == "auto":
        from dsge_agents.model import compiled  # read at call time: tests and users may change it

        method = "large" if len(model.variables) > compiled.LARGE_THRESHOLD else "qz"
    if method == "large":
        return _solve_large(model, cm, theta, ss, qz_criterium)
    A_lag, A_cur, A_lead, A_u = (np.ascontiguousarray(a, dtype=float) for a in cm.jacobian(ss, theta))
    Q = np.asarray(cm.shock_cov(theta), dtype=float)
    lag_mask, lead_mask = incidence(model)
    info = None
    if method == "qz":
        T, R, info = solve_matrices(A_lag, A_cur, A_lead, A_u, qz_criterium, lag_mask, lead_mask)
    else:
        from dsge_agents.linear.cyclic import CR_INDETERMINATE, CR_MAX_ITER, CR_NO_STABLE, CR_OK, CR_TOL, cr_solve
        T, R, code = cr_solve(A_lag, A_cur, A_lead, A_u, float(qz_criterium), CR_TOL, CR_MAX_ITER)
        if code != CR_OK:
            # QZ gives the diagnosis with eigenvalue counts (and a solution if CR merely stalled)
            T, R, info = solve_matrices(A_lag, A_cur, A_lead, A_u, qz_criterium, lag_mask, lead_mask)
            if code in (CR_INDETERMINATE, CR_NO_STABLE):  # pragma: no cover - QZ raised already
                raise DSGEError("cyclic reduction and QZ disagree on the Blanchard-Kahn conditions")
    matrices = (A_lag, A_cur, A_lead, A_u)
    return Solution._build(model, cm, theta, ss, T, R, Q, info, method, qz_criterium, matrices,
                           lag_mask)


def _solve_large(model, cm, theta, ss, qz_criterium):
    """``solve(method="large")``: sparse Jacobians → :func:`dsge_agents.linear.large.solve_large`."""
    from dsge_agents.linear.large import large_matrices, solve_large, solve_info
    matrices, lag_mask, lead_mask = large_matrices(model, cm, ss, theta)
    res = solve_large(*matrices, qz_criterium=qz_criterium, lag_mask=lag_mask, lead_mask=lead_mask)
    Q = np.asarray(cm.shock_cov(theta), dtype=float)
    info = solve_info(res, qz_criterium)      # None: exact QZ diagnostics on demand (moderate n)
    if info is None:
        matrices = tuple(M.toarray() for M in matrices)
    obj = Solution._build(model, cm, theta, ss, None, res.ghu, Q, info, "large", qz_criterium,
                          matrices, lag_mask)
    obj._large = res
    del obj.__dict__["T"]   # assembled on first access (Solution.__getattr__): n² doubles
    return obj


@dataclass
class Solution:
    """First-order solution ``y_t − ȳ = T (y_{t−1} − ȳ) + R u_t`` of a model (docs/ARCHITECTURE.md).

    Attributes
    ----------
    model : the solved model
    params : dict — parameter values (``param_names`` order) at which it was solved
    theta : ndarray — the same as a vector
    steady_state : pd.Series — steady state in model units (levels), declared variables
    T, R : ndarray — transition / impact matrices on the full variable vector
        (auxiliary variables included); log deviations for loglinear models. For
        ``method="large"`` the dense T is assembled on first access (IRFs and ``ghx`` do
        not need it)
    shock_cov : ndarray — covariance of the shocks
    variables : list — full variable vector (declared + auxiliary)
    declared : list — declared variables (rows of ghx/ghu, IRFs, moments)
    state_variables : list — variables with a lag, declaration order (ghx columns)
    ghx, ghu : DataFrame — decision rules (Dynare's oo_.dr in declaration order)
    method : "qz", "cr" or "large" (then ``_large`` holds the
        :class:`dsge_agents.linear.large.LargeSolution`: state-space ghx/ghu, block sizes, timings)
    """

    model: object
    params: dict
    theta: np.ndarray
    T: np.ndarray
    R: np.ndarray
    shock_cov: np.ndarray
    variables: list
    declared: list
    shocks: list
    state_variables: list
    method: str = "qz"
    loglinear: bool = False
    qz_criterium: float = 1 + 1e-6
    _info: SolveInfo | None = field(default=None, repr=False)
    _matrices: tuple | None = field(default=None, repr=False)
    _masks: tuple | None = field(default=None, repr=False)
    _ss: np.ndarray | None = field(default=None, repr=False)   # steady state of the declared variables

    @classmethod
    def _build(cls, model, cm, theta, ss, T, R, Q, info, method, crit, matrices, lag_mask):
        variables = list(model.variables)
        aux = set(getattr(model, "aux_variables", []) or [])
        declared = [v for v in variables if v not in aux]
        rows = [variables.index(v) for v in declared]
        nonzero = (np.asarray(abs(matrices[0]).sum(axis=0)).ravel() != 0 if hasattr(matrices[0], "tocsc")
                   else np.any(matrices[0] != 0, axis=0))
        lag_mask = nonzero if lag_mask is None else (np.asarray(lag_mask, bool) | nonzero)
        states = [j for j in range(len(variables)) if lag_mask[j]]
        params = {p: float(v) for p, v in zip(cm.param_names, theta)}
        obj = cls(model=model, params=params, theta=np.asarray(theta, float),
                  T=T, R=R, shock_cov=Q, variables=variables, declared=declared, shocks=list(model.shocks),
                  state_variables=[variables[j] for j in states], method=method,
                  loglinear=bool(getattr(model, "loglinear", False)), qz_criterium=crit, _info=info,
                  _matrices=matrices, _masks=(lag_mask, None), _ss=np.asarray(ss, float)[rows])
        obj._rows = np.asarray(rows, dtype=np.int64)
        return obj

    def __getattr__(self, name):
        # Only called for attributes not found normally: the dense T of a large-path solution is
        # assembled on first access (n² doubles, 234 MB at n = 5,409); IRFs and the decision rules
        # use the state-space ghx of dsge_agents.linear.large instead.
        if name == "T":
            large = self.__dict__.get("_large")
            if large is not None:
                T = self.__dict__["T"] = large.transition()
                return T
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # pandas views, built on first access (a solve itself needs no pandas)
    @property
    def steady_state(self) -> "pd.Series":
        """Steady state of the declared variables in model units (levels), a Series."""
        s = self.__dict__.get("_steady_state_series")
        if s is None:
            s = self.__dict__["_steady_state_series"] = pd.Series(self._ss, index=self.declared,
                                                                  name="steady_state")
        return s

    @property
    def ghx(self) -> "pd.DataFrame":
        """Dynare's ``oo_.dr.ghx`` in declaration order: rows declared variables, columns ``name(-1)``."""
        g = self.__dict__.get("_ghx_frame")
        if g is None:
            cols = [self.variables.index(v) for v in self.state_variables]
            large = self.__dict__.get("_large")
            if large is not None and "T" not in self.__dict__:
                # T[:, j] is the state-space ghx column of state j, zero for the other columns
                vals = np.zeros((len(self._rows), len(cols)))
                pos = {int(j): k for k, j in enumerate(large.states)}
                for i, c in enumerate(cols):
                    if c in pos:
                        vals[:, i] = large.ghx[self._rows, pos[c]]
            else:
                vals = np.asarray(self.T)[np.ix_(self._rows, cols)]
            g = self.__dict__["_ghx_frame"] = pd.DataFrame(
                vals, index=self.declared, columns=[f"{v}(-1)" for v in self.state_variables])
        return g

    @property
    def ghu(self) -> "pd.DataFrame":
        """Dynare's ``oo_.dr.ghu`` in declaration order: rows declared variables, columns shocks."""
        g = self.__dict__.get("_ghu_frame")
        if g is None:
            g = self.__dict__["_ghu_frame"] = pd.DataFrame(np.asarray(self.R)[self._rows, :],
                                                           index=self.declared, columns=list(self.shocks))
        return g

    # ------------------------------------------------------------------ diagnostics
    @property
    def info(self) -> SolveInfo:
        """QZ diagnostics (computed on demand for cyclic-reduction solutions)."""
        if self._info is None:
            lag_mask, lead_mask = incidence(self.model)
            _, _, self._info = solve_matrices(*self._matrices, self.qz_criterium, lag_mask, lead_mask)
        return self._info

    @property
    def eigenvalues(self) -> np.ndarray:
        """Generalized eigenvalues sorted by modulus (Dynare's ``check``)."""
        return self.info.eigenvalues

    @property
    def bk(self) -> dict:
        """Blanchard–Kahn counts: n_explosive, n_forward, n_states, rank_condition, determinate."""
        return self.info.bk

    # ------------------------------------------------------------------ IRFs
    def _shock_index(self, shocks) -> list[int]:
        if shocks is None:
            return list(range(len(self.shocks)))
        if isinstance(shocks, str):
            shocks = [shocks]
        out = []
        for s in shocks:
            if s not in self.shocks:
                raise DSGEError(f"unknown shock {s!r}; the model's shocks are {self.shocks}")
            out.append(self.shocks.index(s))
        return out

    def irf_array(self, periods: int = 40, shocks=None, relative: bool = False) -> tuple[list[str], np.ndarray]:
        """``(shock names, array (n_shocks, periods, n_declared))`` of one-std IRFs (see :meth:`irf`)."""
        if periods < 1:
            raise DSGEError("periods must be at least 1")
        periods = int(periods)
        if relative:
            # Dynare's stoch_simul(relative_irf) at order 1: 100 x the response to the orthogonalized
            # impulse (Cholesky column j) divided by its own standard deviation L[j, j]
            names, arr = self.irf_array(periods, shocks)
            L = lower_cholesky(self.shock_cov)
            scale = np.array([100.0 / L[self.shocks.index(n), self.shocks.index(n)] for n in names])
            return names, arr * scale[:, None, None]
        if self.__dict__.get("_large") is not None:
            # large-path solution: the recursion on the states only, never the dense n x n transition
            from dsge_agents.linear.large import irf_array as _large_irf_array
            return _large_irf_array(self, periods, shocks)
        L = lower_cholesky(self.shock_cov)
        # Dynare skips shocks with zero variance
        keep = [j for j in self._shock_index(shocks) if self.shock_cov[j, j] > 1e-13]
        arr = np.zeros((len(keep), periods, len(self.declared)))
        if keep:
            # y_1 = R c_j, y_h = T y_{h-1} (as kernels.irf), every shock at once: one product per period;
            # plain NumPy, so a one-shot IRF (the CLI) loads no Numba kernel
            Y = self.R @ L[:, keep]
            for h in range(periods):
                arr[:, h, :] = Y[self._rows].T
                if h + 1 < periods:
                    Y = self.T @ Y
        return [self.shocks[j] for j in keep], arr

    def irf(self, periods: int = 40, shocks=None, relative: bool = False) -> pd.DataFrame:
        """Impulse responses to one-standard-deviation shocks, tidy.

        Dynare's first-order ``oo_.irfs``: the impulse of shock j is column j of
        the lower Cholesky factor of the shock covariance (= one standard
        deviation of shock j when shocks are uncorrelated; with correlated shocks
        Dynare orthogonalizes in declaration order, and so do we). Period 1 is
        the impact period; values are deviations from the steady state in model
        units (log deviations for loglinear models). Unlike ``oo_.irfs``,
        responses below 1e-10 are kept. Shocks with zero variance are skipped.

        ``relative=True`` is Dynare's ``stoch_simul(relative_irf)`` at order 1: each response is
        divided by the impulse's own standard deviation and multiplied by 100 (the response to a
        unit shock, times 100; with correlated shocks the Cholesky impulse scaled so that its own
        component is 100).

        Returns
        -------
        DataFrame with columns exactly ``shock, variable, period, value``.
        """
        names, arr = self.irf_array(periods, shocks, relative=relative)
        ns, P, nv = arr.shape
        return pd.DataFrame({
            "shock": np.repeat(np.array(names, dtype=object), nv * P),
            "variable": np.tile(np.repeat(np.array(self.declared, dtype=object), P), ns),
            "period": np.tile(np.arange(1, P + 1), ns * nv),
            "value": arr.transpose(0, 2, 1).reshape(-1),
        })

    # ------------------------------------------------------------------ simulation
    def simulate(self, n: int, seed: int = 0, burn: int = 0, deviations: bool = False) -> pd.DataFrame:
        """Simulate n periods after ``burn`` discarded ones, starting at the steady state.

        Shocks are N(0, shock_cov) drawn with ``numpy.random.default_rng(seed)``
        (standard normals times the lower Cholesky factor). Returns the declared
        variables in levels (``ȳ + ŷ``; ``ȳ·exp(ŷ)`` for loglinear models), or the
        deviations ŷ with ``deviations=True``. Index: periods 1..n.
        """
        if n < 0 or burn < 0:
            raise DSGEError("n and burn must be non-negative")
        rng = np.random.default_rng(seed)
        L = lower_cholesky(self.shock_cov)
        eps = rng.standard_normal((n + burn, len(self.shocks))) @ L.T
        dev = kernels.simulate(np.ascontiguousarray(self.T), np.ascontiguousarray(self.R),
                               np.ascontiguousarray(eps), np.zeros(len(self.variables)))[burn:, self._rows]
        if not deviations:
            ss = self.steady_state.to_numpy()
            dev = ss * np.exp(dev) if self.loglinear else ss + dev
        return pd.DataFrame(dev, columns=self.declared, index=pd.RangeIndex(1, n + 1, name="period"))

    # ------------------------------------------------------------------ moments
    def covariance(self) -> np.ndarray:
        """Unconditional covariance of the full variable vector (discrete Lyapunov by doubling)."""
        V = self.R @ self.shock_cov @ self.R.T
        S, ok = kernels.lyapunov_doubling(np.ascontiguousarray(self.T), np.ascontiguousarray(V), 1e-15, 200)
        if not ok:
            raise DSGEError("the solution is not stationary (unit or explosive root): unconditional "
                            "moments do not exist")
        return S

    def _unit_root_split(self):
        """``None`` if every root of T is stable (modulus below ``2 − qz_criterium``, Dynare's
        ``lyapunov_symm`` threshold), else ``(stationary, C, D, S22, B2)`` for the moments of the
        stationary variables of a model with unit roots.

        Ordered real Schur form ``T = Z S Z'`` with the unit (or explosive) roots first,
        ``Z = [U1 U2]``; ``U1`` spans a T-invariant subspace, and ``w_t = U2' y_t`` follows the stable
        ``w_t = S22 w_{t−1} + U2' R u_t``. A declared variable is stationary when its row of ``T``
        does not load on ``U1`` (``|T_i U1| < 1e-11``, Dynare's ``schur_vec_tol``); then
        ``y_i,t = C_i w_{t−1} + D_i u_t`` with ``C = T U2`` and ``D = R`` (rows of the declared
        variables), since ``T^k_i U1 = T_i U1 S11^{k−1} = 0``. Dynare reports NaN for the others."""
        from scipy.linalg import schur
        T = np.asarray(self.T, dtype=float)
        lim = 2.0 - float(self.qz_criterium)
        S, Z, k = schur(T, output="real", sort=lambda re, im: np.hypot(re, im) > lim)
        if k == 0:
            return None
        r = self._rows
        U1, U2 = Z[:, :k], Z[:, k:]
        stationary = np.all(np.abs(T[r] @ U1) < 1e-11, axis=1)
        return stationary, T[r] @ U2, np.asarray(self.R)[r], S[k:, k:], U2.T @ np.asarray(self.R)

    def _stationary_autocov(self, split, shock_cov, nlags):
        """Autocovariances ``Γ_k = E[y_t y'_{t−k}]`` (k = 0..nlags) of the declared variables from
        :meth:`_unit_root_split`: ``V = S22 V S22' + B2 Σ B2'`` (discrete Lyapunov), ``Γ_0 = C V C' +
        D Σ D'``, ``Γ_k = C S22^{k−1} (S22 V C' + B2 Σ D')``; NaN rows/columns for non-stationary variables."""
        stationary, C, D, S22, B2 = split
        V, ok = kernels.lyapunov_doubling(np.ascontiguousarray(S22), np.ascontiguousarray(B2 @ shock_cov @ B2.T),
                                          1e-15, 200)
        if not ok:
            raise DSGEError("the stationary part of the solution did not converge (root too close to 1)")
        n = C.shape[0]
        G = np.empty((int(nlags) + 1, n, n))
        G[0] = C @ V @ C.T + D @ shock_cov @ D.T
        M = S22 @ V @ C.T + B2 @ shock_cov @ D.T
        for k in range(1, int(nlags) + 1):
            G[k] = C @ M
            M = S22 @ M
        G[:, ~stationary, :] = np.nan
        G[:, :, ~stationary] = np.nan
        return G

    def _filter_gain(self, hp_filter, bandpass, grid):
        """Frequencies ``ω_j = 2πj/N`` (j < N = ``grid``) and the gain of the requested filter there
        (``None`` when no filter is asked for). HP (Hodrick & Prescott 1997, cyclical component,
        smoothing ``λ``): ``g(ω) = 4λ(1 − cos ω)² / (1 + 4λ(1 − cos ω)²)``; ideal band-pass for
        periods ``[low, high]`` (``low`` at least 2): 1 on ``2π/high ≤ ω ≤ 2π/low`` and on the
        mirror image ``2π − 2π/low ≤ ω ≤ 2π − 2π/high``, else 0 (Dynare 5.3's
        ``hp_filter`` / ``bandpass_filter`` with ``filtered_theoretical_moments_grid`` = 512)."""
        if hp_filter is None and bandpass is None:
            return None, None
        if hp_filter is not None and bandpass is not None:
            raise DSGEError("give either hp_filter or bandpass, not both")
        if isinstance(grid, bool) or int(grid) != grid or grid < 2:
            raise DSGEError(f"the frequency grid must be an integer of at least 2, got {grid!r}")
        grid = int(grid)
        freqs = np.arange(grid) * (2 * np.pi / grid)
        if bandpass is not None:
            try:
                low, high = (float(x) for x in bandpass)
            except (TypeError, ValueError):
                raise DSGEError(f"bandpass must be two periods (low, high), got {bandpass!r}") from None
            if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 or high < low:
                raise DSGEError(f"bandpass periods must satisfy 0 < low <= high, got {bandpass!r}")
            lo_w, hi_w = 2 * np.pi / high, 2 * np.pi / max(2.0, low)
            gain = (((freqs >= lo_w) & (freqs <= hi_w))
                    | ((freqs <= 2 * np.pi - lo_w) & (freqs >= 2 * np.pi - hi_w))).astype(float)
        else:
            lam = float(hp_filter)
            if not np.isfinite(lam) or lam <= 0:
                raise DSGEError(f"hp_filter (the HP smoothing parameter) must be positive, got {hp_filter!r}")
            c = 4 * lam * (1 - np.cos(freqs)) ** 2
            gain = c / (1 + c)
        return freqs, gain

    def _filtered_autocov(self, impulses, freqs, gain, nlags):
        """Autocovariances ``Γ_k = E[y_t y'_{t−k}]``, k = 0..nlags, of the filtered declared variables
        driven by shocks with impulse matrix ``impulses`` (state space ``R @ impulses``, unit
        variance). Spectral density ``f(ω) = (1/2π) |g(ω)|² H(ω) H(ω)*`` with the transfer function
        ``H(ω) = (I − T e^{−iω})^{−1} R impulses`` (Hamilton 1994, eq. 10.4.43 and §6.4 for a linear
        filter); ``Γ_k = ∫ f(ω) e^{iωk} dω`` by the N-point rule on the grid, i.e. an inverse FFT
        (Uhlig 2001, p. 20–21: the frequency-domain method Dynare uses). Frequencies where the gain
        is 0 contribute nothing (ω = 0 for HP: no unit-root division)."""
        T = np.asarray(self.T)
        R = np.asarray(self.R) @ impulses
        r = self._rows
        # only the states (non-zero columns of T) carry dynamics: x_t = T_SS x_{t-1} + R_S u_t and
        # y_t = T_rS x_{t-1} + R_r u_t, so H = z T_rS (I - T_SS z)^{-1} R_S + R_r with z = e^{-iw}
        S = np.flatnonzero(np.any(T != 0, axis=0))
        T_SS, T_rS, R_S, R_r = T[np.ix_(S, S)], T[np.ix_(r, S)], R[S], R[r]
        N = len(freqs)
        H = np.zeros((N, len(r), R.shape[1]), dtype=complex)     # gain-weighted transfer functions
        eye = np.eye(len(S))
        for j in np.flatnonzero(gain != 0):
            z = np.exp(-1j * freqs[j])
            H[j] = gain[j] * (z * (T_rS @ np.linalg.solve(eye - T_SS * z, R_S)) + R_r)
        if nlags is None:      # per-impulse filtered variances (the variance decomposition): (1/N) sum_j |H_j|^2
            return (np.abs(H) ** 2).sum(axis=0) / N
        dens = H @ np.conj(np.transpose(H, (0, 2, 1)))
        G = np.fft.ifft(dens, axis=0).real            # (1/N) sum_j dens_j e^{+i w_j k}
        return G[:int(nlags) + 1]

    def moments(self, nlags: int = 5, hp_filter: float | None = None, bandpass=None, grid: int = 512) -> dict:
        """Theoretical first-order moments (Dynare's ``oo_.var`` / ``oo_.autocorr``).

        Returns a dict with ``std`` and ``variance`` (Series), ``covariance`` and
        ``correlation`` (DataFrames, declared variables), ``autocorr``
        (DataFrame: variables × lags 1..nlags, ``corr(y_t, y_{t-k})``) and
        ``autocorr_matrices`` (list of DataFrames ``corr(y_t, y'_{t-k})``, Dynare's
        ``oo_.autocorr{k}``). Variables with zero variance get NaN correlations.

        Unfiltered by default (exact, discrete Lyapunov equation). ``hp_filter=λ`` gives the moments
        of the HP-filtered (cyclical) series, ``bandpass=(low, high)`` those of the ideal band-pass
        filter keeping periods ``low`` to ``high``, both computed as Dynare 5.3's
        ``stoch_simul(hp_filter=...)`` / ``bandpass_filter=[low high]`` do: in the frequency domain
        on a grid of ``grid`` points (Dynare's ``filtered_theoretical_moments_grid``, 512). Filtered
        moments exist for unit-root models too (the filters remove frequency 0). Unfiltered moments of
        a model with unit roots (moduli above ``2 − qz_criterium``, as Dynare) are those of its
        stationary variables, NaN for the others (:meth:`_unit_root_split`), as Dynare reports them.
        """
        if isinstance(nlags, bool) or not (isinstance(nlags, (int, np.integer))
                                           or (isinstance(nlags, float) and nlags.is_integer())) or nlags < 0:
            # the compiled kernel writes Γ_0 unchecked: a negative count corrupted memory (abort)
            raise DSGEError(f"nlags must be a whole number >= 0 (0 = no autocorrelations), got {nlags!r}")
        nlags = int(nlags)
        freqs, gain = self._filter_gain(hp_filter, bandpass, grid)
        if freqs is not None:
            if nlags >= len(freqs):
                raise DSGEError(f"filtered moments: nlags ({nlags}) must be below the frequency grid ({len(freqs)})")
            G = self._filtered_autocov(lower_cholesky(self.shock_cov), freqs, gain, nlags)
        else:
            split = self._unit_root_split() if self.__dict__.get("_large") is None else None
            if split is not None:
                G = self._stationary_autocov(split, np.asarray(self.shock_cov, dtype=float), nlags)
            else:
                S = self.covariance()
                G = kernels.autocovariances(np.ascontiguousarray(self.T), S, int(nlags))
                r = self._rows
                G = G[:, r][:, :, r]
        var = np.diag(G[0]).copy()
        var[var < 0] = 0.0
        sd = np.sqrt(var)
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.outer(sd, sd)
            tiny = sd <= 1e-12 * max(np.nanmax(sd, initial=0.0), 1e-300)
            corr = G / denom
            corr[:, tiny, :] = np.nan
            corr[:, :, tiny] = np.nan
        d = self.declared
        ac = pd.DataFrame(np.stack([np.diag(corr[k]) for k in range(1, nlags + 1)], axis=1)
                          if nlags > 0 else np.zeros((len(d), 0)),
                          index=d, columns=list(range(1, nlags + 1)))
        return {
            "std": pd.Series(sd, index=d, name="std"),
            "variance": pd.Series(var, index=d, name="variance"),
            "covariance": pd.DataFrame(G[0], index=d, columns=d),
            "correlation": pd.DataFrame(corr[0], index=d, columns=d),
            "autocorr": ac,
            "autocorr_matrices": [pd.DataFrame(corr[k], index=d, columns=d) for k in range(1, nlags + 1)],
        }

    def variance_decomposition(self, hp_filter: float | None = None, bandpass=None, grid: int = 512) -> pd.DataFrame:
        """Unconditional variance decomposition in percent (rows: variables, columns: shocks).

        One discrete Lyapunov equation per orthogonalized shock (column j of the
        lower Cholesky factor of the shock covariance, Dynare's convention); rows
        sum to 100 (NaN for variables with zero variance). ``hp_filter`` / ``bandpass`` / ``grid``:
        the decomposition of the filtered variances, as :meth:`moments` (Dynare's
        ``stoch_simul(hp_filter=...)``).
        """
        freqs, gain = self._filter_gain(hp_filter, bandpass, grid)
        if freqs is not None:
            L = lower_cholesky(self.shock_cov)
            parts = self._filtered_autocov(L, freqs, gain, None)     # variables x shocks
            tot = parts.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = 100.0 * parts / tot[:, None]
            out[tot <= 1e-24 * max(tot.max(initial=0.0), 1e-300)] = np.nan
            return pd.DataFrame(out, index=self.declared, columns=self.shocks)
        L = lower_cholesky(self.shock_cov)
        split = self._unit_root_split() if self.__dict__.get("_large") is None else None
        if split is not None:    # unit roots: the stationary variables only (NaN rows for the others)
            parts = np.stack([np.diag(self._stationary_autocov(split, np.outer(L[:, j], L[:, j]), 0)[0])
                              for j in range(len(self.shocks))], axis=1)
            tot = parts.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                out = 100.0 * parts / tot[:, None]
            out[~(tot > 1e-24 * max(np.nanmax(tot, initial=0.0), 1e-300))] = np.nan
            return pd.DataFrame(out, index=self.declared, columns=self.shocks)
        shares, ok = kernels.variance_decomposition(np.ascontiguousarray(self.T), np.ascontiguousarray(self.R),
                                                    np.ascontiguousarray(L), 1e-15)
        if not ok:
            raise DSGEError("the solution is not stationary: the variance decomposition does not exist")
        out = pd.DataFrame(shares[self._rows], index=self.declared, columns=self.shocks)
        tot = self.covariance()[self._rows, self._rows]
        out.loc[tot <= 1e-24 * max(tot.max(initial=0.0), 1e-300)] = np.nan
        return out

    def conditional_variance_decomposition(self, horizons) -> pd.DataFrame:
        """Variance decomposition of the h-step-ahead forecast errors, in percent (Dynare's
        ``stoch_simul(conditional_variance_decomposition=[h1 h2 ...])``, ``oo_.conditional_variance_
        decomposition`` × 100).

        For the orthogonalized shock j (column ``c_j`` of the lower Cholesky factor of the shock
        covariance, as :meth:`variance_decomposition`) the forecast-error variance at horizon h is
        ``V_j(h) = Σ_{s<h} T^s R c_j (T^s R c_j)'`` (Hamilton 1994, eq. 11.5.6, with the state-space
        form y_t = T y_{t−1} + R u_t); the share of variable i is ``100 V_j(h)[i,i] / Σ_k V_k(h)[i,i]``.
        Exists for unit-root models too (finite horizons).

        Returns a DataFrame with rows ``(horizon, variable)`` (a MultiIndex, horizons in the order
        given, declared variables) and one column per shock; rows with zero variance are NaN.
        """
        hs = [horizons] if np.isscalar(horizons) else list(horizons)
        if not hs:
            raise DSGEError("conditional_variance_decomposition: give at least one horizon")
        for h in hs:
            if isinstance(h, bool) or not float(h).is_integer() or h < 1:
                raise DSGEError(f"conditional_variance_decomposition: horizons must be integers >= 1, got {h!r}")
        hs = [int(h) for h in hs]
        T = np.asarray(self.T)
        B = np.asarray(self.R) @ lower_cholesky(self.shock_cov)     # n x n_u impulses
        r = self._rows
        need = sorted(set(hs))
        parts = {}
        acc = np.zeros((len(r), B.shape[1]))
        X = B.copy()
        for s in range(1, need[-1] + 1):           # acc after s steps = sum_{q<s} (T^q B)^2 (rows r)
            acc = acc + X[r] ** 2
            if s in need:
                parts[s] = acc.copy()
            X = T @ X
        rows, vals = [], []
        for h in hs:
            v = parts[h]
            tot = v.sum(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = 100.0 * v / tot[:, None]
            share[tot <= 1e-24 * max(tot.max(initial=0.0), 1e-300)] = np.nan
            vals.append(share)
            rows += [(h, v_) for v_ in self.declared]
        idx = pd.MultiIndex.from_tuples(rows, names=["horizon", "variable"])
        return pd.DataFrame(np.vstack(vals), index=idx, columns=self.shocks)

    # ------------------------------------------------------------------ reporting
    def summary(self) -> str:
        """Steady state, eigenvalues with the BK verdict, decision rules (what ``dsge-agents solve`` prints)."""
        name = getattr(self.model, "name", "model")
        lines = [f"First-order solution of {name} (method {self.method}"
                 + (", log-linearized" if self.loglinear else "") + ")", "", "STEADY STATE"]
        lines += [f"  {v:<16s} {x: .10g}" for v, x in self.steady_state.items()]
        lines += ["", "EIGENVALUES"]
        lines += ["  " + s for s in format_eigenvalues(self.eigenvalues).splitlines()]
        bk = self.bk
        lines += ["", f"There are {bk['n_explosive']} eigenvalue(s) larger than 1 in modulus for "
                      f"{bk['n_forward']} forward-looking variable(s).",
                  "The rank condition is verified." if bk["rank_condition"] else "The rank condition FAILS.",
                  "Blanchard-Kahn conditions are satisfied: unique stable solution."
                  if bk["determinate"] else "Blanchard-Kahn conditions are NOT satisfied."]
        unit = " (log deviations)" if self.loglinear else ""
        lines += ["", f"POLICY AND TRANSITION FUNCTIONS{unit}"]
        table = pd.concat([self.ghx, self.ghu], axis=1).T
        with pd.option_context("display.width", 200, "display.max_columns", 50, "display.float_format",
                               lambda x: f"{x: .6f}"):
            lines += ["  " + s for s in table.to_string().splitlines()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Solution({getattr(self.model, 'name', '?')!r}, method={self.method!r}, "
                f"{len(self.declared)} variables, states={self.state_variables}, shocks={self.shocks})")

    def to_dict(self) -> dict:
        """JSON-ready dict (schema of ``dsge-agents solve --json``, issue 2 item 8)."""
        ev = self.eigenvalues
        return {
            "parameters": dict(self.params),
            "steady_state": {k: float(v) for k, v in self.steady_state.items()},
            "eigenvalues": [[json_number(e.real), json_number(e.imag)] if np.isfinite(e) else [None, None] for e in ev],
            "ghx": {"rows": list(self.ghx.index), "cols": list(self.ghx.columns),
                    "values": self.ghx.to_numpy().tolist()},
            "ghu": {"rows": list(self.ghu.index), "cols": list(self.ghu.columns),
                    "values": self.ghu.to_numpy().tolist()},
        }

    def plot_irf(self, periods: int = 40, shocks=None, variables=None, max_variables: int = 8,
                 max_shocks: int = 8, **kwargs):
        """IRF grid (variables × shocks) as a matplotlib Figure (returned, not shown).

        Without ``variables`` the grid shows the model's observables when there
        are at most ``max_variables`` of them, else the first ``max_variables``
        declared variables; without ``shocks`` at most ``max_shocks`` shocks, those
        with the largest responses of the shown variables (each variable's
        responses scaled by its largest one), in declaration order. See
        :func:`dsge_agents.plots.irf.plot_irf_panels` for the other options (``light=True``: panels
        drawn without matplotlib Axes, several times faster to save; what the CLI writes).
        """
        # the figure code lives in the plots layer; imported lazily so that the
        # linear layer does not depend on matplotlib at import time
        from dsge_agents.plots.irf import plot_irf_panels
        variables, shocks = self.irf_selection(periods, shocks, variables, max_variables, max_shocks)
        title = f"{getattr(self.model, 'name', '')}: impulse responses to one-s.d. shocks"
        if self.loglinear:
            title += " (log deviations)"
        names, arr = self.irf_array(periods, shocks)
        return plot_irf_panels(np.arange(1, int(periods) + 1), arr, names, self.declared, variables=variables,
                               shocks=shocks, title=title, **kwargs)

    def irf_selection(self, periods=40, shocks=None, variables=None, max_variables=8, max_shocks=8):
        """Default ``(variables, shocks)`` shown by :meth:`plot_irf` (see there). Up to eight shocks
        are all shown, as Dynare plots every shock (with at most four, Smets-Wouters' figure left out
        the monetary-policy and productivity shocks)."""
        if variables is None:
            obs = [v for v in (getattr(self.model, "observables", None) or []) if v in self.declared]
            variables = obs if 0 < len(obs) <= max_variables else self.declared[:max_variables]
        else:
            variables = [variables] if isinstance(variables, str) else list(variables)
            for v in variables:
                if v not in self.declared:
                    raise DSGEError(f"unknown variable {v!r}; the model's variables are {self.declared}")
        if shocks is None:
            names, arr = self.irf_array(periods)
            if len(names) > max_shocks:
                cols = [self.declared.index(v) for v in variables]
                peak = np.abs(arr[:, :, cols]).max(axis=1)          # shocks x variables
                scale = peak.max(axis=0)
                scale[scale == 0] = 1.0
                score = (peak / scale).sum(axis=1)
                keep = sorted(np.argsort(-score, kind="stable")[:max_shocks])
                shocks = [names[k] for k in keep]
            else:
                shocks = names
        else:
            shocks = [shocks] if isinstance(shocks, str) else list(shocks)
        return variables, shocks


def json_number(x: float):
    """A float for JSON: finite as is, NaN / ±inf (an infinite eigenvalue at beta = 0, an open
    bound) as None -- JSON has no Infinity/NaN."""
    x = float(x)
    return x if np.isfinite(x) else None
