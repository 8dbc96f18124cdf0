"""Static functional general equilibrium: Walras' law, tâtonnement, planner, welfare theorems, K-convergence
(DESIGN §5.1, issue 3 acceptance)."""
from __future__ import annotations

import functools
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from dsge_agents.economy.equilibrium import EquilibriumResult, equilibrium, walras_identity
from dsge_agents.economy.examples import example_economy, random_economy
from dsge_agents.economy.planner import solve_planner
from dsge_agents.economy.welfare import allocation_gap, first_welfare_gap, k_convergence, second_welfare_gap


@functools.lru_cache(maxsize=None)
def _example(K=8, slo=None):
    return example_economy(K) if slo is None else example_economy(K, slo=slo)


@functools.lru_cache(maxsize=None)
def _random(seed):
    return random_economy(seed, K=4)


@functools.lru_cache(maxsize=None)
def _solved(key):
    eco = _example(8) if key == "example" else _example(8, slo=20.0) if key == "slack" else _random(int(key))
    return eco, equilibrium(eco, method="tatonnement"), solve_planner(eco)


_BASE: dict = {}


def _random_prices(eco, rng):
    """Prices over a wide range: agent prices around (and below) marginal cost, any positive p_ℓ ≥ η."""
    if id(eco) not in _BASE:
        _BASE[id(eco)] = eco.initial_prices()
    p0, pl0 = _BASE[id(eco)]
    pl = np.maximum(pl0 * np.exp(rng.normal(0, 2.0, eco.K)), max(eco.eta, 1e-12))
    p = eco.kappa + (p0 - eco.kappa) * np.exp(rng.normal(0, 1.5, p0.shape)) * (pl / pl0)[:, None] \
        + rng.normal(0, 0.3, p0.shape) * np.abs(p0).mean()
    return p, pl


def _walras_normalised(eco, p, pl):
    val, norm = eco.walras_value(p, pl)
    assert np.isclose(val, walras_identity(eco, p, pl), rtol=0, atol=1e-300 + abs(val) * 1e-12)
    return norm


