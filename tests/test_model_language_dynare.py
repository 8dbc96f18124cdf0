"""Every documented feature of the YAML model language against an independent answer.

* ``lang_functions``: every function of docs/model_language.md (exp log ln log10 sqrt abs sign min
  max normcdf normpdf (1 and 3 arguments) erf sin cos tan atan tanh), ``**`` and ``x(1)`` — against
  Dynare 5.3 on the hand-written tests/data/dynare/lang_functions.mod (tanh written there as
  1 - 2/(exp(2x) + 1): Dynare 5.3 has no tanh).
* ``lang_kinks``: min, max, abs and sign exactly at their kinks (Dynare's derivative conventions).
* ``lang_timing``: leads and lags beyond one period, a lagged shock, correlated shocks with a
  standard deviation given as an expression, ``^`` right-associative and ``-x^2 = -(x^2)`` in
  parameter expressions, a partial steady_state (starting values) and initval — against Dynare 5.3
  on tests/data/dynare/lang_timing.mod (run_dynare.sh lang_functions lang_timing).
* The RBC with full depreciation and log utility (loglinear option, a derived parameter, a local
  with timing, a named equation, steady-state temporaries): its policy function is known in closed
  form, log k_t = log(alpha beta) + log A_t + alpha log k_{t-1}, c_t = (1 - alpha beta) y_t.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dsge_agents.linear import solve
from dsge_agents.model import load
from dsge_agents.model.compiled import compile_model

DATA = Path(__file__).parent / "data" / "dynare"

FUNCTIONS_YAML = """name: lang_functions
variables: [x, z1, z2, z3, z4, z5, z6]
shocks: [e]
parameters: {r: 0.7, sd: 0.1}
equations:
  - x = r*x(-1) + sd*e
  - z1 = exp(0.3*x) + log(2 + x) + ln(3 + x) + log10(4 + x) + sqrt(5 + x)
  - z2 = abs(x - 1) + sign(x - 2)*x + min(x + 1, 2*x + 3) + max(x - 1, -x - 3)
  - z3 = normcdf(x) + normcdf(x, 0.5, 2) + normpdf(x) + normpdf(x, -0.3, 1.5)
  - z4 = erf(0.4 + x) + sin(0.2 + x) + cos(0.1 + x) + tan(0.3 + x) + atan(0.6 + x) + tanh(0.5 + x)
  - z5 = (1.5 + x)**0.3*z4(1) * 0.2 + 0.1*z5(+1)
  - z6 = -(1.1 + x)^2**0.5 + z5(-1)
initval: {z1: 5, z2: 1, z3: 1, z4: 2, z5: 0.5}
"""

TIMING_YAML = """name: lang_timing
variables: [x, w, q, s]
shocks: {e: 0.1, u: 2*sd}
shock_correlations: {"e, u": 0.3}
parameters:
  a: 0.5
  b: 0.2
  sd: 0.05
  c3: 2^3^2/1024
  d: -2^2 + 4.3
equations:
  - x = a*x(-1) + b*x(-3) + e + 0.5*e(-2)
  - w = c3*w(+2) + x
  - q = exp(d*x)*normcdf(w) + 0.1*max(q(-1), -10)
  - s = q^2 - 0.5*s(+1) + u + sqrt(abs(x - 1) + 1)
