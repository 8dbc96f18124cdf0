"""Dynare ``.mod`` language features read and solved as Dynare 5.3 does (tests/data/dynare/qa_*.json).

Each ``qa_*.mod`` is our own rendition of a textbook model written to exercise the parts of the
language real files use; the JSON beside it is Dynare 5.3's answer on the very same file
(``tests/data/dynare/run_dynare.sh qa_rbc_features qa_nk_leads qa_predetermined qa_functions
qa_shock_leads qa_kinks
qa_kinks_numeric qa_change_type``):
parameters, steady state, decision rules ``ghx``/``ghu`` in declaration order, ``oo_.irfs``,
``oo_.var``, ``oo_.autocorr`` and the variance decomposition of the ``stoch_simul`` variable list.

* qa_rbc_features: ``$tex$`` names and ``long_name`` options, the three comment styles, a parameter
  computed from others, ``#`` locals with leads, equation tags (with extra keys),
  ``steady_state_model`` with temporaries, ``stderr`` given by a parameter, ``stoch_simul(...) y c k l``;
* qa_nk_leads: ``model(linear)``, leads of two and lags of three periods, lagged shocks
  (``e_i(-1)``, ``e_a(-2)``), ``var e = v``, ``corr e1, e2 = r``, ``var e1, e2 = cov``;
* qa_predetermined: ``predetermined_variables``, ``initval`` + ``steady`` (numeric steady state),
  ``var e = s^2``;
* qa_functions: UTF-8 byte-order mark and Windows line ends; ``abs sign min max normcdf erf sqrt
  exp log`` in the model (``sign`` differentiated as 0, as Dynare does) and ``(-0.5)^3``,
  ``-2^2`` in parameter values;
* qa_shock_leads: leads of shocks (``u(+1)``, ``e(+2)``: an auxiliary variable equal to the shock, whose
  leads are ordinary endogenous leads, as Dynare does), locals with timing, ``x( -1 )`` with blanks;
* qa_kinks: ``max``/``min`` whose arguments tie at the steady state (Dynare: ``d max(a, b) = da if a > b
  else db``; the order written matters);
* qa_change_type: ``change_type(parameters) z`` and ``change_type(var) b`` (the changed symbols take their
  place among the new kind in declaration order, as in Dynare's symbol table);
* qa_kinks_numeric: kinks at a numeric steady state of 0, ``normcdf(x, mu, s)``, ``normpdf(x, mu, s)``.
  (Where a root finder ends at 1e-17 instead of 0, ``sign`` jumps: Dynare's does that too, e.g. for
  ``x = 0.9*x(-1)`` from ``initval x = 0.01``, so such files are fragile in both.)
* qa_trig: ``asin``, ``acos`` and ``cbrt`` (Dynare 5.3 has them; ``sinh cosh asinh acosh atanh erfc`` it refuses),
  ``initval`` values computed with them, ``steady``;
* qa_shocks_blocks: two shocks blocks; the second changes a stderr whose shock has a ``corr`` from the
  first (Dynare keeps the covariance computed then) and gives ``corr w, v`` after ``var v, w`` (replaced);
* qa_steady_state_op: ``STEADY_STATE(y)``, ``STEADY_STATE(log(k))`` and ``STEADY_STATE(r)`` (which pins
  down r's steady state through the static model) with a numeric steady state.
"""
from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

from dsge_agents.linear import solve
from dsge_agents.model import load

CASES = {  # name: tolerance of the decision rules / steady state against Dynare
    "qa_rbc_features": 1e-8,
    "qa_nk_leads": 1e-8,
    # Dynare's numeric steady state stops at a residual of about 1e-7 (ours is exact to 1e-15, see
    # test_predetermined_steady_state_is_exact), so its rules differ from ours by about 1e-7
    "qa_predetermined": 1e-6,
    "qa_functions": 1e-8,
    "qa_shock_leads": 1e-8,
    "qa_kinks": 1e-12,
    "qa_change_type": 1e-10,
    "qa_kinks_numeric": 1e-10,
    # asin / acos / cbrt (were "unknown name"); numeric steady state (Dynare's steady, tolf 1e-8 scale)
    "qa_trig": 1e-8,
    "qa_shocks_blocks": 1e-10,
    # STEADY_STATE() (was an UnsupportedStatementError); Dynare's numeric steady state
    "qa_steady_state_op": 1e-8,
}


def _arr(x):
    return np.array([[np.nan if v is None else v for v in row] for row in x], dtype=float)


def _varlist(ref, sol):
    vl = ref.get("varlist") or []
    while isinstance(vl, list) and len(vl) == 1 and isinstance(vl[0], list):
        vl = vl[0]
    return [vl] if isinstance(vl, str) else (vl or list(sol.declared))


