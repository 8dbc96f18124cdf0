"""Prior densities with Dynare's shapes and mean/std parameterization.

Shapes (Dynare ``estimated_params`` names and codes): beta (1), gamma (2),
normal (3), inv_gamma / inv_gamma1 (4), uniform (5), inv_gamma2 (6).
Hyper-parameters follow Dynare 5.3 (``set_prior.m``, ``beta_specification.m``,
``gamma_specification``, ``inverse_gamma_specification.m``; see
../shared/DYNARE_NOTES.md):

* beta on [a, b] (default [0, 1]): with μ = (m−a)/(b−a), σ = s/(b−a),
  α = μ(μ(1−μ)/σ² − 1), β = α(1−μ)/μ;
* gamma with lower bound a (default 0): shape k = (m−a)²/s², scale θ = s²/(m−a);
* normal: N(m, s²);
* inverse gamma type 1 (density of a standard deviation x):
  log p(x) = log 2 − lgamma(ν/2) − (ν/2) log(2/s) − (ν+1) log x − s/(2x²),
  ν solved from m = √(s/2) Γ((ν−1)/2)/Γ(ν/2) and s/(ν−2) = m² + sd²;
  with sd = inf: ν = 2, s = 2m²/π;
* inverse gamma type 2 (density of a variance x): ν = 2(2 + m²/sd²),
  s = 2m(1 + m²/sd²), log p(x) = −lgamma(ν/2) − (ν/2) log(2/s) − (ν/2+1) log x − s/(2x);
  with sd = inf: ν = 4, s = 2m (mean m, infinite variance);
* both inverse gammas with a lower bound p3 (Dynare 5.3 ``set_prior.m`` / ``priordens.m``):
  (s, ν) from the given m and sd as above — not from m − p3 —, density evaluated at x − p3
  (support x > p3; p4 is not used), m > p3 required;
* uniform on [a, b] (given, or m ∓ √3·s);
* Weibull (Dynare ``weibull_specification.m``, ``lpdfgweibull.m``): shape k solving
  lgamma(1 + 2/k) − 2 lgamma(1 + 1/k) = log(1 + sd²/m²), scale λ = m / Γ(1 + 1/k),
  log p(x) = log k − k log λ + (k − 1) log x − (x/λ)^k on x > 0 (finite sd; no p3 shift);
* flat (an ``estimated_params`` entry without a prior shape: maximum likelihood, Dynare's
  ``name, init, lower, upper``): log density 0, support = the declared bounds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from numba import njit

from dsge_agents.errors import PriorError

__all__ = ["Prior", "make_prior", "PRIOR_SHAPES", "prior_arrays", "log_prior_vec"]

_CODES = {"flat": 0, "beta": 1, "gamma": 2, "normal": 3, "inv_gamma1": 4, "uniform": 5, "inv_gamma2": 6,
          "weibull": 8}

PRIOR_SHAPES = {
    "beta": "beta", "beta_pdf": "beta", "1": "beta",
    "gamma": "gamma", "gamma_pdf": "gamma", "2": "gamma",
    "normal": "normal", "normal_pdf": "normal", "3": "normal",
    "inv_gamma": "inv_gamma1", "inv_gamma_pdf": "inv_gamma1", "inv_gamma1": "inv_gamma1",
    "inv_gamma1_pdf": "inv_gamma1", "4": "inv_gamma1",
    "uniform": "uniform", "uniform_pdf": "uniform", "5": "uniform",
    "inv_gamma2": "inv_gamma2", "inv_gamma2_pdf": "inv_gamma2", "6": "inv_gamma2",
    "weibull": "weibull", "weibull_pdf": "weibull", "8": "weibull",
}

LOG2 = math.log(2.0)


def _ig1_nu(m: float, sd: float) -> tuple[float, float]:
    """(s, ν) of Dynare's inverse gamma type 1 from mean m and std sd (sd = inf: ν = 2)."""
    if not np.isfinite(sd):
        return 2.0 * m * m / math.pi, 2.0

    def s_of(nu):
        return 2.0 * (m * math.exp(special.gammaln(nu / 2) - special.gammaln((nu - 1) / 2))) ** 2

    def f(nu):
        return s_of(nu) / (nu - 2.0) - (m * m + sd * sd)

    lo, hi = 2.0 + 1e-10, 3.0
    while f(hi) > 0:
        hi *= 2.0
        if hi > 1e9:
            raise PriorError(f"inverse gamma 1: cannot match mean {m} and std {sd}")
    nu = optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-14, maxiter=500)
    return s_of(nu), nu


