"""Economy variants built here and in Dynare 5.3 from the exported .mod: same steady state, decision rules,
eigenvalues, aggregate IRFs and theoretical moments.

References: tests/data/dynare/orchestrated_variants_<name>.json, written by
tests/data/dynare/orchestrated_variants.sh from tests/data/dynare/orchestrated_variants/<name>.yaml
(integral and expected-latency SLO rules, retry feedback ξ > 0, ω = 0 and 0.8, one agent, a 4-stage DAG with
a zero-probability edge, cost shocks without persistence, a missing capacity shock, φ_C ≠ 0).
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from dsge_agents.economy import builder
from dsge_agents.linear import solve

# one model compile each (10-20 s on a cold model cache): the small one-agent economy and the
# regression case of the impact-matrix scaling run by default, the others with -m slow
_SLOW = pytest.mark.slow
NAMES = ["orch_one_agent", "orch_huge_demand",
         pytest.param("orch_integral_retry", marks=_SLOW), pytest.param("orch_expected_omega", marks=_SLOW),
         pytest.param("orch_diamond4", marks=_SLOW), pytest.param("orch_tiny_demand", marks=_SLOW)]


# λ̄ = 1e7 requests per period: the pencil spans 1e-11..1e14 and Dynare 5.3's QZ loses about three digits on
# weak cross effects (ghu of verify_llama_provisioned on eps_cost_plan_llama: 17510.72 in Dynare, 16570.097 here
# and from the λ-scaled default, exact by homogeneity: 7.6e-4 of the row's scale), its IRFs 4.4e-5 of a variable's
# scale and its eigenvalue moduli 1.1e-4 (1.132073 for 1.132196). Ours are checked against the default economy by
# homogeneity in tests/test_linear_precision.py (1e-11; decision rules, IRFs and eigenvalues).
RULE_TOL = {"orch_huge_demand": 1e-3}
IRF_TOL = {"orch_huge_demand": 1e-4}
EIG_RTOL = {"orch_huge_demand": 2e-4}


def _arr(x):
    return np.array([[np.nan if v is None else v for v in row] for row in x], dtype=float)


@pytest.fixture(scope="module", params=NAMES)
def case(request, repo):
    name = request.param
    here = repo / "tests" / "data" / "dynare"
    ref = json.loads((here / f"orchestrated_variants_{name}.json").read_text())
    model = builder.build_model(here / "orchestrated_variants" / f"{name}.yaml")
    for p, v in ref["parameters"].items():          # the exported calibration is the one built here
        assert model.parameters[p] == pytest.approx(v, rel=1e-15, abs=0), (name, p)
    return name, model, solve(model), ref


def test_steady_state_and_rules(case):
    name, model, sol, ref = case
    assert list(sol.declared) == ref["variables"]
    ss = np.array([ref["steady_state"][v] for v in sol.declared])
    np.testing.assert_allclose(sol.steady_state.to_numpy(), ss, rtol=1e-10, atol=1e-14)
    assert list(sol.ghx.columns) == ref["ghx"]["cols"] and list(sol.ghu.columns) == ref["ghu"]["cols"]
    gx, gu = _arr(ref["ghx"]["values"]), _arr(ref["ghu"]["values"])
    # Rows have very different units (requests/min vs $/(request·s)): tolerance relative to each row's
    # largest coefficient (1e-7: Tobin's q sums returns over ~1/(1 − β_d(1 − δ)) = 60 periods and is the
    # worst-conditioned row; our QZ and cyclic reduction agree to 1e-8 there), plus a floor for rows that
    # do not move (quality with one agent): 1e-12 of the variable's level per one-std move of the state.
    sd = sol.moments(nlags=0)["std"]
    state_sd = np.array([sd[c[:-4]] for c in ref["ghx"]["cols"]])
    shock_sd = np.array([ref["shock_stderr"][e] for e in ref["ghu"]["cols"]])
    lvl = 1e-12 * (1.0 + np.abs(ss))[:, None]
    for ours, theirs, col_sd in ((sol.ghx.to_numpy(), gx, state_sd), (sol.ghu.to_numpy(), gu, shock_sd)):
        scale = np.max(np.abs(theirs), axis=1, keepdims=True)
        floor = lvl / np.maximum(col_sd, 1e-300)[None, :]
        assert np.all(np.abs(ours - theirs) <= RULE_TOL.get(name, 1e-7) * scale + floor), name


def test_eigenvalues(case):
    name, model, sol, ref = case
    mod_ref = np.array([np.inf if v is None else v for v in ref["eigenvalue_moduli"]], dtype=float)
    ours = np.abs(sol.eigenvalues)
    sel_ref = np.sort(mod_ref[(mod_ref > 1e-8) & (mod_ref < 1e3)])
    sel_ours = np.sort(ours[(ours > 1e-8) & (ours < 1e3)])
    np.testing.assert_allclose(sel_ours, sel_ref, rtol=EIG_RTOL.get(name, 1e-7))
    assert sol.bk["n_states"] == ref["npred"] + ref["nboth"]


def test_aggregate_irfs(case):
    name, model, sol, ref = case
    P = int(ref["irf_periods"])
    shocks, arr = sol.irf_array(P)
    vidx = {v: k for k, v in enumerate(sol.declared)}
    n = 0
    for j, s in enumerate(shocks):
        for v in ("demand", "latency", "cost", "quality", "net_value", "slo_rate", "spend"):
            ours = arr[j, :, vidx[v]]
            theirs = np.asarray(ref["irfs"].get(f"{v}_{s}", np.zeros(P)))   # Dynare drops |irf| < 1e-10
            scale = np.max(np.abs(arr[:, :, vidx[v]]))          # the variable's largest response to any shock
            floor = 1e-12 * (1.0 + abs(sol.steady_state[v]))
            assert np.max(np.abs(ours - theirs)) <= IRF_TOL.get(name, 1e-7) * scale + floor, (name, v, s)
            n += 1
    assert n == 7 * len(model.shocks)


def test_moments(case):
    """Theoretical moments. Dynare 5.3's Lyapunov solution is accurate to a few 1e-7 here (capacity and
    shock roots near one); ours is checked at 1e-12 against the truncated series Σ_k T^k V T^kᵀ, and
    against Dynare at 1e-6."""
    name, model, sol, ref = case
    mo = sol.moments(nlags=5)
    m = ref["moments"]
    if name == "orch_huge_demand":
        # Dynare 5.3's Lyapunov solution is wrong here (std of latency 189.6 s; 3.0546 s in every other unit
        # system, latency being unit-free); check ours against the default economy, exact by homogeneity
        m0 = solve(builder.build_model(_default_path())).moments(nlags=0)["std"]   # same model as test_..._irf
        assert mo["std"]["latency"] == pytest.approx(m0["latency"], rel=1e-10)
        assert mo["std"]["slo_rate"] == pytest.approx(m0["slo_rate"], rel=1e-10)
        assert mo["std"]["cost"] == pytest.approx(m0["cost"] * 1e7 / 330, rel=1e-10)
        m = None
    if m is not None:
        _compare_dynare_moments(sol, mo, m)
    _check_series(sol, mo)


def _default_path():
    from pathlib import Path
    return Path(__file__).resolve().parents[1] / "models" / "orchestrated_default.yaml"


def _compare_dynare_moments(sol, mo, m):
    vs = m["variables"]
    sd_ref = np.array(m["std"], float)
    sd = mo["std"][vs].to_numpy()
    # Dynare drops (reports 0 for) variances below an absolute 1e-12, whatever the units: with demand in
    # 1e-6 requests per period (orch_tiny_demand) that is demand itself, std 2.75e-7
    cut = (sd_ref == 0) & (sd < 1e-6)
    np.testing.assert_allclose(sd[~cut], sd_ref[~cut], rtol=1e-6, atol=1e-12 * sd_ref.max())
    live = (sd_ref > 1e-9 * sd_ref.max()) & ~cut
    np.testing.assert_allclose(mo["autocorr"].loc[vs].to_numpy()[live], _arr(m["autocorr"])[live], atol=1e-6)
    vd = sol.variance_decomposition().loc[vs].to_numpy()
    np.testing.assert_allclose(vd[live], _arr(m["variance_decomposition_percent"])[live], atol=1e-4)


def _check_series(sol, mo):
    # second method: the series, truncated where the largest root's power is below 1e-18
    T, V = sol.T, sol.R @ sol.shock_cov @ sol.R.T
    rho = np.max(np.abs(np.linalg.eigvals(T)))
    S, Tk = np.zeros_like(V), np.eye(len(T))
    for _ in range(int(np.ceil(np.log(1e-18) / np.log(rho))) + 10):
        S += Tk @ V @ Tk.T
        Tk = T @ Tk
    sd = np.sqrt(np.diag(S)[sol._rows])
    np.testing.assert_allclose(mo["std"].to_numpy(), sd, rtol=1e-12, atol=1e-14 * sd.max())
