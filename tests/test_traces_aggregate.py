"""Aggregation to per-period panels: independent pandas checks, engines agree (issue 4, item 3)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsge_agents.errors import TraceValidationError
from dsge_agents.traces.aggregate import METRICS, aggregate, request_table
from dsge_agents.traces.readers import read_spans
from dsge_agents.traces.schema import CANONICAL_COLUMNS
from dsge_agents.traces.simulate import RateLimit, SimulationConfig, simulate
from dsge_agents.traces.writers import write_canonical


@pytest.fixture(scope="module")
def spans(shared_data):
    cfg = SimulationConfig.default()
    cfg.rate_limits = [RateLimit("triage_small", 60, 120, 2)]
    res = simulate(
        cfg, shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv", seed=5, max_requests=2500
    )
    return res.spans


def test_tidy_and_wide_layout(spans):
    p = aggregate(spans, "1min")
    assert list(p.tidy.columns) == ["period", "agent", "metric", "value"]
    assert set(p.tidy["metric"]) == set(METRICS)
    assert str(p.tidy["period"].dtype) == "datetime64[ns, UTC]"
    w = p.wide
    assert list(w.columns) == METRICS and w.index.names == ["period", "agent"]
    assert "_all" in set(p.tidy["agent"])
    # every (agent, period) pair is present exactly once per metric
    n_agents, n_periods = p.tidy["agent"].nunique(), p.tidy["period"].nunique()
    assert len(p.tidy) == n_agents * n_periods * len(METRICS)
    assert (p.tidy["period"].dt.second == 0).all()


def test_azure_aggregates_equal_independent_pandas(shared_data):
    path = shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
    raw = pd.read_csv(path)
    ts = pd.to_datetime(raw["TIMESTAMP"]).dt.tz_localize("UTC")
    minute = ts.dt.floor("1min")
    exp = (
        raw.assign(m=minute)
        .groupby("m")
        .agg(
            arrivals=("TIMESTAMP", "size"),
            input_tokens=("ContextTokens", "sum"),
            output_tokens=("GeneratedTokens", "sum"),
        )
    )
    full = pd.date_range(exp.index.min(), exp.index.max(), freq="1min")
    exp = exp.reindex(full, fill_value=0)
    panel = aggregate(read_spans(path), "1min")
    for agent in ("code", "_all"):
        w = panel.wide.xs(agent, level="agent")
        assert list(w.index) == list(full)
        for m in ("arrivals", "input_tokens", "output_tokens"):
            np.testing.assert_array_equal(w[m].to_numpy(), exp[m].to_numpy(float))
        assert (w["completions"] == 0).all() and w["latency_p95"].isna().all()


def _pandas_end_stats(spans, period):
    """Independent computation: group completed spans by floor(end_ts) and agent."""
    s = spans[spans["end_ts"].notna()].copy()
    s["lat"] = (s["end_ts"] - s["start_ts"]).dt.total_seconds()
    s["p"] = s["end_ts"].dt.floor(period)
    g = s.groupby(["p", "agent_name"])
    return pd.DataFrame(
        {
            "completions": g.size(),
            "latency_mean": g["lat"].mean(),
            "latency_p50": g["lat"].quantile(0.5),
            "latency_p95": g["lat"].quantile(0.95),
            "latency_p99": g["lat"].quantile(0.99),
            "ttft_mean": g["ttft_s"].mean(),
            "error_rate": g["status"].apply(lambda x: (x == "error").mean()),
        }
    )


@pytest.mark.parametrize("period", ["1min", "10s"])
def test_latency_statistics_equal_independent_pandas(spans, period):
    panel = aggregate(spans, period).wide
    exp = _pandas_end_stats(spans, period)
    got = panel.loc[exp.index.set_names(["period", "agent"])]
    for m in exp.columns:
        np.testing.assert_allclose(
            got[m].to_numpy(float), exp[m].to_numpy(float), rtol=1e-9, atol=1e-9, err_msg=m
        )
    # periods without completions have zero completions and NaN latency
    rest = panel.drop(index=exp.index.set_names(["period", "agent"]))
    rest = rest[rest.index.get_level_values("agent") != "_all"]
    assert (rest["completions"] == 0).all() and rest["latency_p50"].isna().all()


def test_arrival_sums_equal_independent_pandas(spans):
    panel = aggregate(spans, "1min").wide
    s = spans.assign(p=spans["start_ts"].dt.floor("1min"))
    g = s.groupby(["p", "agent_name"])
    exp = pd.DataFrame(
        {
            "arrivals": g.size(),
            "input_tokens": g["input_tokens"].sum(),
            "output_tokens": g["output_tokens"].sum(),
            "cost": g["cost_usd"].sum(),
        }
    )
    got = panel.loc[exp.index.set_names(["period", "agent"])]
    for m in exp.columns:
        np.testing.assert_allclose(got[m].to_numpy(float), exp[m].to_numpy(float), rtol=1e-12, err_msg=m)
    assert (
        panel.xs("solve_large", level="agent")["arrivals"].sum()
        == (spans["agent_name"] == "solve_large").sum()
    )


def test_concurrency_equals_brute_force_overlap(spans):
    P = 60.0
    panel = aggregate(spans, "1min").wide
    s = spans[spans["end_ts"].notna()]
    for agent in ("solve_medium", "orchestrator"):
        a = s[s["agent_name"] == agent]
        w = panel.xs(agent, level="agent")
        base = w.index[0]
        sec = lambda x: (x - base).dt.total_seconds().to_numpy()  # noqa: E731  (relative: exact enough)
        st, en = sec(a["start_ts"]), sec(a["end_ts"])
        t0 = (w.index - base).total_seconds().to_numpy()
        overlap = np.clip(
            np.minimum(en[None, :], t0[:, None] + P) - np.maximum(st[None, :], t0[:, None]), 0, None
        )
        np.testing.assert_allclose(w["concurrency"].to_numpy(), overlap.sum(axis=1) / P, rtol=1e-9, atol=1e-9)


def test_concurrency_hand_example_and_empty_periods():
    t0 = pd.Timestamp("2024-01-01 00:00:00", tz="UTC")
    df = pd.DataFrame(
        {
            "trace_id": ["t1", "t2", "t3"],
            "span_id": ["a", "b", "c"],
            "parent_span_id": [None] * 3,
            "agent_name": ["x", "x", "x"],
            "status": ["ok", "error", "ok"],
            "start_ts": [t0 + pd.Timedelta("15s"), t0 + pd.Timedelta("30s"), t0 + pd.Timedelta("5min")],
            "end_ts": [t0 + pd.Timedelta("45s"), t0 + pd.Timedelta("90s"), t0 + pd.Timedelta("5min 30s")],
            "ttft_s": [0.5, np.nan, 1.0],
            "input_tokens": [1, 2, 3],
            "output_tokens": [4, 5, 6],
            "cost_usd": [0.1, 0.2, 0.3],
        }
    )
    for c in CANONICAL_COLUMNS:
        if c not in df.columns:
            df[c] = None
    for engine in ("duckdb", "pandas"):
        w = aggregate(df, "1min", engine=engine).wide.xs("x", level="agent")
        assert len(w) == 6  # minutes 0..5, 2..4 empty
        np.testing.assert_allclose(w["concurrency"].to_numpy(), [1.0, 0.5, 0, 0, 0, 0.5])
        np.testing.assert_array_equal(w["arrivals"].to_numpy(), [2, 0, 0, 0, 0, 1])
        np.testing.assert_array_equal(w["completions"].to_numpy(), [1, 1, 0, 0, 0, 1])
        assert w["latency_mean"].isna().tolist() == [False, False, True, True, True, False]
        np.testing.assert_allclose(w["error_rate"].to_numpy()[[0, 1, 5]], [0.0, 1.0, 0.0])
        np.testing.assert_allclose(w["latency_p50"].to_numpy()[[0, 1, 5]], [30.0, 60.0, 30.0])
    # start/end widen the grid
    p = aggregate(df, "1min", start=t0 - pd.Timedelta("2min"), end=t0 + pd.Timedelta("8min"))
    assert p.tidy["period"].nunique() == 10


def test_request_level_rows(spans):
    panel = aggregate(spans, "1min").wide.xs("_all", level="agent")
    req = request_table(spans)
    # independent: group spans by trace
    g = spans.groupby("trace_id")
    first, last = g["start_ts"].min(), g["end_ts"].max()
    lat = (last - first).dt.total_seconds()
    np.testing.assert_allclose(np.sort(req["latency_s"].to_numpy()), np.sort(lat.to_numpy()), rtol=1e-12)
    done = pd.DataFrame({"p": last.dt.floor("1min"), "lat": lat}).groupby("p")["lat"]
    got = panel.loc[done.size().index]
    np.testing.assert_array_equal(got["completions"].to_numpy(), done.size().to_numpy(float))
    np.testing.assert_allclose(got["latency_p99"].to_numpy(), done.quantile(0.99).to_numpy(), rtol=1e-9)
    tok = spans.assign(p=g["start_ts"].transform("min").dt.floor("1min")).groupby("p")["input_tokens"].sum()
    np.testing.assert_allclose(panel.loc[tok.index, "input_tokens"].to_numpy(), tok.to_numpy(float))


def test_duckdb_streams_partitioned_parquet_and_csv(tmp_path, spans):
    ref = aggregate(spans, "1min").wide
    parts = np.array_split(np.arange(len(spans)), 3)
    (tmp_path / "pq").mkdir()
    (tmp_path / "csv").mkdir()
    for i, idx in enumerate(parts):
        write_canonical(spans.iloc[idx], tmp_path / "pq" / f"part-{i}.parquet")
        write_canonical(spans.iloc[idx], tmp_path / "csv" / f"part-{i}.csv")
    for src in (tmp_path / "pq", sorted((tmp_path / "csv").glob("*.csv"))):
        got = aggregate(src, "1min", threads=2, memory_limit="1GB").wide
        np.testing.assert_allclose(got.to_numpy(float), ref.to_numpy(float), rtol=1e-12, equal_nan=True)


def test_dask_equals_duckdb_on_partitioned_input(tmp_path, spans):
    distributed = pytest.importorskip("distributed")
    d = tmp_path / "parts"
    d.mkdir()
    for i, idx in enumerate(np.array_split(np.arange(len(spans)), 4)):
        write_canonical(spans.iloc[idx], d / f"part-{i}.parquet")
    duck = aggregate(d, "1min")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        dsk = aggregate(d, "1min", engine="dask", scheduler=client)
        by_address = aggregate(d, "1min", engine="dask", scheduler=cluster.scheduler_address)
    a, b = duck.wide, dsk.wide
    np.testing.assert_array_equal(b.to_numpy(float), by_address.wide.to_numpy(float))
    assert a.index.equals(b.index) and list(a.columns) == list(b.columns)
    counts = ["arrivals", "completions", "input_tokens", "output_tokens"]
    np.testing.assert_array_equal(a[counts].to_numpy(), b[counts].to_numpy())  # exact
    np.testing.assert_allclose(a.to_numpy(float), b.to_numpy(float), rtol=1e-12, atol=1e-12, equal_nan=True)


def test_bad_period():
    with pytest.raises(ValueError, match="fixed pandas offset"):
        aggregate(pd.DataFrame(), "MS")
    with pytest.raises(ValueError):
        aggregate(pd.DataFrame(), "1min", engine="spark")


def test_parquet_with_open_spans_equals_dataframe_and_pandas(tmp_path, spans):
    """Spans without an end (still running / arrival-only) in Parquet: the DuckDB path that
    answers ``end_ts IS NULL`` from row-group statistics must still subtract them from n_sc."""
    s = spans.copy()
    s.loc[s.index[::7], "end_ts"] = pd.NaT
    write_canonical(s.iloc[: len(s) // 2], tmp_path / "a.parquet")
    write_canonical(s.iloc[len(s) // 2 :], tmp_path / "b.parquet")
    from_files = aggregate(tmp_path, "1min").wide
    from_frame = aggregate(s, "1min").wide
    reference = aggregate(s, "1min", engine="pandas").wide
    got = from_files.to_numpy(float)
    np.testing.assert_allclose(got, from_frame.to_numpy(float), rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(got, reference.to_numpy(float), rtol=1e-9, atol=1e-9, equal_nan=True)
    # independent check of the concurrency of one agent: only spans with an end are in flight
    a = s[(s["agent_name"] == "solve_medium") & s["end_ts"].notna()]
    w = from_files.xs("solve_medium", level="agent")
    base = w.index[0]
    st = (a["start_ts"] - base).dt.total_seconds().to_numpy()
    en = (a["end_ts"] - base).dt.total_seconds().to_numpy()
    t0 = (w.index - base).total_seconds().to_numpy()
    overlap = np.clip(
        np.minimum(en[None, :], t0[:, None] + 60) - np.maximum(st[None, :], t0[:, None]), 0, None
    )
    np.testing.assert_allclose(w["concurrency"].to_numpy(), overlap.sum(axis=1) / 60, rtol=1e-9, atol=1e-9)


def test_nanosecond_timestamps_all_engines_and_sources(tmp_path):
    """OTLP records nanoseconds: latencies that differ below a microsecond must stay distinct
    (a microsecond floor would shift these percentiles by up to 1e-3 relative)."""
    rng = np.random.default_rng(3)
    n = 400
    t0 = pd.Timestamp("2024-06-01", tz="UTC").value
    start = t0 + rng.integers(0, 180 * 10**9, n)
    lat_ns = rng.integers(1_000, 3_000, n)  # 1-3 microseconds, nanosecond resolution
    df = pd.DataFrame(
        {
            "trace_id": [f"t{i}" for i in range(n)],
            "span_id": [f"s{i}" for i in range(n)],
            "parent_span_id": [None] * n,
            "agent_name": np.where(np.arange(n) % 2 == 0, "a", "b"),
            "status": "ok",
            "start_ts": pd.to_datetime(start, unit="ns", utc=True),
            "end_ts": pd.to_datetime(start + lat_ns, unit="ns", utc=True),
            "ttft_s": 0.1,
            "input_tokens": 1,
            "output_tokens": 1,
            "cost_usd": 0.0,
        }
    )
    # independent: exact latencies (s) grouped by end minute, numpy "linear" percentiles
    end_min = (start + lat_ns) // (60 * 10**9)
    exp = {}
    for agent in ("a", "b"):
        m = df["agent_name"].to_numpy() == agent
        for b in np.unique(end_min[m]):
            sel = lat_ns[m & (end_min == b)] / 1e9
            exp[(agent, b)] = (np.percentile(sel, [50, 95, 99]), sel.mean())
    df.to_parquet(tmp_path / "spans.parquet")
    csv = df.assign(
        start_ts=[str(pd.Timestamp(v, unit="ns", tz="UTC")) for v in start],
        end_ts=[str(pd.Timestamp(v, unit="ns", tz="UTC")) for v in start + lat_ns],
    )
    csv.to_csv(tmp_path / "spans.csv", index=False)
    assert "." in csv["start_ts"].iloc[0] and len(csv["start_ts"].iloc[0].split(".")[1]) >= 9
    panels = {
        "frame": aggregate(df, "1min", requests=False),
        "parquet": aggregate(tmp_path / "spans.parquet", "1min", requests=False),
        "csv": aggregate(tmp_path / "spans.csv", "1min", requests=False),
        "pandas": aggregate(df, "1min", engine="pandas", requests=False),
    }
    for name, p in panels.items():
        w = p.wide
        for (agent, b), (q, mean) in exp.items():
            row = w.loc[(pd.Timestamp(int(b) * 60 * 10**9, unit="ns", tz="UTC"), agent)]
            got = row[["latency_p50", "latency_p95", "latency_p99"]].to_numpy(float)
            np.testing.assert_allclose(got, q, rtol=1e-12, err_msg=f"{name} {agent} {b}")
            np.testing.assert_allclose(row["latency_mean"], mean, rtol=1e-12, err_msg=name)


def test_ends_query_variants_agree_and_facts_read_from_footers(tmp_path, spans):
    """The leaner completion query (error count packed into the completion count, TTFT count
    taken from the completion count) must equal the plain one, and it may only be chosen when
    the Parquet footers prove ``ttft_s`` has no NULLs."""
    import importlib

    import duckdb

    agg = importlib.import_module("dsge_agents.traces.aggregate")  # the module, not the function

    s = spans.copy()
    s["status"] = np.where(np.arange(len(s)) % 5 == 0, "error", "ok")
    full = s.assign(ttft_s=s["ttft_s"].fillna(0.25))
    holes = full.copy()
    holes.loc[holes.index[::3], "ttft_s"] = np.nan
    write_canonical(full, tmp_path / "full.parquet")
    write_canonical(holes, tmp_path / "holes.parquet")
    P = agg.period_ns("1min")
    con = duckdb.connect()
    try:
        open_spans = bool(full["end_ts"].isna().any())
        rel, files = agg._duck_source(con, tmp_path / "full.parquet")
        facts = agg._duck_facts(con, tmp_path / "full.parquet", files)
        assert facts == agg._Facts(len(full), False, open_spans, True)
        _, files_h = agg._duck_source(con, tmp_path / "holes.parquet")
        facts = agg._duck_facts(con, tmp_path / "holes.parquet", files_h)
        assert facts == agg._Facts(len(holes), True, open_spans, True)
        assert agg._duck_facts(con, holes, None) == agg._Facts(len(holes), True, open_spans, True)
        opened = full.copy()
        opened.loc[opened.index[::4], "end_ts"] = pd.NaT
        write_canonical(opened, tmp_path / "opened.parquet")
        assert agg._duck_facts(con, tmp_path / "opened.parquet", [str(tmp_path / "opened.parquet")]).end_null
        assert agg._duck_facts(con, tmp_path / "x.csv", None) == agg._Facts()
        closed = full[full["end_ts"].notna()]
        write_canonical(closed, tmp_path / "closed.parquet")
        write_canonical(closed.drop(columns=["ttft_s"]), tmp_path / "no_ttft.parquet")
        both = [str(tmp_path / "closed.parquet"), str(tmp_path / "no_ttft.parquet")]
        facts = agg._duck_facts(con, tmp_path / "closed.parquet", [both[0]])
        assert facts == agg._Facts(len(closed), False, False, True)
        assert agg._duck_facts(con, both, both) == agg._Facts(2 * len(closed), True, False, True)
        (tmp_path / "broken.parquet").write_bytes(b"not parquet")
        assert agg._duck_facts(con, tmp_path, [str(tmp_path / "broken.parquet")]) == agg._Facts()
        base = agg._duck_base(rel, agg._ERR_EXACT)
        con.execute("CREATE TEMP VIEW base AS " + base)
        frames = {}
        for pack in (False, True):
            for complete in (False, True):
                q = agg._duck_ends_sql("base", P, pack_errors=pack, ttft_complete=complete)
                f = con.execute(q).df()
                assert sorted(f.columns) == sorted(agg._END_COLS)
                frames[pack, complete] = f[agg._END_COLS].sort_values(["agent", "b"]).reset_index(drop=True)
    finally:
        con.close()
    ref = frames[False, False]
    assert ref["n_err"].sum() == (full["status"] == "error").sum()
    for key, f in frames.items():
        for c in agg._END_COLS:
            if c == "agent":
                assert f[c].tolist() == ref[c].tolist()
            else:
                np.testing.assert_allclose(
                    f[c].to_numpy(float), ref[c].to_numpy(float), rtol=1e-12, err_msg=f"{key} {c}"
                )
    # end to end: TTFT mean with NULLs present equals the independent mean over non-NULL values
    w = aggregate(tmp_path / "holes.parquet", "1min", requests=False).wide
    exp = holes[holes["end_ts"].notna()].assign(p=holes["end_ts"].dt.floor("1min"))
    exp = exp.groupby(["p", "agent_name"])["ttft_s"].mean()
    got = w["ttft_mean"].reindex(list(exp.index))
    np.testing.assert_allclose(got.to_numpy(), exp.to_numpy(), rtol=1e-12)


def test_long_periods_with_many_spans_do_not_overflow():
    """Nanosecond offsets near the end of a 240-hour period, 11,000 spans: their sum exceeds
    the int64 range, so the pandas engine must not sum them as int64 (DuckDB uses 128 bits)."""
    n = 11_000
    P = pd.Timedelta("240h")
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    grid0 = pd.Timestamp(t0.value // P.value * P.value, unit="ns", tz="UTC")  # a period start
    start = grid0 + P - pd.Timedelta("1h") + pd.to_timedelta(np.arange(n), unit="s") / 10
    df = pd.DataFrame(
        {
            "trace_id": [f"t{i}" for i in range(n)],
            "span_id": [f"s{i}" for i in range(n)],
            "parent_span_id": [None] * n,
            "agent_name": "a",
            "status": "ok",
            "start_ts": start,
            "end_ts": start + pd.Timedelta("2h"),
            "ttft_s": 0.1,
            "input_tokens": 1,
            "output_tokens": 1,
            "cost_usd": 0.0,
        }
    )
    assert float(n) * (P.value - 3.6e12) > np.iinfo(np.int64).max
    duck = aggregate(df, "240h", requests=False).wide
    pand = aggregate(df, "240h", engine="pandas", requests=False).wide
    np.testing.assert_allclose(pand.to_numpy(float), duck.to_numpy(float), rtol=1e-9, equal_nan=True)
    # independent: every span is in flight for its last 1h of period 0 and 1h of period 1
    w = duck.xs("a", level="agent")
    in_first = ((grid0 + P) - start).total_seconds().to_numpy()
    np.testing.assert_allclose(w["concurrency"].iloc[0], in_first.sum() / P.total_seconds(), rtol=1e-9)
    np.testing.assert_allclose(w["latency_mean"].iloc[1], 7200.0, rtol=1e-12)


def test_unvalidated_files_status_spellings_and_bad_times_all_engines(tmp_path, spans):
    """Files handed to aggregate without validation: status spelled as exporters spell it
    (ERROR, STATUS_CODE_ERROR, ' failed ', Ok) counts as the readers count it -- the panels
    equal those of the validated, reader-normalised spans -- in every engine, for CSV always
    and for Parquet with normalize_status=True; optional columns may be absent; a time that
    does not parse is a named TraceValidationError, not a deep traceback or a dropped row."""
    from dsge_agents.traces.readers import read_canonical

    s = spans.drop(columns=["ttft_s", "cached_input_tokens"]).reset_index(drop=True)
    spell = np.array(["ERROR", "STATUS_CODE_ERROR", " failed ", "Ok", "success", "STATUS_CODE_UNSET"])
    s["status"] = np.where(s["status"] == "error", spell[np.arange(len(s)) % 3],
                           spell[3 + np.arange(len(s)) % 3])
    csv, pq = tmp_path / "s.csv", tmp_path / "s.parquet"
    s.to_csv(csv, index=False)
    s.to_parquet(pq)
    # reference: the reader's coercion (schema.normalize_status in pandas), then the DataFrame path
    canon = read_canonical(csv)
    assert set(canon["status"]) <= {"ok", "error", "unset"} and (canon["status"] == "error").sum() == (
        spans["status"] == "error").sum() > 0
    ref = aggregate(canon, "1min").wide
    assert ref["error_rate"].max() > 0
    for engine in ("duckdb", "pandas", "dask"):
        for src, kw in ((csv, {}), (pq, {"normalize_status": True})):
            got = aggregate(src, "1min", engine=engine, **kw).wide
            np.testing.assert_allclose(got.to_numpy(float), ref.to_numpy(float), rtol=1e-9, atol=1e-12,
                                       equal_nan=True, err_msg=f"{engine} {src.name}")
    # Parquet taken as canonical by default: the odd spellings are not errors there (documented)
    assert aggregate(pq, "1min").wide["error_rate"].max() == 0
    bad = tmp_path / "bad.csv"
    s.assign(start_ts=s["start_ts"].astype(str).where(s.index != 5, "yesterday")).to_csv(bad, index=False)
    for engine in ("duckdb", "pandas", "dask"):
        with pytest.raises(TraceValidationError, match="yesterday.*validated spans"):
            aggregate(bad, "1min", engine=engine)
