"""Optimal simple rules (issue 6 item 5) against Dynare 5.3's osr on nk3."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dsge_agents.errors import PolicyError
from dsge_agents.model import load
from dsge_agents.policy.osr import optimal_rule, osr_loss, parse_loss

LOSS = {"x": 1.0, "pi": 1.0, "i": 0.1}
BOUNDS = {"phi_pi": (1.01, 5.0), "phi_x": (0.0, 2.0)}


@pytest.fixture(scope="module")
def nk3(models_dir):
    return load(models_dir / "nk3.yaml")


@pytest.fixture(scope="module")
def dynare(repo):
    with open(repo / "tests" / "data" / "dynare" / "nk3_osr.json") as fh:
        return json.load(fh)


def test_setup_matches_the_dynare_run(dynare, nk3):
    assert dynare["variables"] == nk3.variables
    W = np.array(dynare["weights"])
    Wm, _ = parse_loss(nk3, LOSS)
    np.testing.assert_allclose(Wm, W)
    assert dynare["osr_params"] == list(BOUNDS)
    assert [list(b) for b in BOUNDS.values()] == dynare["bounds"]


def test_loss_at_calibration_equals_dynare(dynare, nk3):
    W, _ = parse_loss(nk3, LOSS)
    v = osr_loss(nk3, ["phi_pi", "phi_x"], dynare["calibration"], W)
    assert v == pytest.approx(dynare["loss_at_calibration_osr_obj"], rel=1e-10)


def test_osr_matches_dynare(dynare, nk3):
    res = optimal_rule(nk3, LOSS, BOUNDS)
    np.testing.assert_allclose(list(res.params.values()), dynare["optimum"], atol=1e-4)
    assert res.loss == pytest.approx(dynare["loss_at_optimum_osr_obj"], abs=1e-4)
    assert res.baseline_loss == pytest.approx(dynare["loss_at_calibration_osr_obj"], rel=1e-10)
    assert res.improvement > 2.0
    assert set(res.at_bound) == {"phi_pi", "phi_x"}
    d = res.to_dict()
    assert d["params"] == res.params and d["improvement"] == pytest.approx(res.improvement)
    irf = res.irfs(periods=8)
    assert list(irf["scenario"].unique()) == ["baseline", "optimal"]


def test_interior_optimum_is_a_local_minimum(nk3):
    # a penalty on coefficient size makes the phi_pi optimum interior
    res = optimal_rule(nk3, LOSS, BOUNDS, coef_weight=0.01, restarts=2)
    assert "phi_pi" not in res.at_bound
    g = res.gradient()
    assert abs(g["phi_pi"]) < 1e-6
    # independent check: no better point on a fine grid around the optimum
    W, _ = parse_loss(nk3, LOSS)
    p0 = res.params["phi_pi"]
    for d in np.linspace(-0.05, 0.05, 11):
        v = osr_loss(nk3, ["phi_pi", "phi_x"], [p0 + d, res.params["phi_x"]], W) \
            + 0.01 * ((p0 + d) ** 2 + res.params["phi_x"] ** 2)
        assert v >= res.loss - 1e-12
    assert res.loss < res.baseline_loss


def test_variance_via_lyapunov_equals_truncated_series(nk3):
    """Σ = Σ_k T^k R Q R' T'^k (independent of the Lyapunov solver)."""
    from dsge_agents.policy._core import first_order, unconditional_cov
    T, R, Q, _ = first_order(nk3)
    S = np.zeros_like(T)
    term = R @ Q @ R.T
    for _ in range(3000):
        S += term
        term = T @ term @ T.T
    np.testing.assert_allclose(unconditional_cov(T, R, Q), S, rtol=1e-10, atol=1e-14)


def test_bad_input(nk3):
    with pytest.raises(PolicyError, match="unknown loss variable"):
        optimal_rule(nk3, {"output": 1.0}, BOUNDS)
    with pytest.raises(PolicyError, match="unknown rule parameter"):
        optimal_rule(nk3, LOSS, {"phi_y": (0, 1)})
    with pytest.raises(PolicyError, match="empty"):
        optimal_rule(nk3, LOSS, {"phi_pi": (2, 1)})
    with pytest.raises(PolicyError, match="empty loss"):
        optimal_rule(nk3, {}, BOUNDS)
    # tr(WΣ) has no minimum unless W ⪰ 0: a negative variance weight, or a covariance weight
    # larger than the variance weights (|w_xpi| / 2 > sqrt(w_x w_pi)), is refused
    with pytest.raises(PolicyError, match="negative loss weight"):
        optimal_rule(nk3, {"x": -1.0}, BOUNDS)
    with pytest.raises(PolicyError, match="positive semidefinite"):
        parse_loss(nk3, {"x": 1.0, "pi": 1.0, ("x", "pi"): 3.0})
    W, _ = parse_loss(nk3, {"x": 1.0, "pi": 1.0, ("x", "pi"): 2.0})   # singular but PSD: accepted
    assert W[0, 1] == W[1, 0] == 1.0
    with pytest.raises(PolicyError, match="restarts"):
        optimal_rule(nk3, LOSS, BOUNDS, restarts=-1)


def test_three_coefficients_interior_smoothing_matches_dynare(repo, nk3):
    """Different weights, bounds and three coefficients (tests/data/dynare/nk3_osr3.mod, CMA-ES):
    corner phi_pi = 4, phi_x = 1 and an interior rho_i ≈ 0.715049. The loss is flat in rho_i
    (curvature ~4), so the optimiser's rho_i agree to ~1e-7 and the losses to ~1e-15."""
    with open(repo / "tests" / "data" / "dynare" / "nk3_osr3.json") as fh:
        ref = json.load(fh)
    loss = {"x": 0.5, "pi": 1.0, "i": 1.0}
    bounds = {"phi_pi": (1.01, 4.0), "phi_x": (0.0, 1.0), "rho_i": (0.0, 0.95)}
    W, _ = parse_loss(nk3, loss)
    np.testing.assert_array_equal(W, np.array(ref["weights"]))
    assert osr_loss(nk3, list(bounds), ref["calibration"], W) == pytest.approx(
        ref["loss_at_calibration_osr_obj"], rel=1e-12)
    res = optimal_rule(nk3, loss, bounds, restarts=2)
    np.testing.assert_allclose(list(res.params.values()), ref["optimum"], atol=1e-6)
    assert sorted(res.at_bound) == ["phi_pi", "phi_x"]
    assert res.loss == pytest.approx(ref["loss_at_optimum_osr_obj"], rel=1e-12)
    assert res.loss <= ref["loss_at_optimum_osr_obj"] + 1e-14
    # Dynare's optimum, reached: the result must not say the search failed (it used to report
    # success False because the final polish ended on a line-search warning)
    assert res.success and res.to_dict()["success"] is True
