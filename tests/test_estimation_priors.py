"""Priors with Dynare's parameterization, checked against scipy.stats and Dynare's hyper-parameters."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from dsge_agents.errors import PriorError
from dsge_agents.estimation import ParameterSpace, make_prior
from dsge_agents.estimation.priors import log_prior_vec, prior_arrays


@pytest.mark.parametrize("shape,mean,std,p3,p4", [
    ("beta", 0.356, 0.02, np.nan, np.nan),
    ("beta", 0.5, 0.2, -1.0, 2.0),
    ("gamma", 2.0, 0.5, np.nan, np.nan),
    ("gamma", 2.0, 0.5, 0.5, np.nan),
    ("normal", 1.0002, 0.007, np.nan, np.nan),
    ("inv_gamma2", 0.3, 0.1, np.nan, np.nan),
    ("uniform", 0.0, 1.0, -2.0, 3.0),
    ("uniform", 0.5, 0.1, np.nan, np.nan),
])
def test_logpdf_matches_scipy(shape, mean, std, p3, p4):
    pr = make_prior(shape, mean, std, p3, p4)
    d = pr.scipy()
    xs = d.ppf([0.01, 0.2, 0.5, 0.8, 0.99])
    for x in xs:
        assert pr.logpdf(x) == pytest.approx(d.logpdf(x), rel=1e-10, abs=1e-10)
    # mean / std parameterization reproduced (uniform: given bounds define them)
    if not (shape == "uniform" and np.isfinite(p3)):
        assert d.mean() == pytest.approx(mean, rel=1e-10)
        assert d.std() == pytest.approx(std, rel=1e-9)


def test_inverse_gamma1_is_density_of_a_std():
    # x ~ IG1(s, nu)  <=>  x^2 ~ InvGamma(nu/2, scale s/2): p(x) = 2x f(x^2)
    for mean, std in [(0.1, 0.05), (0.035449, np.inf), (1.0, 2.0)]:
        pr = make_prior("inv_gamma1", mean, std)
        d2 = pr.scipy()
        for x in [0.01, 0.05, 0.1, 0.3, 1.0]:
            ref = math.log(2 * x) + d2.logpdf(x * x)
            assert pr.logpdf(x) == pytest.approx(ref, rel=1e-10)
        if np.isfinite(std):
            m1 = integrate.quad(lambda x: x * math.exp(pr.logpdf(x)), 0, np.inf, limit=200)[0]
            m2 = integrate.quad(lambda x: x * x * math.exp(pr.logpdf(x)), 0, np.inf, limit=200)[0]
            assert m1 == pytest.approx(mean, rel=1e-6)
            assert math.sqrt(m2 - m1 ** 2) == pytest.approx(std, rel=1e-5)
        else:
            s, nu = pr.hyper[:2]
            assert nu == 2.0 and s == pytest.approx(2 * mean ** 2 / math.pi)
            m1 = integrate.quad(lambda x: x * math.exp(pr.logpdf(x)), 0, np.inf, limit=200)[0]
            assert m1 == pytest.approx(mean, rel=1e-6)


def test_hyperparameters_match_dynare(repo):
    ref = json.load(open(repo / "tests/data/dynare/fs2000_loglik.json"))["priors"]
    shapes = {1: "beta", 2: "gamma", 3: "normal", 4: "inv_gamma1", 5: "uniform", 6: "inv_gamma2"}
    for i, name in enumerate(ref["names"]):
        p2 = ref["p2"][i]
        pr = make_prior(shapes[ref["pshape"][i]], ref["p1"][i], np.inf if p2 is None else p2)
        if pr.shape == "beta":
            assert pr.hyper[0] == pytest.approx(ref["p6"][i], rel=1e-12)
            assert pr.hyper[1] == pytest.approx(ref["p7"][i], rel=1e-12)
        elif pr.shape == "inv_gamma1":
            assert pr.hyper[0] == pytest.approx(ref["p6"][i], rel=1e-6)   # Dynare rounds via fzero
            assert pr.hyper[1] == pytest.approx(ref["p7"][i])


def test_log_prior_at_calibration_matches_dynare(repo):
    from dsge_agents.model import load
    ref = json.load(open(repo / "tests/data/dynare/fs2000_loglik.json"))
    m = load(repo / "models/fs2000.mod")
    sp = ParameterSpace.from_model(m)
    order = [n.replace("stderr ", "") for n in sp.names]
    x = np.array([ref["x_calibration"][[e.replace("stderr ", "") for e in ref["estimated_parameters"]]
                                        .index(n)] for n in order])
    assert sp.log_prior(x) == pytest.approx(ref["log_prior"], abs=1e-9)
    assert sp.log_prior_slow(x) == pytest.approx(ref["log_prior"], abs=1e-9)


def test_vectorized_prior_equals_scalar():
    prs = [make_prior("beta", 0.3, 0.1), make_prior("gamma", 1, 0.3, 0.2), make_prior("normal", 0, 1),
           make_prior("inv_gamma1", 0.1, 0.05), make_prior("inv_gamma2", 0.2, 0.1),
           make_prior("uniform", 0, 1, -1, 1)]
    lo = np.array([p.lower for p in prs]); hi = np.array([p.upper for p in prs])
    packed = prior_arrays(prs, lo, hi)
    rng = np.random.default_rng(0)
    for _ in range(20):
        x = np.array([p.rvs(1, rng)[0] for p in prs])
        assert log_prior_vec(x, *packed) == pytest.approx(sum(p.logpdf(v) for p, v in zip(prs, x)),
                                                          rel=1e-12)
    x[0] = 1.5
    assert log_prior_vec(x, *packed) == -np.inf


def test_transforms_and_jacobian():
    from dsge_agents.estimation.likelihood import EstimatedParam
    prs = [make_prior("beta", 0.3, 0.1), make_prior("gamma", 1, 0.3, 0.2), make_prior("normal", 0, 1)]
    eps = [EstimatedParam(f"p{i}", "param", (i,), p, p.lower, p.upper, p.mean) for i, p in enumerate(prs)]
    sp = ParameterSpace(eps)
    x = np.array([0.25, 0.9, -0.3])
    z = sp.to_unbounded(x)
    np.testing.assert_allclose(sp.to_bounded(z), x, rtol=1e-12)
    # log|dx/dz| by finite differences
    h = 1e-6
    J = [(sp.to_bounded(z + h * e) - sp.to_bounded(z - h * e))[i] / (2 * h)
         for i, e in enumerate(np.eye(3))]
    assert sp.log_jacobian(z) == pytest.approx(np.sum(np.log(np.abs(J))), rel=1e-7)


def test_bad_priors():
    with pytest.raises(PriorError, match="beta"):
        make_prior("beta", 0.5, 0.6)          # std too large for a beta
    with pytest.raises(PriorError, match="unknown prior shape"):
        make_prior("cauchy", 0, 1)
    with pytest.raises(PriorError, match="positive"):
        make_prior("inv_gamma1", -0.1, 1)
    with pytest.raises(PriorError, match="outside"):
        make_prior("beta", 1.5, 0.1)