@dataclass
class Prior:
    """One prior density (Dynare shape; hyper-parameters in ``hyper``)."""

    shape: str
    mean: float
    std: float
    lower: float          # support lower bound
    upper: float          # support upper bound
    hyper: tuple          # shape-specific (see module doc)
    name: str = ""

    # ------------------------------------------------------------------ density
    def logpdf(self, x: float) -> float:
        """Log prior density at x (−inf outside the support)."""
        a, b = self.lower, self.upper
        if not (a <= x <= b) or not np.isfinite(x):
            return -np.inf
        sh = self.shape
        h = self.hyper
        if sh == "flat":
            return 0.0
        if sh == "normal":
            m, s = h
            z = (x - m) / s
            return -0.5 * z * z - math.log(s) - 0.5 * math.log(2 * math.pi)
        if sh == "beta":
            al, be, lo, hi = h
            if x <= lo or x >= hi:
                return -np.inf
            u = (x - lo) / (hi - lo)
            return ((al - 1) * math.log(u) + (be - 1) * math.log1p(-u) - special.betaln(al, be)
                    - math.log(hi - lo))
        if sh == "gamma":
            k, th, lo = h
            if x <= lo:
                return -np.inf
            z = x - lo
            return (k - 1) * math.log(z) - z / th - special.gammaln(k) - k * math.log(th)
        if sh == "inv_gamma1":
            s, nu, lo = h
            x = x - lo
            if x <= 0:
                return -np.inf
            return (LOG2 - special.gammaln(nu / 2) - (nu / 2) * math.log(2 / s)
                    - (nu + 1) * math.log(x) - 0.5 * s / (x * x))
        if sh == "inv_gamma2":
            s, nu, lo = h
            x = x - lo
            if x <= 0:
                return -np.inf
            return (-special.gammaln(nu / 2) - (nu / 2) * math.log(2 / s)
                    - (nu / 2 + 1) * math.log(x) - 0.5 * s / x)
        if sh == "uniform":
            lo, hi = h
            return -math.log(hi - lo)
        if sh == "weibull":
            k, lam, lo = h
            z = x - lo
            if z <= 0:
                return -np.inf
            return math.log(k) - k * math.log(lam) + (k - 1) * math.log(z) - (z / lam) ** k
        raise PriorError(f"unknown prior shape {sh!r}")

    def scipy(self):
        """Equivalent frozen scipy.stats distribution (inv_gamma1: of x² — see tests)."""
        h = self.hyper
        if self.shape == "flat":
            raise PriorError(f"{self.name}: a maximum-likelihood entry (no prior) has no prior "
                             "distribution to draw from")
        if self.shape == "normal":
            return stats.norm(h[0], h[1])
        if self.shape == "beta":
            return stats.beta(h[0], h[1], loc=h[2], scale=h[3] - h[2])
        if self.shape == "gamma":
            return stats.gamma(h[0], loc=h[2], scale=h[1])
        if self.shape == "inv_gamma2":
            return stats.invgamma(h[1] / 2, loc=h[2], scale=h[0] / 2)
        if self.shape == "inv_gamma1":
            return stats.invgamma(h[1] / 2, scale=h[0] / 2)   # distribution of (x − p3)²
        if self.shape == "uniform":
            return stats.uniform(h[0], h[1] - h[0])
        if self.shape == "weibull":
            return stats.weibull_min(h[0], loc=h[2], scale=h[1])
        raise PriorError(self.shape)

    def rvs(self, size, rng) -> np.ndarray:
        """Draws from the prior."""
        d = self.scipy()
        x = d.rvs(size=size, random_state=rng)
        if self.shape == "inv_gamma1":
            x = np.sqrt(x) + self.hyper[2]
        return np.asarray(x, dtype=float)

    def interval(self, q=0.9) -> tuple[float, float]:
        d = self.scipy()
        lo, hi = d.interval(q)
        if self.shape == "inv_gamma1":
            lo, hi = math.sqrt(lo) + self.hyper[2], math.sqrt(hi) + self.hyper[2]
        return float(lo), float(hi)

    def describe(self) -> str:
        if self.shape == "flat":
            return "flat (no prior)"
        return f"{self.shape}({self.mean:g}, {self.std:g})"


