"""``estimate()`` and its result object."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dsge_agents.errors import DSGEError
from dsge_agents.estimation.diagnostics import (ess_bulk, hpd_interval, modified_harmonic_mean,
                                                rank_rhat)
from dsge_agents.estimation.likelihood import LogLikelihood
from dsge_agents.estimation.mcmc import MHChains, run_mh
from dsge_agents.estimation.mode import ModeResult, make_pd, posterior_mode

__all__ = ["estimate", "EstimationResult", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["parameter", "prior", "prior_mean", "prior_std", "mode", "mode_std", "post_mean",
                   "hpd_low", "hpd_high", "rhat", "ess"]


@dataclass
class EstimationResult:
    """Posterior mode (+ MCMC when run) of a model on a data set."""

    llk: LogLikelihood
    mode: ModeResult
    chains: MHChains | None = None
    mh_drop: float = 0.5
    hpd_mass: float = 0.9
    _cache: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ draws
    @property
    def names(self) -> list:
        return list(self.llk.space.names)

    def kept(self) -> np.ndarray:
        """Draws after burn-in, (chains, n_kept, k)."""
        if self.chains is None:
            raise DSGEError("no MCMC draws: run estimate(..., method='mcmc')")
        n = self.chains.draws.shape[1]
        return self.chains.draws[:, int(np.floor(self.mh_drop * n)):]

    def kept_logpost(self) -> np.ndarray:
        n = self.chains.draws.shape[1]
        return self.chains.logpost[:, int(np.floor(self.mh_drop * n)):]

    def posterior_draws(self) -> pd.DataFrame:
        D = self.kept()
        c, n, k = D.shape
        df = pd.DataFrame(D.reshape(c * n, k), columns=self.names)
        df.insert(0, "draw", np.tile(np.arange(n), c))
        df.insert(0, "chain", np.repeat(np.arange(c), n))
        df["log_posterior"] = self.kept_logpost().ravel()
        return df

    # ------------------------------------------------------------------ tables
    def summary(self) -> pd.DataFrame:
        """One row per estimated parameter, columns :data:`SUMMARY_COLUMNS`."""
        sp = self.llk.space
        rows = []
        D = self.kept() if self.chains is not None else None
        for i, p in enumerate(sp.params):
            r = dict(parameter=p.name, prior=p.prior.shape, prior_mean=p.prior.mean,
                     prior_std=p.prior.std, mode=self.mode.mode[i], mode_std=self.mode.std[i])
            if D is not None:
                xi = D[:, :, i]
                lo, hi = hpd_interval(xi, self.hpd_mass)
                r.update(post_mean=float(xi.mean()), hpd_low=lo, hpd_high=hi,
                         rhat=rank_rhat(xi), ess=ess_bulk(xi))
            else:
                r.update(post_mean=np.nan, hpd_low=np.nan, hpd_high=np.nan, rhat=np.nan, ess=np.nan)
            rows.append(r)
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)

    def marginal_likelihood(self) -> dict:
        """Log marginal data density: Laplace at the mode, modified harmonic mean (if MCMC)."""
        out = {"laplace": self.mode.log_marginal_laplace}
        if self.chains is not None:
            D = self.kept()
            c, n, k = D.shape
            out["modified_harmonic_mean"] = modified_harmonic_mean(D.reshape(c * n, k),
                                                                   self.kept_logpost().ravel())
            out["acceptance"] = [float(a) for a in self.chains.acceptance]
            out["jscale"] = self.chains.jscale
        return out

    def __str__(self):
        return self.summary().to_string(index=False)

    # ------------------------------------------------------------------ model objects
    def point(self, at="mode") -> np.ndarray:
        if isinstance(at, str):
            if at == "mode":
                return self.mode.mode
            if at == "mean":
                return self.kept().reshape(-1, len(self.names)).mean(axis=0)
            raise DSGEError(f"at must be 'mode', 'mean' or a vector, got {at!r}")
        return np.asarray(at, dtype=float)

    def smoothed(self, at="mode"):
        """Smoothed variables and shocks (:class:`~dsge_agents.estimation.decomposition.Smoothed`)."""
        from dsge_agents.estimation.decomposition import smooth
        return smooth(self.llk, self.point(at))

    def shock_decomposition(self, at="mode", variables=None) -> pd.DataFrame:
        """Historical shock decomposition (tidy; components add up to the observed deviations)."""
        from dsge_agents.estimation.decomposition import shock_decomposition
        return shock_decomposition(self.smoothed(at), variables)

    def irf(self, periods=40, draws=200, seed=0) -> pd.DataFrame:
        """Posterior IRFs: columns shock, variable, period, value (posterior mean), hpd_low, hpd_high.

        Without MCMC draws, the IRF at the mode (bands equal to the value).
        """
        from dsge_agents.estimation.decomposition import irf_at
        model = self.llk.model
        if self.chains is None:
            A = irf_at(self.llk, self.mode.mode, periods)[None]
        else:
            D = self.kept().reshape(-1, len(self.names))
            rng = np.random.default_rng(seed)
            pick = rng.choice(D.shape[0], size=min(draws, D.shape[0]), replace=False)
            A = np.stack([a for a in (irf_at(self.llk, D[i], periods) for i in pick) if a is not None])
        k, H, nv = A.shape[1:]
        rows = []
        for j, s in enumerate(model.shocks):
            for v, name in enumerate(model.variables):
                vals = A[:, j, :, v]
                mean = vals.mean(axis=0)
                if A.shape[0] > 1:
                    bands = np.array([hpd_interval(vals[:, h], self.hpd_mass) for h in range(H)])
                else:
                    bands = np.stack([mean, mean], axis=1)
                rows.append(pd.DataFrame({"shock": s, "variable": name, "period": np.arange(1, H + 1),
                                          "value": mean, "hpd_low": bands[:, 0],
                                          "hpd_high": bands[:, 1]}))
        return pd.concat(rows, ignore_index=True)

    def to_inference_data(self):
        """ArviZ InferenceData: posterior (all draws, burn-in dropped), sample_stats
        (lp, accepted), observed_data, and the prior description in ``attrs``."""
        import arviz as az
        D = self.kept()
        names = self.names
        post = {n.replace(" ", "_").replace(",", ""): D[:, :, i] for i, n in enumerate(names)}
        n = self.chains.draws.shape[1]
        drop = int(np.floor(self.mh_drop * n))
        stats = {"lp": self.kept_logpost(), "accepted": self.chains.accepted[:, drop:]}
        obs = {o: self.llk.y[:, j] for j, o in enumerate(self.llk.observables)}
        idata = az.from_dict(posterior=post, sample_stats=stats, observed_data=obs,
                             attrs={"model": self.llk.model.name, "jscale": self.chains.jscale,
                                    "mh_drop": self.mh_drop})
        return idata

    # ------------------------------------------------------------------ figures
    def plot(self, kind="priors"):
        """Figure: 'priors' (prior vs posterior), 'traces', 'irf', 'decomposition', 'shocks'."""
        from dsge_agents.plots import estimation as P
        if kind == "priors":
            return P.plot_priors_posteriors(self)
        if kind == "traces":
            return P.plot_traces(self)
        if kind == "irf":
            return P.plot_irf_bands(self.irf())
        if kind == "decomposition":
            return P.plot_shock_decomposition(self.shock_decomposition(), self.llk.observables)
        if kind == "shocks":
            return P.plot_smoothed(self.smoothed(), "shocks")
        raise DSGEError(f"unknown plot kind {kind!r}")


def estimate(model, data=None, method="mcmc", draws=20000, chains=2, jscale=None, seed=0,
             mh_drop=None, x0=None, optimizers=("bfgs", "nelder-mead", "bfgs"), restarts=1,
             checkpoint_dir=None, checkpoint_every=1000, resume=False, progress=True,
             stop_after=None, processes=None, mode=None, tune=None, **options) -> EstimationResult:
    """Bayesian estimation à la Dynare: posterior mode, Hessian, then (``method='mcmc'``)
    random-walk MH with proposal jscale² × inverse Hessian.

    ``options`` go to :class:`LogLikelihood` (first_obs, nobs, presample, lik_init,
    prefilter, riccati_tol, observables, ...). ``jscale=None`` uses the model's
    ``jscale=None`` tunes the scale to ≈0.3 acceptance, starting from the model's
    ``mh_jscale`` (or 0.8); a given ``jscale`` is used as is unless ``tune=True``.
    A non-positive-definite Hessian gives a :class:`HessianWarning` and a floored
    (positive-definite) proposal.
    """
    opts = model.estimation_options or {}
    if method not in ("mode", "mcmc"):          # before the (long) mode search
        raise DSGEError(f"method must be 'mode' or 'mcmc', got {method!r}")
    drop = float(mh_drop if mh_drop is not None else opts.get("mh_drop", 0.5))
    if not 0.0 <= drop < 1.0:
        raise DSGEError(f"mh_drop must be in [0, 1), got {drop}")
    llk = options.pop("llk", None) or LogLikelihood(model, data, **options)
    if mode is None:
        mode = posterior_mode(llk, x0=x0, optimizers=optimizers, restarts=restarts)
    res = EstimationResult(llk, mode, None, drop)
    if method == "mode":
        return res
    tune = (jscale is None) if tune is None else bool(tune)
    j_opt = opts.get("mh_jscale")
    jscale_ = jscale if jscale is not None else (float(j_opt) if j_opt is not None else 0.8)
    Sigma = mode.inv_hessian
    if not mode.hessian_pd:
        Sigma = np.linalg.inv(make_pd(mode.hessian))
    res.chains = run_mh(llk, mode.mode, Sigma, draws=draws, chains=chains, jscale=jscale_,
                        seed=seed, tune=tune, checkpoint_dir=checkpoint_dir,
                        checkpoint_every=checkpoint_every, resume=resume, progress=progress,
                        stop_after=stop_after, processes=processes)
    return res
