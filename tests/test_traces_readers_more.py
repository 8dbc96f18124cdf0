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


# ----------------------------------------------------------------------------- Parquet MAP columns
def test_langfuse_parquet_map_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    us = pa.timestamp("us")
    t = pa.table({
        "id": ["o1", "o2"], "trace_id": ["t1", "t1"], "parent_observation_id": [None, "o1"],
        "type": ["SPAN", "GENERATION"], "name": ["root", "gen"],
        "start_time": pa.array([1717200000000000, 1717200001000000], us),
        "end_time": pa.array([1717200005000000, 1717200003000000], us),
        "usage_details": pa.array([[], [("input", 100), ("output", 20), ("cache_read_input_tokens", 30)]],
                                  pa.map_(pa.string(), pa.uint64())),
        "cost_details": pa.array([[], [("total", 0.5)]], pa.map_(pa.string(), pa.float64())),
        "metadata": pa.array([[("gen_ai.agent.name", "planner")],
                              [("gen_ai.provider.name", "openai"), ("agent_name", "writer")]],
                             pa.map_(pa.string(), pa.string())),
    })
    p = tmp_path / "obs.parquet"
    pq.write_table(t, p)
    df = R.read_spans(p, format="langfuse").set_index("span_id")
    assert df.loc["o2", "input_tokens"] == 100 and df.loc["o2", "output_tokens"] == 20
    assert df.loc["o2", "cached_input_tokens"] == 30 and df.loc["o2", "cost_usd"] == 0.5
    assert df.loc["o2", "provider"] == "openai"
    assert df.loc["o1", "agent_name"] == "planner" and df.loc["o2", "agent_name"] == "writer"
    assert pd.isna(df.loc["o1", "input_tokens"]) and pd.isna(df.loc["o1", "cost_usd"])


