"""Smets-Wouters (2007) (bundled ``sw2007.mod``) against Dynare 5.3 on the same file.

References: tests/data/dynare/sw2007_solution.json (``stoch_simul(order=1, irf=20)`` at the
calibration = the paper's posterior mode) and sw2007_loglik.json (``dsge_likelihood`` at the
calibration on the paper's sample: first_obs=71, presample=4, lik_init=2), both written by
``tests/data/dynare/run_dynare.sh sw2007_solution sw2007_loglik``.  These tests never call Dynare.

Tolerances.  Both sides compute in double precision with different algorithms (Dynare: QZ on its
DR-ordered pencil, its own Lyapunov/Kalman code; ours: QZ / our filter).  Measured differences at
the time of writing: ghx 6.6e-13 (largest entry 18), ghu 2.4e-13, IRFs 2.3e-13, steady state
2.9e-14, variances 2.9e-11 (largest 151, i.e. 2e-13 relative), autocorrelations 3.6e-14, variance
shares 1.3e-11 percentage points, log-likelihood 6.8e-12, per-period contributions 5.3e-12.  The
tolerances below sit ~100x above those rounding differences and many orders of magnitude below
the effect of any real discrepancy (a wrong coefficient moves rules by >= 1e-4 and the
log-likelihood by far more than 1e-8).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from dsge_agents.api import bundled_model_path, load_model
from dsge_agents.errors import DataError
from dsge_agents.estimation import LogLikelihood, loglik
from dsge_agents.linear import solve
from dsge_agents.model import load

TOL_RULE = 1e-10       # ghx, ghu, IRFs (absolute; entries up to ~20)
TOL_LL = 1e-8          # log-likelihood, log prior, log posterior (absolute; values ~ -800)


def _arr(x):
    return np.array([[np.nan if v is None else v for v in row] for row in x], dtype=float)


def _ref(repo, name):
    return json.loads((repo / "tests" / "data" / "dynare" / name).read_text())


@pytest.fixture(scope="module")
def sw_data(shared_data):
    """The paper's data (not bundled; ../shared/data/sw2007, a copy of the authors' file)."""
    p = shared_data / "sw2007" / "usmodel_data.csv"
    if not p.exists():
        pytest.skip(f"{p} not found")
    return p


@pytest.fixture(scope="module")
def model():
    return load(bundled_model_path("sw2007.mod"))


@pytest.fixture(scope="module")
def sol(model):
    return solve(model)


@pytest.fixture(scope="module")
def ref_sol(repo):
    return _ref(repo, "sw2007_solution.json")


@pytest.fixture(scope="module")
def ref_ll(repo):
    return _ref(repo, "sw2007_loglik.json")


def test_resolves_by_name(model):
    m = load_model("sw2007")
    assert m.name == model.name
    assert len(model.variables) - len(model.aux_variables) == 39 and len(model.shocks) == 7
    assert model.observables == ["dy", "dc", "dinve", "labobs", "pinfobs", "dw", "robs"]


def test_steady_state_and_rules_match_dynare(sol, ref_sol):
    assert list(sol.ghx.index) == ref_sol["ghx"]["rows"]
    # states: same names except Dynare's numbering of the MA auxiliaries (AUX_EXO_LAG_44_0 = our
    # AUX_EXO_LAG_eta_p_0, the lagged price-markup innovation; 45 = eta_w)
    ours_cols = [c.replace("AUX_EXO_LAG_eta_p_0", "AUX_EXO_LAG_44_0").replace("AUX_EXO_LAG_eta_w_0", "AUX_EXO_LAG_45_0")
                 for c in sol.ghx.columns]
    assert ours_cols == ref_sol["ghx"]["cols"]
    assert list(sol.ghu.columns) == ref_sol["ghu"]["cols"]
    np.testing.assert_allclose(sol.ghx.to_numpy(), _arr(ref_sol["ghx"]["values"]), atol=TOL_RULE, rtol=0)
    np.testing.assert_allclose(sol.ghu.to_numpy(), _arr(ref_sol["ghu"]["values"]), atol=TOL_RULE, rtol=0)
    ss = np.array([ref_sol["steady_state"][v] for v in sol.declared], dtype=float)
    np.testing.assert_allclose(sol.steady_state.to_numpy(), ss, rtol=0, atol=1e-12)
    assert ref_sol["steady_state"]["robs"] == pytest.approx(1.5753070338, abs=1e-9)   # r-bar of eq. (15)


def test_bk_counts_and_eigenvalues_match_dynare(sol, ref_sol):
    bk = sol.bk
    assert bk["determinate"] and bk["rank_condition"]
    assert bk["n_forward"] == ref_sol["nboth"] + ref_sol["nfwrd"] == 12
    assert bk["n_states"] == ref_sol["npred"] + ref_sol["nboth"] == 20
    mod_ref = np.array([np.inf if v is None else v for v in ref_sol["eigenvalue_moduli"]], dtype=float)
    ours = np.abs(sol.eigenvalues)
    sel_ref = np.sort(mod_ref[(mod_ref > 1e-8) & (mod_ref < 1e3)])
    sel_ours = np.sort(ours[(ours > 1e-8) & (ours < 1e3)])
    np.testing.assert_allclose(sel_ours, sel_ref, rtol=1e-9)
    # explosive roots beyond the forward-looking count: none on either side
    assert bk["n_explosive"] - bk["n_forward"] == int(np.sum(mod_ref > 1 + 1e-6)) - 12 == 0


def test_irfs_match_dynare(sol, ref_sol, compare_dynare_irfs):
    assert int(ref_sol["irf_periods"]) == 20
    assert compare_dynare_irfs(sol, ref_sol, atol=TOL_RULE) == 273
    # a sign check that does not depend on Dynare: a monetary tightening raises r and lowers output
    assert ref_sol["irfs"]["r_eta_r"][0] > 0 and ref_sol["irfs"]["y_eta_r"][0] < 0


def test_moments_and_variance_decomposition_match_dynare(sol, ref_sol):
    mom = ref_sol["moments"]
    vs = mom["variables"]
    mo = sol.moments(nlags=5)
    np.testing.assert_allclose(mo["covariance"].loc[vs, vs].to_numpy(), _arr(mom["var"]), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mo["std"][vs].to_numpy(), np.array(mom["std"], float), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mo["autocorr"].loc[vs].to_numpy(), _arr(mom["autocorr"]), atol=1e-10, rtol=0)
    vd = sol.variance_decomposition().loc[vs].to_numpy()
    np.testing.assert_allclose(vd, _arr(mom["variance_decomposition_percent"]), atol=1e-8, rtol=0)


def test_loglik_at_calibration_matches_dynare(model, ref_ll, sw_data):
    assert (ref_ll["first_obs"], ref_ll["presample"], ref_ll["lik_init"], ref_ll["nobs"]) == (71, 4, 2, 160)
    res = loglik(model, sw_data, detail=True)
    assert res.loglik == pytest.approx(ref_ll["exact"]["log_likelihood"], abs=TOL_LL)
    # Dynare's default riccati_tol never switches here (lik_init=2: P_1 = 10 I): same value
    assert ref_ll["default"]["log_likelihood"] == ref_ll["exact"]["log_likelihood"]
    fast = loglik(model, sw_data, exact=False, detail=True)
    assert fast.loglik == pytest.approx(ref_ll["default"]["log_likelihood"], abs=TOL_LL)
    # per-period contributions: Dynare reports the 156 periods after the presample
    np.testing.assert_allclose(np.asarray(res.contributions)[4:], ref_ll["exact"]["loglik_per_period"],
                               atol=1e-9, rtol=0)


def test_data_prior_and_posterior_match_dynare(model, ref_ll, sw_data):
    llk = LogLikelihood(model, sw_data)
    assert llk.observables == ref_ll["observables"]
    np.testing.assert_array_equal(llk.y, np.array(ref_ll["data_used_log"]))   # the 160 quarters 1965Q1-2004Q4
    bare = [n.replace("stderr ", "") for n in ref_ll["estimated_parameters"]]
    assert [n.replace("stderr ", "") for n in llk.space.names] == bare
    x = np.array(ref_ll["x_calibration"], float)
    np.testing.assert_allclose(x, llk.x_calibration(), rtol=0, atol=0)
    assert llk.log_prior(x) == pytest.approx(ref_ll["log_prior"], abs=TOL_LL)
    assert llk.log_posterior(x) == pytest.approx(ref_ll["exact"]["log_posterior_kernel"], abs=TOL_LL)
    # at the prior means (Dynare's default riccati_tol): -52653.4; relative 1e-13
    xm = np.array(ref_ll["priors"]["p1"], float)
    fast = LogLikelihood(model, sw_data, riccati_tol=1e-6)
    assert fast.log_posterior(xm) == pytest.approx(ref_ll["log_posterior_kernel_at_prior_mean"], rel=1e-12)


def test_export_round_trip_keeps_estimation_and_solution(model, ref_sol, ref_ll, sw_data, tmp_path):
    """`export sw2007 --to mod`: the exported file (``#`` locals inlined, the ARMA shocks' lagged
    innovations left to Dynare's auxiliaries) keeps Dynare's decision rules, and its estimation(...)
    keeps the paper's sample: the log-likelihood at the calibration is Dynare's -822.4723967609.
    The writer used to drop the estimation statement (reloaded: first_obs=1, no presample,
    lik_init=1). The exported file also ran in Dynare 5.3: rules and 273 IRFs equal to 7e-13
    (tests/data/dynare/export_check.json), and its estimation reached Dynare's mode of the source."""
    out = tmp_path / "sw2007_exported.mod"
    model.to_mod(out)
    m2 = load(out, cache=False)
    for k in ("datafile", "first_obs", "presample", "lik_init", "prefilter", "mode_compute", "mh_replic"):
        assert m2.estimation_options[k] == model.estimation_options[k]
    s2 = solve(m2)
    np.testing.assert_allclose(s2.ghu.to_numpy(), _arr(ref_sol["ghu"]["values"]), atol=TOL_RULE, rtol=0)
    assert loglik(m2, sw_data) == pytest.approx(ref_ll["exact"]["log_likelihood"], abs=TOL_LL)


def test_missing_data_is_one_line_saying_where_to_get_it(model, monkeypatch):
    opts = dict(model.estimation_options)
    opts["datafile"] = opts["datafile_path"] = "no_such_dir/usmodel_data.csv"
    monkeypatch.setattr(model, "estimation_options", opts)
    with pytest.raises(DataError) as exc:
        LogLikelihood(model)
    msg = str(exc.value)
    assert "\n" not in msg
    assert "usmodel_data.csv not found" in msg and "doi:10.1257/aer.97.3.586" in msg and "--data" in msg


# ---------------------------------------------------------------- posterior mode (sw2007_mode.json)
# Dynare: estimated_params_init(use_calibration) then mode_compute=4 (csminwel) on the paper's sample;
# its reported mode is within 5.4e-4 posterior std of the exact maximizer (`newton_step_over_std`).

@pytest.fixture(scope="module")
def ref_mode(repo):
    return _ref(repo, "sw2007_mode.json")


def test_log_posterior_at_dynare_mode(model, ref_mode, sw_data):
    llk = LogLikelihood(model, sw_data)
    assert [n.replace("stderr ", "") for n in llk.space.names] == \
        [n.replace("stderr ", "") for n in ref_mode["estimated_parameters"]]
    x = np.array(ref_mode["mode"], float)
    assert llk.log_posterior(x) == pytest.approx(ref_mode["log_posterior_at_mode"], abs=TOL_LL)
    assert llk(x) == pytest.approx(ref_mode["log_likelihood_at_mode"], abs=TOL_LL)


def test_hessian_and_laplace_at_dynare_mode(model, ref_mode, sw_data):
    """Our finite-difference Hessian (Dynare's steps, :func:`hessian`) at Dynare's mode gives Dynare's
    inverse Hessian and Laplace log data density (measured: 2.9e-7 relative, 3.8e-7 absolute; ~2.6k
    evaluations, ~3 s)."""
    import math

    from dsge_agents.estimation.mode import hessian
    llk = LogLikelihood(model, sw_data)
    x = np.array(ref_mode["mode"], float)
    H = hessian(lambda z: -llk.log_posterior(z), x, lower=llk.space.lower, upper=llk.space.upper)
    V = np.linalg.inv(H)
    Vd = _arr(ref_mode["inverse_hessian"])
    np.testing.assert_allclose(np.sqrt(np.diag(V)), ref_mode["mode_std"], rtol=1e-5)
    assert np.max(np.abs(V - Vd)) < 1e-5 * np.max(np.abs(Vd))
    lap = llk.log_posterior(x) + 0.5 * x.size * math.log(2 * math.pi) - 0.5 * np.linalg.slogdet(H)[1]
    assert lap == pytest.approx(ref_mode["log_data_density_laplace"], abs=1e-5)


@pytest.mark.slow
def test_posterior_mode_from_calibration_matches_dynare(model, ref_mode, sw_data):
    """From the same start (the calibration) our BFGS mode is at least as high as csminwel's (measured
    +2.6e-7) and the two modes agree to the accuracy of Dynare's own (5.4e-4 posterior std)."""
    from dsge_agents.estimation import posterior_mode
    llk = LogLikelihood(model, sw_data)
    r = posterior_mode(llk, x0=llk.x_calibration(), optimizers=("bfgs",), restarts=0)
    assert r.log_posterior >= ref_mode["log_posterior_at_mode"] - 1e-6
    assert r.log_posterior == pytest.approx(ref_mode["log_posterior_at_mode"], abs=1e-5)
    sd = np.array(ref_mode["mode_std"], float)
    assert np.max(np.abs(r.mode - np.array(ref_mode["mode"])) / sd) < 2e-3
    np.testing.assert_allclose(r.std, sd, rtol=2e-3)
    # the Laplace density moves with the point at which the Hessian is taken: 8e-4 between the two modes
    assert r.log_marginal_laplace == pytest.approx(ref_mode["log_data_density_laplace"], abs=5e-3)


def test_cli_loglik_by_name(capsys, sw_data, ref_ll, tmp_path, monkeypatch):
    """`dsge-agents loglik sw2007 --exact` (the command of docs/estimation.md) prints Dynare's value."""
    from dsge_agents.cli.main import main
    assert main(["loglik", "sw2007", "--data", str(sw_data), "--exact"]) == 0
    out = capsys.readouterr().out
    assert f"log-likelihood: {ref_ll['exact']['log_likelihood']:.10f}" in out
    assert "first_obs=71, nobs=160, presample=4; lik_init=2" in out
    # the .mod's datafile (usmodel_data.csv) is also found in the working directory
    monkeypatch.chdir(tmp_path)
    assert main(["loglik", "sw2007", "--exact"]) == 1
    assert "usmodel_data.csv not found" in capsys.readouterr().err
    (tmp_path / "usmodel_data.csv").write_bytes(sw_data.read_bytes())
    assert main(["loglik", "sw2007", "--exact"]) == 0
    assert f"log-likelihood: {ref_ll['exact']['log_likelihood']:.10f}" in capsys.readouterr().out



@pytest.mark.slow
def test_cli_short_mh_run_end_to_end(capsys, sw_data, ref_mode, tmp_path):
    """`estimate sw2007 --draws 400 --chains 2` (the user's short run, ~35 s): finishes, writes every
    output, starts the chains at Dynare's mode, tunes the acceptance rate into Dynare's usual band
    and, 400 draws being far too few for 36 parameters, says the chains have not converged."""
    import pandas as pd

    from dsge_agents.cli.main import main
    out = tmp_path / "mh"
    assert main(["estimate", "sw2007", "--data", str(sw_data), "--draws", "400", "--chains", "2",
                 "--out", str(out), "--optimizers", "bfgs", "--restarts", "0", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    for f in ("summary.csv", "draws.parquet", "marginal_likelihood.json", "mode.json", "priors.png",
              "traces.png", "irf.png", "shock_decomposition.png"):
        assert (out / f).stat().st_size > 0
    summ = pd.read_csv(out / "summary.csv")
    assert len(summ) == 36 and summ[["post_mean", "hpd_low", "hpd_high", "rhat", "ess"]].notna().all().all()
    sd = np.array(ref_mode["mode_std"], float)
    by_name = dict(zip(summ["parameter"].str.replace("stderr ", ""), summ["mode"]))
    mode = np.array([by_name[n.replace("stderr ", "")] for n in ref_mode["estimated_parameters"]])
    assert np.max(np.abs(mode - np.array(ref_mode["mode"])) / sd) < 2e-3
    ml = json.loads((out / "marginal_likelihood.json").read_text())
    assert all(0.15 < a < 0.45 for a in ml["acceptance"])
    assert np.isfinite(ml["modified_harmonic_mean"])
    assert "acceptance rate per chain:" in printed and "have not converged" in printed


def test_irf_default_figure_and_table_show_every_shock(sol, ref_sol, capsys, tmp_path, monkeypatch):
    """`irf sw2007`: the figure showed 4 of the 7 shocks (not the monetary-policy or productivity
    shock) and the table 6; the table printed the flexible economy's zero response to the
    risk-premium shock as rounding noise (-1.552e-16; Dynare's own reference is below 1e-15)."""
    from dsge_agents.cli.main import main
    variables, shocks = sol.irf_selection(40)
    assert shocks == list(sol.shocks) and len(shocks) == 7
    assert variables == ["dy", "dc", "dinve", "labobs", "pinfobs", "dw", "robs"]
    monkeypatch.chdir(tmp_path)
    assert main(["irf", "sw2007", "--no-plot"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("variable"))
    assert lines[head].split()[1:] == list(sol.shocks)
    row = dict(zip(lines[head].split()[1:], next(l for l in lines if l.startswith("y_f ")).split()[1:]))
    assert abs(ref_sol["irfs"].get("y_f_eta_b", [0.0])[0]) < 1e-12   # Dynare: no response either
    assert row["eta_b"] == row["eta_r"] == "0" and float(row["eta_a"]) == pytest.approx(
        ref_sol["irfs"]["y_f_eta_a"][0], abs=1e-4)
    assert not any("e-1" in l for l in lines[head:])