@pytest.fixture(scope="module", params=sorted(CASES))
def case(request, repo):
    name = request.param
    d = repo / "tests" / "data" / "dynare"
    ref = json.loads((d / f"{name}.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the file's write_json(...) line is a reporting command
        m = load(d / f"{name}.mod", cache=False)
    return name, m, solve(m), ref


def test_parameters_and_steady_state(case):
    name, m, sol, ref = case
    assert list(m.parameters) == list(ref["parameters"]) and m.shocks == ref["shocks"]
    for p, v in ref["parameters"].items():
        assert m.parameters[p] == pytest.approx(v, rel=1e-14, abs=1e-15), p
    ss = np.array([ref["steady_state"][v] for v in sol.declared])
    np.testing.assert_allclose(sol.steady_state.to_numpy(), ss, rtol=CASES[name], atol=CASES[name])


def test_decision_rules(case):
    name, m, sol, ref = case
    tol = CASES[name]
    assert list(sol.ghx.index) == ref["ghx"]["rows"]
    assert list(sol.ghu.columns) == ref["ghu"]["cols"]
    # state columns: same order; Dynare names auxiliary states by symbol number (AUX_ENDO_LAG_1_1),
    # we by name (AUX_ENDO_LAG_pi_1)
    ours, theirs = list(sol.ghx.columns), ref["ghx"]["cols"]
    assert len(ours) == len(theirs)
    assert [c for c in ours if not c.startswith("AUX")] == [c for c in theirs if not c.startswith("AUX")]
    np.testing.assert_allclose(sol.ghx.to_numpy(), _arr(ref["ghx"]["values"]), atol=tol, rtol=0)
    np.testing.assert_allclose(sol.ghu.to_numpy(), _arr(ref["ghu"]["values"]), atol=tol, rtol=0)
    assert sol.bk["determinate"]


def test_irfs(case):
    name, m, sol, ref = case
    P = ref["irf_periods"]
    irf = sol.irf(P)
    seen = 0
    for (s, v), g in irf.groupby(["shock", "variable"]):
        key = f"{v}_{s}"
        if key in ref["irfs"]:   # Dynare drops responses below 1e-10
            np.testing.assert_allclose(g.sort_values("period")["value"].to_numpy(), np.ravel(ref["irfs"][key]),
                                       atol=CASES[name], rtol=0, err_msg=key)
            seen += 1
        elif v in _varlist(ref, sol):   # Dynare stores the IRFs of the stoch_simul list only
            assert np.abs(g["value"]).max() < 1e-10, key
    assert seen == len(ref["irfs"])


def test_moments_and_variance_decomposition(case):
    name, m, sol, ref = case
    tol = CASES[name]
    vl = _varlist(ref, sol)
    mo = ref["moments"]
    mom = sol.moments()
    np.testing.assert_allclose(mom["covariance"].loc[vl, vl].to_numpy(), _arr(mo["var"]), atol=tol, rtol=0)
    np.testing.assert_allclose(mom["autocorr"].loc[vl].to_numpy(), _arr(mo["autocorr"]), atol=tol, rtol=0)
    np.testing.assert_allclose(sol.variance_decomposition().loc[vl].to_numpy(),
                               _arr(mo["variance_decomposition_percent"]), atol=100 * tol, rtol=0)


def test_predetermined_steady_state_is_exact(repo):
    # qa_predetermined's steady state in closed form (capital-labour ratio from the Euler equation)
    alpha, beta, delta, psi = 0.3, 0.98, 0.05, 2.0
    kl = ((1 / beta - 1 + delta) / alpha) ** (1 / (alpha - 1))
    yl, cl = kl ** alpha, kl ** alpha - delta * kl
    l = (1 - alpha) * yl / (psi * cl + (1 - alpha) * yl)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load(repo / "tests" / "data" / "dynare" / "qa_predetermined.mod", cache=False)
    ss = solve(m).steady_state
    np.testing.assert_allclose(ss[["y", "c", "k", "l", "z"]].to_numpy(), [yl * l, cl * l, kl * l, l, 0.0],
                               rtol=1e-12, atol=1e-15)
    assert not math.isnan(ss["k"])


def test_kink_derivatives_agree_on_both_code_paths(repo):
    # the NumPy (large-model) path differentiates min/max by dsge_agents.model.tree, the Numba path
    # by SymPy: both follow Dynare's tie rule (the Numba path is checked against Dynare above)
    from dsge_agents.model.compiled import compile_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load(repo / "tests" / "data" / "dynare" / "qa_kinks.mod", cache=False)
    big = compile_model(m, large=True)
    ss = np.zeros(len(m.variables))
    for a, b in zip(big.jacobian(ss, big.theta()), m.compiled.jacobian(ss, m.compiled.theta())):
        np.testing.assert_array_equal(a, b)
    # by hand, d/dx at x = 0: max(0, x) -> 1, min(0, x) -> 1, max(x, 0) + 2 min(x, 0) -> 0,
    # max(x, -x) + 3 min(2x, x) -> -1 + 3
    A_cur = m.compiled.jacobian(ss, m.compiled.theta())[1]
    x = m.variables.index("x")
    np.testing.assert_array_equal(-A_cur[:4, x], [1, 1, 0, 2])


def test_yaml_shock_leads_match_dynare(repo, tmp_path):
    """The YAML reader takes leads of shocks as the .mod reader does (the model language is one): our
    YAML rendition of qa_shock_leads.mod gives Dynare 5.3's decision rules and IRFs of that file."""
    f = tmp_path / "shock_leads.yaml"
    f.write_text(
        "variables: [y, x, z, w]\n"
        "shocks: {e: 0.1, u: 0.2}\n"
        "parameters: {a: 0.5, b: 0.2}\n"
        "locals: {m1: 'a*y(-1)', m2: 'm1 + b*x(+1)'}\n"
        "equations:\n"
        "  - y = m1 + e + 0.3*u(+1)\n"
        "  - x = b*x(-1) + 0.1*y(+1) + u + 0.2*e(+2)\n"
        "  - z = m2 + y(+2) - y(+1) + 0.5*z(-1)\n"
        "  - w = 0.9*w(-1) + 0.1*z(-2) + 0.05*u(-1)\n"
        "steady_state: {y: 0, x: 0, z: 0, w: 0}\n"
    )
    ref = json.loads((repo / "tests" / "data" / "dynare" / "qa_shock_leads.json").read_text())
    sol = solve(load(f, cache=False))
    assert list(sol.ghx.index) == ref["ghx"]["rows"]
    np.testing.assert_allclose(sol.ghx.to_numpy(), _arr(ref["ghx"]["values"]), atol=1e-8, rtol=0)
    np.testing.assert_allclose(sol.ghu.to_numpy(), _arr(ref["ghu"]["values"]), atol=1e-8, rtol=0)
    irf = sol.irf(ref["irf_periods"])
    for key, values in ref["irfs"].items():
        v, s = key.split("_", 1)
        got = irf[(irf["shock"] == s) & (irf["variable"] == v)].sort_values("period")["value"].to_numpy()
        np.testing.assert_allclose(got, np.ravel(values), atol=1e-8, rtol=0, err_msg=key)


def test_diff_operator_matches_dynare(repo):
    """``diff(expr)`` = expr − expr(−1) in model equations (on ``log(y)``, a lead ``p(+1)`` and a shock),
    as Dynare 5.3 (tests/data/dynare/qa_diff.mod, ``run_dynare.sh qa_diff``); it was an
    UnsupportedStatementError. Dynare adds auxiliary variables AUX_DIFF_* (not states here) where
    we expand the difference, so the state columns agree."""
    d = repo / "tests" / "data" / "dynare"
    ref = json.loads((d / "qa_diff.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load(d / "qa_diff.mod", cache=False)
    sol = solve(m)
    assert [c for c in sol.ghx.columns if not c.startswith("AUX")] == \
        [c for c in ref["ghx"]["cols"] if not c.startswith("AUX")]
    np.testing.assert_allclose(sol.ghu.to_numpy(), _arr(ref["ghu"]["values"]), atol=1e-13, rtol=0)
    cols = [c for c in ref["ghx"]["cols"] if not c.startswith("AUX")]
    ours = sol.ghx[cols].to_numpy()
    theirs = _arr(ref["ghx"]["values"])[:, [ref["ghx"]["cols"].index(c) for c in cols]]
    np.testing.assert_allclose(ours, theirs, atol=1e-13, rtol=0)
    irf = sol.irf(8)
    for key, v in ref["irfs"].items():
        s = "e" if key.endswith("_e") else "u"
        g = irf[(irf.shock == s) & (irf.variable == key[:-len(s) - 1])].sort_values("period")
        # Dynare's impulse is chol(Sigma_e + 1e-14 I): 0.01 * (1 + 5e-11) for e
        np.testing.assert_allclose(g.value.to_numpy(), v, atol=1e-16, rtol=1e-9, err_msg=key)
    vl = _varlist(ref, sol)
    np.testing.assert_allclose(sol.moments()["covariance"].loc[vl, vl].to_numpy(), _arr(ref["moments"]["var"]),
                               atol=1e-14, rtol=1e-10)


def test_asin_acos_on_both_code_paths_and_in_export(repo):
    """The NumPy (large-model) code path differentiates asin/acos as the SymPy/Numba one does, and the
    .mod writer keeps the names (Dynare reads them, qa_trig)."""
    from dsge_agents.model.compiled import compile_model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load(repo / "tests" / "data" / "dynare" / "qa_trig.mod", cache=False)
    ss = solve(m)._ss
    big = compile_model(m, large=True)
    for a, b in zip(m.compiled.jacobian(ss, m.compiled.theta()), big.jacobian(ss, big.theta())):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)
    text = m.to_mod()
    assert "asin(" in text and "acos(" in text and "cbrt(" in text


def test_cbrt_is_the_real_cube_root(tmp_path):
    """cbrt of a negative number is the real root, differentiated as 1/(3 cbrt(a)^2) on both code paths
    (Dynare 5.3 stops there: its Jacobian is complex). x = cbrt(y - 8): x_ss = -2, dx/dy = 1/12."""
    from dsge_agents.model.compiled import compile_model
    f = tmp_path / "c.mod"
    f.write_text("var y x; varexo e;\nmodel; y = 0.5*y(-1) + e; x = cbrt(y - 8); end;\n"
                 "steady_state_model; y = 0; x = cbrt(-8); end;\nshocks; var e; stderr 1; end;\n")
    m = load(f, cache=False)
    s = solve(m)
    assert s.steady_state["x"] == pytest.approx(-2.0, rel=1e-15)
    assert s.ghu.loc["x", "e"] == pytest.approx(1 / 12, rel=1e-14)
    big = compile_model(m, large=True)
    for a, b in zip(m.compiled.jacobian(s._ss, m.compiled.theta()), big.jacobian(s._ss, big.theta())):
        np.testing.assert_allclose(a, b, rtol=1e-14, atol=1e-15)


def test_shocks_blocks_build_sigma_e_as_dynare(repo, tmp_path):
    """M_.Sigma_e of qa_shocks_blocks (Dynare 5.3): the e-u covariance stays 0.3 * 0.1 * 0.2 although the
    second block sets stderr e = 0.3 (we gave 0.3 * 0.3 * 0.2, keeping the correlation)."""
    d = repo / "tests" / "data" / "dynare"
    ref = json.loads((d / "qa_shocks_blocks.json").read_text())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load(d / "qa_shocks_blocks.mod", cache=False)
    np.testing.assert_allclose(solve(m).shock_cov, _arr(ref["Sigma_e"]), rtol=1e-15, atol=1e-18)
    # the later statement wins in either direction: a covariance after a correlation of an earlier block
    f = tmp_path / "c.mod"
    f.write_text("var y x; varexo e u;\nmodel; y = 0.5*y(-1) + e; x = u; end;\n"
                 "shocks; var e; stderr 0.1; var u; stderr 0.2; corr e, u = 0.3; end;\n"
                 "shocks; var u, e = -0.004; end;\n")
    np.testing.assert_allclose(solve(load(f, cache=False)).shock_cov, [[0.01, -0.004], [-0.004, 0.04]], rtol=1e-15)


def test_steady_state_operator_code_paths_export_and_limits(repo, tmp_path):
    """STEADY_STATE(): both code paths give the same Jacobian and static residual, the .mod writer
    writes it back, a perfect-foresight path is refused (the dynamic residual is only right at the
    steady state) while the first-order path is given, and outside model equations it is an error."""
    from dsge_agents.errors import UnsupportedStatementError
    from dsge_agents.model.compiled import compile_model
    from dsge_agents.policy.transition import transition
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = load(repo / "tests" / "data" / "dynare" / "qa_steady_state_op.mod", cache=False)
    ss = solve(m)._ss
    big = compile_model(m, large=True)
    for a, b in zip(m.compiled.jacobian(ss, m.compiled.theta()), big.jacobian(ss, big.theta())):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    assert abs(big.static_residual(ss, big.theta())).max() < 1e-12
    assert "STEADY_STATE(pinf)" in m.to_mod() and "STEADY_STATE(log(k))" in m.to_mod()
    tr = transition(m, {"pistar": 0.01}, periods=5)
    assert tr.perfect_foresight is None and "STEADY_STATE" in tr.pf_error
    assert tr.first_order[-1, m.variables.index("pinf")] == pytest.approx(0.01, abs=1e-4)
    f = tmp_path / "s.mod"
    f.write_text("var y; varexo e; parameters r; r = 0.5;\nmodel; y = r*y(-1) + e; end;\n"
                 "steady_state_model; y = STEADY_STATE(y); end;\n")
    with pytest.raises(UnsupportedStatementError, match="STEADY_STATE"):
        load(f, cache=False)