def test_phoenix_and_langsmith_parquet_map_columns(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    smap = pa.map_(pa.string(), pa.string())
    phx = pa.table({
        "context.span_id": ["s1"], "context.trace_id": ["t1"], "parent_id": [None], "name": ["llm"],
        "span_kind": ["LLM"], "start_time": ["2024-06-01T00:00:00Z"], "end_time": ["2024-06-01T00:00:02Z"],
        "status_code": ["OK"],
        "attributes": pa.array([[("llm.model_name", "gpt-4o"), ("llm.token_count.prompt", "11")]], smap),
    })
    p = tmp_path / "phx.parquet"
    pq.write_table(phx, p)
    df = R.read_spans(p, format="phoenix")
    assert df["model"].iat[0] == "gpt-4o" and df["input_tokens"].iat[0] == 11

    ls = pa.table({
        "id": ["r1"], "trace_id": ["r1"], "parent_run_id": [None], "name": ["ChatOpenAI"], "run_type": ["llm"],
        "start_time": ["2024-06-01T00:00:00Z"], "end_time": ["2024-06-01T00:00:01Z"], "status": ["success"],
        "prompt_tokens": [7], "completion_tokens": [3],
        "metadata": pa.array([[("ls_provider", "openai"), ("ls_model_name", "gpt-4o-mini")]], smap),
        "prompt_token_details": pa.array([[("cache_read", 4)]], pa.map_(pa.string(), pa.int64())),
    })
    q = tmp_path / "ls.parquet"
    pq.write_table(ls, q)
    df = R.read_spans(q, format="langsmith")
    assert df["provider"].iat[0] == "openai" and df["model"].iat[0] == "gpt-4o-mini"
    assert df["cached_input_tokens"].iat[0] == 4


def test_nested_maps_become_nested_dicts():
    v = [("a", 1), ("b", [("c", "x")])]
    assert R._maybe_json(v) == {"a": 1, "b": {"c": "x"}}
    assert R._maybe_json([["a", 1]]) == [["a", 1]]  # JSON arrays stay lists
    assert R._maybe_json([(1, 2)]) == [(1, 2)]  # not string keys: not a map


# ----------------------------------------------------------------------------- Langfuse column names
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_langfuse_columns_that_snake_case_alike_are_a_named_error(tmp_path, suffix):
    rows = [{"id": "o1", "traceId": "t1", "trace_id": "t2", "startTime": "2024-06-01T00:00:00Z",
             "endTime": "2024-06-01T00:00:01Z"}]
    p = tmp_path / f"lf{suffix}"
    if suffix == ".csv":
        pd.DataFrame(rows).to_csv(p, index=False)
    else:
        _jsonl(p, rows)
    with pytest.raises(TraceFormatError, match=rf"lf\{suffix}: columns 'traceId' and 'trace_id' both name .*'trace_id'"):
        R.read_spans(p, format="langfuse")


def test_langfuse_extra_columns_named_like_canonical_ones_are_kept_apart(tmp_path):
    rows = [{"id": "o1", "traceId": "t1", "type": "GENERATION", "startTime": "2024-06-01T00:00:00Z",
             "endTime": "2024-06-01T00:00:02Z", "level": "DEFAULT",
             "start_ts": "1999-01-01T00:00:00Z", "status": "error", "span_id": "other", "tenant": "acme"}]
    p = _jsonl(tmp_path / "lf.jsonl", rows)
    df = R.read_spans(p, format="langfuse")
    r = df.iloc[0]
    assert r["span_id"] == "o1" and r["status"] == "ok" and r["start_ts"] == T0
    assert r["langfuse.start_ts"] == "1999-01-01T00:00:00Z" and r["langfuse.status"] == "error"
    assert r["langfuse.span_id"] == "other" and r["tenant"] == "acme"


# ----------------------------------------------------------------------------- Azure
AZ_HEAD = "TIMESTAMP,ContextTokens,GeneratedTokens"


def test_azure_rows_are_line_numbers_and_extra_columns_kept(tmp_path):
    p = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    p.write_text(AZ_HEAD + ",Region,model\n"            # line 1
                 "\n"                                      # line 2: blank
                 "2023-11-16 18:15:46.6805900,374,44,eu,gpt-4\n"   # line 3
                 "\n\n"                                    # lines 4, 5
                 "2023-11-16 18:15:50.9951690,396,109,us,gpt-35\n")  # line 6
    df = R.read_spans(p)
    assert df["_row"].tolist() == [3, 6]
    assert df["Region"].tolist() == ["eu", "us"]
    assert df["azure.model"].tolist() == ["gpt-4", "gpt-35"] and df["model"].isna().all()
    assert df["input_tokens"].tolist() == [374, 396] and df["output_tokens"].tolist() == [44, 109]
    assert df["agent_name"].tolist() == ["conv", "conv"]


def test_azure_dataset_kind_must_match_the_file_name(tmp_path):
    from dsge_agents import datasets
    from dsge_agents.errors import DataError

    body = AZ_HEAD + "\n2023-11-16 18:15:46.6805900,374,44\n"
    conv = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    conv.write_text(body)
    with pytest.raises(DataError, match=r"AzureLLMInferenceTrace_conv\.csv: the file name says the 'conv' trace, "
                                        r"but kind='code'"):
        datasets.azure_llm_2023("code", path=conv)
    assert datasets.azure_llm_2023("conv", path=conv)["agent_name"].tolist() == ["conv"]
    other = tmp_path / "arrivals.csv"  # a name that says nothing: the kind asked for labels it
    other.write_text(body)
    assert datasets.azure_llm_2023("code", path=other)["agent_name"].tolist() == ["code"]


# ----------------------------------------------------------------------------- far-future typed times
def test_typed_times_beyond_year_9999_are_unparseable(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    # nanosecond values stored under a microsecond type: 1717200000e9 us = 1717200000000 s
    # = 19 875 000 days after 1970-01-01, in the year 56385; +1e9 us = +1000 s = 00:16:40
    ns = np.array([1717200000_000000000, 1717200001_000000000], dtype=np.int64)
    t = pa.table({
        "trace_id": ["t", "t"], "span_id": ["a", "b"],
        "start_ts": pa.array(ns, pa.timestamp("ns", tz="UTC")),
        "end_ts": pa.array(ns, pa.timestamp("us", tz="UTC")),
    })
    p = tmp_path / "f.parquet"
    pq.write_table(t, p)
    df = R.read_spans(p)
    assert df["start_ts"].tolist() == [T0, T0 + pd.Timedelta(seconds=1)]
    assert df["end_ts"].isna().all()
    assert df["_raw_end"].iloc[0].startswith("56385-") and " 00:00:00" in df["_raw_end"].iloc[0]
    assert " 00:16:40" in df["_raw_end"].iloc[1]
    acc, rep = validate(df, "quarantine", quarantine_path=tmp_path / "q.parquet")
    assert rep.problems.get("unparseable_timestamp") == 2 and len(acc) == 0