steady_state: {x: 0, w: 0}
initval: {q: 0.5, s: 2}
"""


def _irf_diff(model, ref: dict) -> float:
    n = len(next(iter(ref["irfs"].values())))
    irf = solve(model).irf(periods=n)
    got = {(v, s): g.value.to_numpy() for (s, v), g in irf.groupby(["shock", "variable"])}
    worst = 0.0
    for key, want in ref["irfs"].items():
        shock = next(s for s in model.shocks if key.endswith("_" + s))
        var = key[:-len(shock) - 1]
        worst = max(worst, float(np.max(np.abs(got[(var, shock)] - np.asarray(want)))))
    return worst


@pytest.mark.parametrize("name,text", [("lang_functions", FUNCTIONS_YAML), ("lang_timing", TIMING_YAML)],
                         ids=["functions", "timing"])
@pytest.mark.parametrize("large", [False, True], ids=["numba", "numpy"])
def test_yaml_features_match_dynare(tmp_path, name, text, large):
    ref = json.loads((DATA / f"{name}.json").read_text())
    f = tmp_path / f"{name}.yaml"
    f.write_text(text)
    m = load(f, cache=False)
    m._compiled = compile_model(m, large=large)    # Numba (SymPy derivatives) and NumPy (tree) paths
    ss = solve(m).steady_state
    assert max(abs(ss[k] - v) for k, v in ref["steady_state"].items()) < 1e-10
    assert _irf_diff(m, ref) < 1e-10


@pytest.mark.parametrize("name,text", [("lang_functions", FUNCTIONS_YAML), ("lang_timing", TIMING_YAML)],
                         ids=["functions", "timing"])
def test_export_round_trip_matches_dynare(tmp_path, name, text):
    """export -> load the .mod -> the same IRFs as Dynare's; no function Dynare 5.3 lacks is
    written (the exported lang_functions file was also run in Dynare 5.3: IRFs equal to 2e-15)."""
    f = tmp_path / f"{name}.yaml"
    f.write_text(text)
    out = tmp_path / f"{name}_exported.mod"
    load(f, cache=False).to_mod(out)
    assert "tanh(" not in out.read_text()
    m2 = load(out, cache=False)
    m2._compiled = compile_model(m2, large=True)
    assert _irf_diff(m2, json.loads((DATA / f"{name}.json").read_text())) < 1e-10


KINKS_YAML = """name: lang_kinks
variables: [x, y, z, w]
shocks: {e: 0.1}
parameters: {r: 0.5}
equations:
  - x = r*x(-1) + e
  - y = max(x, 0) + 2*min(x, 0)
  - z = abs(x) + sign(x)
  - w = max(x, -x) + min(3*x, -x) + 0.5*w(-1)
