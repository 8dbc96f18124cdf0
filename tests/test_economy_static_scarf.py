"""Scarf's (1960) exchange economy through the general-equilibrium API (DESIGN §5.1)."""
from __future__ import annotations

import numpy as np
import pytest

from dsge_agents.economy.equilibrium import equilibrium, walras_identity
from dsge_agents.economy.scarf import ExchangeEconomy, scarf_economy, scarf_orbit
from dsge_agents.errors import EconomyError


def test_scarf_demand_and_walras():
    econ = scarf_economy()
    rng = np.random.default_rng(0)
    for _ in range(200):
        p = rng.uniform(0.01, 10, 3)
        z = econ.excess_demand(p)
        assert abs(walras_identity(econ, p)) <= 1e-12 * (1 + np.linalg.norm(p) * np.linalg.norm(z))
    # consumer 1 with income p1 buys equal amounts of goods 1 and 2
    assert np.allclose(econ.demands[0](np.array([1.0, 3.0, 2.0])), [0.25, 0.25, 0.0])
    assert np.allclose(econ.excess_demand(np.ones(3)), 0.0)


def test_scarf_tatonnement_does_not_converge_and_says_so():
    res = equilibrium(scarf_economy(), method="tatonnement")
    assert res.converged is False
    assert res.contraction_modulus >= 1.0
    assert "did NOT converge" in res.message and "NOT converged" in res.summary()
    # the Jacobian at the equilibrium has eigenvalues 0, ±(√3/4)i ≈ ±0.433i
    ev = np.array([complex(a, b) for a, b in res.extra["jacobian_eigenvalues"]])
    assert np.allclose(np.sort(np.abs(ev.imag)), [0.0, np.sqrt(3) / 4, np.sqrt(3) / 4], atol=1e-6)
    assert np.allclose(ev.real, 0.0, atol=1e-6)
    # discrete tâtonnement drove a price to zero instead of reporting a false equilibrium
    assert np.min(res.prices) == 0.0
    assert res.excess_demand_norm > 0.1
    d = res.to_dict()
    assert d["converged"] is False and d["contraction_modulus"] >= 1.0


def test_scarf_step_halving_cannot_help():
    econ = scarf_economy()
    J = econ.jacobian(np.ones(3))[:-1, :-1]
    for g in [1.0, 0.1, 1e-2, 1e-3]:
        assert np.linalg.norm(np.eye(2) + g * J, 2) > 1.0


def test_scarf_newton_finds_equal_prices():
    res = equilibrium(scarf_economy(), method="newton", p0=np.array([1.0, 2.0, 3.0]))
    assert res.converged
    assert np.allclose(res.prices / res.prices.sum(), np.ones(3) / 3, atol=1e-12)
    assert res.excess_demand_norm <= 1e-12


def test_scarf_continuous_orbit_conserves_invariants():
    t, P, drift_sq, drift_prod = scarf_orbit((1.0, 2.0, 3.0), t_end=60.0)
    assert drift_sq < 1e-7 and drift_prod < 1e-7
    # it orbits: does not approach the ray (1,1,1)
    dist = np.linalg.norm(P / np.linalg.norm(P, axis=1, keepdims=True) - 1 / np.sqrt(3), axis=1)
    assert dist[-len(dist) // 3:].min() > 0.1


def test_stable_exchange_economy_converges():
    """A Cobb–Douglas economy (gross substitutes) is stable: the same API reports convergence."""
    a = np.array([[0.5, 0.3, 0.2], [0.2, 0.5, 0.3], [0.3, 0.2, 0.5]])
    e = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 0.5], [0.5, 0.5, 0.0]])

    def make(i):
        return lambda p: a[i] * (p @ e[i]) / p
    econ = ExchangeEconomy([make(i) for i in range(3)], e)
    res = equilibrium(econ, method="tatonnement", max_iter=50_000)
    assert res.converged and res.contraction_modulus < 1
    newton = equilibrium(econ, method="newton")
    assert np.allclose(res.prices / res.prices.sum(), newton.prices / newton.prices.sum(), atol=1e-8)
    with pytest.raises(Exception, match="not available"):
        equilibrium(econ, method="planner")


@pytest.mark.parametrize("method", ["tatonnement", "newton"])
@pytest.mark.parametrize("p0", [[1.0, 2.0], [-1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, np.nan, 2.0]])
def test_scarf_bad_starting_prices_are_named_errors(method, p0):
    """Wrong-size p0 was silently replaced (tâtonnement) or an IndexError (Newton); p0 with a zero price gave
    NaN prices after 20,000 iterations, or an UnboundLocalError in Newton's line search."""
    with pytest.raises(EconomyError, match="starting prices p0"):
        equilibrium(scarf_economy(), method=method, p0=p0)


def test_exchange_economy_refuses_basis_options():
    with pytest.raises(EconomyError, match="not applicable to an exchange economy"):
        equilibrium(scarf_economy(), K=4)


def test_scarf_summary_has_no_nan_columns():
    """The summary printed 'nan' flows/shares (an exchange economy has none) and 'measured_rate nan'."""
    text = equilibrium(scarf_economy()).summary()
    assert "nan" not in text.lower().replace("tâtonnement", "")
    assert "good1" in text and "n/a" in text


def test_welfare_functions_refuse_an_exchange_economy():
    """They died with AttributeError ('ExchangeEconomy' object has no attribute 'check_feasible')."""
    from dsge_agents.economy import welfare
    for f in (welfare.first_welfare_gap, welfare.allocation_gap, welfare.second_welfare_gap, welfare.k_convergence):
        with pytest.raises(EconomyError, match="needs a StaticEconomy"):
            f(scarf_economy())
