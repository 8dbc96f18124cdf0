"""SFSL in the traces layer: within-window trajectories on V_K, merge = one pass (issue 4, item 4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsge_agents.economy.basis import make_basis
from dsge_agents.errors import EconomyError, TraceValidationError
from dsge_agents.traces.aggregate import TracePanel, aggregate
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


def test_project_panel_midpoints_from_the_period():
    """Per-minute periods with NaN gaps: samples at start + 30 s (not half the smallest gap left)."""
    minutes = np.array([0, 2, 4, 40])
    vals = np.array([1.0, 3.0, 2.0, 7.0])
    per = W0 + pd.to_timedelta(np.arange(60), unit="min")
    v = np.full(60, np.nan)
    v[minutes] = vals
    tidy = pd.DataFrame({"period": per, "agent": "a", "metric": "latency_mean", "value": v})
    ref = np.linalg.lstsq(_legendre(2, 3600.0, minutes * 60 + 30.0), vals, rcond=None)[0]
    got = project_panel(tidy, "1h", K=2, period="1min")["coef"].to_numpy()
    np.testing.assert_allclose(got, ref, rtol=1e-12)
    panel = TracePanel(tidy=tidy, period="1min", engine="pandas", info={"period_ns": 60 * 10**9})
    np.testing.assert_allclose(project_panel(panel, "1h", K=2)["coef"].to_numpy(), ref, rtol=1e-12)
    # a single period: its sample is at start + period/2 (it was at +0); with 1h periods and 30min
    # windows the midpoint decides the window: 10:30, t = 0
    one = pd.DataFrame({"period": [W0], "agent": "a", "metric": "m", "value": [4.0]})
    c = project_panel(one, "30min", K=1, basis="pwc", period="1h")
    assert c["window"].tolist() == [W0 + pd.Timedelta("30min")] and c["coef"].tolist() == [4.0 * np.sqrt(1800.0)]
    with pytest.raises(TraceValidationError, match="period="):
        project_panel(tidy, "1h", K=2)
    with pytest.raises(TraceValidationError, match="differs"):
        project_panel(panel, "1h", K=2, period="5min")


def test_project_panel_unknown_metric(spans):
    panel = aggregate(spans.iloc[:2000], "1min")
    with pytest.raises(TraceValidationError, match=r"\['arival'\].*arrivals"):
        project_panel(panel, "1h", K=2, metrics=["arival"])


def test_span_inputs_as_aggregate_reads_them():
    df = _spans([10.0, 20.0, 3000.0], [1.0, 2.0, 3.0])
    # optional columns absent: missing values (no sample), agent _unknown
    c = project_spans(df.drop(columns=["ttft_s", "cost_usd", "agent_name"]), "1h", 1).coefficients()
    assert set(c["metric"]) == {"latency", "input_tokens", "output_tokens", "error"}
    assert set(c["agent"]) == {"_unknown"}
    lat = c[c["metric"] == "latency"]["coef"].iloc[0]
    assert lat == pytest.approx(2.0 * 60.0)                          # mean latency * sqrt(3600)
    # text timestamps are parsed as the readers do
    txt = df.assign(start_ts=df["start_ts"].astype(str), end_ts=df["end_ts"].astype(str))
    c2 = project_spans(txt, "1h", 1, metrics=["latency"]).coefficients()
    assert c2["coef"].iloc[0] == pytest.approx(lat, rel=1e-12)
    # status spellings: ERROR / failed are errors, a missing status is no sample
    st = df.assign(status=["ERROR", "failed", None])
    e = project_spans(st, "1h", 1, metrics=["error"]).coefficients()
    assert e["n"].tolist() == [2] and e["coef"].iloc[0] == pytest.approx(60.0)
    st = df.assign(status=["ok", "STATUS_CODE_ERROR", "success"])
    e = project_spans(st, "1h", 1, metrics=["error"]).coefficients()
    assert e["n"].tolist() == [3] and e["coef"].iloc[0] == pytest.approx(60.0 / 3)


def test_span_input_errors_are_named():
    df = _spans([10.0, 20.0, 3000.0], [1.0, 2.0, 3.0])
    with pytest.raises(TraceValidationError, match="end_ts: 1 unparseable timestamp.*'x'"):
        project_spans(df.assign(end_ts=[str(df["end_ts"].iloc[0]), "x", None]), "1h", 1, metrics=["latency"])
    with pytest.raises(TraceValidationError, match="lacks end_ts"):
        project_spans(df.drop(columns=["end_ts"]), "1h", 1)
    with pytest.raises(TraceValidationError, match="window: period '1W' must be a fixed"):
        TraceSFSL("1W", 2)
    with pytest.raises(TraceValidationError, match="ttft_s: 1 infinite"):
        project_spans(df.assign(ttft_s=[0.1, np.inf, 0.3]), "1h", 1, metrics=["ttft"])
    with pytest.raises(ValueError, match="unknown span metrics"):   # still a ValueError, as before
        TraceSFSL("1h", 2, metrics=["latncy"])
    a = TraceSFSL("1h", 2, metrics=["latency"]).update(df)
    p = TraceSFSL("1h", 2, metrics=["latency"], estimator="projection").update(df)
    for x, y in [(a, p), (p, a)]:
        with pytest.raises(EconomyError, match="different estimators"):
            x.merge(y)
    with pytest.raises(EconomyError, match="different metrics"):
        a.merge(TraceSFSL("1h", 2, metrics=["latency", "cost"]))