steady_state: {x: 0, y: 0, z: 0, w: 0}
"""


@pytest.mark.parametrize("large", [False, True], ids=["numba", "numpy"])
def test_min_max_abs_sign_at_their_kinks_as_dynare(tmp_path, large):
    """At a tie Dynare 5.3 gives the derivative of max(a, b) and min(a, b) wholly to the second
    argument ((a > b) da + (1 - (a > b)) db); abs' = sign, sign' = 0 (lang_kinks.mod). Before, both
    code paths used H(0) = 1/2 (w's response was 0 instead of Dynare's -0.2, y's 0.15 instead of 0)."""
    ref = json.loads((DATA / "lang_kinks.json").read_text())
    f = tmp_path / "lang_kinks.yaml"
    f.write_text(KINKS_YAML)
    m = load(f, cache=False)
    m._compiled = compile_model(m, large=large)
    assert _irf_diff(m, ref) < 1e-10


def test_min_max_order_survives_mod_reading_and_export(tmp_path):
    """The .mod reader and the exporter go through SymPy, whose Min/Max sort their arguments: the
    hand-written lang_kinks.mod read by us gave y 0.3 / w +0.2 where Dynare gives 0 / -0.2, and
    export wrote max(0, x) for max(x, 0) (Dynare then decides the tie the other way)."""
    ref = json.loads((DATA / "lang_kinks.json").read_text())
    with pytest.warns(UserWarning, match="write_json"):      # its JSON dump line is ignored
        m = load(DATA / "lang_kinks.mod", cache=False)
    m._compiled = compile_model(m, large=True)
    assert _irf_diff(m, ref) < 1e-10
    f = tmp_path / "lang_kinks.yaml"
    f.write_text(KINKS_YAML)
    text = load(f, cache=False).to_mod()
    assert "max(x, 0)" in text and "min(x, 0)" in text and "max(x, -x)" in text and "min(3*x, -x)" in text


RBC_FULL_DEPRECIATION = """name: rbc_full_depreciation
variables: [y, c, k, A]
shocks: {e: sig}
parameters:
  alpha: 0.33
  beta: 0.96
  rho: 0.9
  sig: 0.01
  ab: alpha*beta
locals:
  R1: alpha*A(+1)*k^(alpha-1)
equations:
  - 1/c = beta*R1/c(+1)
  - c + k = A*k(-1)^alpha
  - name: output
    equation: y = A*k(-1)^alpha
  - log(A) = rho*log(A(-1)) + e
steady_state:
  kss: ab^(1/(1-alpha))
  k: kss
  y: kss^alpha
  c: y - k
  A: 1
options: {loglinear: true}
"""


@pytest.mark.parametrize("alpha", [0.33, 0.4])
def test_rbc_full_depreciation_closed_form(tmp_path, alpha):
    f = tmp_path / "rbc_fd.yaml"
    f.write_text(RBC_FULL_DEPRECIATION)
    m = load(f, cache=False)
    m._compiled = compile_model(m, large=True)
    sol = solve(m, params={"alpha": alpha})        # the derived parameter ab follows alpha
    beta, rho, sig = 0.96, 0.9, 0.01
    kss = (alpha * beta) ** (1 / (1 - alpha))
    ss = sol.steady_state
    np.testing.assert_allclose([ss["k"], ss["y"], ss["c"], ss["A"]],
                               [kss, kss ** alpha, kss ** alpha - kss, 1.0], rtol=1e-12)
    ghx = sol.ghx                                   # log deviations (loglinear)
    for v in ("y", "c", "k"):
        assert ghx.loc[v, "k(-1)"] == pytest.approx(alpha, abs=1e-12)
        assert ghx.loc[v, "A(-1)"] == pytest.approx(rho, abs=1e-12)
        assert sol.ghu.loc[v, "e"] == pytest.approx(1.0, abs=1e-12)
    irf = sol.irf(periods=6)
    k_irf = irf[(irf.variable == "k") & (irf.shock == "e")].value.to_numpy()
    want, kt = [], 0.0
    for t in range(6):                              # k_t = alpha k_{t-1} + rho^t sig
        kt = alpha * kt + rho ** t * sig
        want.append(kt)
    np.testing.assert_allclose(k_irf, want, rtol=1e-10, atol=1e-15)


LINEAR_HEAD = """variables: [y, z]
shocks: {e: 0.1}
parameters: {a: 0.5}
options: {linear: true}
equations:
  - y = a*y(-1) + 1 + e
"""


@pytest.mark.parametrize("eq", ["z = exp(y)", "z = a/y", "z = y*y(-1)", "z = max(y, 0)", "z = abs(y) + y"])
def test_declared_linear_but_nonlinear_is_refused(tmp_path, eq):
    """Dynare 5.3 refuses these under model(linear) (checked: "If the model is declared linear the
    second derivatives must be equal to zero" / "...using a function (max, min, abs, sign) ... on an
    endogenous variable"); we solved them silently. The .mod form too."""
    from dsge_agents.errors import ModelStructureError
    f = tmp_path / "lin.yaml"
    f.write_text(LINEAR_HEAD + f"  - {eq}\n")
    with pytest.raises(ModelStructureError, match=r"declared linear.*eq 2 \(line 7\)"):
        load(f, cache=False)
    g = tmp_path / "lin.mod"
    g.write_text(f"var y z; varexo e; parameters a; a = 0.5;\nmodel(linear);\ny = a*y(-1) + 1 + e;\n{eq};\nend;\n")
    with pytest.raises(ModelStructureError, match="declared linear"):
        load(g, cache=False)


def test_linear_model_with_constants(tmp_path):
    """Linear with parameters entering nonlinearly and constants: y = a y(-1) + 1 + e,
    z = 0.9 z(+1) + y / a: steady state y = 2, z = 40; z's response to e is
    sum_k 0.9^k a^k e / a = e / (a (1 - 0.45)) on impact."""
    f = tmp_path / "lin.yaml"
    f.write_text(LINEAR_HEAD + "  - z = 0.9*z(+1) + y/a + 0*abs(a)\n")
    sol = solve(load(f, cache=False))
    assert sol.steady_state["y"] == pytest.approx(2.0) and sol.steady_state["z"] == pytest.approx(40.0)
    irf = sol.irf(periods=1)
    z0 = irf[(irf.variable == "z") & (irf.shock == "e")].value.iloc[0]
    assert z0 == pytest.approx(0.1 / (0.5 * (1 - 0.45)), rel=1e-12)
