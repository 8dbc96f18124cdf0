"""Static equilibrium against independent closed forms / 1-D root finding (DESIGN §5.1; QA session 2).

One stage, one agent: the consumer's demand is inelastic (x = λ), so with a slack SLO p_ℓ = η and
p_a = κ + η f'(λ) (the firm's FOC). One stage, two agents: given p_ℓ, the share π of agent 1 solves the
scalar equation π = logistic(β(θ(q₁ − q₂) − (p₁ − p₂))) with p_a = κ_a + p_ℓ f_a'(x_a) (supply inverted);
when the SLO binds p_ℓ solves f₁(λπ) + f₂(λ(1 − π)) = λW*. Both roots by scipy's brentq, written here from
the formulas, not with the package's kernels.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.special import expit

from dsge_agents.economy.agents import Agent
from dsge_agents.economy.equilibrium import equilibrium
from dsge_agents.economy.orchestrator import Orchestrator
from dsge_agents.economy.static import StaticEconomy


def _f(s, tau, k, mu):
    r = s / mu
    return tau * s * (1 + k * r / (1 - r))


def _fp(s, tau, k, mu):
    r = s / mu
    return tau * (1 + k * ((1 - r) ** -2 - 1))


@pytest.mark.parametrize("method", ["tatonnement", "newton", "planner"])
def test_one_agent_per_stage_closed_form(method):
    """Chain of two single-agent stages (J_q singular: no consumer block, rank-one firm blocks).
    Newton used to return NaN prices here (unbounded step on the singular Hessian)."""
    lam, W, eta = 2.0, 3.0, 1e-3
    A = [dict(tau=0.5, k=1.0, mu=5.0, kap=0.01), dict(tau=0.3, k=0.7, mu=3.0, kap=0.02)]
    v = [1.0, 0.6]
    assert sum(_f(lam * vi, a["tau"], a["k"], a["mu"]) for a, vi in zip(A, v)) < lam * W    # SLO slack
    orch = Orchestrator(["s1", "s2"], [("s1", "s2", 0.6), ("s1", "exit", 0.4)], arrival_rate=lam, slo=W,
                        money=10.0, theta=1.0, beta=5.0, eta=eta)
    agents = [Agent(f"a{i}", f"s{i + 1}", a["tau"], a["mu"], a["kap"], 1.0, a["k"], a["k"]) for i, a in enumerate(A)]
    res = equilibrium(StaticEconomy(orch, agents, K=3, T=1.0), method=method)
    want = [a["kap"] + eta * _fp(lam * vi, a["tau"], a["k"], a["mu"]) for a, vi in zip(A, v)]
    assert res.converged
    assert np.all(np.isfinite(res.prices))
    np.testing.assert_allclose(res.latency_price, eta, rtol=1e-12)
    np.testing.assert_allclose(res.prices, np.broadcast_to(want, (3, 2)), rtol=1e-8)


LAM, TH, BETA, ETA = 3.0, 2.0, 4.0, 1e-3
TWO = [dict(tau=0.5, k=1.2, mu=4.0, kap=0.05, q=0.6), dict(tau=1.5, k=0.8, mu=5.0, kap=0.2, q=0.9)]


def _two_agent_exact(W, eta=ETA):
    a, b = TWO

    def share(pl):
        def g(pi):
            p1 = a["kap"] + pl * _fp(LAM * pi, a["tau"], a["k"], a["mu"])
            p2 = b["kap"] + pl * _fp(LAM * (1 - pi), b["tau"], b["k"], b["mu"])
            return pi - expit(BETA * (TH * (a["q"] - b["q"]) - (p1 - p2)))
        lo = max(1e-12, 1 - b["mu"] / LAM + 1e-12)
        hi = min(1 - 1e-12, a["mu"] / LAM - 1e-12)
        return brentq(g, lo, hi, xtol=1e-16, rtol=1e-15)

    def load(pl):
        pi = share(pl)
        return _f(LAM * pi, a["tau"], a["k"], a["mu"]) + _f(LAM * (1 - pi), b["tau"], b["k"], b["mu"])

    lo = max(eta, 1e-12)
    pl = eta if load(lo) <= LAM * W else brentq(lambda P: load(P) - LAM * W, lo, 1e3, xtol=1e-17, rtol=1e-15)
    pi = share(pl)
    p = [a["kap"] + pl * _fp(LAM * pi, a["tau"], a["k"], a["mu"]),
         b["kap"] + pl * _fp(LAM * (1 - pi), b["tau"], b["k"], b["mu"])]
    return pl, np.array(p), pi


@pytest.mark.parametrize("method", ["tatonnement", "newton", "planner"])
@pytest.mark.parametrize("W", [1.9, 3.0])          # SLO binding (p_ℓ > η) / slack (p_ℓ = η)
def test_two_agents_one_stage_against_brentq(method, W):
    pl, p, pi = _two_agent_exact(W)
    assert (pl > ETA) == (W < 2.0)
    orch = Orchestrator(["s"], [], arrival_rate=LAM, slo=W, money=10.0, theta=TH, beta=BETA, eta=ETA)
    agents = [Agent(f"a{i}", "s", a["tau"], a["mu"], a["kap"], a["q"], a["k"], a["k"]) for i, a in enumerate(TWO)]
    res = equilibrium(StaticEconomy(orch, agents, K=2, T=1.0), method=method)
    assert res.converged
    tol = 1e-8 if method == "tatonnement" else 1e-12   # tâtonnement stops at relative excess demand 1e-10
    np.testing.assert_allclose(res.latency_price, pl, rtol=tol)
    np.testing.assert_allclose(res.prices, np.broadcast_to(p, (2, 2)), rtol=tol)
    np.testing.assert_allclose(res.shares[:, 0], pi, rtol=tol)
    assert np.all(res.slo_binding == (pl > ETA))


def _two_agent_economy(W, eta):
    orch = Orchestrator(["s"], [], arrival_rate=LAM, slo=W, money=10.0, theta=TH, beta=BETA, eta=eta)
    agents = [Agent(f"a{i}", "s", a["tau"], a["mu"], a["kap"], a["q"], a["k"], a["k"]) for i, a in enumerate(TWO)]
    return StaticEconomy(orch, agents, K=2, T=1.0)


@pytest.mark.parametrize("method", ["tatonnement", "newton", "planner"])
def test_zero_eta_with_slack_slo_is_a_named_error(method):
    """η = 0: as p_ℓ → 0 the prices tend to κ and the shares to π⁰ = logistic(β(θ(q₁−q₂) − (κ₁−κ₂))).
    If that routing's load is below λW*, the equilibrium latency price is 0 (supply indeterminate): was
    200,000 tâtonnement iterations (~100 s) and 'not converged', a NaN/garbage Newton result, or a raw
    LinAlgError / a misleading 'latency price must be positive' from the planner."""
    a, b = TWO
    pi0 = expit(BETA * (TH * (a["q"] - b["q"]) - (a["kap"] - b["kap"])))
    W0 = (_f(LAM * pi0, a["tau"], a["k"], a["mu"]) + _f(LAM * (1 - pi0), b["tau"], b["k"], b["mu"])) / LAM
    from dsge_agents.errors import EconomyError
    with pytest.raises(EconomyError, match="eta = 0 and the SLO is slack"):
        equilibrium(_two_agent_economy(W0 * (1 + 1e-6), 0.0), method=method, max_iter=50)
    # below the threshold the SLO binds with a positive price: a regular equilibrium (close to the
    # threshold, W = 0.999·W0, p_ℓ ≈ 2e-4 and tâtonnement / Newton do not converge: the firm blocks of
    # J scale as 1/p_ℓ; the planner does)
    W = W0 * 0.9
    pl, p, _ = _two_agent_exact(W, eta=0.0)
    res = equilibrium(_two_agent_economy(W, 0.0), method=method)
    assert res.converged and pl > 0
    tol = 1e-7 if method == "tatonnement" else 1e-10
    np.testing.assert_allclose(res.latency_price, pl, rtol=tol)
    np.testing.assert_allclose(res.prices, np.broadcast_to(p, (2, 2)), rtol=tol)


def _pointwise_exact(lam, W):
    """p*(t) of the two-agent economy at one time (λ = λ(t)), SLO binding: nested brentq as above."""
    a, b = TWO

    def share(pl):
        def g(pi):
            p1 = a["kap"] + pl * _fp(lam * pi, a["tau"], a["k"], a["mu"])
            p2 = b["kap"] + pl * _fp(lam * (1 - pi), b["tau"], b["k"], b["mu"])
            return pi - expit(BETA * (TH * (a["q"] - b["q"]) - (p1 - p2)))
        return brentq(g, max(1e-12, 1 - b["mu"] / lam + 1e-12), min(1 - 1e-12, a["mu"] / lam - 1e-12),
                      xtol=1e-16, rtol=1e-15)

    def load(pl):
        pi = share(pl)
        return _f(lam * pi, a["tau"], a["k"], a["mu"]) + _f(lam * (1 - pi), b["tau"], b["k"], b["mu"])

    assert load(ETA) > lam * W                       # the SLO binds at every t
    pl = brentq(lambda P: load(P) - lam * W, ETA, 1e4, xtol=1e-17, rtol=1e-15)
    pi = share(pl)
    return [pl, a["kap"] + pl * _fp(lam * pi, a["tau"], a["k"], a["mu"]),
            b["kap"] + pl * _fp(lam * (1 - pi), b["tau"], b["k"], b["mu"])]


def test_k_convergence_against_pointwise_brentq():
    """DESIGN §5.1 K-convergence, against an independent reference: λ(t) = 3(1 + 0.1 sin 2πt/T), SLO
    binding everywhere. The V_K prices are exact at the nodes; between them Legendre converges
    spectrally and bins as 1/K (max relative error on 41 grid points; measured 6.9e-2, 5.3e-3,
    1.6e-5, 1.2e-10 and 1.3e-1, 6.9e-2, 3.4e-2, 1.7e-2 for K = 4, 8, 16, 32)."""
    from dsge_agents.economy.static import sine_demand
    Tend, W = 10.0, 1.9
    tg = np.linspace(0.0, Tend, 41)
    lam_t = 3.0 * (1 + 0.1 * np.sin(2 * np.pi * tg / Tend))
    ref = np.array([_pointwise_exact(float(lam), W) for lam in lam_t])
    errs = {}
    for basis in ("legendre", "pwc"):
        for K in (4, 8, 16, 32):
            orch = Orchestrator(["s"], [], arrival_rate=sine_demand(3.0, 0.1, Tend), slo=W, money=10.0,
                                theta=TH, beta=BETA, eta=ETA)
            agents = [Agent(f"a{i}", "s", a["tau"], a["mu"], a["kap"], a["q"], a["k"], a["k"])
                      for i, a in enumerate(TWO)]
            eco = StaticEconomy(orch, agents, basis=basis, K=K, T=Tend)
            res = equilibrium(eco, method="newton")
            assert res.converged
            nodes = np.array([_pointwise_exact(float(lam), W) for lam in eco.lam])
            np.testing.assert_allclose(np.c_[res.latency_price, res.prices], nodes, rtol=1e-11)
            grid = np.c_[eco.basis.evaluate(res.latency_price_coefficients, tg),
                         eco.basis.evaluate(res.price_coefficients.T, tg)]
            errs[basis, K] = float(np.max(np.abs(grid - ref) / ref))
    leg = [errs["legendre", K] for K in (4, 8, 16, 32)]
    pwc = [errs["pwc", K] for K in (4, 8, 16, 32)]
    assert leg[-1] < 1e-9 and all(b < a * 1e-1 for a, b in zip(leg[1:], leg[2:]))     # spectral
    assert all(1.7 < a / b < 2.3 for a, b in zip(pwc, pwc[1:]))                       # ~1/K


def test_spend_cap_slack_is_cap_minus_money_cost():
    """Spend = Σ_q w_q Σ_a κ_a s_a (the money that leaves the economy; payments to the agents come back as
    profits); slack = cap − spend, flagged when negative (the summary printed 'slack nan' without a cap
    and a bare negative number when the cap was exceeded)."""
    lam, W, eta = 2.0, 3.0, 1e-3
    kap = [0.01, 0.02]
    v = [1.0, 0.6]
    for cap, word in ((0.01, "EXCEEDED"), (1.0, "spend-cap slack"), (None, "no spend cap")):
        orch = Orchestrator(["s1", "s2"], [("s1", "s2", 0.6), ("s1", "exit", 0.4)], arrival_rate=lam, slo=W,
                            money=10.0, theta=1.0, beta=5.0, eta=eta, spend_cap=cap)
        agents = [Agent("a0", "s1", 0.5, 5.0, kap[0], 1.0, 1.0, 1.0), Agent("a1", "s2", 0.3, 3.0, kap[1], 1.0, 0.7, 0.7)]
        res = equilibrium(StaticEconomy(orch, agents, K=3, T=2.0), method="tatonnement")
        spend = 2.0 * lam * (kap[0] * v[0] + kap[1] * v[1])          # horizon × rate × unit costs (one agent/stage)
        assert res.spend == pytest.approx(spend, rel=1e-12)
        if cap is not None:
            assert res.spend_cap_slack == pytest.approx(cap - spend, rel=1e-12)
        assert word in res.summary()
        assert "nan" not in res.summary().split("spend", 1)[1].splitlines()[0]


@pytest.mark.parametrize("kw, words", [
    (dict(p0=np.ones((2, 3)), pl0=np.ones(2)), "shapes p0 (2, 2)"),           # was a NumPy broadcast error
    (dict(p0=np.ones((2, 2)), pl0=np.ones(3)), "shapes p0 (2, 2)"),
    (dict(p0=np.full((2, 2), np.nan), pl0=np.ones(2)), "finite"),              # was LinAlgError
    (dict(p0=np.ones((2, 2)), pl0=np.zeros(2)), "positive"),
    (dict(p0=np.ones((2, 2))), "both"),                                        # was silently ignored
    (dict(method="planner", p0=np.ones((2, 2)), pl0=np.ones(2)), "planner takes no starting"),
    (dict(method="newton", foo=1), "unknown option"),                          # was silently ignored
    (dict(method="tatonnement", foo=1), "unknown option"),                     # was a TypeError
    (dict(method="planner", foo=1), "unknown option"),
    (dict(max_iter="x"), "max_iter"),                                          # was a ValueError
    (dict(max_iter=2.5), "max_iter"),
    (dict(walras_every=0), "walras_every"),                                    # was ZeroDivisionError
    (dict(freeze_tol="x"), "freeze_tol"),                                      # was TypeError
    (dict(refresh_factor=0.5), "refresh_factor"),
])
def test_equilibrium_bad_arguments_are_named_errors(kw, words):
    from dsge_agents.errors import EconomyError
    with pytest.raises(EconomyError, match=words.replace("(", r"\(").replace(")", r"\)")):
        equilibrium(_two_agent_economy(1.9, ETA), **kw)


def test_equilibrium_from_given_starting_prices_reaches_the_brentq_solution():
    pl, p, _ = _two_agent_exact(1.9)
    for method in ("tatonnement", "newton"):
        res = equilibrium(_two_agent_economy(1.9, ETA), method=method, p0=np.full((2, 2), 0.3), pl0=np.full(2, 1e-9))
        assert res.converged
        np.testing.assert_allclose(res.latency_price, pl, rtol=1e-8)


@pytest.mark.parametrize("seed", [3, 10, 17])
def test_newton_agrees_with_the_planner_on_economies_with_one_agent_stages(seed):
    """Random economies with a one-agent stage (singular Hessian there): Newton against the conic
    planner's multipliers (a different method: KKT of the primal)."""
    from dsge_agents.economy.examples import random_economy
    eco = random_economy(seed, K=3)
    assert 1 in np.bincount(eco.stage_index)
    rn, rp = equilibrium(eco, method="newton"), equilibrium(eco, method="planner")
    assert rn.converged and rp.converged
    np.testing.assert_allclose(rn.prices, rp.prices, rtol=1e-9)
    np.testing.assert_allclose(rn.latency_price, rp.latency_price, rtol=1e-9)


