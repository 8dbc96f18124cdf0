"""Compiled derivatives and steady states: finite differences, closed forms, loglinear scaling."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from numba import njit

from dsge_agents.errors import SteadyStateError, UnknownNameError
from dsge_agents.model import CompiledModel, from_dict, load


def fd_jacobian(cm, ss, theta, n_u, h=1e-6):
    """Central finite differences of the compiled residual at the steady state."""
    n = len(ss)
    u0 = np.zeros(n_u)
    blocks = []
    for which in range(3):
        A = np.zeros((n, n))
        for j in range(n):
            args_p = [ss.copy(), ss.copy(), ss.copy()]
            args_m = [ss.copy(), ss.copy(), ss.copy()]
            hj = h * max(1.0, abs(ss[j]))
            args_p[which][j] += hj
            args_m[which][j] -= hj
            A[:, j] = (cm.residual(*args_p, u0, theta) - cm.residual(*args_m, u0, theta)) / (2 * hj)
        blocks.append(A)
    Au = np.zeros((n, n_u))
    for k in range(n_u):
        up, um = u0.copy(), u0.copy()
        up[k] += h
        um[k] -= h
        Au[:, k] = (cm.residual(ss, ss, ss, up, theta) - cm.residual(ss, ss, ss, um, theta)) / (2 * h)
    return blocks + [Au]


@pytest.fixture(scope="module")
def nk3(models_dir):
    return load(models_dir / "nk3.yaml")


@pytest.fixture(scope="module")
def rbc(models_dir):
    return load(models_dir / "rbc.yaml")


def test_nk3_structure(nk3):
    assert nk3.variables == ["x", "pi", "i", "rn"] and nk3.shocks == ["e_i", "e_r"]
    np.testing.assert_allclose(nk3.shock_cov, np.diag([0.25 ** 2, 0.5 ** 2]))
    assert nk3.policy_rule == {"equation": 2, "parameters": ["phi_pi", "phi_x", "rho_i"]}
    assert nk3.param_names == ["beta", "sigma", "kappa", "phi_pi", "phi_x", "rho_i", "rho_r"]
    assert isinstance(nk3.compiled, CompiledModel)


def test_nk3_jacobian_hand_and_fd(nk3):
    cm = nk3.compiled
    th = cm.theta({"phi_pi": 2.0, "rho_i": 0.3})
    ss = cm.steady_state(th)
    A_lag, A_cur, A_lead, A_u = cm.jacobian(ss, th)
    # by hand from the equations (residual = lhs - rhs)
    np.testing.assert_allclose(A_cur, [[1, 0, 1, -1], [-0.1, 1, 0, 0],
                                       [-(0.7 * 0.125), -(0.7 * 2.0), 1, 0], [0, 0, 0, 1]], atol=1e-15)
    np.testing.assert_allclose(A_lead, [[-1, -1, 0, 0], [0, -0.99, 0, 0], [0] * 4, [0] * 4], atol=1e-15)
    np.testing.assert_allclose(A_lag, np.diag([0, 0, -0.3, -0.8]), atol=1e-15)
    np.testing.assert_allclose(A_u, [[0, 0], [0, 0], [-1, 0], [0, -1]], atol=1e-15)
    for a, b in zip((A_lag, A_cur, A_lead, A_u), fd_jacobian(cm, ss, th, 2)):
        np.testing.assert_allclose(a, b, atol=1e-8)
    np.testing.assert_allclose(cm.shock_cov(th), np.diag([0.0625, 0.25]))


def test_rbc_numeric_steady_state_matches_closed_form(rbc):
    assert not rbc.has_analytic_steady_state
    ss = rbc.steady_state()
    a, b, d, psi = 0.33, 0.99, 0.025, 1.75
    kl = (a / (1 / b - 1 + d)) ** (1 / (1 - a))        # Euler: a (k/l)^(a-1) = 1/b - 1 + d
    yl = kl ** a
    cl = yl - d * kl
    l = (1 - a) * yl / (psi * cl + (1 - a) * yl)       # psi c l = (1-a) y (1-l)
    expect = {"y": yl * l, "c": cl * l, "k": kl * l, "i": d * kl * l, "l": l, "z": 0.0}
    for v, x in expect.items():
        assert ss[v] == pytest.approx(x, rel=1e-9, abs=1e-12), v
    # a different calibration moves the numeric steady state correctly
    ss2 = rbc.steady_state({"beta": 0.98})
    kl2 = (a / (1 / 0.98 - 1 + d)) ** (1 / (1 - a))
    assert ss2["k"] / ss2["l"] == pytest.approx(kl2, rel=1e-9)


def test_rbc_jacobian_fd(rbc):
    cm = rbc.compiled
    th = cm.theta()
    ss = np.array(list(rbc.steady_state().values()))
    for a, b in zip(cm.jacobian(ss, th), fd_jacobian(cm, ss, th, 1)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_loglinear_columns_scaled_by_steady_state(models_dir):
    d = {"name": "rbc_log", "variables": ["y", "c", "k", "i", "l", "z"], "shocks": {"e": 0.01},
         "parameters": {"alpha": 0.33, "beta": 0.99, "delta": 0.025, "psi": 1.75, "rho": 0.95},
         "equations": ["1/c = beta/c(+1)*(alpha*exp(z(+1))*k^(alpha-1)*l(+1)^(1-alpha) + 1 - delta)",
                       "psi*c/(1-l) = (1-alpha)*y/l", "y = exp(z)*k(-1)^alpha*l^(1-alpha)",
                       "k = (1-delta)*k(-1) + i", "y = c + i", "exp(z) = exp(z(-1))^rho*exp(e)"],
         "initval": {"y": 1.0, "c": 0.75, "k": 9.0, "i": 0.25, "l": 0.3, "z": 0.0}}
    lev = from_dict(d)
    d2 = dict(d, options={"loglinear": True})
    # z has steady state 0 -> loglinear must refuse it
    with pytest.raises(SteadyStateError, match="positive"):
        from_dict(d2).steady_state()
    # replace z by its exponential Z = exp(z) > 0
    d3 = dict(d2, variables=["y", "c", "k", "i", "l", "Z"],
              equations=d["equations"][:2] + ["y = Z*k(-1)^alpha*l^(1-alpha)"] + d["equations"][3:5]
              + ["log(Z) = rho*log(Z(-1)) + e"],
              initval={"y": 1.0, "c": 0.75, "k": 9.0, "i": 0.25, "l": 0.3, "Z": 1.0})
    d3["equations"][0] = "1/c = beta/c(+1)*(alpha*Z(+1)*k^(alpha-1)*l(+1)^(1-alpha) + 1 - delta)"
    lg = from_dict(d3)
    d4 = dict(d3, options={"loglinear": False})
    lv = from_dict(d4)
    th = lg.compiled.theta()
    ss = np.array(list(lg.steady_state().values()))
    J_log = lg.compiled.jacobian(ss, th)
    J_lev = lv.compiled.jacobian(ss, lv.compiled.theta())
    for a, b in zip(J_log[:3], J_lev[:3]):
        np.testing.assert_allclose(a, b * ss[None, :], rtol=1e-13)
    np.testing.assert_allclose(J_log[3], J_lev[3])
    assert lev.steady_state()["z"] == 0.0


def test_derived_parameters_propagate():
    d = {"variables": ["x"], "shocks": {"e": "s"}, "parameters": {"a": 0.4, "b": "1 - a", "s": 0.1},
         "equations": ["x = a*x(-1) + b*e"], "steady_state": {"x": 0}}
    m = from_dict(d)
    assert m.param_names == ["a", "s"] and m.derived_parameters == ["b"]
    assert m.parameters["b"] == pytest.approx(0.6)
    assert m.shock_stderr_params == {"e": "s"}
    cm = m.compiled
    th = cm.theta({"a": 0.1, "s": 0.2})
    A_lag, A_cur, A_lead, A_u = cm.jacobian(cm.steady_state(th), th)
    assert A_lag[0, 0] == pytest.approx(-0.1) and A_u[0, 0] == pytest.approx(-0.9)
    np.testing.assert_allclose(cm.shock_cov(th), [[0.04]])
    assert m.all_parameters({"a": 0.1})["b"] == pytest.approx(0.9)
    with pytest.raises(UnknownNameError, match="derived"):
        cm.theta({"b": 0.3})
    m2 = m.with_parameters(b=0.3)
    assert m2.param_names == ["a", "b", "s"]
    assert m2.compiled.jacobian(np.zeros(1), m2.compiled.theta())[3][0, 0] == pytest.approx(-0.3)


def test_analytic_steady_state_that_does_not_solve(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("variables: [x, y]\nparameters: {a: 0.5}\nequations:\n"
                 "  - x = a*x(-1) + 1\n  - y = 2*x\nsteady_state: {x: 1, y: 2}\n")
    with pytest.raises(SteadyStateError) as ei:
        load(f).steady_state()
    msg = str(ei.value)
    assert "line 4" in msg and "x = a*x(-1) + 1" in msg and "bad.yaml" in msg


def test_numeric_steady_state_failure_lists_equations():
    d = {"variables": ["x", "y"], "parameters": {"a": 1.0},
         "equations": ["exp(x) = -a", "y = x"]}
    with pytest.raises(SteadyStateError, match=r"largest residuals:\n.*exp\(x\) = -a"):
        from_dict(d).steady_state()


def test_compiled_functions_are_numba_dispatchers(nk3):
    cm = nk3.compiled
    jac, sst = cm.jacobian, cm.steady_state

    @njit
    def resolve(theta):
        ss = sst(theta)
        A_lag, A_cur, A_lead, A_u = jac(ss, theta)
        return A_cur[2, 1]

    th = cm.theta({"phi_pi": 3.0})
    assert resolve(th) == pytest.approx(-(1 - 0.5) * 3.0)


def test_model_pickles(nk3):
    m2 = pickle.loads(pickle.dumps(nk3))
    assert m2.variables == nk3.variables
    th = m2.compiled.theta()
    np.testing.assert_array_equal(m2.compiled.jacobian(np.zeros(4), th)[1], nk3.compiled.jacobian(np.zeros(4), th)[1])
