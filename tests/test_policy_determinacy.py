"""Determinacy maps (issue 6): the Taylor principle on nk3, BK counting, bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsge_agents.errors import PolicyError
from dsge_agents.model import load
from dsge_agents.policy.determinacy import bk_classify, classify, determinacy_map


@pytest.fixture(scope="module")
def nk3(models_dir):
    return load(models_dir / "nk3.yaml").with_parameters(rho_i=0.0)


def taylor_boundary(m, phi_x):
    """phi_pi on the Taylor-principle boundary phi_pi + (1-beta)/kappa*phi_x = 1."""
    p = m.parameters
    return 1.0 - (1.0 - p["beta"]) / p["kappa"] * phi_x


def test_taylor_principle_boundary_2d(nk3):
    # grid chosen so that no point sits on the boundary: classification must be exact
    phi_pi = np.linspace(0.0, 2.0, 41)           # step 0.05
    phi_x = np.linspace(0.0, 1.0, 11) + 0.013    # step 0.1, shifted off the boundary lattice
    dm = determinacy_map(nk3, {"phi_pi": phi_pi, "phi_x": phi_x})
    f = dm.frame
    assert set(f["status"]) == {"determinate", "indeterminate"}
    expected = np.where(f["phi_pi"] > taylor_boundary(nk3, f["phi_x"]), "determinate", "indeterminate")
    assert (f["status"].to_numpy() == expected).all()
    # the figure is produced
    fig = dm.plot()
    assert fig.axes


def test_full_determinacy_region_with_negative_coefficients(nk3):
    """Closed form for nk3 with ρ_i = 0 over the (φ_π, φ_x) plane, negative values included.

    With z_t = (x_t, π_t): E_t z_{t+1} = M z_t, M = A⁻¹B, A = [[1, σ], [0, β]],
    B = [[1 + σφ_x, σφ_π], [−κ, 1]], so D = det M = (1 + σφ_x + σκφ_π)/β and
    T = tr M = 1 + σφ_x + σκ/β + 1/β. Determinacy (two jump variables, no state) needs both roots
    of λ² − Tλ + D outside the unit circle, i.e. both roots of Dμ² − Tμ + 1 inside (μ = 1/λ):
    |D| > 1 and |T| < |1 + D| (Schur–Cohn). For D > 0 the second condition is the Taylor principle
    κ(φ_π − 1) + (1 − β)φ_x > 0 together with κ(φ_π + 1) + (1 + β)(φ_x + 2/σ) > 0 (Woodford 2003,
    ch. 4). Otherwise a root is inside: indeterminate. Points within 1e-6 of a boundary are skipped;
    the grid edges are included."""
    p = nk3.parameters
    b, s, k = p["beta"], p["sigma"], p["kappa"]
    dm = determinacy_map(nk3, {"phi_pi": np.linspace(-3.0, 4.0, 36), "phi_x": np.linspace(-2.5, 1.5, 21)})
    f = dm.frame
    fp, fx = f["phi_pi"].to_numpy(), f["phi_x"].to_numpy()
    D = (1 + s * fx + s * k * fp) / b
    T = 1 + s * fx + s * k / b + 1 / b
    g1, g2 = np.abs(D) - 1, np.abs(1 + D) - np.abs(T)
    clear = (np.abs(g1) > 1e-6) & (np.abs(g2) > 1e-6)
    expected = np.where((g1 > 0) & (g2 > 0), "determinate", "indeterminate")
    assert clear.sum() > 700
    # every kind of region is on the grid: D > 1 and D < −1 determinate, |D| < 1, Taylor violated
    assert ((D > 1) & (expected == "determinate")).any() and ((D < -1) & (expected == "determinate")).any()
    assert ((np.abs(D) < 1) & clear).any() and ((D > 1) & (g2 < 0) & clear).any()
    got = f["status"].to_numpy()
    assert (got[clear] == expected[clear]).all(), f[clear & (got != expected)].head()


@pytest.mark.parametrize("phi_x", [0.0, 0.3, 0.8])
def test_one_grid_step_off_boundary(nk3, phi_x):
    b = taylor_boundary(nk3, phi_x)
    step = 1e-3
    below = classify(nk3, {"phi_pi": b - step, "phi_x": phi_x}).status
    above = classify(nk3, {"phi_pi": b + step, "phi_x": phi_x}).status
    assert (below, above) == ("indeterminate", "determinate")
    # 1-D map across the boundary: the switch is located between the grid points that bracket it
    dm = determinacy_map(nk3.with_parameters(phi_x=phi_x), {"phi_pi": b + step * (np.arange(-5, 6) + 0.5)})
    bnd = dm.boundaries()
    assert len(bnd) == 1
    assert bnd["lower"].iloc[0] < b < bnd["upper"].iloc[0]
    assert (bnd["from"].iloc[0], bnd["to"].iloc[0]) == ("indeterminate", "determinate")


def test_bk_counts_match_eigenvalues_of_companion(nk3):
    """Independent check: eigenvalues of the 2n companion of A_lag + λA_cur + λ²A_lead."""
    comp = nk3.compiled
    rng = np.random.default_rng(3)
    for _ in range(20):
        p = {"phi_pi": rng.uniform(0, 3), "phi_x": rng.uniform(0, 1), "rho_i": rng.uniform(0, 0.9)}
        th = comp.theta(p)
        A_lag, A_cur, A_lead, _ = comp.jacobian(comp.steady_state(th), th)
        n = A_cur.shape[0]
        # z_t = (y_{t-1}, y_t): [I 0; 0 A_lead] z_{t+1} = [0 I; -A_lag -A_cur] z_t
        E = np.block([[np.eye(n), np.zeros((n, n))], [np.zeros((n, n)), A_lead]])
        F = np.block([[np.zeros((n, n)), np.eye(n)], [-A_lag, -A_cur]])
        import scipy.linalg as sla
        ab = sla.eigvals(F, E, homogeneous_eigvals=True)
        n_stable = int((np.abs(ab[0]) <= (1 + 1e-6) * np.abs(ab[1])).sum())
        expected = "determinate" if n_stable == n else ("indeterminate" if n_stable > n else "unstable")
        assert bk_classify(A_lag, A_cur, A_lead).status == expected


def test_unstable_region_detected():
    # y_t = a y_{t-1} (backward, explosive when |a| > 1) : no stable solution
    A_lag, A_cur, A_lead = np.array([[-1.5]]), np.array([[1.0]]), np.zeros((1, 1))
    assert bk_classify(A_lag, A_cur, A_lead).status == "unstable"
    assert bk_classify(np.array([[-0.5]]), A_cur, A_lead).status == "determinate"
    # forward: y_t = b E y_{t+1}: determinate iff |b| < 1
    assert bk_classify(np.zeros((1, 1)), A_cur, np.array([[-0.5]])).status == "determinate"
    assert bk_classify(np.zeros((1, 1)), A_cur, np.array([[-2.0]])).status == "indeterminate"


def test_table_columns_and_bad_grid(nk3):
    dm = determinacy_map(nk3, {"phi_pi": [0.5, 1.5]})
    assert list(dm.table().columns) == ["phi_pi", "status"]
    with pytest.raises(PolicyError, match="unknown grid parameter"):
        determinacy_map(nk3, {"phi_nope": [1.0, 2.0]})
    with pytest.raises(PolicyError, match="empty"):
        determinacy_map(nk3, {"phi_pi": []})
    with pytest.raises(PolicyError, match="empty"):
        determinacy_map(nk3, {})
