"""The aggregation result API: series lookups, request rows of unfinished requests, start/end
bounds, return_requests. Expected values are worked out by hand from the spans built here."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsge_agents.errors import TraceValidationError
from dsge_agents.traces.aggregate import aggregate, request_table

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def spans(**over) -> pd.DataFrame:
    """Trace t: a root (agent A, 0-10 s) with one child (A, 1-5 s); trace u: one root (B, 2-4 s)."""
    df = pd.DataFrame({
        "trace_id": ["t", "t", "u"], "span_id": ["r", "c", "v"], "parent_span_id": [None, "r", None],
        "agent_name": ["A", "A", "B"],
        "start_ts": [T0, T0 + pd.Timedelta("1s"), T0 + pd.Timedelta("2s")],
        "end_ts": [T0 + pd.Timedelta("10s"), T0 + pd.Timedelta("5s"), T0 + pd.Timedelta("4s")],
        "ttft_s": [0.5, 0.1, 0.2], "input_tokens": [1, 2, 3], "output_tokens": [4, 5, 6],
        "cost_usd": [0.1, 0.2, 0.3], "status": ["ok", "ok", "error"],
    })
    for k, v in over.items():
        df[k] = v
    return df


def test_series_of_an_unknown_metric_or_agent_is_a_named_error():
    p = aggregate(spans(), "1min", engine="pandas")
    assert p.series("arrivals", "A").tolist() == [2.0]
    with pytest.raises(KeyError, match="unknown metric 'latency'; metrics are arrivals"):
        p.series("latency", "A")
    with pytest.raises(KeyError, match="no agent 'Z' in this panel; agents are A, B, _all"):
        p.series("arrivals", "Z")


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_a_request_with_an_open_span_has_not_completed(engine):
    """The root of trace t has no end yet (its child ended at 5 s): t arrived but has not
    completed; only u completes, with latency 2 s."""
    df = spans()
    df.loc[0, "end_ts"] = pd.NaT
    w = aggregate(df, "1min", engine=engine).wide.xs("_all", level="agent")
    assert w["arrivals"].tolist() == [2.0] and w["completions"].tolist() == [1.0]
    assert w["latency_mean"].tolist() == [2.0]
    rt = request_table(df).set_index("trace_id")
    assert pd.isna(rt.loc["t", "end_ts"]) and np.isnan(rt.loc["t", "latency_s"])
    assert rt.loc["u", "latency_s"] == 2.0


def test_start_and_end_bounds_are_checked():
    df = spans()
    with pytest.raises(ValueError, match="start='yesterday-ish': not a timestamp"):
        aggregate(df, "1min", engine="pandas", start="yesterday-ish")
    with pytest.raises(ValueError, match="is not before end="):
        aggregate(df, "1min", engine="pandas", start="2024-01-01 00:10", end="2024-01-01 00:05")
    p = aggregate(df, "1min", engine="pandas", start="2023-12-31 23:58", end="2024-01-01 00:02")
    assert sorted(p.tidy["period"].unique()) == list(pd.date_range("2023-12-31 23:58", periods=4, freq="1min", tz="UTC"))


def test_return_requests_and_request_table_need_what_they_use(tmp_path):
    df = spans()
    p = aggregate(df, "1min", engine="pandas", return_requests=True)
    assert p.requests.set_index("trace_id")["latency_s"].to_dict() == {"t": 10.0, "u": 2.0}
    df.to_parquet(tmp_path / "s.parquet")
    with pytest.raises(ValueError, match="return_requests=True takes a span DataFrame"):
        aggregate(tmp_path / "s.parquet", "1min", return_requests=True)
    with pytest.raises(TraceValidationError, match="no trace_id column"):
        request_table(df.drop(columns=["trace_id"]))


def test_spans_without_a_start_are_named_when_left_out():
    df = spans()
    df.loc[1, "start_ts"] = pd.NaT
    with pytest.warns(UserWarning, match="1 of 3 spans have no start_ts and are left out"):
        p = aggregate(df, "1min", engine="pandas", requests=False)
    assert p.wide["arrivals"].sum() == 2.0
