"""MCMC diagnostics and marginal likelihood from posterior draws.

* Rank-normalized split-R̂ and bulk/tail effective sample size: Vehtari, Gelman,
  Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and
  localization: an improved R̂ for assessing convergence of MCMC", *Bayesian
  Analysis* 16(2), eqs. (3)–(5) (split R̂), §4.1 (rank normalization z =
  Φ⁻¹((r − 3/8)/(S + 1/4))), §4.2 (folding for the tail), ESS with Geyer's
  initial monotone sequence estimator (Geyer 1992) on the multi-chain
  autocorrelation of Gelman et al. (BDA3, eq. 11.7).
* HPD interval: shortest interval containing a share q of the draws (Chen &
  Shao 1999), as Dynare's ``hpd_interval``.
* Modified harmonic mean (Geweke 1999, "Using simulation methods for Bayesian
  econometric models", *Econometric Reviews* 18(1), §3.4): with f a normal
  density fitted to the draws and truncated to the χ²_k(p) ellipsoid,
  1/p̂(Y) = mean_i f(θ_i) / (L(θ_i) π(θ_i)); averaged over p = 0.1, …, 0.9 like
  Dynare's ``marginal_density.m``.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special, stats

__all__ = ["split_rhat", "rank_rhat", "ess_bulk", "ess_tail", "hpd_interval",
           "modified_harmonic_mean"]


def _split(x):
    x = np.asarray(x, dtype=float)
    if x.ndim == 1:
        x = x[None, :]
    m, n = x.shape
    h = n // 2         # odd length: the middle draw is left out of both halves
    return np.concatenate([x[:, :h], x[:, n - h:]], axis=0)   # (x[:, -0:] was all of x)


def _rhat_raw(x):
    m, n = x.shape
    if n < 2:
        return np.nan
    means = x.mean(axis=1)
    W = x.var(axis=1, ddof=1).mean()
    B = n * means.var(ddof=1)
    if W <= 0:
        return np.nan if B > 0 else 1.0
    var_plus = (n - 1) / n * W + B / n
    return math.sqrt(var_plus / W)


def split_rhat(x) -> float:
    """Classical split-R̂ (BDA3 eq. 11.4 on split chains). x: (chains, draws)."""
    return _rhat_raw(_split(x))


def _rank_normalize(x):
    shape = x.shape
    r = stats.rankdata(x.ravel(), method="average").reshape(shape)
    S = x.size
    return special.ndtri((r - 0.375) / (S + 0.25))


def rank_rhat(x) -> float:
    """Rank-normalized split-R̂: max of bulk and folded (tail) R̂ (Vehtari et al. 2021, §4.2)."""
    xs = _split(x)
    if xs.shape[1] < 2:                 # fewer than 4 draws per chain: not defined
        return float("nan")
    bulk = _rhat_raw(_rank_normalize(xs))
    fold = np.abs(xs - np.median(xs))
    tail = _rhat_raw(_rank_normalize(fold))
    return float(max(bulk, tail))


def _autocov(x):
    """Autocovariances of each row by FFT (biased estimator, lags 0..n−1)."""
    m, n = x.shape
    xc = x - x.mean(axis=1, keepdims=True)
    nfft = 1 << (2 * n - 1).bit_length()
    f = np.fft.rfft(xc, n=nfft, axis=1)
    ac = np.fft.irfft(f * np.conj(f), n=nfft, axis=1)[:, :n] / n
    return ac


def _ess_raw(x):
    """ESS of (chains, draws) x: Geyer's initial monotone sequence on the combined ρ̂_t."""
    m, n = x.shape
    if n < 4:
        return np.nan
    acov = _autocov(x)
    chain_var = acov[:, 0] * n / (n - 1)
    W = chain_var.mean()
    means = x.mean(axis=1)
    B_over_n = means.var(ddof=1) if m > 1 else 0.0
    var_plus = W * (n - 1) / n + B_over_n
    if var_plus <= 0:
        return float(m * n)
    rho = 1.0 - (W - acov.mean(axis=0)) / var_plus
    rho[0] = 1.0
    # Geyer's initial positive sequence on pair sums P_k = ρ_{2k} + ρ_{2k+1} (P_0 always kept);
    # stop at the first negative pair, whose even term is added once if positive
    # (Vehtari et al. 2021, appendix; Stan's improved estimator); then make the kept pair
    # sums monotone non-increasing (initial monotone sequence).
    pairs = [rho[0] + rho[1]]
    extra = 0.0
    k = 1
    while True:
        if 2 * k + 1 >= n - 1:
            # ran out of lags with all pairs positive: the last pair counts by its even term once
            if len(pairs) > 1:
                pairs.pop()
                extra = rho[2 * k - 2] if rho[2 * k - 2] > 0 else 0.0
            break
        g = rho[2 * k] + rho[2 * k + 1]
        if g < 0:
            extra = rho[2 * k] if rho[2 * k] > 0 else 0.0
            break
        pairs.append(g)
        k += 1
    pairs = np.minimum.accumulate(np.array(pairs))
    tau = -1.0 + 2.0 * pairs.sum() + extra
    tau = max(tau, 1.0 / math.log10(m * n))
    return float(m * n / tau)


def ess_bulk(x) -> float:
    """Bulk ESS: ESS of the rank-normalized split chains (Vehtari et al. 2021, §4.1)."""
    return _ess_raw(_rank_normalize(_split(x)))


def ess_tail(x) -> float:
    """Tail ESS: min of the ESS of the indicator of the 5 % and 95 % quantiles."""
    xs = _split(x)
    out = []
    for q in (0.05, 0.95):
        qv = np.quantile(xs, q)
        out.append(_ess_raw(_rank_normalize((xs <= qv).astype(float))))
    return float(min(out))


def hpd_interval(draws, q=0.9) -> tuple[float, float]:
    """Shortest interval containing the share q of the draws."""
    x = np.sort(np.asarray(draws, dtype=float).ravel())
    n = x.size
    k = int(math.floor(q * n))
    if k < 1 or k >= n:
        return float(x[0]), float(x[-1])
    widths = x[k:] - x[:n - k]
    i = int(np.argmin(widths))
    return float(x[i]), float(x[i + k])


def modified_harmonic_mean(draws, log_post, ps=np.arange(0.1, 0.91, 0.1)) -> float:
    """Geweke's (1999) modified-harmonic-mean estimate of log p(Y).

    draws : (N, k) posterior draws; log_post : (N,) log posterior kernel
    (log-likelihood + log prior) of each draw. NaN when the draws' covariance is singular
    (e.g. fewer draws than parameters + 1).
    """
    X = np.asarray(draws, dtype=float)
    lp = np.asarray(log_post, dtype=float)
    N, k = X.shape
    if N <= k:
        return float("nan")
    mu = X.mean(axis=0)
    S = np.cov(X, rowvar=False).reshape(k, k)
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        return float("nan")
    Z = np.linalg.solve(L, (X - mu).T).T
    d2 = np.sum(Z * Z, axis=1)
    logdet = 2.0 * np.sum(np.log(np.diag(L)))
    lmax = lp.max()
    out = []
    for p in ps:
        crit = stats.chi2.ppf(p, k)
        inside = d2 <= crit
        if not inside.any():
            continue
        logf = -math.log(p) - 0.5 * k * math.log(2 * math.pi) - 0.5 * logdet - 0.5 * d2[inside]
        terms = logf - (lp[inside] - lmax)
        # log mean over all N draws (outside the ellipsoid f = 0)
        lmean = special.logsumexp(terms) - math.log(N)
        out.append(lmax - lmean)
    return float(np.mean(out))
