"""Agents (firms) with queueing production sets, the orchestrator's DAG and the Jacobian blocks (DESIGN §5.1)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from dsge_agents.economy.agents import (Agent, firm_supply, latency_load, latency_load_d1, latency_load_d2)
from dsge_agents.economy.examples import example_economy, random_economy
from dsge_agents.economy.orchestrator import Orchestrator
from dsge_agents.economy.static import StaticEconomy
from dsge_agents.errors import EconomyError, SLOInfeasibleError


def test_closed_form_supply_matches_numerical_profit_maximisation():
    rng = np.random.default_rng(0)
    n_pos = 0
    for _ in range(300):
        tau, k, mu, kappa = rng.uniform(0.1, 3), rng.uniform(0.1, 2.5), rng.uniform(0.5, 20), rng.uniform(0, 0.05)
        pl = 10 ** rng.uniform(-4, 0)
        p = kappa + pl * tau * rng.uniform(0.2, 50)
        s, ell, c, prof = firm_supply(p, pl, tau, k, mu, kappa)

        def neg_profit(x):
            return -((p - kappa) * x - pl * float(latency_load(x, tau, k, mu)))
        opt = minimize_scalar(neg_profit, bounds=(0.0, mu * (1 - 1e-12)), method="bounded",
                              options={"xatol": 1e-12 * mu})
        best = max(-opt.fun, 0.0)                     # 0 ∈ Y_a
        assert prof >= best - 1e-9 * max(1.0, abs(best))
        assert abs(prof - best) <= 1e-7 * max(abs(best), pl * tau * mu * 1e-3)
        if s > 0:
            n_pos += 1
            assert abs(s - opt.x) <= 1e-4 * mu
            assert np.isclose(ell, latency_load(s, tau, k, mu)) and np.isclose(c, kappa * s)
        else:
            assert p - kappa <= pl * tau + 1e-15          # shut down iff r ≤ τ
    assert n_pos > 100


def test_latency_load_derivatives():
    tau, k, mu = 0.7, 1.3, 5.0
    s = np.linspace(0.1, 4.8, 25)
    h = 1e-6
    d1 = (latency_load(s + h, tau, k, mu) - latency_load(s - h, tau, k, mu)) / (2 * h)
    d2 = (latency_load_d1(s + h, tau, k, mu) - latency_load_d1(s - h, tau, k, mu)) / (2 * h)
    assert np.allclose(latency_load_d1(s, tau, k, mu), d1, rtol=1e-6)
    assert np.allclose(latency_load_d2(s, tau, k, mu), d2, rtol=1e-6)
    # Little + Kingman: f(s) = s·W(ρ), W = τ(1 + kρ/(1−ρ))
    rho = s / mu
    assert np.allclose(latency_load(s, tau, k, mu), s * tau * (1 + k * rho / (1 - rho)))
    assert np.isinf(latency_load(mu, tau, k, mu))


@pytest.mark.parametrize("make", [lambda: example_economy(4), lambda: random_economy(5, K=3),
                                  lambda: random_economy(11, K=3)])
def test_jacobian_blocks_match_finite_differences(make):
    """J_q = ∂z_q/∂p_q from the closed-form blocks equals central differences of z (SLO-binding branch, h = 0)."""
    eco = make()
    p, pl = eco.initial_prices()
    rng = np.random.default_rng(1)
    p = p * np.exp(rng.normal(0, 0.1, p.shape))
    parts = eco.jacobian_parts(p, pl)

    def z(pp, ppl):
        s, ell, _, _ = eco.supply(pp, ppl)
        x, _, _ = eco.demand(pp, ppl)
        return np.concatenate([x - s, ell.sum(1)[:, None] - eco.lbar[:, None]], axis=1)
    for q in range(eco.K):
        J = eco.jacobian_node(q, parts)
        assert np.allclose(J, J.T)
        assert np.linalg.eigvalsh(J).max() <= 1e-10 * np.abs(J).max()      # negative semidefinite
        Jfd = np.empty_like(J)
        for j in range(eco.N + 1):
            P = eco.pack(p, pl)
            h = 1e-6 * abs(P[q, j])
            Pp, Pm = P.copy(), P.copy()
            Pp[q, j] += h
            Pm[q, j] -= h
            Jfd[:, j] = (z(*eco.unpack(Pp))[q] - z(*eco.unpack(Pm))[q]) / (2 * h)
        assert np.allclose(J, Jfd, rtol=1e-5, atol=1e-6 * np.abs(J).max())
        y = rng.normal(size=eco.N + 1)
        assert np.allclose(eco.jacobian_matvec(q, parts, y), J @ y)
        assert np.allclose(eco.jacobian_diag(parts)[q], np.diag(J))


def test_dual_gradient_is_minus_excess_demand():
    eco = example_economy(4)
    p, pl = eco.initial_prices()
    s, ell, _, _ = eco.supply(p, pl)
    x, _, _ = eco.demand(p, pl)
    h = 1e-7
    for j in [0, 3, eco.N]:
        P = eco.pack(p, pl)
        d = np.zeros_like(P)
        d[:, j] = h * np.abs(P[:, j])
        g = (eco.dual(*eco.unpack(P + d)) - eco.dual(*eco.unpack(P - d))) / (2 * d[:, j])
        z = (x - s)[:, j] if j < eco.N else ell.sum(1) - eco.lbar
        assert np.allclose(g, -z, rtol=1e-5, atol=1e-8 * np.abs(z).max())


def test_visit_ratios_and_logit():
    o = Orchestrator(["a", "b", "c", "d"], [("a", "b", 0.6), ("a", "c", 0.4), ("b", "d", 1.0), ("c", "d", 0.5),
                                            ("c", "exit", 0.5)])
    assert o.visit_ratios == pytest.approx({"a": 1.0, "b": 0.6, "c": 0.4, "d": 0.8})
    u = np.array([[0.0, 1.0, 2.0, 5.0]])
    x, pi, _ = Orchestrator.logit_demand(u, np.array([0, 0, 0, 1]), 2, np.array([[3.0, 2.0]]))
    assert np.allclose(pi[0, :3], np.exp([0, 1, 2]) / np.exp([0, 1, 2]).sum()) and pi[0, 3] == 1.0
    assert np.allclose(x[0], [3 * pi[0, 0], 3 * pi[0, 1], 3 * pi[0, 2], 2.0])


def test_bad_dag_errors_name_the_problem():
    with pytest.raises(EconomyError, match=r"cycle .*b -> c -> b|cycle .*c -> b -> c"):
        Orchestrator(["a", "b", "c"], [("a", "b", 1.0), ("b", "c", 1.0), ("c", "b", 1.0)])
    with pytest.raises(EconomyError, match=r"stage 'a'.*sum to 0\.9.*exit"):
        Orchestrator(["a", "b"], [("a", "b", 0.9)])
    with pytest.raises(EconomyError, match="unknown stage 'z'"):
        Orchestrator(["a", "b"], [("a", "z", 1.0)])
    o = Orchestrator(["a", "b"], [("a", "b", 1.0)])
    with pytest.raises(EconomyError, match=r"agent 'x' is attached to no stage"):
        StaticEconomy(o, [Agent("y", "a", 1.0, 2.0), Agent("w", "b", 1.0, 2.0), Agent("x", "nowhere", 1.0, 2.0)])
    with pytest.raises(EconomyError, match=r"stage 'b' has no candidate agent"):
        StaticEconomy(o, [Agent("y", "a", 1.0, 2.0)])
    with pytest.raises(EconomyError, match="Kingman"):
        Agent("x", "a", 1.0, 2.0, ca2=0.0, cs2=0.0)
    with pytest.raises(EconomyError, match="service_time"):
        Agent("x", "a", -1.0, 2.0)


def test_slo_infeasible_names_time():
    eco = example_economy(6, slo=4.0)          # below the minimum achievable latency at peak demand
    with pytest.raises(SLOInfeasibleError, match=r"SLO infeasible at t = [0-9.]+.*W\* = 4"):
        eco.check_feasible()
    from dsge_agents.economy.equilibrium import equilibrium
    for method in ("tatonnement", "newton", "planner"):
        with pytest.raises(SLOInfeasibleError):
            equilibrium(eco, method=method)
    # capacity shortfall at a stage
    eco2 = example_economy(4, demand=12.0)
    with pytest.raises(SLOInfeasibleError, match=r"stage 'plan'.*capacity"):
        eco2.check_feasible()
