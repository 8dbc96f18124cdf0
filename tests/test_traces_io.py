"""Readers and writers of trace formats: round trips and format details (issue 4, item 1)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dsge_agents.errors import TraceValidationError
from dsge_agents.traces import readers as R
from dsge_agents.traces import writers as W
from dsge_agents.traces.schema import CANONICAL_COLUMNS, canonical_equal
from dsge_agents.traces.simulate import (
    AgentSpec,
    Outage,
    RateLimit,
    RetryPolicy,
    SimulationConfig,
    StageSpec,
    poisson_arrivals,
    simulate,
)


@pytest.fixture(scope="module")
def sim_spans():
    """Simulated spans with errors of both kinds (rate limit, timeout) and retries."""
    cfg = SimulationConfig(
        stages=[
            StageSpec(
                "plan",
                [
                    AgentSpec(
                        "planner",
                        servers=2,
                        decode_tps=200,
                        model="m-small",
                        provider="p1",
                        price_in=0.15,
                        price_out=0.6,
                    )
                ],
                next={"act": 0.8},
            ),
            StageSpec(
                "act",
                [
                    AgentSpec(
                        "coder",
                        servers=1,
                        decode_tps=100,
                        model="m-large",
                        provider="p2",
                        price_in=3,
                        price_out=15,
                        share=0.5,
                    ),
                    AgentSpec("tester", servers=1, decode_tps=300, share=0.5),
                ],
            ),
        ],
        rate_limits=[RateLimit("planner", 5, 15, 2)],
        outages=[Outage("coder", 20, 30, 1.0)],
        timeout_s=4.0,
        retry=RetryPolicy(max_retries=1, backoff_s=0.2),
    )
    arr = poisson_arrivals(3.0, 150, seed=3, input_tokens=300, output_tokens=60)
    res = simulate(cfg, arr, seed=4)
    sp = res.spans[CANONICAL_COLUMNS].copy()
    assert (sp["error_type"] == "rate_limited").any() and (sp["error_type"] == "timeout").any()
    sp.loc[sp.index[5], "cached_input_tokens"] = 123  # exercise the cached-token field
    return sp


@pytest.mark.parametrize(
    "name,writer,kw",
    [
        ("spans_otlp.json", W.write_otlp_json, {}),
        ("spans_otlp.jsonl", W.write_otlp_json, {"jsonl": True}),
        ("lf.csv", W.write_langfuse, {}),
        ("lf_ms.jsonl", W.write_langfuse, {"time_unit": "ms"}),
        ("lf.parquet", W.write_langfuse, {}),
        ("phoenix.parquet", W.write_phoenix, {}),
        ("langsmith.jsonl", W.write_langsmith, {}),
        ("canonical.csv", W.write_canonical, {}),
        ("canonical.parquet", W.write_canonical, {}),
    ],
)
def test_round_trip(tmp_path, sim_spans, name, writer, kw):
    path = writer(sim_spans, tmp_path / name, **kw)
    back = R.read_spans(path)
    assert back.attrs["formats"] == [R.detect_format(path)]
    assert canonical_equal(sim_spans, back) == []
    # the explicit format override reads the same
    fmt = back.attrs["formats"][0]
    again = R.read_spans(path, format=fmt)
    assert canonical_equal(back, again) == []


def test_canonical_equal_detects_differences(sim_spans):
    other = sim_spans.copy()
    other.loc[other.index[3], "input_tokens"] = 999_999
    other.loc[other.index[4], "end_ts"] += pd.Timedelta("1ms")
    d = canonical_equal(sim_spans, other)
    assert any(x.startswith("input_tokens") for x in d) and any(x.startswith("end_ts") for x in d)


def _otlp_doc():
    def attr(k, v):
        return {"key": k, "value": v}

    spans = [
        {
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b174",
            "name": "invoke_agent Planner",
            "kind": 1,
            "startTimeUnixNano": "1700000000000000000",
            "endTimeUnixNano": 1700000003000000000,
            "attributes": [attr("gen_ai.operation.name", {"stringValue": "invoke_agent"})],
            "status": {"code": 1},
            "droppedAttributesCount": 0,
            "someFutureField": {"x": 1},
        },
        {
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b175",
            "parentSpanId": "eee19b7ec3c1b174",
            "name": "chat gpt-4",
            "kind": 3,
            "startTimeUnixNano": 1700000000500000000,
            "endTimeUnixNano": "1700000002500000000",
            "attributes": [
                attr("gen_ai.operation.name", {"stringValue": "chat"}),
                attr("gen_ai.system", {"stringValue": "openai"}),  # old name
                attr("gen_ai.request.model", {"stringValue": "gpt-4"}),
                attr("gen_ai.usage.prompt_tokens", {"intValue": "120"}),  # old name, int as string
                attr("gen_ai.usage.completion_tokens", {"intValue": 30}),  # int as number
                attr("gen_ai.usage.cache_read_input_tokens", {"intValue": "20"}),
                attr("gen_ai.request.stop_sequences", {"arrayValue": {"values": [{"stringValue": "x"}]}}),
                attr("error.type", {"stringValue": "timeout"}),
            ],
            "status": {"code": 2, "message": "deadline"},
        },
        {
            "traceId": "5b8efff798038103d269b633813fc60c",
            "spanId": "eee19b7ec3c1b176",
            "parentSpanId": "eee19b7ec3c1b175",
            "name": "execute_tool search",
            "kind": 1,
            "startTimeUnixNano": "1700000001000000000",
            "endTimeUnixNano": "1700000001200000000",
            "attributes": [
                attr("gen_ai.operation.name", {"stringValue": "execute_tool"}),
                attr("gen_ai.provider.name", {"stringValue": "anthropic"}),  # new name
                attr("gen_ai.usage.input_tokens", {"intValue": "7"}),
                attr("gen_ai.usage.output_tokens", {"intValue": "3"}),
                attr("gen_ai.usage.cost", {"doubleValue": 0.5}),
            ],
            "status": {},
        },
    ]
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [attr("service.name", {"stringValue": "svc"})]},
                "scopeSpans": [{"scope": {"name": "x"}, "spans": spans}],
            }
        ]
    }


def test_otlp_details(tmp_path):
    p = tmp_path / "t.json"
    p.write_text(json.dumps(_otlp_doc()))
    df = R.read_spans(p)
    assert list(df.columns[: len(CANONICAL_COLUMNS)]) == CANONICAL_COLUMNS
    assert str(df["start_ts"].dtype) == "datetime64[ns, UTC]"
    by = df.set_index("span_id")
    chat = by.loc["eee19b7ec3c1b175"]
    assert chat["provider"] == "openai" and chat["model"] == "gpt-4"
    assert (chat["input_tokens"], chat["output_tokens"], chat["cached_input_tokens"]) == (120, 30, 20)
    assert chat["status"] == "error" and chat["error_type"] == "timeout"
    assert chat["start_ts"] == pd.Timestamp(1700000000500000000, unit="ns", tz="UTC")
    # agent name from the nearest invoke_agent ancestor (two levels up for the tool span)
    assert chat["agent_name"] == "Planner" and by.loc["eee19b7ec3c1b176", "agent_name"] == "Planner"
    assert by.loc["eee19b7ec3c1b176", "provider"] == "anthropic"
    assert by.loc["eee19b7ec3c1b176", "cost_usd"] == 0.5
    assert by.loc["eee19b7ec3c1b176", "status"] == "unset"
    assert by.loc["eee19b7ec3c1b174", "status"] == "ok"
    # JSON lines of requests read the same
    q = tmp_path / "t.jsonl"
    q.write_text(json.dumps(_otlp_doc()) + "\n" + json.dumps({"resourceSpans": []}) + "\n")
    assert canonical_equal(df, R.read_spans(q)) == []


def test_otlp_bad_json_names_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps(_otlp_doc()) + "\n{not json\n")
    with pytest.raises(TraceValidationError, match="line 2"):
        R.read_spans(p, format="otlp")


def test_langfuse_ms_detection_and_option(tmp_path, sim_spans):
    sub = sim_spans[sim_spans["status"] == "ok"].head(40)
    p = W.write_langfuse(sub, tmp_path / "lf.csv", time_unit="ms")
    # drop completionStartTime and endTime: ttft and end must come from the ms fields
    df = pd.read_csv(p)
    df = df.drop(columns=["completionStartTime"])
    df.to_csv(p, index=False)
    auto = R.read_spans(p)
    assert canonical_equal(sub, auto) == []
    df2 = df.drop(columns=["endTime"])
    q = tmp_path / "lf2.csv"
    df2.to_csv(q, index=False)
    forced = R.read_spans(q, time_unit="ms")  # no end time: the unit cannot be detected
    assert canonical_equal(sub, forced) == []
    wrong = R.read_spans(q, time_unit="s")
    d = (wrong["end_ts"] - wrong["start_ts"]).dt.total_seconds().to_numpy()
    ok = (sub["end_ts"] - sub["start_ts"]).dt.total_seconds().to_numpy()
    np.testing.assert_allclose(d, np.round(ok * 1000, 3), rtol=1e-6)


def test_langfuse_snake_case_blob_export(tmp_path):
    rows = [
        {
            "id": "o1",
            "trace_id": "t1",
            "type": "AGENT",
            "name": "writer",
            "start_time": "2024-05-29 13:46:19.963000",
            "end_time": "2024-05-29 13:46:21.963000",
            "parent_observation_id": None,
            "level": "DEFAULT",
        },
        {
            "id": "o2",
            "trace_id": "t1",
            "type": "GENERATION",
            "name": "llm",
            "start_time": "2024-05-29 13:46:20.000000",
            "end_time": "2024-05-29 13:46:21.000000",
            "completion_start_time": "2024-05-29 13:46:20.250000",
            "parent_observation_id": "o1",
            "level": "ERROR",
            "status_message": "RateLimit",
            "model": "gpt-4o",
            "usage_details": {"input": 10, "output": 5},
            "cost_details": {"total": 0.01},
        },
    ]
    p = tmp_path / "obs.jsonl"
    p.write_text("\n".join(json.dumps(r) for r in rows))
    df = R.read_spans(p).set_index("span_id")
    assert df.loc["o2", "agent_name"] == "writer" and df.loc["o2", "operation"] == "chat"
    assert df.loc["o2", "status"] == "error" and df.loc["o2", "error_type"] == "RateLimit"
    assert df.loc["o2", "ttft_s"] == pytest.approx(0.25)
    assert df.loc["o2", "input_tokens"] == 10 and df.loc["o2", "cost_usd"] == 0.01


def test_phoenix_nested_attributes(tmp_path):
    df = pd.DataFrame(
        {
            "context.span_id": ["a1", "a2"],
            "context.trace_id": ["t", "t"],
            "parent_id": [None, "a1"],
            "name": ["agent", "ChatOpenAI"],
            "span_kind": ["AGENT", "LLM"],
            "start_time": pd.to_datetime(["2024-01-01 00:00:00", "2024-01-01 00:00:01"], utc=True),
            "end_time": pd.to_datetime(["2024-01-01 00:00:05", "2024-01-01 00:00:03"], utc=True),
            "status_code": ["OK", "ERROR"],
            "status_message": ["", "boom"],
            "events": [
                json.dumps([]),
                json.dumps(
                    [
                        {
                            "name": "exception",
                            "timestamp": "2024-01-01T00:00:02Z",
                            "attributes": {"exception.type": "ValueError"},
                        }
                    ]
                ),
            ],
            "attributes": [
                json.dumps({"agent": {"name": "researcher"}}),
                json.dumps(
                    {
                        "llm": {
                            "model_name": "gpt-4o",
                            "provider": "openai",
                            "token_count": {"prompt": 11, "completion": 4},
                        }
                    }
                ),
            ],
        }
    )
    p = tmp_path / "phx.parquet"
    df.to_parquet(p)
    out = R.read_spans(p).set_index("span_id")
    assert out.loc["a2", "agent_name"] == "researcher"  # from the AGENT ancestor
    assert out.loc["a2", "model"] == "gpt-4o" and out.loc["a2", "input_tokens"] == 11
    assert out.loc["a2", "error_type"] == "ValueError" and out.loc["a2", "operation"] == "chat"


def test_azure_reader(shared_data):
    p = shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv"
    df = R.read_spans(p)
    raw = pd.read_csv(p)
    assert df.attrs["formats"] == ["azure"] and df.attrs["arrivals_only"]
    assert len(df) == len(raw) == 8819
    assert df["end_ts"].isna().all() and (df["agent_name"] == "code").all()
    assert df["input_tokens"].sum() == raw["ContextTokens"].sum()
    assert df["output_tokens"].sum() == raw["GeneratedTokens"].sum()
    assert df["start_ts"].iloc[0] == pd.Timestamp("2023-11-16 18:17:03.97996", tz="UTC")
    assert df["span_id"].is_unique


def test_price_table_fills_missing_cost(tmp_path, sim_spans):
    sub = sim_spans[sim_spans["operation"] == "chat"].head(20).copy()
    sub["cost_usd"] = np.nan
    sub.loc[sub.index[0], "cost_usd"] = 42.0  # present costs are kept
    sub["cached_input_tokens"] = pd.array([10] * len(sub), dtype="Int64")
    p = W.write_canonical(sub, tmp_path / "c.parquet")
    prices = {"m-small": (0.15, 0.60, 0.075), "m-large": {"input": 3.0, "output": 15.0}}
    df = R.read_spans(p, price_table=prices)
    exp = []
    for _, r in sub.iterrows():
        pin, pout, pc = {"m-small": (0.15, 0.6, 0.075), "m-large": (3.0, 15.0, 3.0)}.get(
            r["model"], (np.nan,) * 3
        )
        exp.append(((r["input_tokens"] - 10) * pin + 10 * pc + r["output_tokens"] * pout) / 1e6)
    exp = np.array(exp)
    exp[0] = 42.0
    got = df["cost_usd"].to_numpy(float)
    known = sub["model"].isin(prices).to_numpy() | (np.arange(len(sub)) == 0)
    np.testing.assert_allclose(got[known], exp[known], rtol=1e-12)
    assert np.isnan(got[~known]).all()


def test_unknown_format_is_a_clear_error(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n1,2\n")
    with pytest.raises(TraceValidationError, match="x.csv.*cannot recognise"):
        R.read_spans(p)
    with pytest.raises(TraceValidationError, match="unknown trace format"):
        R.read_spans(p, format="nope")


def test_extra_columns_are_kept(tmp_path, sim_spans):
    from dsge_agents.traces.validate import load_spans

    df = sim_spans.head(30).assign(tenant="acme", region_code=7)
    p = W.write_canonical(df, tmp_path / "x.csv")
    back = R.read_spans(p)
    assert list(back.columns[: len(CANONICAL_COLUMNS)]) == CANONICAL_COLUMNS
    assert (back["tenant"] == "acme").all() and (back["region_code"].astype(int) == 7).all()
    acc, _ = load_spans(p, check_parents=False)
    assert "tenant" in acc.columns and not any(c.startswith("_") for c in acc.columns)


# ----------------------------------------------------------------------------- OTLP through DuckDB
def _same_frames(a: pd.DataFrame, b: pd.DataFrame):
    """Column for column, dtype for dtype, value for value (NaN / None / NaT as missing)."""
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        assert a[c].dtype == b[c].dtype, (c, a[c].dtype, b[c].dtype)
        x = a[c].astype(object).where(a[c].notna(), None).tolist()
        y = b[c].astype(object).where(b[c].notna(), None).tolist()
        assert x == y, (c, [(u, v) for u, v in zip(x, y) if u != v][:3])


def _odd_otlp_docs():
    """Records exercising what the engine path converts itself (and where it must agree)."""
    def attr(k, v):
        return {"key": k, "value": v}

    doc = _otlp_doc()
    extra = [
        {"traceId": "t2", "spanId": "a1", "parentSpanId": "", "name": 'quote " and \\u00e9 \u2603', "kind": "SPAN_KIND_CLIENT",
         "startTimeUnixNano": 1.7e18, "endTimeUnixNano": "1700000000000000001",
         "attributes": [attr("gen_ai.agent.name", {"stringValue": "first"}),
                        attr("gen_ai.agent.name", {"stringValue": "second"}),  # the last of a repeated key
                        attr("gen_ai.usage.input_tokens", {"intValue": "99999999999999999999"}),  # beyond int64
                        attr("gen_ai.usage.output_tokens", {"intValue": "4.0"}),  # int("4.0") fails: None
                        attr("gen_ai.usage.cost", {"doubleValue": "NaN"}),  # a string: NaN, not the next key
                        attr("cost_usd", {"doubleValue": 3}),
                        attr("gen_ai.response.time_to_first_chunk", {"doubleValue": 1e-3}),
                        attr("gen_ai.request.model", {"boolValue": True}),
                        attr("error.type", {"intValue": 7})],
         "status": {"code": "STATUS_CODE_ERROR"}},
        {"traceId": "t2", "spanId": "a2", "parentSpanId": "a1", "name": "x", "kind": 2,
         "startTimeUnixNano": "soon", "endTimeUnixNano": "99999999999999999999",
         "attributes": [attr("gen_ai.usage.input_tokens", {"intValue": 12}),
                        attr("gen_ai.usage.prompt_tokens", {"intValue": "13"}),
                        attr("gen_ai.response.time_to_first_token", {"doubleValue": 0.25})],
         "status": {"code": "2", "message": ""}},
        {"traceId": "t2", "spanId": "a3", "name": "y", "startTimeUnixNano": "1700000000000000000",
         "status": {"code": 1.0}},
    ]
    legacy = {"resourceSpans": [
        {"resource": {"attributes": [attr("service.name", {"stringValue": "old"}),
                                     attr("service.name", {"stringValue": "older"})]},
         "scopeSpans": [],
         "instrumentationLibrarySpans": [{"spans": extra[:2]}, {"spans": None}]},
        {"scopeSpans": [{"spans": extra[2:]}]},
    ]}
    return [doc, {"resourceSpans": []}, legacy, {"other": 1}]


@pytest.mark.parametrize("layout", ["document", "pretty", "array", "lines", "lines_with_blanks"])
def test_otlp_engine_path_equals_python_walk(tmp_path, layout):
    """read_otlp_json(engine="duckdb") (DuckDB parses and flattens, Arrow picks the values)
    against the Python walk over json.loads -- the reference -- on records with every value
    form the engine path converts itself: ints as strings / numbers / beyond int64, doubles as
    numbers / strings, booleans, escaped strings, repeated keys, old attribute and scope names,
    status codes as numbers / strings / names, blank parent ids, times as strings / numbers /
    floats / garbage / out of range, empty records, unknown fields; one document, pretty-printed,
    an array of documents, JSON lines, JSON lines with blank lines (line numbers)."""
    docs = _odd_otlp_docs()
    p = tmp_path / "t.json"
    if layout == "document":
        p.write_text(json.dumps(docs[0]))
    elif layout == "pretty":
        p.write_text(json.dumps(docs[2], indent=2))
    elif layout == "array":
        p.write_text(json.dumps(docs))
    elif layout == "lines":
        p.write_text("\n".join(json.dumps(d) for d in docs) + "\n")
    else:
        p.write_text("\n\n".join(json.dumps(d) for d in docs) + "\n\n")
    assert R._otlp_engine_columns(p) is not None  # the engine path itself, not its fallback
    ref = R.read_otlp_json(p, engine="python")
    got = R.read_otlp_json(p, engine="duckdb")
    _same_frames(ref, got)
    assert len(ref) in (3, 6)
    if layout == "lines_with_blanks":
        assert sorted(set(got["_row"])) == [1, 5]  # the records' lines, blank lines counted


def test_otlp_engine_path_round_trip_and_fallbacks(tmp_path, sim_spans):
    sub = sim_spans.head(300)
    for fmt, writer in (("otlp", W.write_otlp_json), ("otlp-jsonl", W.write_otlp_json)):
        p = writer(sub, tmp_path / f"s.{'jsonl' if fmt.endswith('jsonl') else 'json'}",
                   jsonl=fmt.endswith("jsonl"))
        assert R._otlp_engine_columns(p) is not None
        ref, got = R.read_otlp_json(p, engine="python"), R.read_otlp_json(p, engine="duckdb")
        _same_frames(ref, got)
        assert canonical_equal(sub, got) == []
    # values the engine path leaves to the Python walk: an array where a canonical field is read,
    # a byte-order mark, invalid JSON -- same result or same named error
    doc = _otlp_doc()
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"].append(
        {"key": "gen_ai.agent.name", "value": {"arrayValue": {"values": [{"stringValue": "x"}]}}})
    p = tmp_path / "array_value.json"
    p.write_text(json.dumps(doc))
    assert R._otlp_engine_columns(p) is None
    _same_frames(R.read_otlp_json(p, engine="python"), R.read_otlp_json(p, engine="duckdb"))
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps(_otlp_doc()).encode())
    _same_frames(R.read_otlp_json(bom, engine="python"), R.read_otlp_json(bom, engine="duckdb"))
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(_otlp_doc()) + "\n{not json\n")
    assert R._otlp_engine_columns(bad) is None
    with pytest.raises(TraceValidationError, match="line 2"):
        R.read_otlp_json(bad, engine="duckdb")
    with pytest.raises(ValueError, match="engine"):
        R.read_otlp_json(bad, engine="spark")


@pytest.mark.parametrize("bad, what", [
    ('{"resourceSpans": "oops"}', "line 2: resourceSpans must be a list of objects"),
    ('{"resourceSpans": ["x"]}', "line 2: resourceSpans must be a list of objects"),
    ('{"resourceSpans": [{"scopeSpans": [{"spans": "x"}]}]}', "line 2: spans must be a list of objects"),
    ('{"resourceSpans": [{"resource": 3, "scopeSpans": []}]}', "line 2: resource must be an object"),
    ('{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "a", "status": "ERROR"}]}]}]}',
     "line 2: status must be an object"),
])
def test_otlp_wrong_structure_is_a_named_error(tmp_path, bad, what):
    """Valid JSON in the wrong OTLP shape: a TraceFormatError naming the line and the field (it was
    an AttributeError from inside the reader), whichever path reads the file."""
    p = tmp_path / "bad.jsonl"
    p.write_text(json.dumps(_otlp_doc()) + "\n" + bad + "\n")
    for engine in ("python", "duckdb"):
        with pytest.raises(TraceValidationError, match=what):
            R.read_otlp_json(p, engine=engine)


def test_phoenix_typed_times_converted_directly(tmp_path):
    """Typed Parquet timestamps skip the text parser: naive ones are UTC, a time beyond the
    nanosecond range is an unparseable timestamp with its raw value, a missing one is missing --
    as the text path decided for the same values."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    t = pa.array([np.datetime64("2024-01-01T00:00:00.123456", "us"), np.datetime64("2300-01-01T00:00:00", "us"),
                  None], pa.timestamp("us"))
    pq.write_table(pa.table({"context.span_id": ["a", "b", "c"], "context.trace_id": ["t"] * 3, "name": ["x"] * 3,
                             "start_time": t, "end_time": t, "span_kind": ["LLM"] * 3, "status_code": ["OK"] * 3}),
                   tmp_path / "p.parquet")
    df = R.read_spans(tmp_path / "p.parquet", format="phoenix").set_index("span_id")
    assert df.loc["a", "start_ts"] == pd.Timestamp("2024-01-01T00:00:00.123456Z")
    assert pd.isna(df.loc["b", "start_ts"]) and df.loc["b", "_raw_start"] == "2300-01-01 00:00:00"
    assert pd.isna(df.loc["c", "start_ts"]) and pd.isna(df.loc["c", "_raw_start"])
    # the text path on the same values, as before
    text, bad = R._parse_times(["2024-01-01 00:00:00.123456", "2300-01-01 00:00:00", None])
    assert text[0] == df.loc["a", "start_ts"] and bad == [None, "2300-01-01 00:00:00", None]