def make_prior(shape, mean, std, p3=np.nan, p4=np.nan, name: str = "") -> Prior:
    """Build a :class:`Prior` from Dynare's (shape, mean, std, p3, p4); ``shape=None``: flat."""
    if shape is None:
        return Prior("flat", np.nan, np.nan, -np.inf, np.inf, (), name)
    key = PRIOR_SHAPES.get(str(shape).lower())
    if key is None:
        raise PriorError(f"{name}: unknown prior shape {shape!r} "
                         f"(beta, gamma, normal, inv_gamma1, inv_gamma2, uniform, weibull)")
    m, s = float(mean), float(std)
    p3 = float(p3) if p3 is not None else np.nan
    p4 = float(p4) if p4 is not None else np.nan
    if key != "uniform" and not (s > 0):
        raise PriorError(f"{name}: prior standard deviation must be positive, got {s}")
    if key == "normal":
        if not np.isfinite(s):
            raise PriorError(f"{name}: normal prior needs a finite std")
        return Prior("normal", m, s, -np.inf, np.inf, (m, s), name)
    if key == "beta":
        a = 0.0 if np.isnan(p3) else p3
        b = 1.0 if np.isnan(p4) else p4
        if not (a < m < b):
            raise PriorError(f"{name}: beta prior mean {m} outside ({a}, {b})")
        mu = (m - a) / (b - a)
        sig = s / (b - a)
        al = mu * (mu * (1 - mu) / sig ** 2 - 1)
        be = al * (1 - mu) / mu
        if not (al > 0 and be > 0):
            raise PriorError(f"{name}: beta prior with mean {m} and std {s} does not exist "
                             f"(std must be < sqrt(mean(1-mean)) on the unit interval)")
        return Prior("beta", m, s, a, b, (al, be, a, b), name)
    if key == "gamma":
        a = 0.0 if np.isnan(p3) else p3
        mm = m - a
        if not mm > 0:
            raise PriorError(f"{name}: gamma prior mean {m} must exceed its lower bound {a}")
        return Prior("gamma", m, s, a, np.inf, (mm * mm / (s * s), s * s / mm, a), name)
    if key in ("inv_gamma1", "inv_gamma2"):
        lo = 0.0 if np.isnan(p3) else p3
        if not m > lo:
            raise PriorError(f"{name}: inverse gamma prior mean must be positive, got {m}" if lo == 0
                             else f"{name}: inverse gamma prior mean {m} must exceed its lower bound {lo}")
    if key == "inv_gamma1":
        sv, nu = _ig1_nu(m, s)
        return Prior("inv_gamma1", m, s, lo, np.inf, (sv, nu, lo), name)
    if key == "inv_gamma2":
        if np.isfinite(s):
            r = m * m / (s * s)
            nu, sv = 2 * (2 + r), 2 * m * (1 + r)
        else:
            nu, sv = 4.0, 2.0 * m
        return Prior("inv_gamma2", m, s, lo, np.inf, (sv, nu, lo), name)
    if key == "weibull":
        if not (np.isnan(p3) or p3 == 0):
            # Dynare 5.3 takes the hyper-parameters from m − p3 but evaluates the density at x
            # (lpdfgweibull without its shift argument): no consistent density to match
            raise PriorError(f"{name}: a Weibull prior with a lower bound p3 ≠ 0 is not supported")
        if not np.isfinite(s):
            raise PriorError(f"{name}: a Weibull prior needs a finite std")
        if not m > 0:
            raise PriorError(f"{name}: Weibull prior mean must be positive, got {m}")
        target = math.log1p(s * s / (m * m))

        def f(k):
            return special.gammaln(1 + 2 / k) - 2 * special.gammaln(1 + 1 / k) - target

        lo_k, hi_k = 1e-2, 1e3
        if not f(lo_k) > 0 > f(hi_k):
            raise PriorError(f"{name}: no Weibull prior with mean {m} and std {s}")
        k = optimize.brentq(f, lo_k, hi_k, xtol=1e-14, rtol=1e-14, maxiter=500)
        lam = m / math.exp(special.gammaln(1 + 1 / k))
        return Prior("weibull", m, s, 0.0, np.inf, (k, lam, 0.0), name)
    # uniform
    if np.isfinite(p3) and np.isfinite(p4):
        a, b = p3, p4
    else:
        a, b = m - math.sqrt(3) * s, m + math.sqrt(3) * s
    if not a < b:
        raise PriorError(f"{name}: uniform prior needs lower < upper, got [{a}, {b}]")
    return Prior("uniform", (a + b) / 2, (b - a) / math.sqrt(12), a, b, (a, b), name)


