"""Likelihood and posterior kernel against Dynare 5.3 on a small NK model with several
observables, missing observations (NaN), a shock correlation and every prior shape.

Reference numbers: tests/data/dynare/qa_nk.json (`run_dynare.sh qa_nk`: `estimation(mode_compute=0,
mh_replic=0)` sets up data, priors and options, then Dynare's ``dsge_likelihood`` is evaluated at
fixed points with the exact filter — tests/data/dynare/octave/qa_lik_report.m).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from dsge_agents.estimation import LogLikelihood, loglik
from dsge_agents.model import load

DYN = "tests/data/dynare"

OPTIONS = {"base": dict(first_obs=1, presample=0, lik_init=1, prefilter=0),
           "sample_lik_init2": dict(first_obs=5, nobs=100, presample=3, lik_init=2, prefilter=0),
           "prefilter": dict(first_obs=1, presample=0, lik_init=1, prefilter=1)}


@pytest.fixture(scope="module")
def qa_nk(repo):
    return load(repo / DYN / "qa_nk.mod")


@pytest.fixture(scope="module")
def ref(repo):
    return json.load(open(repo / DYN / "qa_nk.json"))


def test_space_order_is_dynare_xparam1(qa_nk, repo):
    llk = LogLikelihood(qa_nk, repo / DYN / "qa_nk_data.csv")
    ref = json.load(open(repo / DYN / "qa_nk.json"))["base"]
    assert [n.replace("stderr ", "") for n in llk.space.names] == ref["names"]


@pytest.mark.parametrize("case", list(OPTIONS))
def test_loglik_and_posterior_match_dynare(qa_nk, ref, repo, case):
    r = ref[case]
    llk = LogLikelihood(qa_nk, repo / DYN / "qa_nk_data.csv", **OPTIONS[case])
    assert llk.y.shape[0] == r["nobs"] and llk.has_nan
    for j, x in enumerate(np.array(r["x"])):
        lp = llk.log_prior(x)
        if r["log_prior"][j] is not None:
            assert lp == pytest.approx(r["log_prior"][j], rel=1e-10, abs=1e-10)
        else:
            assert lp == -np.inf
        if r["info"][j] == 0:
            assert llk(x) == pytest.approx(r["log_likelihood"][j], rel=1e-9)
            assert llk.log_posterior(x) == pytest.approx(r["log_posterior_kernel"][j], rel=1e-9)
        elif r["info"][j] == 4:          # Dynare: indeterminacy (Blanchard-Kahn)
            assert llk(x) == -np.inf and llk.last_status == 1
            assert llk.log_posterior(x) == -np.inf


def test_corr_entry_of_mod_file_is_estimated(qa_nk, ref, repo):
    # `corr e_g, e_u` of estimated_params: the readers store the pair as a list; the
    # parameter space must read it (it raised TypeError: unhashable type 'list')
    llk = LogLikelihood(qa_nk, repo / DYN / "qa_nk_data.csv", **OPTIONS["base"])
    i = llk.space.names.index("corr e_g, e_u")
    assert llk.space.params[i].kind == "corr" and llk.space.params[i].index == (0, 1)
    x = np.array(ref["base"]["x"][0])
    Q = llk.shock_cov(x)
    assert Q[0, 1] == pytest.approx(x[3] * x[0] * x[1])
    assert loglik(qa_nk, repo / DYN / "qa_nk_data.csv", params={"e_g": 0.6, "corr e_g, e_u": 0.3}) == \
        pytest.approx(ref["base"]["log_likelihood"][0], rel=1e-9)