def test_otlp_writer_text_equals_json_dumps_of_the_span_objects(tmp_path, sim_spans):
    """write_otlp_json assembles each span's JSON text from pieces; it must be the text json.dumps
    writes for the span object built field by field here (an independent rendition of the OTLP
    mapping), including escapes, non-ASCII names, missing values and error messages."""
    sub = sim_spans.head(60).copy().reset_index(drop=True)
    sub.loc[0, "name"] = 'quote " back\\slash \u00e9\u2603'
    sub.loc[1, "agent_name"] = None
    sub.loc[2, ["status", "error_type"]] = ["error", 'time"out']
    sub.loc[3, "parent_span_id"] = None
    sub.loc[4, "end_ts"] = pd.NaT
    p = W.write_otlp_json(sub, tmp_path / "s.json")
    keys = [("operation", "gen_ai.operation.name"), ("provider", "gen_ai.provider.name"),
            ("model", "gen_ai.request.model"), ("agent_name", "gen_ai.agent.name"),
            ("input_tokens", "gen_ai.usage.input_tokens"), ("output_tokens", "gen_ai.usage.output_tokens"),
            ("cached_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
            ("ttft_s", "gen_ai.response.time_to_first_chunk"), ("cost_usd", "gen_ai.usage.cost"),
            ("error_type", "error.type")]
    expected = []
    for i, r in sub.iterrows():
        attrs = []
        for c, k in keys:
            v = r[c]
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                continue
            if c in ("input_tokens", "output_tokens", "cached_input_tokens"):
                attrs.append({"key": k, "value": {"intValue": str(int(v))}})
            elif c in ("ttft_s", "cost_usd"):
                attrs.append({"key": k, "value": {"doubleValue": float(v)}})
            else:
                attrs.append({"key": k, "value": {"stringValue": str(v)}})
        sp = {"traceId": r["trace_id"], "spanId": r["span_id"], "name": r["name"] or "",
              "kind": 3 if r["operation"] == "chat" else 1, "attributes": attrs,
              "status": {"code": {"unset": 0, "ok": 1, "error": 2}[r["status"]]}}
        if r["status"] == "error" and isinstance(r["error_type"], str):
            sp["status"]["message"] = r["error_type"]
        if isinstance(r["parent_span_id"], str):
            sp["parentSpanId"] = r["parent_span_id"]
        sp["startTimeUnixNano"] = str(r["start_ts"].value)
        if not pd.isna(r["end_ts"]):
            sp["endTimeUnixNano"] = r["end_ts"].value if i % 2 else str(r["end_ts"].value)
        expected.append(sp)
    doc = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name",
                                                             "value": {"stringValue": "dsge_agents"}}]},
                              "scopeSpans": [{"scope": {"name": "dsge_agents.traces"}, "spans": expected}]}]}
    assert p.read_text() == json.dumps(doc)


