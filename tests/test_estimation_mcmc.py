"""MH sampler: checkpoint/resume reproducibility, parallel = serial, diagnostics vs ArviZ,
smoothing and shock decomposition identities, exports."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from dsge_agents.errors import DSGEError
from dsge_agents.estimation import (LogLikelihood, ess_bulk, estimate, hpd_interval,
                                    modified_harmonic_mean, rank_rhat, run_mh, split_rhat)
from dsge_agents.model import load


@pytest.fixture(scope="module")
def llk(repo, shared_data):
    return LogLikelihood(load(repo / "models/fs2000.mod"))


@pytest.fixture(scope="module")
def mode(repo):
    ref = json.load(open(repo / "tests/data/dynare/fs2000_mode.json"))
    return np.array(ref["mode"]), np.array(ref["inverse_hessian"])  # Dynare order = our order


def test_dynare_order_is_ours(llk, repo):
    ref = json.load(open(repo / "tests/data/dynare/fs2000_mode.json"))
    assert [n.replace("stderr ", "") for n in llk.space.names] == [
        n.replace("stderr ", "") for n in ref["estimated_parameters"]]


def test_checkpoint_resume_identical(llk, mode, tmp_path):
    x, S = mode
    kw = dict(draws=45, chains=2, jscale=0.6, seed=11, progress=False, checkpoint_every=10)
    full = run_mh(llk, x, S, checkpoint_dir=tmp_path / "a", processes=1, **kw)
    assert full.complete
    part = run_mh(llk, x, S, checkpoint_dir=tmp_path / "b", processes=1, stop_after=17, **kw)
    assert not part.complete and part.draws.shape[1] == 17
    np.testing.assert_array_equal(part.draws, full.draws[:, :17])
    with pytest.raises(DSGEError, match="resume"):
        run_mh(llk, x, S, checkpoint_dir=tmp_path / "b", processes=1, **kw)
    res = run_mh(llk, x, S, checkpoint_dir=tmp_path / "b", processes=1, resume=True, **kw)
    assert res.complete and res.draws.shape == full.draws.shape
    np.testing.assert_array_equal(res.draws, full.draws)
    np.testing.assert_array_equal(res.logpost, full.logpost)
    np.testing.assert_array_equal(res.accepted, full.accepted)
    # parallel processes give the same draws as the serial run
    par = run_mh(llk, x, S, checkpoint_dir=tmp_path / "c", processes=2, **kw)
    np.testing.assert_array_equal(par.draws, full.draws)
    # a run without checkpoints equals them too
    nock = run_mh(llk, x, S, processes=1, **{k: v for k, v in kw.items() if k != "checkpoint_every"})
    np.testing.assert_array_equal(nock.draws, full.draws)


def test_resume_with_other_settings_refused(llk, mode, tmp_path):
    x, S = mode
    run_mh(llk, x, S, draws=12, chains=1, jscale=0.6, seed=1, progress=False, processes=1,
           checkpoint_dir=tmp_path, checkpoint_every=5, stop_after=5)
    with pytest.raises(DSGEError, match="seed"):
        run_mh(llk, x, S, draws=12, chains=1, jscale=0.6, seed=2, progress=False, processes=1,
               checkpoint_dir=tmp_path, resume=True)


def test_mh_targets_a_known_gaussian():
    """MH on a Gaussian 'posterior' recovers its mean and covariance (sampler correctness)."""
    from dsge_agents.estimation.mcmc import _mh_steps

    class Gauss:
        def __init__(self):
            self.mu = np.array([1.0, -2.0])
            self.S = np.array([[1.0, 0.6], [0.6, 2.0]])
            self.Si = np.linalg.inv(self.S)

        def log_posterior(self, x):
            d = x - self.mu
            return -0.5 * d @ self.Si @ d

    g = Gauss()
    n = 40000
    X = np.empty((n, 2)); lp = np.empty(n); acc = np.zeros(n, bool)
    rng = np.random.default_rng(5)
    _mh_steps(g, g.mu.copy(), 0.0, np.linalg.cholesky(g.S), 1.6, rng, n, X, lp, acc, 0)
    assert np.abs(X.mean(0) - g.mu).max() < 0.08
    np.testing.assert_allclose(np.cov(X.T), g.S, atol=0.15)
    assert 0.2 < acc.mean() < 0.5


def test_diagnostics_match_arviz():
    az = pytest.importorskip("arviz")
    rng = np.random.default_rng(0)
    m, n = 4, 1000
    x = np.empty((m, n))
    for c in range(m):
        e = rng.standard_normal(n)
        v = 0.0
        for t in range(n):
            v = 0.8 * v + e[t]
            x[c, t] = v + 0.3 * c      # chains slightly apart
    for arr in (x, x - 0.3 * np.arange(m)[:, None], x[:, :777]):
        assert rank_rhat(arr) == pytest.approx(float(az.rhat(arr, method="rank")), rel=1e-6)
        assert split_rhat(arr) == pytest.approx(float(az.rhat(arr, method="split")), rel=1e-6)
        assert ess_bulk(arr) == pytest.approx(float(az.ess(arr, method="bulk")), rel=1e-6)


def test_hpd_and_mhm():
    rng = np.random.default_rng(1)
    d = rng.standard_normal(200000)
    lo, hi = hpd_interval(d, 0.9)
    assert lo == pytest.approx(-1.645, abs=0.02) and hi == pytest.approx(1.645, abs=0.02)
    # MHM on a normalized Gaussian kernel: log p(Y) = log ∫ exp(kernel) = 0 for a density
    k = 3
    X = rng.standard_normal((50000, k))
    lp = -0.5 * np.sum(X * X, axis=1) - 0.5 * k * np.log(2 * np.pi) + 5.0   # ∫ = e^5
    assert modified_harmonic_mean(X, lp) == pytest.approx(5.0, abs=0.01)


def test_estimate_outputs(llk, mode, tmp_path):
    from dsge_agents.estimation.mode import ModeResult, posterior_mode
    x, S = mode
    m = posterior_mode(llk, x0=x, optimizers=("bfgs",), restarts=0)
    res = estimate(llk.model, llk=llk, mode=m, draws=300, chains=2, jscale=0.6, seed=2,
                   progress=False, processes=1)
    s = res.summary()
    assert list(s.columns) == ["parameter", "prior", "prior_mean", "prior_std", "mode", "mode_std",
                               "post_mean", "hpd_low", "hpd_high", "rhat", "ess"]
    assert (s["hpd_low"] <= s["post_mean"]).all() and (s["post_mean"] <= s["hpd_high"]).all()
    ml = res.marginal_likelihood()
    assert abs(ml["modified_harmonic_mean"] - ml["laplace"]) < 10.0   # 300 draws only: rough
    idata = res.to_inference_data()
    assert idata.posterior["alp"].shape == (2, 150)
    # smoothing: full-vector smoothed variables reproduce the restricted smoother and the data
    sm = res.smoothed()
    obs = sm.observed_deviation.to_numpy()
    np.testing.assert_allclose(sm.variables[llk.observables].to_numpy(), obs, atol=1e-12)
    # decomposition adds up exactly to the observed deviations
    dec = res.shock_decomposition()
    tot = dec.groupby(["variable", "period"])["value"].sum().unstack(0)
    np.testing.assert_allclose(tot[llk.observables].to_numpy(), obs, atol=1e-12)
    for v in ("k", "c"):
        np.testing.assert_allclose(tot[v].to_numpy(), sm.variables[v].to_numpy(), atol=1e-12)
    # smoothed shocks at the mode are close to white noise with the estimated std
    sd = sm.shocks.std().to_numpy()
    assert np.all(sd < 1.5 * m.mode[:2]) and np.all(sd > 0.3 * m.mode[:2])
    irf = res.irf(periods=12, draws=30)
    assert list(irf.columns[:4]) == ["shock", "variable", "period", "value"]
    r = irf[(irf.shock == "e_m") & (irf.variable == "gp_obs")]
    assert (r.hpd_low <= r.value + 1e-15).all() and (r.value <= r.hpd_high + 1e-15).all()
    assert r.value.iloc[0] > 0          # money growth shock raises inflation on impact
    for kind in ("priors", "traces", "irf", "decomposition", "shocks"):
        fig = res.plot(kind)
        assert fig.axes
