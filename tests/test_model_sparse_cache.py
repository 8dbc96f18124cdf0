"""Expression trees, sparse Jacobians (jacobian_coo), the large-model code path and the parsed-model cache.

Independent checks: the tree derivatives (reverse mode, dsge_agents.model.tree) against SymPy's
``diff``; the large-model NumPy path against the small-model SymPy/Numba path; cached models
against freshly parsed ones.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from dsge_agents.model import cache as mcache
from dsge_agents.model import from_dict, load
from dsge_agents.model import tree as T
from dsge_agents.model.compiled import compile_model
from dsge_agents.model.expr import parse_expr, parse_expr_tree, tsym

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"


def _dense(coo, shape):
    r, c, v = coo
    A = np.zeros(shape)
    A[r, c] = v
    return A


def _check_coo_matches(cm_coo, dense, n_eq, n_var, n_u, tol):
    for k, blk in enumerate(("lag", "cur", "lead", "u")):
        r, c, v = cm_coo[blk]
        assert r.dtype == np.int64 and c.dtype == np.int64 and v.dtype == np.float64
        assert len(r) == len(c) == len(v)
        key = r * (n_var + n_u + 1) + c
        assert np.all(np.diff(key) > 0), "entries must be unique and sorted by (row, col)"
        shape = (n_eq, n_u if blk == "u" else n_var)
        B = _dense((r, c, v), shape)
        assert np.allclose(B, dense[k], rtol=tol, atol=tol), blk
        # every nonzero of the dense matrix is in the pattern
        mask = np.zeros(shape, bool)
        mask[r, c] = True
        assert not np.any(dense[k][~mask] != 0), blk


# ------------------------------------------------------------------------------------ tree derivatives
EXPRS = [
    "a*x^2 + exp(y)/x - log(z)*y",
    "sqrt(x*y) + abs(x - z) + sign(y)",
    "min(x, y) + max(z, 2*x) - erf(x/3)",
    "sin(x)*cos(y) + tan(z/4) + atan(x*y) + tanh(z - y)",
    "normcdf(x) + normpdf(y) + normcdf(x, y, 2) - normpdf(z, 1, a)",
    "x^y + 2^(x*z) + log10(y) + (x/y)^(-1.5)",
    "-(x - y)*(-(z + 1))^3 / (a - x*y*z)",
]


@pytest.mark.parametrize("text", EXPRS)
def test_tree_gradient_matches_sympy(text):
    names = {"x": "var", "y": "var", "z": "var", "a": "param"}
    t = parse_expr_tree(text, names)
    e = parse_expr(text, names)
    vals = {"x": 0.7, "y": 1.3, "z": 0.4, "a": 2.5}
    env = {tsym(k): v for k, v in vals.items()}
    assert math.isclose(T.evaluate(t, vals), float(e.xreplace(env)), rel_tol=1e-12)
    g = T.gradient(t, {"x", "y", "z"})
    for v in ("x", "y", "z"):
        ref = float(sp.diff(e, tsym(v)).xreplace(env).evalf())
        got = T.evaluate(g[(v, 0)], vals) if (v, 0) in g else 0.0
        assert math.isclose(got, ref, rel_tol=1e-10, abs_tol=1e-12), (v, got, ref)
    # round trip through SymPy keeps the value
    assert math.isclose(T.evaluate(T.from_sympy(e), vals), T.evaluate(t, vals), rel_tol=1e-12)


def test_tree_sum_is_linear_and_flat():
    names = {f"x{i}": "var" for i in range(3000)}
    text = " + ".join(f"x{i}*x{i}(-1)" for i in range(3000))
    t = parse_expr_tree(text, names, allow_timing=True)
    assert t[0] == "add" and len(t[1]) == 3000
    g = T.gradient(t, set(names))
    assert len(g) == 6000
    assert T.evaluate(g[("x17", -1)], {"x17": 2.0}) == 2.0


# ------------------------------------------------------------------------------------ sparse = dense
@pytest.mark.parametrize("fname", ["nk3.yaml", "fs2000.mod"])
def test_jacobian_coo_equals_dense_and_large_path(fname):
    m = load(MODELS / fname, cache=False)
    cm = m.compiled
    assert not cm.large
    th = cm.theta()
    ss = cm.steady_state(th)
    dense = cm.jacobian(ss, th)
    n = len(m.variables)
    _check_coo_matches(cm.jacobian_coo(ss, th), dense, n, n, len(m.shocks), 1e-14)
    # the large-model code path (tree derivatives, NumPy) gives the same matrices
    big = compile_model(m, large=True)
    assert big.large
    _check_coo_matches(big.jacobian_coo(ss, th), dense, n, n, len(m.shocks), 1e-10)
    for a, b in zip(big.jacobian(ss, th), dense):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(big.steady_state(th), ss, rtol=1e-12)
    np.testing.assert_allclose(big.static_residual(ss, th), cm.static_residual(ss, th), atol=1e-12)
    np.testing.assert_allclose(big.static_jacobian(ss * 1.01, th), cm.static_jacobian(ss * 1.01, th),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(big.shock_cov(th), cm.shock_cov(th), rtol=1e-14)
    rng = np.random.default_rng(0)
    yl, y, yf = (ss * (1 + 0.01 * rng.standard_normal(n)) for _ in range(3))
    u = 0.01 * rng.standard_normal(len(m.shocks))
    np.testing.assert_allclose(big.residual(yl, y, yf, u, th), cm.residual(yl, y, yf, u, th),
                               rtol=1e-10, atol=1e-12)


@pytest.fixture(scope="module")
def economy20():
    from dsge_agents.economy import builder
    from dsge_agents.economy.calibration import steady_state
    cfg = builder.synthetic_config(20, "star")
    return builder.build(cfg, steady_state(cfg))


def test_jacobian_coo_economy_n20_against_sympy(economy20):
    m = from_dict(economy20)
    cm = compile_model(m, large=True)
    th = cm.theta()
    ss = cm.steady_state(th)
    assert np.max(np.abs(cm.static_residual(ss, th))) < 1e-8
    J = cm.jacobian_coo(ss, th)
    n, nu = len(m.variables), len(m.shocks)
    # reference: SymPy differentiation of every equation, evaluated at the steady state
    vidx = {v: j for j, v in enumerate(m.variables)}
    uidx = {u: k for k, u in enumerate(m.shocks)}
    env = {tsym(p): v for p, v in m.parameters.items()}
    for v, j in vidx.items():
        for lag in (-1, 0, 1):
            env[tsym(v, lag)] = ss[j]
    for u in m.shocks:
        env[tsym(u)] = 0.0
    ref = [np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, n)), np.zeros((n, nu))]
    for i, eq in enumerate(m.equations):
        e = eq.expr
        for s in e.free_symbols:
            name, lag = s.name.split("__")[0], 0
            if "__" in s.name:
                tag = s.name.split("__")[1]
                lag = int(tag[1:]) * (1 if tag[0] == "p" else -1)
            if name in vidx:
                ref[lag + 1][i, vidx[name]] = float(sp.diff(e, s).xreplace(env))
            elif name in uidx:
                ref[3][i, uidx[name]] = float(sp.diff(e, s).xreplace(env))
    _check_coo_matches(J, ref, n, n, nu, 1e-9)
    dense = cm.jacobian(ss, th)
    for a, b in zip(dense, ref):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_lead_lag_incidence_matches_symbolic_scan():
    m = load(MODELS / "fs2000.mod", cache=False)
    has_lag, has_lead = m.lead_lag_incidence
    idx = {v: j for j, v in enumerate(m.variables)}
    lag = np.zeros(len(idx), bool)
    lead = np.zeros(len(idx), bool)
    for eq in m.equations:
        for s in eq.expr.free_symbols:
            if "__m" in s.name:
                lag[idx[s.name.split("__")[0]]] = True
            elif "__p" in s.name:
                lead[idx[s.name.split("__")[0]]] = True
    assert has_lag.dtype == bool and np.array_equal(has_lag, lag) and np.array_equal(has_lead, lead)
    assert has_lag.any() and has_lead.any()


# ------------------------------------------------------------------------------------ cache
def test_cache_hit_gives_same_solution(tmp_path):
    from dsge_agents.linear import solve
    src = tmp_path / "nk3.yaml"
    src.write_bytes((MODELS / "nk3.yaml").read_bytes())
    fresh = load(src, cache=False)
    key = mcache.key_for_file(src)
    first = load(src, cache=True)           # miss: parses and writes the entry
    assert mcache.get(key) is not None
    hit = load(src, cache=True)             # hit: unpickled
    assert hit is not first and hit.variables == fresh.variables
    assert hit.parameters == fresh.parameters and hit.param_names == fresh.param_names
    a, b = solve(fresh), solve(hit)
    np.testing.assert_array_equal(a.T, b.T)
    np.testing.assert_array_equal(a.R, b.R)
    pd_a, pd_b = a.irf(periods=12), b.irf(periods=12)
    np.testing.assert_array_equal(pd_a["value"].to_numpy(), pd_b["value"].to_numpy())
    # lazily rebuilt SymPy equals the parsed one
    assert all(sp.simplify(x.expr - y.expr) == 0 for x, y in zip(fresh.equations, hit.equations))


def test_cache_keys_change_with_one_character(tmp_path, economy20):
    p = tmp_path / "m.yaml"
    text = (MODELS / "nk3.yaml").read_text()
    p.write_text(text)
    k1 = mcache.key_for_file(p)
    i = text.index("0.99") if "0.99" in text else len(text) // 2
    p.write_text(text[:i] + ("8" if text[i] != "8" else "7") + text[i + 1:])
    assert mcache.key_for_file(p) != k1
    d = json.loads(json.dumps(economy20))
    kd = mcache.key_for_dict(d)
    assert kd == mcache.key_for_dict(json.loads(json.dumps(economy20)))
    d2 = json.loads(json.dumps(economy20))
    d2["equations"][5]["equation"] = d2["equations"][5]["equation"].replace("*", " * ", 1)
    assert mcache.key_for_dict(d2) != kd
    d3 = json.loads(json.dumps(economy20))
    first = next(iter(d3["parameters"]))
    d3["parameters"][first] = float(d3["parameters"][first]) * (1 + 1e-15) + 1e-300
    assert mcache.key_for_dict(d3) != kd
    assert mcache.key_for_dict(d, source="other") != kd


def test_corrupt_cache_entry_is_rebuilt(tmp_path):
    src = tmp_path / "rbc.yaml"
    src.write_bytes((MODELS / "rbc.yaml").read_bytes())
    key = mcache.key_for_file(src)
    path = mcache.entry_path(key)
    path.write_bytes(b"\x80\x05garbage")
    assert mcache.get(key) is None
    m = load(src, cache=True)
    assert m.variables == load(src, cache=False).variables
    assert mcache.get(key) is not None          # rewritten
    path.write_bytes(path.read_bytes()[:50])   # truncated
    assert mcache.get(key) is None
    assert load(src, cache=True).parameters == m.parameters


def test_from_dict_cache_large_model(economy20):
    a = from_dict(economy20, cache=True)
    b = from_dict(economy20, cache=True)
    c = from_dict(economy20)
    assert a is not b
    ca, cc = compile_model(b, large=True), compile_model(c, large=True)
    th = ca.theta()
    ss = ca.steady_state(th)
    for blk in ("lag", "cur", "lead", "u"):
        for x, y in zip(ca.jacobian_coo(ss, th)[blk], cc.jacobian_coo(ss, th)[blk]):
            np.testing.assert_array_equal(x, y)


_WARM = """
import sys, numpy as np
from dsge_agents.model import load
m = load({path!r}, cache=True)
cm = m.compiled
th = cm.theta()
ss = m.steady_state()
J = cm.jacobian_coo(cm.steady_state(th), th)
lag, lead = m.lead_lag_incidence
print(int('sympy' in sys.modules), len(ss), int(lag.sum()), int(lead.sum()))
"""


def test_warm_load_imports_no_sympy(tmp_path):
    src = tmp_path / "nk3.yaml"
    src.write_bytes((MODELS / "nk3.yaml").read_bytes())
    code = _WARM.format(path=str(src))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stderr
    flag, n, nlag, nlead = map(int, second.stdout.split())
    assert flag == 0, "a warm load imported SymPy"
    assert n == len(load(src, cache=False).variables) and nlead >= 2


def test_large_path_with_auxiliary_leads_lags_and_shock_lags():
    d = {"name": "auxy",
         "variables": ["x", "y", "z"],
         "shocks": {"e": 0.1, "v": "sd_v"},
         "parameters": {"a": 0.5, "b": 0.3, "c": 0.2, "sd_v": 0.02, "h": "a*b"},
         "equations": ["x = a*x(-1) + b*x(-3) + e(-2) + h*v",
                       "y = c*y(+2) + 0.1*x(+1) + exp(v(-1)) - 1",
                       "z = min(x, 1) + abs(y) + z(-1)*0.2"],
         "steady_state": {"x": 0, "y": 0, "z": 0},
         "shock_correlations": {"e, v": 0.3}}
    m = from_dict(d)
    assert any(a.startswith("AUX_EXO_LAG_e") for a in m.aux_variables)
    small, big = compile_model(m, large=False), compile_model(m, large=True)
    th = small.theta()
    ss = small.steady_state(th) + 0.05     # away from the kinks of min/abs
    for a, b in zip(small.jacobian(ss, th), big.jacobian(ss, th)):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(small.shock_cov(th), big.shock_cov(th), rtol=1e-14)
    np.testing.assert_allclose(small.all_params(th), big.all_params(th), rtol=1e-14)
    has_lag, has_lead = m.lead_lag_incidence
    assert has_lag[m.variables.index("x")] and has_lead[m.variables.index("y")]
    assert not has_lead[m.variables.index("z")]


_WARM_ECONOMY = """
import sys
from dsge_agents.economy import builder
m = builder.build_model(builder.synthetic_config(6, "chain"))
ss = m.steady_state()
print(int('sympy' in sys.modules), len(ss))
"""


def test_warm_builder_path_imports_no_sympy():
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    for _ in range(2):
        r = subprocess.run([sys.executable, "-c", _WARM_ECONOMY], capture_output=True, text=True, env=env,
                           timeout=600)
        assert r.returncode == 0, r.stderr
    flag, n = map(int, r.stdout.split())
    assert flag == 0 and n == 63


def test_cache_hit_repeats_parse_warnings(tmp_path):
    p = tmp_path / "w.mod"
    p.write_text("var y; varexo e; parameters a; a = 0.5;\nmodel; y = a*y(-1) + e; end;\n"
                 "shocks; var e; stderr 0.1; end;\nshock_decomposition y;\n")
    key = mcache.key_for_file(p)
    assert not mcache.entry_path(key).exists()
    with pytest.warns(UserWarning, match="shock_decomposition"):
        load(p, cache=True)
    assert mcache.entry_path(key).exists()
    with pytest.warns(UserWarning, match="shock_decomposition"):
        m = load(p, cache=True)                 # hit: the warning is issued again
    assert m.variables == ["y"]


def test_generated_code_object_cache_survives_corruption(tmp_path):
    from dsge_agents.model.compiled import _code_of, _seal
    src = tmp_path / "gen_mod.py"
    src.write_bytes(_seal("X = 6 * 7\n"))         # generated sources carry their SHA-256 seal
    ns: dict = {}
    exec(_code_of(src), ns)
    assert ns["X"] == 42 and src.with_suffix(".code").exists()
    blob = src.with_suffix(".code").read_bytes()
    src.with_suffix(".code").write_bytes(blob[:-3])        # truncated
    ns = {}
    exec(_code_of(src), ns)
    assert ns["X"] == 42
    src.write_bytes(_seal("X = 6 * 8\n"))                 # changed source: the stale code is not used
    ns = {}
    exec(_code_of(src), ns)
    assert ns["X"] == 48


_CONCURRENT = """
import sys, numpy as np
from dsge_agents.model import load
m = load(sys.argv[1], cache=True)
cm = m.compiled
th = cm.theta()
ss = m.steady_state()
J = cm.jacobian_coo(cm.steady_state(th), th)
print(cm.large, len(ss), float(np.sum(J['cur'][2])))
"""


def test_concurrent_processes_share_the_cache(tmp_path):
    src = tmp_path / "rbc.yaml"
    src.write_bytes((MODELS / "rbc.yaml").read_bytes())
    env = dict(os.environ, DSGE_AGENTS_CACHE=str(tmp_path / "cache"), DSGE_AGENTS_LARGE_THRESHOLD="0")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    procs = [subprocess.Popen([sys.executable, "-c", _CONCURRENT, str(src)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [e for _, e in outs]
    assert len({o for o, _ in outs}) == 1 and outs[0][0].startswith("True")
    files = sorted(f.name for f in (tmp_path / "cache").iterdir())
    assert not [f for f in files if f.endswith(".tmp")]
    assert any(f.startswith("model_") for f in files) and any(f.endswith(".npz") for f in files)