@pytest.mark.parametrize("theta", [0.0, -0.05])
def test_planner_when_quality_is_not_valued(theta):
    """θ ≤ 0 is a legitimate economy (quality worthless or disliked); the planner scaled its objective by
    Σwλ·max(θ, 1e-300) and Clarabel failed ('the conic planner failed'). Against Newton on the dual."""
    from dsge_agents.economy.examples import example_economy
    eco = example_economy(4, theta=theta)
    rn, rp = equilibrium(eco, method="newton"), equilibrium(eco, method="planner")
    assert rn.converged and rp.converged
    np.testing.assert_allclose(rp.prices, rn.prices, rtol=1e-9)
    np.testing.assert_allclose(rp.latency_price, rn.latency_price, rtol=1e-9)


def test_slo_feasibility_boundary_against_scipy_minimum_latency():
    """W*_min = min_π [f₁(λπ) + f₂(λ(1−π))]/λ by scipy's bounded scalar minimiser: just below it the
    economy is SLO-infeasible (named error with the time), just above it an equilibrium exists (p_ℓ large)."""
    from scipy.optimize import minimize_scalar
    from dsge_agents.errors import SLOInfeasibleError
    a, b = TWO

    def load(pi):
        return _f(LAM * pi, a["tau"], a["k"], a["mu"]) + _f(LAM * (1 - pi), b["tau"], b["k"], b["mu"])
    lo, hi = max(0.0, 1 - b["mu"] / LAM), min(1.0, a["mu"] / LAM)
    w_min = minimize_scalar(load, bounds=(lo + 1e-12, hi - 1e-12), method="bounded",
                            options={"xatol": 1e-14}).fun / LAM
    with pytest.raises(SLOInfeasibleError, match=r"SLO infeasible at t = 0\.2113"):
        equilibrium(_two_agent_economy(w_min * (1 - 1e-6), ETA), method="newton")
    for method in ("newton", "planner"):
        res = equilibrium(_two_agent_economy(w_min * (1 + 1e-6), ETA), method=method)
        assert res.converged and res.latency_price.min() > 10.0
        pl, p, _ = _two_agent_exact(w_min * (1 + 1e-6))
        np.testing.assert_allclose(res.latency_price, pl, rtol=1e-7)


def test_k_convergence_needs_two_sizes():
    """Ks = () returned NaN rates silently."""
    from dsge_agents.economy.welfare import k_convergence
    from dsge_agents.errors import EconomyError
    with pytest.raises(EconomyError, match="at least two basis sizes"):
        k_convergence(_two_agent_economy(1.9, ETA), Ks=(8,))
