"""Dynare-consistent log-likelihood of a linearized DSGE model.

For a parameter draw θ the steady state ȳ(θ) and the first-order solution
y_t − ȳ = T (y_{t−1} − ȳ) + R u_t are recomputed (linear layer's
:class:`~dsge_agents.linear.resolver.Resolver`), the system is restricted to the
state variables plus the observed variables (Dynare's "restricted" state vector),
and the Kalman filter (:mod:`dsge_agents.filtering`) evaluates

    ℓ(θ) = Σ_{t > presample} −½ (p_t log 2π + log|F_t| + v_t' F_t^{-1} v_t)

with the measurement equation y^obs_t = ȳ_obs + ŷ_t + e_t (``loglinear``: the data
are logged and log(y^obs_t) = log(ȳ_obs) + ŷ_t; ``prefilter=1``: the data are
demeaned and the constant dropped), initial covariance from the discrete
Lyapunov equation (``lik_init=1``) or 10·I (``lik_init=2``). Dynare 5.3,
``dsge_likelihood.m`` / ``kalman_filter.m``; see ../shared/DYNARE_NOTES.md.

The hot path (:class:`LogLikelihood`) precomputes index sets, data and buffers;
one evaluation is two Numba calls (solve, then restrict + Lyapunov + filter).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numba import njit

from dsge_agents.errors import DataError, DSGEError, PriorError
from dsge_agents.estimation.priors import Prior, log_prior_vec, make_prior, prior_arrays
from dsge_agents.filtering import _kernels as K
from dsge_agents.filtering.kalman import LoglikResult

__all__ = ["EstimatedParam", "ParameterSpace", "LogLikelihood", "loglik", "prepare_data"]


# ----------------------------------------------------------------------------- Numba core
@njit(cache=True)
def _restrict(ss, T, R, Q, ridx, oidx_r, loglin, dconst, obsmode):
    """Restricted system: T_rr, R_r, RQR', Z (selection) and d (log ss if loglinear).

    ``obsmode[i]`` (per observable): 0 = the model's own measurement (y = ȳ + ŷ, or log ȳ + ŷ
    if loglinear; d = 0 when prefiltered); 1 = log deviation from the sample mean of a model in
    levels: y_t = ŷ_t / ȳ (first-order log deviation), Z entry 1/ȳ, d = 0; 2 = level deviation
    from the sample mean: y_t = ŷ_t, Z entry 1, d = 0."""
    m = ridx.shape[0]
    k = R.shape[1]
    p = oidx_r.shape[0]
    Tr = np.empty((m, m))
    Rr = np.empty((m, k))
    for i in range(m):
        for j in range(m):
            Tr[i, j] = T[ridx[i], ridx[j]]
        for j in range(k):
            Rr[i, j] = R[ridx[i], j]
    RQ = Rr @ Q
    RQR = RQ @ Rr.T
    Z = np.zeros((p, m))
    d = np.empty(p)
    for i in range(p):
        md = obsmode[i]
        Z[i, oidx_r[i]] = 1.0 / ss[ridx[oidx_r[i]]] if md == 1 else 1.0
        if md != 0:
            d[i] = 0.0
        elif dconst:
            v = ss[ridx[oidx_r[i]]]
            d[i] = math.log(v) if loglin else v
        else:
            d[i] = 0.0
    return Tr, Rr, RQR, Z, d


@njit(cache=True)
def _ll_core(ss, T, R, Q, H, ridx, oidx_r, loglin, dconst, y, presample, lik_init,
             init_scale, riccati_tol, use_chandra, contrib, obsmode):
    """Restrict, initialize (Lyapunov or scale·I) and filter; returns (ℓ, switch, status).

    status 0 ok, 7 stationary init impossible (unit root), 8 F_t not PD,
    9 steady state of an observable not positive with ``loglinear``.
    """
    Tr, Rr, RQR, Z, d = _restrict(ss, T, R, Q, ridx, oidx_r, loglin, dconst, obsmode)
    for i in range(d.shape[0]):
        if not np.isfinite(d[i]):
            return -np.inf, -1, 9
    m = Tr.shape[0]
    if lik_init == 1:
        P1, ok = K.lyapunov_doubling(Tr, RQR, 1e-15, 200)
        if not ok:
            return -np.inf, -1, 7
    else:
        P1 = init_scale * np.eye(m)
    a1 = np.zeros(m)
    if use_chandra and lik_init == 1 and riccati_tol <= 0.0:
        ll = K.kf_loglik_chandrasekhar(y, Tr, RQR, Z, d, H, a1, P1, presample, contrib)
        sw = -1
    else:
        ll, sw = K.kf_loglik_standard(y, Tr, RQR, Z, d, H, a1, P1, presample, riccati_tol, contrib)
    if not np.isfinite(ll):
        return -np.inf, sw, 8
    return ll, sw, 0


@njit(cache=True)
def _cov_update(Q0, x, pos_std, idx_std, pos_corr, idx_corr):
    """Covariance D C D with D = std (calibrated, replaced by x[pos_std] at idx_std) and
    C the calibrated correlation with entries idx_corr replaced by x[pos_corr]."""
    n = Q0.shape[0]
    std = np.empty(n)
    for i in range(n):
        std[i] = math.sqrt(Q0[i, i]) if Q0[i, i] > 0 else 0.0
    C = np.eye(n)
    for i in range(n):
        for j in range(n):
            if i != j:
                den = std[i] * std[j]
                C[i, j] = Q0[i, j] / den if den > 0 else 0.0
    for k in range(pos_std.shape[0]):
        std[idx_std[k]] = x[pos_std[k]]
    for k in range(pos_corr.shape[0]):
        a = idx_corr[k, 0]
        b = idx_corr[k, 1]
        C[a, b] = x[pos_corr[k]]
        C[b, a] = x[pos_corr[k]]
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = C[i, j] * std[i] * std[j]
    return out


def _is_pd(A) -> bool:
    """Positive definite on the entries with a positive variance (Dynare checks the same block:
    a shock or observable without variance is left out)."""
    k = np.flatnonzero(np.diag(A) > 0)
    try:
        np.linalg.cholesky(A[np.ix_(k, k)])
        return True
    except np.linalg.LinAlgError:
        return False


STATUS = {0: "ok", 1: "indeterminacy", 2: "no stable solution", 3: "solver did not converge",
          4: "singular system", 5: "non-finite steady state / Jacobian", 6: "steady state not found",
          7: "unit root: stationary initialization impossible", 8: "innovation covariance not PD",
          9: "non-positive steady state of an observable with loglinear", 10: "outside prior support",
          11: "shock covariance not positive definite (estimated correlations)",
          12: "measurement-error covariance not positive definite (estimated correlations)"}


# ----------------------------------------------------------------------------- parameters
@dataclass
class EstimatedParam:
    """One estimated quantity: a model parameter, a shock/measurement-error std or a correlation."""

    name: str             # display name: 'alp', 'stderr e_a', 'corr e_a, e_m'
    kind: str             # 'param' | 'stderr' | 'me_stderr' | 'corr' | 'me_corr'
    index: tuple          # θ index / shock index / obs index / pair
    prior: Prior
    lower: float          # estimation bounds (prior support ∩ declared bounds)
    upper: float
    init: float
    init_given: bool = False   # an explicit initial value in estimated_params (else calibration)


def _fmt_name(ep: dict) -> str:
    if ep["kind"] == "param":
        return ep["name"]
    if ep["kind"] == "stderr":
        return f"stderr {ep['name']}"
    return f"corr {ep['name']}, {ep.get('name2', '')}".strip()


class ParameterSpace:
    """The estimated parameters of a model, in Dynare's order (stderr, corr, parameters).

    Transforms to an unbounded space (for optimizers and random-walk MH):
    (a, b) → logit, (a, ∞) → log(x − a), (−∞, b) → log(b − x), ℝ → identity,
    with log|dx/dz| returned by :meth:`log_jacobian`.
    """

    def __init__(self, params: list[EstimatedParam]):
        self.params = params
        self.names = [p.name for p in params]
        self.lower = np.array([p.lower for p in params], dtype=float)
        self.upper = np.array([p.upper for p in params], dtype=float)
        self.priors = [p.prior for p in params]
        self._packed = prior_arrays(self.priors, self.lower, self.upper)

    def __len__(self):
        return len(self.params)

    @classmethod
    def from_model(cls, model, observables=None) -> "ParameterSpace":
        obs = list(observables if observables is not None else model.observables)
        pidx = {p: i for i, p in enumerate(model.param_names)}
        sidx = {s: i for i, s in enumerate(model.shocks)}
        oidx = {o: i for i, o in enumerate(obs)}
        calib_std = np.sqrt(np.clip(np.diag(np.asarray(model.shock_cov, dtype=float)), 0, None))
        groups = {"stderr": [], "me_stderr": [], "corr": [], "me_corr": [], "param": []}
        src = model.source or "<model>"
        for ep in model.estimated_params:
            kind = ep.get("kind", "param")
            name = ep["name"]
            n2 = ep.get("name2")
            if kind == "corr" and isinstance(name, (list, tuple)):
                # the .mod and YAML readers store `corr a, b` as name = [a, b]
                name, n2 = name
            line = ep.get("line")
            where = f"{src}" + (f", line {line}" if line else "")
            try:
                prior = make_prior(ep.get("prior"), ep.get("mean"), ep.get("std"),
                                   ep.get("p3", np.nan), ep.get("p4", np.nan), name=name)
            except PriorError as exc:
                raise PriorError(f"{where}: {exc}") from None
            lo, hi = ep.get("lower", -np.inf), ep.get("upper", np.inf)
            lo = -np.inf if lo is None or np.isnan(lo) else float(lo)
            hi = np.inf if hi is None or np.isnan(hi) else float(hi)
            lo, hi = max(lo, prior.lower), min(hi, prior.upper)
            init = ep.get("init", np.nan)
            init = np.nan if init is None else float(init)
            given = not np.isnan(init)
            if kind == "param":
                if name not in pidx:
                    raise PriorError(f"{where}: estimated parameter {name!r} is not a base parameter "
                                     f"of the model ({', '.join(model.param_names)})")
                if np.isnan(init):
                    init = float(model.parameters[name])
                groups["param"].append(EstimatedParam(name, "param", (pidx[name],), prior, lo, hi, init,
                                                      given))
            elif kind == "stderr":
                if name in sidx:
                    if np.isnan(init):
                        init = float(calib_std[sidx[name]])
                    groups["stderr"].append(EstimatedParam(f"stderr {name}", "stderr", (sidx[name],),
                                                           prior, lo, hi, init, given))
                elif name in oidx:
                    if np.isnan(init):
                        init = prior.mean if np.isfinite(prior.mean) else 0.01
                    groups["me_stderr"].append(EstimatedParam(f"stderr {name}", "me_stderr",
                                                              (oidx[name],), prior, lo, hi, init,
                                                              given))
                else:
                    raise PriorError(f"{where}: stderr of {name!r}: neither a shock nor an observable")
            elif kind == "corr":
                if name in sidx and n2 in sidx:
                    key, idx = "corr", (sidx[name], sidx[n2])
                elif name in oidx and n2 in oidx:
                    key, idx = "me_corr", (oidx[name], oidx[n2])
                else:
                    raise PriorError(f"{where}: corr {name}, {n2}: unknown shocks/observables")
                lo, hi = max(lo, -1.0), min(hi, 1.0)
                if np.isnan(init):
                    init = 0.0
                groups[key].append(EstimatedParam(f"corr {name}, {n2}", key, idx, prior, lo, hi, init,
                                                  given))
            else:
                raise PriorError(f"{where}: unknown estimated parameter kind {kind!r}")
        params = groups["stderr"] + groups["me_stderr"] + groups["corr"] + groups["me_corr"] + groups["param"]
        seen = {}
        for p in params:
            key = (p.kind, tuple(sorted(p.index)) if p.kind in ("corr", "me_corr") else p.index)
            if key in seen:
                raise PriorError(f"{src}: {p.name} is estimated twice (estimated_params)")
            seen[key] = p
        for p in params:
            if not (p.lower <= p.init <= p.upper) or not np.isfinite(p.prior.logpdf(p.init)):
                # Dynare starts from the prior mean when the calibration is outside the support
                p.init = p.prior.mean if np.isfinite(p.prior.logpdf(p.prior.mean)) else 0.5 * (
                    p.lower + p.upper)
        return cls(params)

    # ------------------------------------------------------------------ priors
    def log_prior(self, x) -> float:
        """Σ log p_i(x_i) (−inf outside a support or bound)."""
        return float(log_prior_vec(np.asarray(x, dtype=float), *self._packed))

    def log_prior_slow(self, x) -> float:
        """Same as :meth:`log_prior`, term by term in Python (reference for tests)."""
        s = 0.0
        for p, xi in zip(self.params, x):
            if not (p.lower <= xi <= p.upper):
                return -np.inf
            s += p.prior.logpdf(float(xi))
        return s

    def check(self, x, what="value"):
        """Raise PriorError naming the first coordinate outside its prior support/bounds."""
        for p, xi in zip(self.params, np.asarray(x, dtype=float)):
            if not (p.lower <= xi <= p.upper) or not np.isfinite(p.prior.logpdf(float(xi))):
                raise PriorError(f"{what} of {p.name} = {xi:g} is outside the support of its prior "
                                 f"{p.prior.describe()} / bounds [{p.lower:g}, {p.upper:g}]")

    @property
    def x0(self) -> np.ndarray:
        return np.array([p.init for p in self.params], dtype=float)

    @property
    def prior_mean(self) -> np.ndarray:
        return np.array([p.prior.mean for p in self.params], dtype=float)

    # ------------------------------------------------------------------ transforms
    def to_unbounded(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        z = np.empty_like(x)
        for i, (a, b) in enumerate(zip(self.lower, self.upper)):
            if np.isfinite(a) and np.isfinite(b):
                u = (x[i] - a) / (b - a)
                z[i] = math.log(u) - math.log1p(-u) if 0 < u < 1 else (-np.inf if u <= 0 else np.inf)
            elif np.isfinite(a):
                z[i] = math.log(x[i] - a) if x[i] > a else -np.inf
            elif np.isfinite(b):
                z[i] = math.log(b - x[i]) if x[i] < b else -np.inf
            else:
                z[i] = x[i]
        return z

    def to_bounded(self, z) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        x = np.empty_like(z)
        for i, (a, b) in enumerate(zip(self.lower, self.upper)):
            if np.isfinite(a) and np.isfinite(b):
                x[i] = a + (b - a) / (1.0 + math.exp(-z[i])) if z[i] > -700 else a
            elif np.isfinite(a):
                x[i] = a + math.exp(min(z[i], 700.0))
            elif np.isfinite(b):
                x[i] = b - math.exp(min(z[i], 700.0))
            else:
                x[i] = z[i]
        return x

    def log_jacobian(self, z) -> float:
        """log |dx/dz| of :meth:`to_bounded` at z."""
        s = 0.0
        for i, (a, b) in enumerate(zip(self.lower, self.upper)):
            zi = float(z[i])
            if np.isfinite(a) and np.isfinite(b):
                # dx/dz = (b−a) σ(z)(1−σ(z))
                s += math.log(b - a) - abs(zi) - 2.0 * math.log1p(math.exp(-abs(zi)))
            elif np.isfinite(a) or np.isfinite(b):
                s += zi
        return s

    def describe(self) -> pd.DataFrame:
        return pd.DataFrame({
            "parameter": self.names,
            "prior": [p.prior.shape for p in self.params],
            "prior_mean": [p.prior.mean for p in self.params],
            "prior_std": [p.prior.std for p in self.params],
            "lower": self.lower, "upper": self.upper, "init": self.x0})


# ----------------------------------------------------------------------------- data
def _bundled_data_hint(model) -> str | None:
    """Where to get the data of a bundled model (``dsge_agents.models.DATA_SOURCES``), if ``model``
    was read from the package's own model folder."""
    if not model.source:
        return None
    from importlib import resources
    src = Path(model.source).resolve()
    if src.parent != Path(str(resources.files("dsge_agents.models"))).resolve():
        return None
    from dsge_agents.models import DATA_SOURCES
    return DATA_SOURCES.get(src.stem)


