"""fs2000 (Schorfheide 2000) against Dynare 5.3: likelihood, posterior mode, MH posterior means."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from dsge_agents.errors import DataError, PriorError
from dsge_agents.estimation import (HessianWarning, LogLikelihood, estimate, loglik, posterior_mode,
                                    run_mh)
from dsge_agents.model import load


@pytest.fixture(scope="module")
def fs2000(repo, shared_data):
    return load(repo / "models/fs2000.mod")


@pytest.fixture(scope="module")
def llk(fs2000):
    return LogLikelihood(fs2000)


@pytest.fixture(scope="module")
def ref_ll(repo):
    return json.load(open(repo / "tests/data/dynare/fs2000_loglik.json"))


@pytest.fixture(scope="module")
def ref_mode(repo):
    return json.load(open(repo / "tests/data/dynare/fs2000_mode.json"))


def _to_ours(llk, names, values):
    """Reorder a Dynare vector (names 'stderr e_a' or 'e_a') to our space order."""
    bare = [n.replace("stderr ", "") for n in names]
    return np.array([values[bare.index(n.replace("stderr ", ""))] for n in llk.space.names])


def test_loglik_at_calibration_equals_dynare_exact(fs2000, ref_ll):
    res = loglik(fs2000, detail=True)
    assert res.loglik == pytest.approx(ref_ll["exact"]["log_likelihood"], abs=1e-6)
    np.testing.assert_allclose(res.contributions, ref_ll["exact"]["loglik_per_period"], atol=1e-9)
    assert res.riccati_switch == -1


def test_loglik_with_riccati_switch_equals_dynare_default(fs2000, ref_ll):
    res = loglik(fs2000, exact=False, detail=True)
    assert res.loglik == pytest.approx(ref_ll["default"]["log_likelihood"], abs=1e-6)
    assert res.riccati_switch > 0
    assert res.loglik != pytest.approx(ref_ll["exact"]["log_likelihood"], abs=1e-8)


def test_data_used_and_log_posterior(llk, ref_ll):
    np.testing.assert_allclose(llk.y, np.array(ref_ll["data_used_log"])[:, [1, 0]]
                               if llk.observables == ["gy_obs", "gp_obs"] else ref_ll["data_used_log"],
                               atol=1e-15)
    x = _to_ours(llk, ref_ll["estimated_parameters"], ref_ll["x_calibration"])
    assert llk.log_posterior(x) == pytest.approx(ref_ll["exact"]["log_posterior_kernel"], abs=1e-6)
    # at the prior means (p1), Dynare evaluated with its default riccati_tol = 1e-6
    bare = [n.replace("stderr ", "") for n in ref_ll["priors"]["names"]]
    xm = np.array([ref_ll["priors"]["p1"][bare.index(n.replace("stderr ", ""))] for n in llk.space.names])
    fast = LogLikelihood(llk.model, riccati_tol=1e-6)
    assert fast.log_posterior(xm) == pytest.approx(ref_ll["log_posterior_kernel_at_prior_mean"], abs=1e-6)
    assert llk.log_posterior(xm) != pytest.approx(ref_ll["log_posterior_kernel_at_prior_mean"], abs=1e-6)


def test_standard_filter_equals_chandrasekhar(fs2000, ref_ll):
    a = LogLikelihood(fs2000, use_chandrasekhar=False)
    x = a.x_calibration()
    assert a(x) == pytest.approx(ref_ll["exact"]["log_likelihood"], abs=1e-8)


def test_lik_init2_and_presample_change_the_value(fs2000, ref_ll):
    l2 = loglik(fs2000, lik_init=2)
    lp = loglik(fs2000, presample=4)
    assert np.isfinite(l2) and l2 != pytest.approx(ref_ll["exact"]["log_likelihood"], abs=1e-3)
    per = np.array(ref_ll["exact"]["loglik_per_period"])
    assert lp == pytest.approx(per[4:].sum(), abs=1e-8)
    # first_obs / nobs select rows 11..110
    l_sub = loglik(fs2000, first_obs=11, nobs=100, detail=True)
    assert len(l_sub.contributions) == 100


def test_posterior_mode_equals_dynare(llk, ref_mode):
    res = posterior_mode(llk, restarts=1)
    ref = _to_ours(llk, ref_mode["estimated_parameters"], ref_mode["mode"])
    np.testing.assert_allclose(res.mode, ref, rtol=1e-3)
    assert res.log_posterior == pytest.approx(ref_mode["log_posterior_at_mode"], abs=1e-4)
    assert res.log_posterior >= ref_mode["log_posterior_at_mode"] - 1e-6
    ref_std = _to_ours(llk, ref_mode["estimated_parameters"], ref_mode["mode_std"])
    np.testing.assert_allclose(res.std, ref_std, rtol=0.02)
    assert res.log_marginal_laplace == pytest.approx(ref_mode["log_data_density_laplace"], abs=0.02)
    assert res.hessian_pd


@pytest.mark.slow
def test_posterior_means_equal_dynare(fs2000, llk, repo):
    path = repo / "tests/data/dynare/fs2000_mh.json"
    if not path.exists():
        pytest.skip("Dynare MH reference not produced yet")
    ref = json.load(open(path))["mh"]
    res = estimate(fs2000, draws=20000, chains=2, seed=1, progress=False, llk=llk)
    s = res.summary().set_index("parameter")

    def pick(d, name):
        bare = name.replace("stderr ", "")
        return d["shocks_std"][bare] if name.startswith("stderr ") else d["parameters"][name]

    names = list(s.index)
    mean = np.array([pick(ref["posterior_mean"], n) for n in names])
    std = np.array([pick(ref["posterior_std"], n) for n in names])
    ours = s["post_mean"].to_numpy()
    assert np.all(np.abs(ours - mean) <= 0.2 * std), (ours, mean, std)
    ml = res.marginal_likelihood()
    assert ml["modified_harmonic_mean"] == pytest.approx(ref["log_data_density_mhm"], abs=0.5)
    assert (s["rhat"] < 1.05).all()


# ----------------------------------------------------------------------------- bad input
def test_too_few_rows(fs2000):
    with pytest.raises(DataError, match="rows"):
        LogLikelihood(fs2000, nobs=500)
    with pytest.raises(DataError, match="first_obs=100 and nobs=192"):
        LogLikelihood(fs2000, first_obs=100)


def test_undeclared_observable(fs2000, shared_data):
    with pytest.raises(DataError, match="not variables"):
        LogLikelihood(fs2000, observables=["gy_obs", "output_gap"])
    import pandas as pd
    df = pd.read_csv(shared_data / "fs2000/fsdat_simul.csv").rename(columns={"gp_obs": "infl"})
    with pytest.raises(DataError, match="gp_obs"):
        LogLikelihood(fs2000, data=df)


def test_non_finite_and_non_positive_data(fs2000, shared_data):
    import pandas as pd
    df = pd.read_csv(shared_data / "fs2000/fsdat_simul.csv")
    bad = df.copy()
    bad.loc[7, "gy_obs"] = np.inf
    with pytest.raises(DataError, match="row 8"):
        LogLikelihood(fs2000, data=bad)
    neg = df.copy()
    neg.loc[3, "gp_obs"] = -1.0
    with pytest.raises(DataError, match="positive"):
        LogLikelihood(fs2000, data=neg)
    # NaN is a missing value: accepted, and the likelihood changes by dropping that row's entry
    miss = df.copy()
    miss.loc[10, "gp_obs"] = np.nan
    ll = LogLikelihood(fs2000, data=miss)
    assert not ll.use_chandra and np.isfinite(ll(ll.x_calibration()))


def test_prior_outside_support(llk):
    x = llk.x_calibration()
    x[llk.space.names.index("alp")] = 1.2       # beta prior on (0, 1)
    assert llk.log_posterior(x) == -np.inf
    with pytest.raises(PriorError, match="alp"):
        posterior_mode(llk, x0=x)


def test_non_pd_hessian_warns_and_falls_back(llk, ref_mode, monkeypatch):
    import dsge_agents.estimation.mode as M
    k = len(llk.space)
    bad = -np.eye(k)
    bad[0, 0] = 1e6
    monkeypatch.setattr(M, "hessian", lambda *a, **kw: bad.copy())
    x0 = _to_ours(llk, ref_mode["estimated_parameters"], ref_mode["mode"])
    with pytest.warns(HessianWarning):
        res = M.posterior_mode(llk, x0=x0, optimizers=("bfgs",), restarts=0)
    assert not res.hessian_pd
    np.linalg.cholesky(res.inv_hessian)          # the fallback proposal is PD
    ch = run_mh(llk, res.mode, res.inv_hessian, draws=30, chains=1, jscale=0.5, progress=False,
                processes=1)
    assert ch.draws.shape == (1, 30, k)
