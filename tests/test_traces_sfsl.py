"""SFSL in the traces layer: within-window trajectories on V_K, merge = one pass (issue 4, item 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsge_agents.economy.basis import make_basis
from dsge_agents.traces.aggregate import aggregate
from dsge_agents.traces.sfsl import TraceSFSL, project_panel, project_spans
from dsge_agents.traces.simulate import SimulationConfig, poisson_arrivals, simulate


@pytest.fixture(scope="module")
def spans():
    return simulate(SimulationConfig.default(), poisson_arrivals(5.0, 30_000, seed=2), seed=3).spans


@pytest.mark.parametrize("basis", ["legendre", "pwc"])
def test_merged_partitions_equal_one_pass(spans, basis):
    one = project_spans(spans, window="30min", K=6, basis=basis).coefficients()
    parts = np.array_split(np.random.default_rng(0).permutation(len(spans)), 4)
    merged = None
    for idx in parts:
        t = TraceSFSL("30min", K=6, basis=basis).update(spans.iloc[idx])
        merged = t if merged is None else merged.merge(t)
    # the sufficient statistics are sums: equal to rounding for every state
    ref = project_spans(spans, window="30min", K=6, basis=basis)
    assert set(ref.states) == set(merged.states)
    well = set()
    for key, st in ref.states.items():
        o = merged.states[key]
        assert o.n == st.n
        scale = np.abs(st.G).max()
        np.testing.assert_allclose(o.G, st.G, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(o.b, st.b, rtol=0, atol=1e-11 * (np.abs(st.b).max() + 1e-300))
        if np.linalg.cond(st.G) < 1e4:
            well.add(key)
    # coefficients (a linear solve with G) agree to rounding wherever G is well conditioned
    m = merged.coefficients()
    assert (
        one[["window", "agent", "metric", "n", "k"]].values
        == m[["window", "agent", "metric", "n", "k"]].values
    ).all()
    sel = np.array(
        [
            (int(w.value // (1800 * 10**9)), a, mt) in well
            for w, a, mt in zip(one["window"], one["agent"], one["metric"])
        ]
    )
    assert sel.mean() > 0.5
    x, y = one["coef"].to_numpy()[sel], m["coef"].to_numpy()[sel]
    np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9 * np.abs(x).max())
    assert set(one["metric"]) == {"latency", "ttft", "input_tokens", "output_tokens", "cost", "error"}


def test_recovers_a_trajectory_in_vk():
    """Latencies that follow a quadratic of time within the window are recovered exactly by Legendre K=3."""
    rng = np.random.default_rng(1)
    w0 = pd.Timestamp("2024-01-01 10:00", tz="UTC")
    t = np.sort(rng.uniform(0, 3600, 500))
    lat = 1.0 + 2e-3 * t - 4e-7 * t**2
    end = w0 + pd.to_timedelta(np.round(t * 1e6), unit="us")
    start = end - pd.to_timedelta(np.round(lat * 1e6), unit="us")
    df = pd.DataFrame(
        {
            "agent_name": "x",
            "start_ts": start,
            "end_ts": end,
            "ttft_s": np.nan,
            "input_tokens": 1,
            "output_tokens": 1,
            "cost_usd": 0.0,
            "status": "ok",
        }
    )
    s = project_spans(df, window="1h", K=3, metrics=["latency"])
    tq = np.linspace(0, 3600, 7)
    tt = np.round(tq * 1e6) / 1e6
    np.testing.assert_allclose(s.evaluate(w0, "x", "latency", tq), 1.0 + 2e-3 * tt - 4e-7 * tt**2, atol=1e-5)
    # coefficients are the L2 projection: <f, phi_k> by Gauss-Legendre quadrature
    b = make_basis("legendre", 3, 3600.0)
    f = 1.0 + 2e-3 * b.nodes - 4e-7 * b.nodes**2
    exact = b.B.T @ (b.weights * f)
    got = s.coefficients().query("metric == 'latency'")["coef"].to_numpy()
    np.testing.assert_allclose(got, exact, rtol=1e-5)


def test_project_panel(spans):
    panel = aggregate(spans, "1min")
    c = project_panel(panel, window="1h", K=4, metrics=["arrivals", "concurrency"])
    assert set(c["metric"]) == {"arrivals", "concurrency"} and set(c["k"]) == {0, 1, 2, 3}
    # k = 0 of the Legendre basis is the window mean × sqrt(T) for equally spaced samples over a full window
    full = c[(c["agent"] == "_all") & (c["metric"] == "arrivals") & (c["k"] == 0) & (c["n"] == 60)]
    if len(full):
        w = full["window"].iloc[0]
        vals = panel.tidy.query("agent == '_all' and metric == 'arrivals'").set_index("period")["value"]
        mean = vals[(vals.index >= w) & (vals.index < w + pd.Timedelta("1h"))].mean()
        assert full["coef"].iloc[0] == pytest.approx(mean * np.sqrt(3600.0), rel=0.02)


W0 = pd.Timestamp("2024-01-01 10:00", tz="UTC")


def _legendre(K, T, t):
    """Orthonormal shifted Legendre basis from numpy's Legendre series (independent of basis.py)."""
    x = 2 * np.asarray(t, float) / T - 1
    return np.stack([np.sqrt((2 * k + 1) / T) * np.polynomial.legendre.legval(x, np.eye(K)[k])
                     for k in range(K)], axis=1)


