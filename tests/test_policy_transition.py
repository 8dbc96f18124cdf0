"""Permanent parameter changes: first-order vs perfect-foresight transitions (issue 6 item 3)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsge_agents.cli.main import main
from dsge_agents.errors import IndeterminacyError, PolicyError
from dsge_agents.model import load
from dsge_agents.policy.transition import transition


@pytest.fixture(scope="module")
def rbc(models_dir):
    return load(models_dir / "rbc.yaml")


def rbc_steady_state(alpha, beta, delta, psi):
    """Closed form (written out independently of the model file)."""
    kl = (alpha / (1 / beta - 1 + delta)) ** (1 / (1 - alpha))
    yl = kl ** alpha
    cl = yl - delta * kl
    l = (1 - alpha) * yl / (psi * cl + (1 - alpha) * yl)
    return {"y": yl * l, "c": cl * l, "k": kl * l, "i": delta * kl * l, "l": l, "z": 0.0}


@pytest.fixture(scope="module")
def two_sizes(rbc):
    b0 = rbc.parameters["beta"]
    return [transition(rbc, {"beta": b0 + h}, periods=300) for h in (0.002, 0.001)]


def test_paths_start_old_end_new_steady_state(rbc, two_sizes):
    tr = two_sizes[0]
    p = rbc.parameters
    old = rbc_steady_state(p["alpha"], p["beta"], p["delta"], p["psi"])
    new = rbc_steady_state(p["alpha"], p["beta"] + 0.002, p["delta"], p["psi"])
    pf, fo = tr.path("perfect_foresight"), tr.path("first_order")
    for v in old:
        assert pf[v].iloc[0] == pytest.approx(old[v], rel=1e-12, abs=1e-14)
        assert tr.new_steady_state[v] == pytest.approx(new[v], rel=1e-10, abs=1e-14)
        assert pf[v].iloc[-1] == pytest.approx(new[v], rel=1e-6, abs=1e-12)
        assert fo[v].iloc[-1] == pytest.approx(new[v], rel=1e-6, abs=1e-12)
    assert tr.max_residual < 1e-10 and tr.newton_iterations >= 1
    # capital is predetermined: it rises monotonically towards the new level
    k = pf["k"].to_numpy()[:150]
    assert np.all(np.diff(k) > 0)


def test_linearization_error_is_second_order(two_sizes):
    e_big, e_small = (t.max_linearization_error() for t in two_sizes)
    assert e_big > 0
    assert 3.0 < e_big / e_small < 5.0          # ~4x when the change is halved
    # and small relative to the change itself
    assert two_sizes[1].max_linearization_error(relative=True) < 0.1


def test_perfect_foresight_satisfies_the_nonlinear_model(rbc, two_sizes):
    tr = two_sizes[0]
    m = rbc.with_parameters(beta=rbc.parameters["beta"] + 0.002)
    cm = m.compiled
    th = cm.theta()
    Y = tr.perfect_foresight
    u = np.zeros(len(m.shocks))
    res = [cm.residual(Y[t - 1], Y[t], Y[t + 1], u, th) for t in range(1, len(Y) - 1)]
    assert np.abs(res).max() < 1e-9
    # the first-order path violates it by O(h^2)
    F = tr.first_order
    res_fo = [cm.residual(F[t - 1], F[t], F[t + 1], u, th) for t in range(1, len(F) - 1)]
    assert np.abs(res_fo).max() > 1e3 * np.abs(res).max()


def test_tidy_paths_and_bad_input(rbc, two_sizes, tmp_path, models_dir):
    p = two_sizes[1].paths
    assert list(p.columns) == ["method", "variable", "period", "value"]
    assert set(p["method"]) == {"first_order", "perfect_foresight"}
    assert p["period"].max() == 300
    with pytest.raises(PolicyError, match="unknown parameter"):
        transition(rbc, {"gamma": 2.0})
    with pytest.raises(PolicyError):
        transition(rbc, {})
    csv = tmp_path / "t.csv"
    rc = main(["transition", str(models_dir / "rbc.yaml"), "--set", "beta=0.991", "--periods", "40",
               "--csv", str(csv), "--plot", str(tmp_path / "t.png")])
    assert rc == 0
    df = pd.read_csv(csv)
    assert list(df.columns) == ["method", "variable", "period", "value"]


# ---------------------------------------------------------------- Dynare 5.3 perfect_foresight_solver
def _dynare_paths(name):
    import json
    from pathlib import Path
    ref = json.loads((Path(__file__).parent / "data" / "dynare" / f"{name}.json").read_text())
    return ref["variables"], np.array(ref["endo_simul"], float)   # rows variables, cols periods 0..N+1


def _assert_matches_dynare(tr, name, rtol):
    names, E = _dynare_paths(name)
    pf = tr.path("perfect_foresight")
    assert len(pf) == E.shape[1] - 1                      # periods 0..N (Dynare adds N+1 = terminal)
    for j, v in enumerate(names):
        scale = max(1.0, np.abs(E[j]).max())
        assert np.abs(pf[v].to_numpy() - E[j, :-1]).max() <= rtol * scale, v
        assert tr.new_steady_state[v] == pytest.approx(E[j, -1], rel=1e-12, abs=1e-14)


def test_perfect_foresight_matches_dynare(rbc):
    """alpha 0.33 -> 0.35 over 100 periods vs Dynare's perfect_foresight_setup/solver
    (tests/data/dynare/rbc_pf.mod; paths agree to ~2e-12)."""
    tr = transition(rbc, {"alpha": 0.35}, periods=100)
    _assert_matches_dynare(tr, "rbc_pf", 1e-9)


SCALED_RBC = """
name: rbc_scaled
variables: [y, c, k, i, l, z]
shocks: {e: 0.01}
parameters: {alpha: 0.33, beta: 0.99, delta: 0.025, psi: 1.75, rho: 0.95, A: 1000.0}
equations:
  - 1/c = beta/c(+1)*(alpha*A*exp(z(+1))*k^(alpha-1)*l(+1)^(1-alpha) + 1 - delta)
  - psi*c/(1-l) = (1-alpha)*y/l
  - y = A*exp(z)*k(-1)^alpha*l^(1-alpha)
  - k = (1-delta)*k(-1) + i
  - y = c + i
  - z = rho*z(-1) + e