@pytest.mark.parametrize("values", [
    [1700000000000000000, "1700000000000000001", None, ""], [None, None], [" 17", 1], ["1_000", 5], [0, 5], [-5],
    [2**63], ["99999999999999999999"], [1.5e18], [True, 3], ["abc"],
])
def test_nanosecond_times_vectorised_as_the_loop_decides(values, monkeypatch):
    """_ns_to_utc's vectorised path (ints / digit strings) gives the loop's timestamps and raw values;
    everything else is left to the loop."""
    got = R._ns_to_utc(values)
    monkeypatch.setattr(R, "_ns_to_utc_fast", lambda ns: None)
    ref = R._ns_to_utc(values)
    assert got[0].equals(ref[0]) and got[1] == ref[1]


def _parse_times_reference(values, unit=None):
    """_parse_times as it was written before its candidate pre-pass (per-value predicate over the
    whole column, to_numeric over the whole column): the reference the faster one must equal."""
    import re as _re

    s = pd.Series(list(values), dtype="object")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    bad_raw = [None] * len(s)
    num = pd.to_numeric(s, errors="coerce")
    is_num = num.notna() & s.map(
        lambda v: isinstance(v, (int, float, np.integer, np.floating))
        or (isinstance(v, str) and _re.fullmatch(r"\s*[0-9.eE+-]+\s*", v) is not None)
    )
    if is_num.any():
        x = num[is_num].astype(float)
        u = unit
        if u is None:
            med = float(np.nanmedian(np.abs(x)))
            u = "s" if med < 1e11 else "ms" if med < 1e14 else "us" if med < 1e17 else "ns"
        with np.errstate(invalid="ignore", over="ignore"):
            ns = np.round(x.to_numpy() * {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[u])
        fits = np.isfinite(ns) & (np.abs(ns) < 9.2e18)
        idx = np.flatnonzero(is_num.to_numpy())
        out.iloc[idx[fits]] = pd.to_datetime(ns[fits].astype(np.int64), unit="ns", utc=True)
        for i in idx[~fits]:
            bad_raw[i] = str(s.iloc[i])
    txt = (~is_num) & s.notna() & (s.astype(str).str.strip() != "")
    if txt.any():
        parsed, _ = R._to_utc(s[txt].astype(str))
        out[txt] = parsed
        for i in np.flatnonzero(txt.to_numpy() & out.isna().to_numpy()):
            bad_raw[i] = str(s.iloc[i])
    return out, bad_raw


@pytest.mark.parametrize("unit", [None, "s", "ms"])
@pytest.mark.parametrize("values", [
    ["2024-05-01T10:00:00Z", "2024-05-01T10:00:01.5+02:00", None, "", "  "],
    ["2024-05-01", "2024-05-01 10:00:00", 1714557600, "1714557600.25", " 1714557600 ", np.int64(1714557600)],
    [1714557600123, 1714557600456.0, np.float64(1714557600789), "1714557600999", float("nan"), "1e12"],
    ["not a time", "12:00", "1-2", "+", "1e999", 1e300, True, "2024-13-45T00:00:00Z"],
    [None, float("nan"), pd.NaT, ""],
    # texts only (screened in Arrow first): numbers as text, padded (also by Unicode spaces), dates
    ["1714557600", " 1714557600.5 ", "\u00a01714557600", "\u20031714557600\t", "2024-05-01", "1e12", "-1", None,
     "2024-05-01T10:00:00Z", "x1", "1:2", "ms"],
])
def test_parse_times_equals_the_per_value_reference(values, unit):
    got, got_raw = R._parse_times(values, unit=unit)
    ref, ref_raw = _parse_times_reference(values, unit)
    pd.testing.assert_series_equal(got, ref)
    assert got_raw == ref_raw


def test_json_looking_text_in_scalar_columns_stays_text(tmp_path):
    """Only the nested columns (usage / cost / metadata objects; LangSmith extra) are decoded from
    JSON text: a name or an error message that happens to look like JSON is kept as written."""
    pd.DataFrame({
        "id": ["o1"], "traceId": ["t1"], "type": ["GENERATION"], "name": ['{"step": 1}'],
        "startTime": ["2024-05-29T13:46:20Z"], "endTime": ["2024-05-29T13:46:21Z"],
        "usageDetails": ['{"input": 10, "output": 5}'], "metadata": ['{"gen_ai.agent.name": "w"}'],
    }).to_csv(tmp_path / "obs.csv", index=False)
    lf = R.read_langfuse(tmp_path / "obs.csv")
    assert lf.loc[0, "name"] == '{"step": 1}' and lf.loc[0, "input_tokens"] == 10
    assert lf.loc[0, "agent_name"] == "w"
    run = {"id": "r1", "trace_id": "t1", "name": "[tool] search", "run_type": "llm",
           "start_time": "2024-05-29T13:46:20Z", "end_time": "2024-05-29T13:46:21Z",
           "error": '{"code": 429}', "extra": '{"metadata": {"ls_provider": "openai"}}'}
    (tmp_path / "runs.jsonl").write_text(json.dumps(run) + "\n")
    ls = R.read_langsmith(tmp_path / "runs.jsonl")
    assert ls.loc[0, "name"] == "[tool] search" and ls.loc[0, "provider"] == "openai"
    assert ls.loc[0, "status"] == "error" and ls.loc[0, "error_type"] == '{"code"'


def test_readers_restore_the_garbage_collector(tmp_path):
    """Readers pause the cyclic GC while building records (decorator); it is on again afterwards,
    also when the file is bad, and left off when the caller had switched it off."""
    import gc

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "r1", "run_type": "llm"}\n{oops\n')
    assert gc.isenabled()
    with pytest.raises(R.TraceFormatError, match="line 2"):
        R.read_langsmith(bad)
    assert gc.isenabled()
    gc.disable()
    try:
        with pytest.raises(R.TraceFormatError):
            R.read_langsmith(bad)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_phoenix_events_as_nested_lists(tmp_path):
    """Phoenix's own dataframe keeps ``events`` as a list of structs (numpy arrays of dicts after a
    Parquet round trip), not JSON text: first-token time and exception type are read from either."""
    ev_first = [{"name": "First Token Stream Event", "timestamp": "2024-01-01T00:00:01.250Z",
                 "attributes": None}]
    ev_exc = [{"name": "exception", "timestamp": "2024-01-01T00:00:02Z",
               "attributes": {"exception.type": "ValueError"}}]
    df = pd.DataFrame({
        "context.span_id": ["a1", "a2", "a3"], "context.trace_id": ["t", "t", "t"],
        "parent_id": [None, "a1", "a1"], "name": ["agent", "llm", "llm"], "span_kind": ["AGENT", "LLM", "LLM"],
        "start_time": pd.to_datetime(["2024-01-01 00:00:00", "2024-01-01 00:00:01", "2024-01-01 00:00:01"], utc=True),
        "end_time": pd.to_datetime(["2024-01-01 00:00:05", "2024-01-01 00:00:03", "2024-01-01 00:00:04"], utc=True),
        "status_code": ["OK", "OK", "ERROR"], "events": [[], ev_first, ev_exc],
        "attributes.agent.name": ["researcher", None, None],
    })
    p = tmp_path / "phx.parquet"
    df.to_parquet(p)
    assert not isinstance(pd.read_parquet(p)["events"].iloc[1], str)  # nested, as Phoenix writes it
    out = R.read_spans(p).set_index("span_id")
    assert out.loc["a2", "ttft_s"] == pytest.approx(0.25) and pd.isna(out.loc["a3", "ttft_s"])
    assert out.loc["a3", "error_type"] == "ValueError" and out.loc["a3", "status"] == "error"
    assert out.loc["a2", "agent_name"] == "researcher"


def test_writer_columns_equal_row_records(sim_spans):
    """Writers take the columns as lists (_columns) instead of visiting every cell of the rows:
    the same Python values and types, missing values None, object columns with NumPy scalars."""
    sp = sim_spans[CANONICAL_COLUMNS].copy()
    sp.loc[sp.index[::5], "cost_usd"] = np.nan
    sp.loc[sp.index[::7], "input_tokens"] = pd.NA
    sp.loc[sp.index[::3], "error_type"] = None
    sp.loc[sp.index[::4], "end_ts"] = pd.NaT
    sp["extra_obj"] = pd.Series([np.int64(3), np.float64(0.5), None, float("nan"), "x", True] * len(sp),
                                dtype=object).iloc[: len(sp)].values
    names = list(sp.columns)
    cols = W._columns(sp, names)
    # the reference: every cell of the rows through _none (how the writers took them before)
    recs = [{c: W._none(v) for c, v in zip(names, row)} for row in sp.itertuples(index=False, name=None)]
    for c in names:
        got, ref = cols[c], [r[c] for r in recs]
        assert got == ref or all((a is None and b is None) or a == b for a, b in zip(got, ref)), c
        assert [type(v) for v in got] == [type(v) for v in ref], c
    assert W._columns(sp.drop(columns="model"), ["model"]) == {"model": [None] * len(sp)}  # absent: missing


def test_iso_text_equals_strftime():
    ts = pd.Series(pd.to_datetime(["1969-12-31 23:59:59.9999995", "2024-01-01 00:00:00.123456789", None,
                                   "1700-01-01 00:00:00.000000001", "2262-04-11 23:47:16.854775807"], utc=True))
    ref = [None if pd.isna(v) else v for v in ts.dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")]
    assert W._iso(ts) == ref
    assert W._iso(ts.dt.tz_convert("Asia/Kolkata")) == ref  # UTC text whatever the zone


def test_json_texts_equal_json_dumps():
    values = [{"input": 1}, {"input": 1.0}, {"input": True}, {"input": 1}, {}, {"total": 0.1},
              {"a": None}, {"a": [1, 2]}, {"é": "\u2028"}, None, {"input": 1.0}]
    assert W._json_texts(values) == [json.dumps(v) for v in values]


@pytest.mark.parametrize("odd_text", [False, True])
def test_canonical_csv_by_arrow_reads_back_as_pandas_to_csv(tmp_path, sim_spans, odd_text):
    """write_canonical's CSV (Arrow's writer) reads back to the table pandas' to_csv gives, with
    and without values that need quoting; the header is written as pandas writes it."""
    sp = sim_spans.copy()
    sp.loc[sp.index[::9], "cost_usd"] = np.nan
    sp.loc[sp.index[::4], "error_type"] = None
    if odd_text:
        sp.loc[sp.index[2], "name"] = 'a, "quoted"\nname'
        sp.loc[sp.index[5], "error_type"] = ""
    p = W.write_canonical(sp, tmp_path / "arrow.csv")
    ref = tmp_path / "pandas.csv"
    out = sp[[c for c in sp.columns if not c.startswith("_")]].copy()
    for c in ("start_ts", "end_ts"):
        out[c] = pd.Series(W._iso(out[c]), index=out.index, dtype="object")
    out.to_csv(ref, index=False)
    assert p.read_text().splitlines()[0] == ref.read_text().splitlines()[0]
    a, b = R.read_spans(p), R.read_spans(ref)
    cols = CANONICAL_COLUMNS
    pd.testing.assert_frame_equal(a[cols], b[cols])
    assert canonical_equal(a, b) == []


def test_canonical_csv_with_booleans_goes_through_pandas(tmp_path, sim_spans):
    sp = sim_spans.head(20).assign(retried=True)
    p = W.write_canonical(sp, tmp_path / "b.csv")
    assert set(pd.read_csv(p, dtype=str)["retried"]) == {"True"}  # pandas' spelling kept


def test_read_spans_of_a_directory(tmp_path, sim_spans):
    """A directory stands for the trace files beneath it (sorted, recursive, hidden skipped)."""
    d = tmp_path / "exp"
    half = len(sim_spans) // 2
    W.write_canonical(sim_spans.iloc[:half], d / "p=1" / "a.parquet")
    W.write_langfuse(sim_spans.iloc[half:], d / "p=2" / "b.jsonl")
    W.write_canonical(sim_spans, d / ".tmp" / "c.parquet")
    (d / "notes.txt").write_text("x")
    got = R.read_spans(d)
    assert got.attrs["formats"] == ["canonical", "langfuse"] and len(got) == len(sim_spans)
    assert [str(f) for f in R.trace_files(d)] == [str(d / "p=1" / "a.parquet"), str(d / "p=2" / "b.jsonl")]
    (tmp_path / "none").mkdir()
    with pytest.raises(R.TraceFormatError, match="a directory without trace files"):
        R.read_spans(tmp_path / "none")
    with pytest.raises(R.TraceFormatError, match="no trace files given"):
        R.read_spans([])


def test_json_lines_framed_in_chunks_equal_one_frame(tmp_path):
    """JSON lines are framed a chunk at a time (memory); the frame equals pd.DataFrame of all the
    records -- columns first seen late, columns all missing in a chunk, ints then floats, nested
    values, blank lines, a byte-order mark -- and errors name the same line."""
    recs = []
    for i in range(23):
        r = {"id": f"r{i}", "n": i if i < 9 else (None if i < 14 else i + 0.5), "nested": {"a": i}}
        if i >= 17:
            r["late"] = f"x{i}"
        if i % 5 == 0:
            r["opt"] = None if i < 20 else "y"
        recs.append(r)
    lines = [json.dumps(r) for r in recs]
    lines.insert(4, "")
    lines.insert(10, "   ")
    p = tmp_path / "runs.jsonl"
    p.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    ref_recs, ref_rows = R._json_records(p)
    ref = pd.DataFrame(ref_recs)
    for chunk in (1, 4, 7, 1000):
        got, rows = R._json_frame(p, chunk_rows=chunk)
        assert rows.tolist() == ref_rows
        assert list(got.columns) == list(ref.columns)
        for c in ref.columns:  # same values, missing where missing
            assert [None if pd.isna(v) else v for v in got[c].tolist()] == \
                   [None if pd.isna(v) else v for v in ref[c].tolist()], (chunk, c)
        assert [str(t) for t in got.dtypes] == [str(t) for t in ref.dtypes], chunk
        assert got["n"].dtype == np.float64
    bad = tmp_path / "bad.jsonl"
    bad.write_text(lines[0] + "\n" + lines[1] + "\n{oops\n")
    with pytest.raises(R.TraceFormatError, match=r"line 3, column 2: invalid JSON"):
        R._json_frame(bad, chunk_rows=1)
    with pytest.raises(R.TraceFormatError, match=r"line 3, column 2: invalid JSON"):
        R._json_records(bad)
    arr = tmp_path / "arr.json"
    arr.write_text(json.dumps(recs[:3], indent=1))  # one document: its elements, numbered 1, 2, 3
    got, rows = R._json_frame(arr, chunk_rows=1)
    assert len(got) == 3 and rows.tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(got, pd.DataFrame(recs[:3]))
    lists = tmp_path / "lists.jsonl"
    lists.write_text('{"id": "a"}\n\n[3, 4]\n')  # a record that is not an object: named
    with pytest.raises(R.TraceFormatError, match=r"lists.jsonl: line 3: a record must be a JSON object, got \[3, 4\]"):
        R._json_frame(lists, chunk_rows=1)
    doc = tmp_path / "doc.json"
    doc.write_text('[{"id": "a"}, 7]')
    with pytest.raises(R.TraceFormatError, match=r"doc.json: record 2: a record must be a JSON object, got 7"):
        R.read_langsmith(doc)