def _spans(tsec, lat, agent="x", **cols):
    end = W0 + pd.to_timedelta(np.round(np.asarray(tsec) * 1e6).astype(np.int64), unit="us")
    start = end - pd.to_timedelta(np.round(np.asarray(lat) * 1e6).astype(np.int64), unit="us")
    df = pd.DataFrame({"agent_name": agent, "start_ts": start, "end_ts": end, "ttft_s": np.nan,
                       "input_tokens": 1, "output_tokens": 1, "cost_usd": 0.0, "status": "ok"})
    return df.assign(**cols)


def test_rank_deficient_window_nan_in_every_order_well_one_equal():
    """Agent "few": 3 distinct completion times for K=4 (Gram rank 3) -> NaN in every partition and merge
    order (it gave order-dependent numbers). Agent "many": equal to one pass and to lstsq on Φ."""
    rng = np.random.default_rng(5)
    t_few = np.repeat([100.0, 1800.0, 3000.0], 10)
    t_many = rng.uniform(0, 3600, 300)
    df = pd.concat([_spans(t_few, rng.uniform(1, 2, t_few.size), "few"),
                    _spans(t_many, 1 + t_many / 3600 + rng.uniform(0, 0.1, t_many.size), "many")],
                   ignore_index=True)
    tm = np.round(t_many * 1e6) / 1e6
    lat = (df["end_ts"] - df["start_ts"]).dt.total_seconds().to_numpy()[t_few.size:]
    ref = np.linalg.lstsq(_legendre(4, 3600.0, tm), lat, rcond=None)[0]
    one = project_spans(df, "1h", 4, metrics=["latency"]).coefficients()
    results = [one, project_spans(df.iloc[::-1], "1h", 4, metrics=["latency"]).coefficients()]
    for seed in range(5):
        idx = np.array_split(np.random.default_rng(seed).permutation(len(df)), 2 + seed)
        parts = [TraceSFSL("1h", 4, metrics=["latency"]).update(df.iloc[i]) for i in idx]
        m = parts[0]
        for p in parts[1:]:
            m = p.merge(m) if seed % 2 else m.merge(p)
        results.append(m.coefficients())
    for r in results:
        few = r[r["agent"] == "few"]
        assert len(few) == 4 and few["n"].eq(30).all() and few["coef"].isna().all()
        many = r[r["agent"] == "many"]["coef"].to_numpy()
        np.testing.assert_allclose(many, ref, rtol=0, atol=1e-12 * np.abs(ref).max())