def prior_arrays(priors, lower, upper):
    """Pack priors for :func:`log_prior_vec`: (codes, hyper (n×4), constants, lower, upper)."""
    n = len(priors)
    codes = np.zeros(n, dtype=np.int64)
    hyp = np.zeros((n, 4))
    const = np.zeros(n)
    for i, pr in enumerate(priors):
        codes[i] = _CODES[pr.shape]
        h = pr.hyper
        if pr.shape == "flat":
            continue
        if pr.shape == "normal":
            hyp[i, :2] = h
            const[i] = -math.log(h[1]) - 0.5 * math.log(2 * math.pi)
        elif pr.shape == "beta":
            hyp[i] = h
            const[i] = -special.betaln(h[0], h[1]) - math.log(h[3] - h[2])
        elif pr.shape == "gamma":
            hyp[i, :3] = h
            const[i] = -special.gammaln(h[0]) - h[0] * math.log(h[1])
        elif pr.shape == "inv_gamma1":
            hyp[i, :3] = h
            const[i] = LOG2 - special.gammaln(h[1] / 2) - (h[1] / 2) * math.log(2 / h[0])
        elif pr.shape == "inv_gamma2":
            hyp[i, :3] = h
            const[i] = -special.gammaln(h[1] / 2) - (h[1] / 2) * math.log(2 / h[0])
        elif pr.shape == "weibull":
            hyp[i, :3] = h
            const[i] = math.log(h[0]) - h[0] * math.log(h[1])
        else:
            hyp[i, :2] = h
            const[i] = -math.log(h[1] - h[0])
    return (codes, hyp, const, np.asarray(lower, dtype=float).copy(),
            np.asarray(upper, dtype=float).copy())


@njit(cache=True)
def log_prior_vec(x, codes, hyp, const, lower, upper):
    """Σ_i log p_i(x_i) for packed priors (same formulas as :meth:`Prior.logpdf`)."""
    s = 0.0
    for i in range(x.shape[0]):
        xi = x[i]
        if not (lower[i] <= xi <= upper[i]) or not np.isfinite(xi):
            return -np.inf
        c = codes[i]
        if c == 0:
            continue
        if c == 3:
            z = (xi - hyp[i, 0]) / hyp[i, 1]
            s += const[i] - 0.5 * z * z
        elif c == 1:
            lo = hyp[i, 2]
            hi = hyp[i, 3]
            if xi <= lo or xi >= hi:
                return -np.inf
            u = (xi - lo) / (hi - lo)
            s += const[i] + (hyp[i, 0] - 1) * math.log(u) + (hyp[i, 1] - 1) * math.log1p(-u)
        elif c == 2:
            z = xi - hyp[i, 2]
            if z <= 0:
                return -np.inf
            s += const[i] + (hyp[i, 0] - 1) * math.log(z) - z / hyp[i, 1]
        elif c == 4:
            z = xi - hyp[i, 2]
            if z <= 0:
                return -np.inf
            s += const[i] - (hyp[i, 1] + 1) * math.log(z) - 0.5 * hyp[i, 0] / (z * z)
        elif c == 6:
            z = xi - hyp[i, 2]
            if z <= 0:
                return -np.inf
            s += const[i] - (hyp[i, 1] / 2 + 1) * math.log(z) - 0.5 * hyp[i, 0] / z
        elif c == 8:
            z = xi - hyp[i, 2]
            if z <= 0:
                return -np.inf
            s += const[i] + (hyp[i, 0] - 1) * math.log(z) - (z / hyp[i, 1]) ** hyp[i, 0]
        else:
            if xi < hyp[i, 0] or xi > hyp[i, 1]:
                return -np.inf
            s += const[i]
    return s
