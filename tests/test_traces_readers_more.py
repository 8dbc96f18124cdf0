"""Reader edge cases: Langfuse latency units and overflow, MAP-typed Parquet columns, column
name clashes, Azure rows and extras, far-future typed times."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from dsge_agents.traces import readers as R
from dsge_agents.traces.readers import TraceFormatError
from dsge_agents.traces.validate import validate

T0 = pd.Timestamp("2024-06-01T00:00:00Z")


def _jsonl(path, recs):
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    return path


# ----------------------------------------------------------------------------- Langfuse latency
def _old_ms(tmp_path, **extra):
    recs = [
        {"id": "o1", "traceId": "t1", "type": "GENERATION", "startTime": "2024-06-01T00:00:00Z",
         "latency": 2000, "timeToFirstToken": 300, **extra},
        {"id": "o2", "traceId": "t1", "type": "GENERATION", "startTime": "2024-06-01T00:00:01Z",
         "latency": 3000, "timeToFirstToken": 400, **extra},
    ]
    return _jsonl(tmp_path / "old_ms.jsonl", recs)


def test_langfuse_latency_unit_undetectable_warns(tmp_path):
    p = _old_ms(tmp_path)
    with pytest.warns(UserWarning, match=r"old_ms\.jsonl: .*time_unit='s' or 'ms'.*--time-unit"):
        df = R.read_spans(p)
    # read as seconds (the documented default), as the warning says
    assert df["end_ts"].tolist() == [T0 + pd.Timedelta(seconds=2000), T0 + pd.Timedelta(seconds=3001)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an explicit unit: no warning
        ms = R.read_spans(p, time_unit="ms")
    assert ms["end_ts"].tolist() == [T0 + pd.Timedelta(seconds=2), T0 + pd.Timedelta(seconds=4)]
    assert ms["ttft_s"].tolist() == [0.3, 0.4]


def test_langfuse_unit_from_completion_start_time(tmp_path):
    # no endTime, but completionStartTime: timeToFirstToken (ms) against it tells the unit
    recs = [
        {"id": "o1", "traceId": "t1", "startTime": "2024-06-01T00:00:00Z",
         "completionStartTime": "2024-06-01T00:00:00.300Z", "latency": 2000, "timeToFirstToken": 300},
        {"id": "o2", "traceId": "t1", "startTime": "2024-06-01T00:00:01Z", "latency": 1500},
    ]
    p = _jsonl(tmp_path / "cst.jsonl", recs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        df = R.read_spans(p)
    assert df["end_ts"].tolist() == [T0 + pd.Timedelta(seconds=2), T0 + pd.Timedelta(seconds=2.5)]
    assert df["ttft_s"].iloc[0] == pytest.approx(0.3)


@pytest.mark.parametrize("latency", ["Infinity", "1e12", "-1e12"])
def test_langfuse_latency_beyond_timestamps_is_an_unparseable_end(tmp_path, latency):
    p = tmp_path / "lat.jsonl"
    p.write_text('{"id":"o1","traceId":"t1","startTime":"2024-06-01T00:00:00Z","latency":%s}\n'
                 '{"id":"o2","traceId":"t1","startTime":"2024-06-01T00:00:00Z","latency":1.5}\n' % latency)
    df = R.read_spans(p, time_unit="s")
    assert pd.isna(df["end_ts"].iloc[0]) and df["end_ts"].iloc[1] == T0 + pd.Timedelta(seconds=1.5)
    assert "latency" in df["_raw_end"].iloc[0] and pd.isna(df["_raw_end"].iloc[1])
    acc, rep = validate(df, "quarantine", quarantine_path=tmp_path / "q.parquet", check_parents=False)
    assert rep.problems.get("unparseable_timestamp") == 1 and acc["span_id"].tolist() == ["o2"]
    assert "latency" in rep.examples["unparseable_timestamp"][0]["value"]