def _resolve_datafile(model):
    opts = model.estimation_options or {}
    p = opts.get("datafile_path") or opts.get("datafile")
    if not p:
        return None
    path = Path(p)
    if not path.is_absolute() and model.source:
        cand = Path(model.source).resolve().parent / path
        if cand.exists() or cand.with_suffix(".csv").exists() or cand.with_suffix(".m").exists():
            path = cand
    if not (path.exists() or (not path.suffix and (path.with_suffix(".csv").exists()
                                                    or path.with_suffix(".m").exists()))):
        where = [str(Path(model.source).resolve().parent)] if model.source and not path.is_absolute() else []
        where.append(str(Path.cwd()) if not path.is_absolute() else str(path.parent))
        names = [path.name] if path.suffix else [path.name + ".csv", path.name + ".m"]
        hint = _bundled_data_hint(model)
        if hint:   # a bundled model whose data are not shipped: say where to get them
            raise DataError(f"{model.name}: datafile {path.name} not found; {hint}")
        raise DataError(f"{model.source or model.name}: datafile {p!r} not found (looked for "
                        f"{' / '.join(names)} in {' and '.join(dict.fromkeys(where))})")
    return path


def _whole(v, what: str) -> int:
    """A sample option that must be a whole number (first_obs, nobs, presample)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise DataError(f"{what} must be a whole number, got {v!r}") from None
    if not f.is_integer():
        raise DataError(f"{what} must be a whole number, got {v!r}")
    return int(f)


def prepare_data(model, data=None, observables=None, first_obs=None, nobs=None, loglinear=None,
                 prefilter=None, transform="level"):
    """Select, validate and transform the estimation sample.

    Returns (y (n×p float array, NaN = missing), observables, index, info dict).
    ``first_obs`` is 1-based (Dynare); ``nobs`` defaults to all remaining rows.
    Raises :class:`DataError` for missing columns, too few rows, ±inf, and
    non-positive values of a ``loglinear`` model (naming row and column).
    """
    opts = model.estimation_options or {}
    obs = list(observables if observables is not None else model.observables)
    if not obs:
        raise DataError(f"{model.name}: no observables (varobs) declared")
    unknown = [o for o in obs if o not in model.variables]
    if unknown:
        raise DataError(f"observables {unknown} are not variables of model {model.name!r}")
    twice = sorted({o for o in obs if obs.count(o) > 1})
    if twice:
        raise DataError(f"observables {twice} are listed twice")
    src = "<data>"
    if data is None:
        path = _resolve_datafile(model)
        if path is None:
            raise DataError(f"{model.name}: no data given (data=... in Python, --data PATH on the command line) "
                            "and the model names no datafile")
        from dsge_agents.model import read_datafile
        data = read_datafile(path)
        src = str(path)
    elif isinstance(data, (str, Path)):
        from dsge_agents.model import read_datafile
        src = str(data)
        data = read_datafile(data)
    if isinstance(data, pd.DataFrame):
        missing = [o for o in obs if o not in data.columns]
        if missing:
            raise DataError(f"{src}: observables {missing} not found in the data columns "
                            f"{list(data.columns)}")
        index = data.index
        arr = data[obs].to_numpy(dtype=float)
    else:
        arr = np.asarray(data, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.shape[1] != len(obs):
            raise DataError(f"{src}: data has {arr.shape[1]} columns but the model has {len(obs)} "
                            f"observables {obs}")
        index = pd.RangeIndex(arr.shape[0])
    fo = _whole(first_obs if first_obs is not None else opts.get("first_obs", 1), "first_obs")
    if fo < 1:
        raise DataError(f"first_obs must be ≥ 1, got {fo}")
    nrows = arr.shape[0]
    if fo > nrows:
        raise DataError(f"{src}: first_obs={fo} but the data have {nrows} rows")
    n = nobs if nobs is not None else opts.get("nobs")
    n = nrows - fo + 1 if n is None else _whole(n, "nobs")
    if n < 1:
        raise DataError(f"nobs must be ≥ 1, got {n}")
    if fo - 1 + n > nrows:
        raise DataError(f"{src}: the data have {nrows} rows but first_obs={fo} and nobs={n} need "
                        f"{fo - 1 + n} rows")
    y = arr[fo - 1:fo - 1 + n].copy()
    index = index[fo - 1:fo - 1 + n]
    bad = np.argwhere(np.isinf(y))
    if len(bad):
        r, c = bad[0]
        raise DataError(f"{src}: non-finite value {y[r, c]} in column {obs[c]!r}, row {fo + r} "
                        "(only NaN can mark a missing value)")
    allnan = [o for j, o in enumerate(obs) if np.isnan(y[:, j]).all()]
    if allnan:
        raise DataError(f"{src}: no observations of {allnan} in the sample")
    if isinstance(transform, dict):
        return _prepare_per_observable(model, y, obs, index, transform, fo, n, src)
    loglin = model.loglinear if loglinear is None else bool(loglinear)
    if transform == "logdev":
        if model.loglinear:
            raise DSGEError("transform='logdev' is for models in levels; a loglinear model takes "
                            "the log of the data itself")
        loglin = True      # take logs of the data below; demeaned afterwards
    elif transform != "level":
        raise DSGEError(f"unknown data transform {transform!r} (level, logdev or a dict "
                        "{observable: log_dev_mean | level_dev_mean | level})")
    if loglin:
        bad = np.argwhere(~(y > 0) & ~np.isnan(y))
        if len(bad):
            r, c = bad[0]
            raise DataError(f"{src}: loglinear model needs positive data; {obs[c]!r} = {y[r, c]} "
                            f"at row {fo + r}")
        y = np.log(y)
    pf = int(prefilter if prefilter is not None else opts.get("prefilter", 0))
    if transform == "logdev":
        pf = 1
    means = np.nanmean(y, axis=0)
    if pf:
        y = y - means
    mode = 1 if transform == "logdev" else 0
    return np.ascontiguousarray(y), obs, index, dict(first_obs=fo, nobs=n, loglinear=loglin,
                                                     prefilter=pf, means=means, source=src,
                                                     transform=transform,
                                                     obsmode=np.full(len(obs), mode, dtype=np.int64))


#: per-observable data transforms (``transform={obs: name}``) → measurement mode of :func:`_restrict`
OBS_TRANSFORMS = {"log_dev_mean": 1, "logdev": 1, "level_dev_mean": 2, "level": 0}


def _prepare_per_observable(model, y, obs, index, transform, fo, n, src):
    """Per-observable transforms of a model in levels (DESIGN §6 measurement equations):
    ``log_dev_mean``: log x_t − mean log x (model ŷ_t/ȳ); ``level_dev_mean``: x_t − mean x
    (model ŷ_t); ``level``: x_t (model ȳ + ŷ_t). Observables not named default to ``level``."""
    if model.loglinear:
        raise DSGEError("per-observable transforms are for models in levels; a loglinear model "
                        "takes the log of the data itself")
    unknown = [o for o in transform if o not in obs]
    if unknown:
        raise DataError(f"transform given for {unknown}, which are not observables {obs}")
    mode = np.zeros(len(obs), dtype=np.int64)
    means = np.full(len(obs), np.nan)
    y = y.copy()
    for j, o in enumerate(obs):
        t = transform.get(o, "level")
        if t not in OBS_TRANSFORMS:
            raise DSGEError(f"unknown transform {t!r} of observable {o!r} "
                            f"(known: {', '.join(OBS_TRANSFORMS)})")
        mode[j] = OBS_TRANSFORMS[t]
        if mode[j] == 1:
            bad = np.flatnonzero(~(y[:, j] > 0) & ~np.isnan(y[:, j]))
            if len(bad):
                r = bad[0]
                raise DataError(f"{src}: transform {t} of {o!r} needs positive data; value "
                                f"{y[r, j]} at row {fo + r}")
            y[:, j] = np.log(y[:, j])
        if mode[j] != 0:
            means[j] = np.nanmean(y[:, j])
            y[:, j] -= means[j]
    return np.ascontiguousarray(y), obs, index, dict(first_obs=fo, nobs=n, loglinear=False,
                                                     prefilter=0, means=means, source=src,
                                                     transform=dict(transform), obsmode=mode)


# ----------------------------------------------------------------------------- likelihood
class LogLikelihood:
    """Log-likelihood / log posterior of a model on a data set, as a fast callable.

    ``ll(x)`` evaluates the log-likelihood at the estimated-parameter vector x
    (order of :attr:`space`); :meth:`log_posterior` adds the log prior.
    Options mirror Dynare's ``estimation``: first_obs, nobs, presample,
    lik_init (1 or 2), prefilter, loglinear, riccati_tol (0 = exact filter).
    """

    def __init__(self, model, data=None, params: dict | None = None, observables=None,
                 first_obs=None, nobs=None, presample=None, lik_init=None, prefilter=None,
                 loglinear=None, riccati_tol: float = 0.0, use_chandrasekhar: bool = True,
                 space: ParameterSpace | None = None, transform: str = "level",
                 measurement_error: dict | None = None):
        from dsge_agents.linear.resolver import Resolver
        opts = model.estimation_options or {}
        self.model = model
        y, obs, index, info = prepare_data(model, data, observables, first_obs, nobs, loglinear,
                                           prefilter, transform)
        self.y, self.observables, self.index, self.data_info = y, obs, index, info
        self.logdev = transform == "logdev"
        self.obsmode = np.ascontiguousarray(info["obsmode"], dtype=np.int64)
        self.loglinear = info["loglinear"] and not self.logdev
        if self.loglinear and not model.loglinear:
            raise DSGEError("loglinear=True needs a model linearized in logs (declare `loglinear`)")
        self.presample = _whole(presample if presample is not None else opts.get("presample", 0),
                                "presample")
        if not 0 <= self.presample < y.shape[0]:
            raise DataError(f"presample={self.presample} must be ≥ 0 and leave observations in the "
                            f"sample of {y.shape[0]} periods (first_obs={info['first_obs']}, "
                            f"nobs={info['nobs']})")
        if lik_init is None and (opts.get("diffuse_filter") or opts.get("kalman_algo") in (3, 4)):
            which = "diffuse_filter" if opts.get("diffuse_filter") else f"kalman_algo={opts['kalman_algo']}"
            raise DSGEError(f"{model.source or model.name}: estimation({which}) asks for Dynare's exact "
                            "diffuse filter, which is not implemented (lik_init=1 or 2 only)")
        self.lik_init = int(lik_init if lik_init is not None else opts.get("lik_init", 1))
        if self.lik_init not in (1, 2):
            raise DSGEError(f"lik_init={self.lik_init} not supported (1 = stationary, 2 = 10·I)")
        self.init_scale = 10.0
        self.riccati_tol = float(riccati_tol)
        self.prefilter = info["prefilter"]
        self.has_nan = bool(np.isnan(y).any())
        self.use_chandra = bool(use_chandrasekhar and not self.has_nan)
        self.resolver = Resolver(model)
        cm = model.compiled
        self._cm = cm
        self.theta0 = cm.theta(params)
        self.space = space if space is not None else ParameterSpace.from_model(model, obs)
        self._prep_indices()
        # state variables: columns with a lag in the model (A_lag ≠ 0) or T ≠ 0 at the calibration
        # or, when the model cannot be solved there (e.g. indeterminate), at the estimation's start
        # (Dynare starts from the initial values / prior means and never solves the calibration)
        th_sel = self.theta0
        ss0, T0, R0, code = self.resolver(th_sel)
        if code != 0:
            # the start values, then the prior means (Dynare's start when no init is given)
            x0 = self.space.x0
            pm = np.array([p.prior.mean if (not p.init_given and np.isfinite(p.prior.mean)
                                            and p.lower <= p.prior.mean <= p.upper)
                           else p.init for p in self.space.params])
            for k, xs in enumerate((x0, pm)):
                th_try = self.theta(xs)
                ss1, T1, R1, code1 = self.resolver(th_try)
                if code1 == 0:
                    break
            if code1 != 0:
                raise DSGEError(f"model {model.name!r} cannot be solved at the calibration "
                                f"({self.resolver.message(code)}) nor at the estimation's initial "
                                f"values or prior means ({self.resolver.message(code1)})")
            if k == 1:          # start at the prior means, except where estimated_params gives one
                for p, v in zip(self.space.params, pm):
                    if not p.init_given:
                        p.init = float(v)
            th_sel, ss0, T0, R0 = th_try, ss1, T1, R1
        A_lag = cm.jacobian(ss0, th_sel)[0]
        state = np.flatnonzero((np.abs(A_lag).sum(axis=0) > 0) | (np.abs(T0).sum(axis=0) > 0))
        vidx = {v: i for i, v in enumerate(model.variables)}
        oidx = [vidx[o] for o in obs]
        ridx = sorted(set(state.tolist()) | set(oidx))
        self.ridx = np.array(ridx, dtype=np.int64)
        self.oidx_r = np.array([ridx.index(i) for i in oidx], dtype=np.int64)
        self.state_names = [model.variables[i] for i in ridx]
        self.contrib = np.zeros(y.shape[0])
        self.H0 = np.zeros((len(obs), len(obs)))
        # calibrated measurement errors of the model (.mod: `var y; stderr s;` in the shocks
        # block); those of variables not observed here are left out
        for (a, b), c in (getattr(model, "measurement_errors", None) or {}).items():
            if a in obs and b in obs:
                i, j = obs.index(a), obs.index(b)
                self.H0[i, j] = self.H0[j, i] = float(c)
        for o, sd in (measurement_error or {}).items():
            if o not in obs:
                raise DataError(f"measurement error for {o!r}, which is not an observable {obs}")
            self.H0[obs.index(o), obs.index(o)] = float(sd) ** 2
        self._prep_indices()
        self.last_status = 0
        self.last_switch = -1
        self.n_evals = 0

    def __getstate__(self):
        d = self.__dict__.copy()
        d.pop("resolver", None)
        d.pop("_cm", None)
        return d

    def __setstate__(self, d):
        from dsge_agents.linear.resolver import Resolver
        self.__dict__.update(d)
        self.resolver = Resolver(self.model)
        self._cm = self.model.compiled

    def _prep_indices(self):
        sp = self.space
        kinds = [p.kind for p in sp.params]
        self._param_pos = np.array([i for i, k in enumerate(kinds) if k == "param"], dtype=np.int64)
        self._param_tidx = np.array([sp.params[i].index[0] for i in self._param_pos], dtype=np.int64)
        self._stderr = [(i, sp.params[i].index[0]) for i, k in enumerate(kinds) if k == "stderr"]
        self._corr = [(i, sp.params[i].index) for i, k in enumerate(kinds) if k == "corr"]
        self._me = [(i, sp.params[i].index[0]) for i, k in enumerate(kinds) if k == "me_stderr"]
        self._mecorr = [(i, sp.params[i].index) for i, k in enumerate(kinds) if k == "me_corr"]
        self._sd_pos = np.array([i for i, _ in self._stderr], dtype=np.int64)
        self._sd_idx = np.array([s for _, s in self._stderr], dtype=np.int64)
        self._co_pos = np.array([i for i, _ in self._corr], dtype=np.int64)
        self._co_idx = np.array([list(ab) for _, ab in self._corr], dtype=np.int64).reshape(-1, 2)

    # ------------------------------------------------------------------ building blocks
    def theta(self, x) -> np.ndarray:
        th = self.theta0.copy()
        if len(self._param_pos):
            th[self._param_tidx] = np.asarray(x)[self._param_pos]
        return th

    def shock_cov(self, x, theta=None) -> np.ndarray:
        th = self.theta(x) if theta is None else theta
        Q = np.ascontiguousarray(self._cm.shock_cov(th), dtype=float)
        if self._stderr or self._corr:
            Q = _cov_update(Q, np.asarray(x, dtype=float), self._sd_pos, self._sd_idx,
                            self._co_pos, self._co_idx)
        return Q

    def meas_cov(self, x) -> np.ndarray:
        if not (self._me or self._mecorr):
            return self.H0
        H = self.H0.copy()
        std = np.sqrt(np.clip(np.diag(H), 0.0, None))
        # H = D C D (Dynare): calibrated correlations, estimated ones replaced below
        den = np.outer(std, std)
        C = np.divide(H, den, out=np.zeros_like(H), where=den > 0)
        np.fill_diagonal(C, 1.0)
        for i, o in self._me:
            std[o] = x[i]
        for i, (a, b) in self._mecorr:
            C[a, b] = C[b, a] = x[i]
        return np.ascontiguousarray(C * np.outer(std, std))

    def solve(self, x):
        """(θ, ss, T, R, Q, H, status) at x."""
        th = self.theta(x)
        ss, T, R, code = self.resolver(th)
        return th, ss, T, R, self.shock_cov(x, th), self.meas_cov(x), int(code)

    # ------------------------------------------------------------------ evaluation
    def __call__(self, x) -> float:
        """Log-likelihood at x (−inf when the model cannot be solved / filtered there)."""
        self.n_evals += 1
        th = self.theta(x)
        ss, T, R, code = self.resolver(th)
        if code != 0:
            self.last_status = int(code)
            return -np.inf
        Q = self.shock_cov(x, th)
        H = self.meas_cov(x)
        # estimated correlations: the covariance must be positive definite (Dynare: info 43 / 44)
        if self._corr and not _is_pd(Q):
            self.last_status = 11
            return -np.inf
        if self._mecorr and not _is_pd(H):
            self.last_status = 12
            return -np.inf
        ll, sw, st = _ll_core(ss, T, R, Q, H, self.ridx, self.oidx_r, self.loglinear,
                              not self.prefilter, self.y, self.presample, self.lik_init,
                              self.init_scale, self.riccati_tol, self.use_chandra, self.contrib,
                              self.obsmode)
        self.last_status = int(st)
        self.last_switch = int(sw)
        return float(ll)

    def log_prior(self, x) -> float:
        return self.space.log_prior(x)

    def log_posterior(self, x) -> float:
        """Log posterior kernel ℓ(x) + log p(x) (Dynare's −"minus the log posterior")."""
        lp = self.space.log_prior(x)
        if not np.isfinite(lp):
            self.last_status = 10
            return -np.inf
        ll = self(x)
        return ll + lp if np.isfinite(ll) else -np.inf

    def evaluate(self, x=None) -> LoglikResult:
        """Log-likelihood with per-period contributions (copy) and status at x (default: init)."""
        x = self.space.x0 if x is None else np.asarray(x, dtype=float)
        ll = self(x)
        res = LoglikResult(ll, self.contrib.copy(), self.presample,
                           "chandrasekhar" if (self.use_chandra and self.lik_init == 1
                                               and self.riccati_tol <= 0) else "standard",
                           self.last_switch)
        res.status = self.last_status
        res.message = STATUS.get(self.last_status, "")
        return res

    def x_calibration(self) -> np.ndarray:
        """Estimated vector at the model's calibration (parameters, calibrated shock stds)."""
        x = self.space.x0.copy()
        th = self.theta0
        Q = np.asarray(self._cm.shock_cov(th))
        for i, p in enumerate(self.space.params):
            if p.kind == "param":
                x[i] = th[p.index[0]]
            elif p.kind == "stderr":
                x[i] = math.sqrt(max(Q[p.index[0], p.index[0]], 0.0))
            elif p.kind == "corr":
                a, b = p.index
                den = math.sqrt(Q[a, a] * Q[b, b])
                x[i] = Q[a, b] / den if den > 0 else 0.0
            elif p.kind == "me_stderr":
                x[i] = math.sqrt(max(self.H0[p.index[0], p.index[0]], 0.0))
            else:                                   # me_corr
                a, b = p.index
                den = math.sqrt(self.H0[a, a] * self.H0[b, b])
                x[i] = self.H0[a, b] / den if den > 0 else 0.0
        return x

    def x_from_params(self, params: dict | None) -> np.ndarray:
        """Estimated vector at the calibration updated by ``params`` (names as in :attr:`space`,
        shocks also by bare name)."""
        x = self.x_calibration()
        if params:
            for k, v in params.items():
                for i, p in enumerate(self.space.params):
                    if k == p.name or (p.kind in ("stderr", "me_stderr") and k == p.name[7:]):
                        x[i] = float(v)
                        break
        return x

    def state_space(self, x):
        """Restricted state space at x: dict(T, R, Q, Z, d, H, a1, P1, names, ss, status)."""
        th, ss, T, R, Q, H, code = self.solve(x)
        if code != 0:
            raise DSGEError(f"cannot solve the model at these parameters: {self.resolver.message(code)}")
        Tr, Rr, RQR, Z, d = _restrict(ss, T, R, Q, self.ridx, self.oidx_r, self.loglinear,
                                      not self.prefilter, self.obsmode)
        if self.lik_init == 1:
            P1, ok = K.lyapunov_doubling(Tr, RQR, 1e-15, 200)
        else:
            P1 = self.init_scale * np.eye(Tr.shape[0])
        return dict(T=Tr, R=Rr, Q=Q, Z=Z, d=d, H=H, a1=np.zeros(Tr.shape[0]), P1=P1,
                    names=self.state_names, ss=ss, T_full=T, R_full=R, theta=th)


def loglik(model, data=None, params: dict | None = None, exact: bool = True, detail: bool = False,
           **options):
    """Log-likelihood of ``model`` on ``data`` at ``params`` (Dynare-consistent).

    With no ``data`` the model's datafile and ``estimation(...)`` options are used,
    so ``loglik(load("models/fs2000.mod"))`` is Dynare's likelihood at the file's
    calibration. ``params`` may set model parameters and shock standard deviations
    (by shock name). ``exact=False`` uses Dynare's default ``riccati_tol=1e-6``.
    Returns a float (``detail=True``: a LoglikResult with per-period contributions).
    """
    if not exact:
        options.setdefault("riccati_tol", 1e-6)
    pparams = {k: v for k, v in (params or {}).items() if k in model.param_names}
    ll = LogLikelihood(model, data, params=pparams, **options)
    x = ll.x_from_params(params)
    # shock stds given by name but not estimated
    extra = {k: v for k, v in (params or {}).items()
             if k not in model.param_names and k in model.shocks
             and f"stderr {k}" not in ll.space.names}
    if extra:
        base = ll.space.params
        add = [EstimatedParam(f"stderr {k}", "stderr", (model.shocks.index(k),),
                              make_prior("uniform", 0, 1, 0, np.inf), 0.0, np.inf, float(v))
               for k, v in extra.items()]
        ll.space = ParameterSpace(base + add)
        ll._prep_indices()
        x = np.concatenate([x, [float(v) for v in extra.values()]])
    unknown = [k for k in (params or {}) if k not in model.param_names and k not in model.shocks
               and k not in ll.space.names]
    if unknown:
        from dsge_agents.errors import UnknownNameError
        raise UnknownNameError(f"unknown parameters {unknown}")
    res = ll.evaluate(x)
    if res.status != 0:
        raise DSGEError(f"log-likelihood not available: {STATUS.get(res.status, res.status)}")
    return res if detail else res.loglik
