"""Decision rules, IRFs and theoretical moments against Dynare 5.3 (tests/data/dynare/*.json).

The reference JSON files were produced by tests/data/dynare/run_dynare.sh
(headless Octave + Dynare 5.3); these tests never call Dynare.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from dsge_agents.linear import solve
from dsge_agents.model import load

CASES = [("nk3", "nk3.yaml", "nk3.json"), ("rbc", "rbc.yaml", "rbc.json"),
         ("fs2000", "fs2000.mod", "fs2000_solution.json")]
TOL = 1e-8


def _ref(repo, fname):
    p = repo / "tests" / "data" / "dynare" / fname
    if not p.exists():
        pytest.skip(f"Dynare reference {p} not present")
    return json.loads(p.read_text())


def _arr(x):
    return np.array([[np.nan if v is None else v for v in row] for row in x], dtype=float)


@pytest.fixture(scope="module", params=CASES, ids=[c[0] for c in CASES])
def case(request, repo):
    name, model_file, ref_file = request.param
    ref = _ref(repo, ref_file)
    path = repo / "models" / model_file
    if not path.exists():
        pytest.skip(f"{path} not present")
    m = load(path)
    return name, m, ref


@pytest.mark.parametrize("method", ["qz", "cr"])
def test_decision_rules_match_dynare(case, method):
    name, m, ref = case
    sol = solve(m, method=method)
    assert sol.loglinear == bool(ref["loglinear"])
    # same rows (declared variables in declaration order) and state columns as Dynare
    assert list(sol.ghx.index) == ref["ghx"]["rows"]
    assert list(sol.ghx.columns) == ref["ghx"]["cols"]
    assert list(sol.ghu.columns) == ref["ghu"]["cols"]
    np.testing.assert_allclose(sol.ghx.to_numpy(), _arr(ref["ghx"]["values"]), atol=TOL, rtol=0)
    np.testing.assert_allclose(sol.ghu.to_numpy(), _arr(ref["ghu"]["values"]), atol=TOL, rtol=0)
    ss = np.array([ref["steady_state"][v] for v in sol.declared], dtype=float)
    np.testing.assert_allclose(sol.steady_state.to_numpy(), ss, rtol=1e-10, atol=1e-12)


def test_bk_counts_and_eigenvalues_match_dynare(case):
    name, m, ref = case
    sol = solve(m)
    bk = sol.bk
    assert bk["determinate"]
    # Dynare's nsfwrd = nboth + nfwrd on its variable set; our auxiliary-lead treatment may
    # add forward variables (each with one more infinite eigenvalue), so compare finite roots
    assert bk["n_forward"] >= ref["nboth"] + ref["nfwrd"]
    assert bk["n_states"] == ref["npred"] + ref["nboth"]
    mod_ref = np.array([np.inf if v is None else v for v in ref["eigenvalue_moduli"]], dtype=float)
    ours = np.abs(sol.eigenvalues)
    # the moderate eigenvalues (not numerically zero or infinite) coincide
    sel_ref = np.sort(mod_ref[(mod_ref > 1e-8) & (mod_ref < 1e3)])
    sel_ours = np.sort(ours[(ours > 1e-8) & (ours < 1e3)])
    np.testing.assert_allclose(sel_ours, sel_ref, rtol=1e-8)
    n_expl_ref = int(np.sum(mod_ref > 1 + 1e-6))
    assert bk["n_explosive"] - bk["n_forward"] == n_expl_ref - (ref["nboth"] + ref["nfwrd"]) == 0


def test_irfs_match_dynare(case, compare_dynare_irfs):
    name, m, ref = case
    assert compare_dynare_irfs(solve(m), ref, atol=TOL) > 0


def test_moments_match_dynare(case):
    name, m, ref = case
    sol = solve(m)
    mom = ref["moments"]
    vs = mom["variables"]
    mo = sol.moments(nlags=5)
    var_ref = _arr(mom["var"])
    np.testing.assert_allclose(mo["covariance"].loc[vs, vs].to_numpy(), var_ref, atol=TOL, rtol=0)
    np.testing.assert_allclose(mo["std"][vs].to_numpy(), np.array(mom["std"], float), atol=TOL, rtol=0)
    # autocorrelations and variance shares are ratios: compare where the variance is not ~0
    live = np.array(mom["std"], float) > 1e-10
    ac_ref = _arr(mom["autocorr"])
    np.testing.assert_allclose(mo["autocorr"].loc[vs].to_numpy()[live], ac_ref[live], atol=TOL, rtol=0)
    vd = sol.variance_decomposition().loc[vs].to_numpy()
    vd_ref = _arr(mom["variance_decomposition_percent"])
    # shares are in percent: 1e-8 relative to 100
    np.testing.assert_allclose(vd[live], vd_ref[live], atol=100 * TOL, rtol=0)