initval: {y: 30000.0, c: 23000.0, k: 280000.0, i: 7000.0, l: 0.3, z: 0.0}
"""


def test_perfect_foresight_in_levels_of_order_1e5(tmp_path):
    """With A = 1000 capital is ~3e5 and the residual of k = (1-δ)k(-1) + i cannot fall below
    ~3e-11 in double precision: Newton used to stop on the absolute tolerance 1e-11 and report
    'did not converge in 60 iterations'. The path must match Dynare (rbc_scaled_pf.mod)."""
    f = tmp_path / "rbc_scaled.yaml"
    f.write_text(SCALED_RBC)
    m = load(f)
    tr = transition(m, {"alpha": 0.35}, periods=100)
    assert tr.pf_error is None
    _assert_matches_dynare(tr, "rbc_scaled_pf", 1e-9)


def test_first_order_only_is_not_reported_as_a_failure(rbc, models_dir, capsys):
    tr = transition(rbc, {"alpha": 0.35}, periods=20, nonlinear=False)
    assert tr.perfect_foresight is None and tr.pf_error is None
    assert "failed" not in tr.summary() and "first order only" in tr.summary()
    with pytest.raises(PolicyError, match="first order only"):
        tr.path("perfect_foresight")
    rc = main(["transition", str(models_dir / "rbc.yaml"), "--set", "alpha=0.35", "--periods", "20",
               "--first-order-only"])
    out = capsys.readouterr().out
    assert rc == 0 and "failed" not in out and "not computed" in out


def test_indeterminate_new_regime_names_the_change(models_dir, capsys):
    """nk3 with phi_pi = 0.5 violates the Taylor principle (0.5 + 0.1*0.125 < 1): the error must say
    that the new regime is the problem and which change caused it."""
    nk3 = load(models_dir / "nk3.yaml")
    with pytest.raises(IndeterminacyError, match=r"new regime after phi_pi=0\.5") as ei:
        transition(nk3, {"phi_pi": 0.5})
    assert ei.value.n_forward == 2
    assert main(["transition", str(models_dir / "nk3.yaml"), "--set", "phi_pi=0.5"]) == 1
    assert "new regime after phi_pi=0.5" in capsys.readouterr().err


def test_loglinear_mod_file_matches_dynare_and_hides_auxiliaries(models_dir):
    """fs2000 (a .mod file, `loglinear`, with auxiliary lead variables): mst 1.011 -> 1.015 against
    Dynare's perfect_foresight_solver (tests/data/dynare/fs2000_pf.json: ~3e-12). The paths, table and
    CSV hold the declared variables only, as the IRFs do (the auxiliary AUX_ENDO_LEAD_* used to be
    listed, under names that differ from Dynare's)."""
    m = load(models_dir / "fs2000.mod")
    tr = transition(m, {"mst": 1.015}, periods=100)
    declared = [v for v in m.variables if v not in set(m.aux_variables)]
    assert m.aux_variables and tr.variables == declared
    assert set(tr.paths["variable"]) == set(declared) and list(tr.table().index) == declared
    names, E = _dynare_paths("fs2000_pf")
    pf = tr.path("perfect_foresight")
    for j, v in enumerate(names):
        if v.startswith("AUX_"):
            continue
        assert np.abs(pf[v].to_numpy() - E[j, :-1]).max() <= 1e-9 * max(1.0, np.abs(E[j]).max()), v
        assert tr.new_steady_state[v] == pytest.approx(E[j, -1], rel=1e-12)


@pytest.mark.parametrize("name, change", [("rbc_pf_beta09", {"beta": 0.9}), ("rbc_pf_alpha06", {"alpha": 0.6})])
def test_large_changes_match_dynare(rbc, name, change):
    """Large permanent changes (200 periods) against Dynare's perfect_foresight_solver.
    beta 0.99 -> 0.9: the first-order path has negative hours, so the residuals are NaN there; the
    NaN made the Newton loop test false and the FIRST-ORDER path was returned as the perfect-foresight
    path ('0 Newton iterations, max residual nan'). alpha 0.33 -> 0.6: the chord iteration (Jacobian at
    (y_t, y_t, y_t)) stalled; Newton with each period's own Jacobian blocks, from the new steady state as
    in Dynare, converges in 7 iterations."""
    tr = transition(rbc, change, periods=200)
    assert tr.pf_error is None and np.isfinite(tr.max_residual) and tr.newton_iterations > 0
    _assert_matches_dynare(tr, name, 1e-9)


def test_cli_exits_nonzero_when_the_perfect_foresight_path_fails(models_dir, tmp_path, capsys):
    """delta 0.025 -> 0.9 on the RBC model: every Newton start fails (the first-order path leaves the
    model's domain, the others stall). The command used to print 'perfect foresight failed' and exit 0,
    so a script could not tell a partial result from a success; the first-order path is still written."""
    csv = tmp_path / "t.csv"
    rc = main(["transition", str(models_dir / "rbc.yaml"), "--set", "delta=0.9", "--periods", "40",
               "--csv", str(csv)])
    cap = capsys.readouterr()
    assert "perfect foresight failed" in cap.out
    assert rc == 1
    assert "perfect-foresight path was not found" in cap.err and len(cap.err.strip().splitlines()) == 1
    df = pd.read_csv(csv)
    assert set(df["method"]) == {"first_order"}
    # the API reports the same partial result (no path, the reasons listed)
    m = load(models_dir / "rbc.yaml")
    tr = transition(m, {"delta": 0.9}, periods=40)
    assert tr.perfect_foresight is None and tr.pf_error


def test_steady_state_failure_of_the_new_regime_names_the_change(models_dir, capsys):
    """alpha 0.33 -> 0.9: the closed-form steady state has k/l ~ 1e14, far from the file's initval, so
    the numeric search fails. The error read '<file>: numeric steady-state search failed', as if the
    model file were broken; it must say that the new regime (and which change) has none found."""
    from dsge_agents.errors import SteadyStateError
    p = load(models_dir / "rbc.yaml").parameters
    kl = (0.9 / (1 / p["beta"] - 1 + p["delta"])) ** (1 / (1 - 0.9))
    assert kl > 1e13                                  # the reason, from the closed form above
    with pytest.raises(SteadyStateError, match=r"new regime after alpha=0\.9"):
        transition(load(models_dir / "rbc.yaml"), {"alpha": 0.9}, periods=10)
    assert main(["transition", str(models_dir / "rbc.yaml"), "--set", "alpha=0.9"]) == 1
    assert "new regime after alpha=0.9" in capsys.readouterr().err


def test_transition_figure_shows_the_headline_and_labels_the_periods(models_dir):
    """The default figure ranked variables by the level of their change: after W* 30 -> 28 s on the
    default economy it showed six capacity stocks (~600 requests/min) and neither latency (which must
    end at the new target, 28 s) nor its price; no panel said what the x axis is."""
    import dsge_agents as da
    tr = transition(da.default_model(), {"slo_target_latency": 28.0}, periods=20, nonlinear=False)
    assert tr.new_steady_state["latency"] == pytest.approx(28.0, rel=1e-9)   # W = W* (the SLO binds)
    fig = tr.plot()
    axes = [ax for ax in fig.axes if ax.get_visible()]
    titles = [ax.get_title() for ax in axes]
    assert {"latency", "slo_rate"} <= set(titles)
    assert all("period" in ax.get_xlabel() for ax in axes[-3:])
    # other models: largest relative changes (RBC, alpha 0.33 -> 0.35: every variable but z moves)
    tr2 = transition(load(models_dir / "rbc.yaml"), {"alpha": 0.35}, periods=10, nonlinear=False)
    assert "z" not in [ax.get_title() for ax in tr2.plot().axes if ax.get_visible()]