# ------------------------------------------------------------------------------ Walras' law
@settings(max_examples=1000, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_walras_law_example_economy(seed):
    eco = _example(8)
    p, pl = _random_prices(eco, np.random.default_rng(seed))
    assert _walras_normalised(eco, p, pl) <= 1e-10


@settings(max_examples=1000, deadline=None)
@given(eco_seed=st.integers(0, 39), seed=st.integers(0, 2 ** 32 - 1))
def test_walras_law_random_economies(eco_seed, seed):
    eco = _random(eco_seed)
    p, pl = _random_prices(eco, np.random.default_rng(seed))
    assert _walras_normalised(eco, p, pl) <= 1e-10


def test_walras_law_is_expenditure_minus_income_and_can_fail():
    """⟨p, z⟩ equals expenditure − income; forgetting to pay out profits breaks it (the test can fail)."""
    eco = _example(8)
    rng = np.random.default_rng(0)
    p, pl = _random_prices(eco, rng)
    ed = eco.excess_demand(p, pl)
    val, _ = eco.walras_value(p, pl)
    assert abs(ed["expenditure"] - ed["income"]) <= 1e-12 * abs(ed["income"])
    # nodal computation Σ_q w_q p·z agrees with the coefficient one (BᵀWB = I)
    nodal = float(eco.w @ ((p * ed["z_goods"]).sum(1) + pl * ed["z_latency"])) + ed["z_money"]
    assert abs(nodal - val) <= 1e-12 * (1 + abs(ed["income"]))
    # a consumer who does not receive the profits: m lower by ΣΠ -> ⟨p, z⟩ = −ΣΠ ≠ 0
    broken = nodal - ed["profit"].sum()
    assert abs(broken) / (1 + np.linalg.norm(p) * np.linalg.norm(ed["z_goods"])) > 1e-6


# ------------------------------------------------------------------------------ tâtonnement
@pytest.mark.parametrize("key", ["example", "slack", "3", "5", "6", "8"])
def test_tatonnement_converges_at_the_modulus_rate(key):
    eco, res, _ = _solved(key)
    assert res.converged
    assert res.excess_demand_norm <= 1e-10
    assert res.contraction_modulus < 1.0
    if np.isfinite(res.measured_rate):
        assert res.measured_rate <= res.contraction_modulus + 1e-6
    assert res.walras_residual <= 1e-10
    # the iteration bound from the modulus is respected by the final (frozen-step) phase
    assert res.step_sizes.shape == (eco.K, eco.N + 1) and np.all(res.step_sizes > 0)


def test_tatonnement_rate_is_close_to_modulus_when_slow():
    """With a modulus near one the measured rate approaches it from below (a real comparison)."""
    _, res, _ = _solved("example")
    assert res.contraction_modulus > 0.9
    assert res.contraction_modulus - 1e-3 <= res.measured_rate <= res.contraction_modulus + 1e-6


def test_slack_economy_has_mixed_binding():
    eco, res, pl = _solved("slack")
    assert 0 < res.slo_binding.sum() < eco.K
    slack = ~res.slo_binding
    assert np.allclose(res.latency_price[slack], eco.eta)
    assert np.all(res.headroom[slack] > 0) and np.allclose(res.headroom[~slack], 0)


# ------------------------------------------------------------------------------ planner / welfare
@pytest.mark.parametrize("key", ["example", "slack", "3", "5", "6", "8"])
def test_first_welfare_theorem(key):
    eco, res, pl = _solved(key)
    assert pl.converged and pl.kkt_residual < 1e-12
    assert allocation_gap(eco, res, pl) <= 1e-6
    assert first_welfare_gap(eco, res, pl) <= 1e-8
    # equilibrium prices are the planner's multipliers
    assert np.allclose(res.latency_price, pl.pl, rtol=1e-6)
    assert np.allclose(res.prices, pl.p, rtol=1e-6, atol=1e-9 * np.abs(pl.p).max())
    # the raw conic solution is only ~1e-4 accurate: polishing matters
    assert pl.conic_price_error < 1e-2


@pytest.mark.parametrize("key", ["example", "slack", "3", "8"])
def test_second_welfare_theorem(key):
    eco, _, pl = _solved(key)
    assert second_welfare_gap(eco, pl) <= 1e-8


def test_second_welfare_theorem_can_fail():
    """At perturbed multipliers the decentralised choices do not reproduce the optimum."""
    eco, _, pl = _solved("example")
    pl2 = solve_planner(eco)
    pl2.pl = pl2.pl * 1.01
    assert second_welfare_gap(eco, pl2) > 1e-4


def test_methods_agree():
    eco, res, pl = _solved("example")
    newton = equilibrium(eco, method="newton")
    planner = equilibrium(eco, method="planner")
    for other in (newton, planner):
        assert other.converged and other.excess_demand_norm <= 1e-10
        assert np.allclose(other.prices, res.prices, rtol=1e-8)
        assert np.allclose(other.latency_price, res.latency_price, rtol=1e-8)


def test_result_api(tmp_path):
    eco, res, _ = _solved("example")
    assert isinstance(res, EquilibriumResult)
    d = json.loads(json.dumps(res.to_dict()))
    for key in ("walras_residual", "converged", "contraction_modulus", "measured_rate", "excess_demand_norm",
                "prices", "allocations", "shares", "step_sizes", "iterations"):
        assert key in d
    # coefficients and nodal prices describe the same function
    tg, pa, plg = res.prices_on_grid(50)
    assert np.allclose(eco.basis.evaluate(res.price_coefficients.T, eco.t), res.prices)
    assert np.allclose(eco.basis.evaluate(res.latency_price_coefficients, eco.t), res.latency_price)
    assert pa.shape == (50, eco.N)
    assert "converged" in res.summary()
    fig = res.plot()
    fig.savefig(tmp_path / "eq.png")
    assert np.allclose(res.shares.reshape(eco.K, eco.N) @ eco._member.T, 1.0)


# ------------------------------------------------------------------------------ K-convergence
def test_k_convergence_rates():
    eco = _example(8)
    leg = k_convergence(eco, Ks=(4, 8, 16, 32, 64), basis="legendre", n_ref=128)
    pwc = k_convergence(eco, Ks=(4, 8, 16, 32, 64), basis="pwc", n_ref=128)
    assert leg["slo_binding_everywhere"] and pwc["slo_binding_everywhere"]
    e_l, e_p = np.array(leg["errors"]), np.array(pwc["errors"])
    assert np.all(np.diff(e_l) < 0) and e_l[-1] < 1e-8           # spectral: below 1e-8 at K = 64
    assert leg["spectral_rate"] > 0.2
    assert 0.8 < pwc["algebraic_order"] < 1.2                      # ~1/K
    assert e_p[-1] > 1e-3                                          # no spectral luck for the bins


def test_structured_eigen_solver_matches_dense():
    """The secular-equation eigen-solver used for large N equals dense eigvalsh."""
    from dsge_agents.economy import equilibrium as E
    for seed in range(3):
        eco = random_economy(seed, n_stages=3, agents_per_stage=15, K=2)
        p, pl = eco.initial_prices()
        parts = eco.jacobian_parts(p, pl)
        rng = np.random.default_rng(seed)
        for q in range(eco.K):
            sc = rng.uniform(0.5, 2, eco.N + 1) / np.sqrt(-eco.jacobian_diag(parts)[q])
            for lat_free in (True, False):
                dense = E._extreme_eigs_scaled(eco, q, parts, sc, lat_free)
                struct = E._extreme_eigs_structured(eco, q, parts, sc, lat_free)
                assert np.allclose(dense, struct, rtol=1e-10)


@functools.lru_cache(maxsize=None)
def _default():
    config = pytest.importorskip("dsge_agents.economy.config")
    from pathlib import Path
    path = Path(__file__).resolve().parents[1] / "models" / "orchestrated_default.yaml"
    if not path.exists():
        pytest.skip("default model not present")
    return config.to_static_economy(str(path), K=4)


@settings(max_examples=1000, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_walras_law_default_economy(seed):
    eco = _default()
    p, pl = _random_prices(eco, np.random.default_rng(seed))
    assert _walras_normalised(eco, p, pl) <= 1e-10


def test_default_economy_equilibrium_and_theorems():
    eco = _default()
    res = equilibrium(eco, method="tatonnement")
    pl = solve_planner(eco)
    assert res.converged and res.excess_demand_norm <= 1e-10
    assert res.measured_rate <= res.contraction_modulus + 1e-6 < 1 + 1e-6
    assert allocation_gap(eco, res, pl) <= 1e-6
    assert first_welfare_gap(eco, res, pl) <= 1e-8
    assert second_welfare_gap(eco, pl) <= 1e-8
    assert np.all(res.slo_binding)
