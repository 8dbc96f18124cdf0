"""Reader edge cases found by adversarial review: format detection, ids across files,
explicit formats, status spellings, compressed files and user columns.

Expected values are written out by hand from the inputs built here."""

from __future__ import annotations

import pandas as pd
import pytest

from dsge_agents.traces.readers import TraceFormatError
from dsge_agents.traces import readers as R
from dsge_agents.traces.schema import to_canonical

T0 = pd.Timestamp("2024-06-01T00:00:00Z")


def two_spans(**extra) -> pd.DataFrame:
    """An agent span and its chat call, canonical."""
    df = to_canonical(pd.DataFrame([
        dict(trace_id="t1", span_id="a1", parent_span_id=None, name="invoke_agent planner",
             operation="invoke_agent", agent_name="planner", start_ts=T0, end_ts=T0 + pd.Timedelta("5s"),
             status="ok"),
        dict(trace_id="t1", span_id="c1", parent_span_id="a1", name="chat", operation="chat", model="gpt-4o",
             start_ts=T0 + pd.Timedelta("1s"), end_ts=T0 + pd.Timedelta("3s"), input_tokens=100,
             output_tokens=20, status="ok"),
    ]))
    for k, v in extra.items():
        df[k] = v
    return df


@pytest.mark.parametrize("extra", ["span_kind", "attributes.http.route", "run_type", "traceId", "startTime"])
@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_canonical_table_with_another_formats_marker_column_is_canonical(tmp_path, extra, suffix):
    df = two_spans(**{extra: "X"})
    p = tmp_path / f"spans{suffix}"
    df.to_parquet(p) if suffix == ".parquet" else df.to_csv(p, index=False)
    assert R.detect_format(p) == "canonical"
    got = R.read_spans(p)
    assert got["span_id"].tolist() == ["a1", "c1"]
    assert got["start_ts"].tolist() == [T0, T0 + pd.Timedelta("1s")]
    assert got["input_tokens"].tolist()[1] == 100
    assert got[extra].tolist() == ["X", "X"]


def test_azure_ids_differ_between_partitions_of_the_same_file_name(tmp_path, shared_data):
    src = (shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv").read_text().splitlines()
    for day, rows in (("day1", src[1:4]), ("day2", src[4:7])):
        (tmp_path / day).mkdir()
        (tmp_path / day / "AzureLLMInferenceTrace_conv.csv").write_text("\n".join([src[0]] + rows) + "\n")
    got = R.read_spans(tmp_path)
    assert len(got) == 6 and got["span_id"].is_unique
    assert (got["trace_id"] == got["span_id"]).all()
    again = R.read_spans(tmp_path / "day2")  # the same file read again: the same ids
    assert again["span_id"].tolist() == got["span_id"].tolist()[3:]
    from dsge_agents.traces.validate import validate

    accepted, rep = validate(got, "quarantine", quarantine_path=tmp_path / "q.parquet")
    assert (rep.accepted_rows, rep.quarantined_rows) == (6, 0)


def _otlp_doc(span: dict) -> dict:
    return {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}


def _attr(key, value):
    return {"key": key, "value": {"stringValue": value}}


def test_agent_name_inherited_from_an_ancestor_in_another_file(tmp_path):
    import json

    agent = {"traceId": "t1", "spanId": "a1", "name": "invoke_agent planner",
             "startTimeUnixNano": "1717200000000000000", "endTimeUnixNano": "1717200005000000000",
             "attributes": [_attr("gen_ai.operation.name", "invoke_agent"), _attr("gen_ai.agent.name", "planner")]}
    call = {"traceId": "t1", "spanId": "c1", "parentSpanId": "a1", "name": "chat",
            "startTimeUnixNano": "1717200001000000000", "endTimeUnixNano": "1717200002000000000",
            "attributes": [_attr("gen_ai.operation.name", "chat")]}
    (tmp_path / "part-0.json").write_text(json.dumps(_otlp_doc(agent)))
    (tmp_path / "part-1.json").write_text(json.dumps(_otlp_doc(call)))
    got = R.read_spans(tmp_path).set_index("span_id")
    assert got.loc["c1", "agent_name"] == "planner"
    # a canonical table keeps its agent_name as given (missing stays missing), as when read alone
    canon = two_spans()
    canon.loc[1, "agent_name"] = None
    canon["span_id"] = ["x1", "x2"]
    canon["parent_span_id"] = [None, "a1"]  # its parent is the OTLP agent span
    canon.to_parquet(tmp_path / "part-2.parquet")
    got = R.read_spans(tmp_path).set_index("span_id")
    assert got.loc["c1", "agent_name"] == "planner"
    assert pd.isna(got.loc["x2", "agent_name"])


def _integer_id_records():
    return [
        {"trace_id": 10, "span_id": 1, "parent_span_id": None, "name": "invoke_agent p",
         "operation": "invoke_agent", "agent_name": "p", "start_ts": "2024-06-01T00:00:00Z",
         "end_ts": "2024-06-01T00:00:02Z"},
        {"trace_id": 10, "span_id": 2, "parent_span_id": 1, "name": "chat", "operation": "chat",
         "agent_name": "p", "start_ts": "2024-06-01T00:00:00Z", "end_ts": "2024-06-01T00:00:01Z"},
    ]


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_integer_ids_with_a_missing_parent_keep_their_integer_text(tmp_path, suffix):
    """pandas makes a column of integers with a missing value float64 (1 -> 1.0): the parent
    id must still read "1", the span id of its parent, or validation finds an orphan."""
    import json

    from dsge_agents.traces.ingest import ingest_files
    from dsge_agents.traces.validate import validate

    recs = _integer_id_records()
    p = tmp_path / f"ids{suffix}"
    if suffix == ".jsonl":
        p.write_text("\n".join(map(json.dumps, recs)))
    else:
        df = pd.DataFrame(recs)
        for c in ("start_ts", "end_ts"):
            df[c] = pd.to_datetime(df[c])
        assert df["parent_span_id"].dtype == "float64"  # the case in point
        df.to_parquet(p)
    got = R.read_spans(p)
    assert got["span_id"].tolist() == ["1", "2"] and got["trace_id"].tolist() == ["10", "10"]
    assert got["parent_span_id"].tolist()[1] == "1"
    _, rep = validate(got, "quarantine", quarantine_path=tmp_path / "q.parquet")
    assert rep.quarantined_rows == 0
    if suffix == ".parquet":  # the engine path reads the same ids
        panel, rep = ingest_files([p], "1min", on_error="quarantine", quarantine_path=tmp_path / "q2.parquet")
        assert rep.quarantined_rows == 0 and rep.accepted_rows == 2


def test_text_of_float_values():
    from dsge_agents.traces.schema import _as_text

    assert [_as_text(v) for v in (1.0, -3.0, 2.5, 2.0**53, 2.0**60, "7", None)] == [
        "1", "-3", "2.5", "9007199254740992", str(2.0**60), "7", None]
    assert _as_text(float("nan")) != _as_text(float("nan"))  # NaN stays missing


@pytest.mark.parametrize("values, expected, bad", [
    # a first field above 12 proves day/month for the whole column
    (["01/06/2024 10:00:00", "13/06/2024 10:00:00"], ["2024-06-01 10:00", "2024-06-13 10:00"], [False, False]),
    # a second field above 12 proves month/day
    (["06/13/2024", "01/06/2024"], ["2024-06-13", "2024-01-06"], [False, False]),
    # both: the order more values prove wins, the contradicting value is unparseable
    (["13/06/2024", "06/13/2024", "14/06/2024"], ["2024-06-13", None, "2024-06-14"], [False, True, False]),
    # an impossible date in the chosen order is unparseable, not re-read in the other order
    (["31/02/2024", "13/01/2024"], [None, "2024-01-13"], [True, False]),
    # dotted dates are day.month; ISO times in the same column are unaffected
    (["01.06.2024", "2024-06-02T00:00:00Z"], ["2024-06-01", "2024-06-02"], [False, False]),
])
def test_numeric_dates_take_one_day_month_order_per_column(values, expected, bad):
    import warnings

    from dsge_agents.traces.schema import _to_utc

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # decidable columns read without a warning
        got, unparseable = _to_utc(pd.Series(values, dtype="object"))
    want = [pd.Timestamp(v, tz="UTC") if v else pd.NaT for v in expected]
    assert [g if pd.notna(g) else pd.NaT for g in got] == want
    assert unparseable.tolist() == bad


def test_ambiguous_numeric_dates_warn_and_read_month_first(tmp_path):
    from dsge_agents.traces.schema import _to_utc

    with pytest.warns(UserWarning, match="could be day/month or month/day; read as month/day"):
        got, _ = _to_utc(pd.Series(["01/06/2024 10:00", "02/06/2024 11:00"], dtype="object"))
    assert got.tolist() == [pd.Timestamp("2024-01-06 10:00", tz="UTC"), pd.Timestamp("2024-02-06 11:00", tz="UTC")]
    # through a reader: the same instants in both time columns of a canonical CSV
    p = tmp_path / "eu.csv"
    df = two_spans()
    df["start_ts"] = ["01/06/2024 10:00:00", "13/06/2024 10:00:00"]
    df["end_ts"] = ["01/06/2024 10:00:01", "13/06/2024 10:00:01"]
    df.to_csv(p, index=False)
    got = R.read_spans(p)
    assert got["start_ts"].tolist() == [pd.Timestamp("2024-06-01 10:00", tz="UTC"),
                                        pd.Timestamp("2024-06-13 10:00", tz="UTC")]


@pytest.mark.parametrize("writer, suffix, wrong, detected", [
    ("write_otlp_json", ".json", "langsmith", "otlp"),
    ("write_langfuse", ".parquet", "phoenix", "langfuse"),
    ("write_langfuse", ".csv", "langsmith", "langfuse"),
    ("write_phoenix", ".parquet", "langfuse", "phoenix"),
])
def test_an_explicit_format_that_does_not_fit_the_file_is_a_named_error(tmp_path, writer, suffix, wrong, detected):
    from dsge_agents.traces import writers as W

    p = tmp_path / f"x{suffix}"
    getattr(W, writer)(two_spans(), p)
    with pytest.raises(TraceFormatError, match=rf"read as '{wrong}'.*not a {wrong} export.*look like '{detected}'"):
        R.read_spans(p, format=wrong)
    assert R.read_spans(p)["span_id"].tolist() == ["a1", "c1"]  # detected, it reads


def test_a_saved_langfuse_api_page_reads_as_its_records(tmp_path):
    import json

    page = {"data": [{"id": "o1", "traceId": "t1", "type": "GENERATION", "startTime": "2024-06-01T00:00:00Z",
                      "endTime": "2024-06-01T00:00:02Z", "usageDetails": {"input": 7, "output": 3}}],
            "meta": {"page": 1, "limit": 50, "totalItems": 1, "totalPages": 1}}
    p = tmp_path / "observations.json"
    p.write_text(json.dumps(page))
    assert R.detect_format(p) == "langfuse"
    got = R.read_spans(p)
    assert got[["span_id", "trace_id"]].values.tolist() == [["o1", "t1"]]
    assert (got["input_tokens"].tolist(), got["output_tokens"].tolist()) == ([7], [3])
    assert (got["end_ts"] - got["start_ts"]).tolist() == [pd.Timedelta("2s")]


def test_times_beyond_the_nanosecond_range_in_microsecond_parquet_are_quarantined_by_both_paths(tmp_path):
    """Year 2300 fits a timestamp[us] Parquet column but not nanoseconds: the readers call it
    unparseable_timestamp; the engine path must say the same instead of stopping in DuckDB's
    conversion (the file is staged through the readers)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dsge_agents.traces.ingest import ingest_files
    from dsge_agents.traces.validate import load_spans
    from dsge_agents.traces.validate_sql import engine_can_validate

    df = two_spans()
    t = pa.Table.from_pandas(df.drop(columns=["start_ts", "end_ts"]), preserve_index=False)
    us = pa.timestamp("us", tz="UTC")
    start = pa.array([T0.to_pydatetime(), pd.Timestamp("2300-01-01", tz="UTC").to_pydatetime()], us)
    end = pa.array([(T0 + pd.Timedelta("5s")).to_pydatetime(),
                    pd.Timestamp("2300-01-01 00:00:01", tz="UTC").to_pydatetime()], us)
    p = tmp_path / "far.parquet"
    pq.write_table(t.append_column("start_ts", start).append_column("end_ts", end), p)
    assert not engine_can_validate([p])
    _, rep_pandas = load_spans([p], on_error="quarantine", quarantine_path=tmp_path / "q1.parquet")
    _, rep_engine = ingest_files([p], "1min", on_error="quarantine", quarantine_path=tmp_path / "q2.parquet")
    for rep in (rep_pandas, rep_engine):
        assert (rep.accepted_rows, rep.quarantined_rows) == (1, 1)
        assert rep.problems == {"unparseable_timestamp": 1}
    # in range: read in place
    ok = tmp_path / "ok.parquet"
    pq.write_table(t.append_column("start_ts", start.slice(0, 1).take([0, 0]))
                   .append_column("end_ts", end.slice(0, 1).take([0, 0])), ok)
    assert engine_can_validate([ok])


def test_ids_of_unicode_whitespace_are_missing_for_both_validators(tmp_path):
    from dsge_agents.traces.validate import load_spans
    from dsge_agents.traces.validate_sql import engine_can_validate, validate_files

    spaces = [c for c in map(chr, range(0x3001)) if c.isspace()]  # Python's own definition
    assert "\u00a0" in spaces and "\u3000" in spaces
    n = len(spaces)
    df = pd.DataFrame({
        "trace_id": ["t"] * (n + 2), "span_id": spaces + [" x ", "y"], "parent_span_id": None,
        "start_ts": [T0] * (n + 2), "end_ts": [T0 + pd.Timedelta("1s")] * (n + 2),
    })
    p = tmp_path / "ws.parquet"
    df.to_parquet(p)
    assert engine_can_validate([p])
    _, rep_sql = validate_files([p], "quarantine", quarantine_path=tmp_path / "q1.parquet")
    _, rep_pd = load_spans([p], on_error="quarantine", quarantine_path=tmp_path / "q2.parquet")
    for rep in (rep_sql, rep_pd):
        assert rep.problems == {"missing_id": n} and rep.accepted_rows == 2


@pytest.mark.parametrize("bad_first", [True, False])
def test_the_kept_copy_of_a_duplicated_id_is_the_first_good_one(tmp_path, bad_first):
    """s1 twice: one copy with negative tokens, one clean. The clean copy is accepted whichever
    comes first; the bad copy is quarantined for its negative tokens and as the copy not kept.
    Both validators agree."""
    from dsge_agents.traces.validate import load_spans
    from dsge_agents.traces.validate_sql import validate_files

    rows = [dict(trace_id="t", span_id="s1", start_ts=T0, end_ts=T0 + pd.Timedelta("1s"), input_tokens=-5),
            dict(trace_id="t", span_id="s1", start_ts=T0, end_ts=T0 + pd.Timedelta("2s"), input_tokens=5),
            dict(trace_id="t", span_id="s2", parent_span_id="s1", start_ts=T0, end_ts=T0 + pd.Timedelta("1s"))]
    if not bad_first:
        rows = [rows[1], rows[0], rows[2]]
    p = tmp_path / "d.parquet"
    pd.DataFrame(rows).to_parquet(p)
    want = {"negative_tokens": 1, "duplicate_span_id": 1}
    acc, rep = load_spans([p], on_error="quarantine", quarantine_path=tmp_path / "q1.parquet")
    assert rep.problems == want and rep.accepted_rows == 2
    assert acc.loc[acc["span_id"] == "s1", "input_tokens"].tolist() == [5]
    bad, rep_sql = validate_files([p], "quarantine", quarantine_path=tmp_path / "q2.parquet")
    assert rep_sql.problems == want and rep_sql.accepted_rows == 2
    assert bad["_row"].tolist() == ([1] if bad_first else [2])


def test_load_spans_takes_a_directory_and_detect_format_names_one(tmp_path):
    from dsge_agents.traces.validate import load_spans

    two_spans().to_csv(tmp_path / "a.csv", index=False)
    sub = tmp_path / "day2"
    sub.mkdir()
    more = two_spans()
    more["span_id"] = ["a2", "c2"]
    more["parent_span_id"] = [None, "a2"]
    more.to_parquet(sub / "b.parquet")
    got, rep = load_spans(tmp_path)
    assert sorted(got["span_id"]) == ["a1", "a2", "c1", "c2"] and rep.input_rows == 4
    with pytest.raises(TraceFormatError, match="a directory; detect_format takes a file"):
        R.detect_format(tmp_path)


def test_status_spellings_of_failure_count_as_errors_and_unknown_ones_are_named(tmp_path):
    from dsge_agents.traces.schema import normalize_status

    words = ["fail", "Timeout", " exception ", "ERR", "cancelled", "canceled", "aborted", "timed_out"]
    assert normalize_status(pd.Series(words)).tolist() == ["error"] * len(words)
    assert normalize_status(pd.Series(["Succeeded", "completed", None])).tolist() == ["ok", "ok", "unset"]
    with pytest.warns(UserWarning, match=r"not recognised.*'flaky' \(2 rows\), 'meh' \(1 rows\)"):
        got = normalize_status(pd.Series(["flaky", "ok", "Flaky", "meh"]))
    assert got.tolist() == ["flaky", "ok", "flaky", "meh"]
    # the engine's SQL error flag takes the same spellings (aggregate on files, normalize_status=True)
    from dsge_agents.traces.aggregate import aggregate

    df = two_spans()
    df["status"] = ["timeout", "ok"]
    p = tmp_path / "s.parquet"
    df.to_parquet(p)
    w = aggregate([str(p)], "1min", normalize_status=True, requests=False).wide
    assert w["error_rate"].droplevel("period").to_dict() == {"planner": 1.0, "_unknown": 0.0}


def test_compressed_files_are_named_not_skipped_or_misread(tmp_path):
    import gzip

    two_spans().to_csv(tmp_path / "a.csv", index=False)
    raw = (tmp_path / "a.csv").read_bytes()
    (tmp_path / "b.csv.gz").write_bytes(gzip.compress(raw))
    with pytest.raises(TraceFormatError, match=r"b\.csv\.gz: a compressed trace file; decompress it first"):
        R.read_spans(tmp_path)  # in a directory: reported, not skipped
    named = tmp_path / "c.csv"  # compressed under a plain name
    named.write_bytes(gzip.compress(raw))
    for call in (lambda: R.read_spans(named), lambda: R.read_spans(named, format="canonical"),
                 lambda: R.detect_format(named)):
        with pytest.raises(TraceFormatError, match=r"c\.csv: a gzip-compressed file"):
            call()


def test_a_file_named_twice_is_read_once(tmp_path):
    two_spans().to_csv(tmp_path / "a.csv", index=False)
    got = R.read_spans([tmp_path / "a.csv", tmp_path, str(tmp_path / "a.csv")])
    assert got["span_id"].tolist() == ["a1", "c1"]


def test_a_folder_that_cannot_be_listed_is_named(tmp_path, monkeypatch):
    import os

    (tmp_path / "sub").mkdir()
    two_spans().to_csv(tmp_path / "a.csv", index=False)
    real = os.walk

    def walk(top, onerror=None, **kw):  # as os.walk reports a folder it may not list (root ignores modes)
        for item in real(top, onerror=onerror, **kw):
            yield item
            if onerror is not None:
                onerror(PermissionError(13, "Permission denied", str(tmp_path / "sub")))

    monkeypatch.setattr(os, "walk", walk)
    with pytest.raises(TraceFormatError, match=r"sub: cannot list this folder \(Permission denied\)"):
        R.trace_files(tmp_path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_user_columns_starting_with_an_underscore_are_kept(tmp_path, suffix):
    """A user's _id column is data; a _source / _row column (a quarantine file read back) is
    kept as input._source / input._row while the readers' bookkeeping names the new file."""
    df = two_spans(_id=["es-1", "es-2"], _source="orig.log", _row=[7, 9])
    p = tmp_path / f"u{suffix}"
    df.to_csv(p, index=False) if suffix == ".csv" else df.to_parquet(p)
    got = R.read_spans(p)
    assert got["_id"].tolist() == ["es-1", "es-2"]
    assert got["input._source"].tolist() == ["orig.log"] * 2
    assert [int(v) for v in got["input._row"]] == [7, 9]
    assert got["_source"].tolist() == [str(p)] * 2
    assert got["_row"].tolist() == ([2, 3] if suffix == ".csv" else [1, 2])
    from dsge_agents.traces.validate import validate

    accepted, rep = validate(got, "quarantine", quarantine_path=tmp_path / "q.parquet")
    assert rep.accepted_rows == 2 and accepted["_id"].tolist() == ["es-1", "es-2"]


def test_a_column_repeated_in_a_csv_header_is_a_named_error(tmp_path):
    p = tmp_path / "dup.csv"
    df = two_spans()
    lines = df.to_csv(index=False).splitlines()
    p.write_text("\n".join([lines[0] + ",model"] + [ln + ",claude" for ln in lines[1:]]) + "\n")
    with pytest.raises(TraceFormatError, match=r"dup\.csv: line 1: column\(s\) 'model' appear more than once"):
        R.read_spans(p)


@pytest.mark.parametrize("engine", ["python", "duckdb"])
def test_otlp_all_zero_parent_id_is_a_root(tmp_path, engine):
    import json

    root = {"traceId": "ab" * 16, "spanId": "11" * 8, "parentSpanId": "0" * 16, "name": "invoke_agent p",
            "startTimeUnixNano": "1717200000000000000", "endTimeUnixNano": "1717200001000000000"}
    child = dict(root, spanId="22" * 8, parentSpanId="11" * 8, name="chat")
    p = tmp_path / "z.json"
    p.write_text(json.dumps(_otlp_doc(root)) + "\n" + json.dumps(_otlp_doc(child)) + "\n")
    got = R.read_otlp_json(p, engine=engine)
    assert got["parent_span_id"].isna().tolist() == [True, False]
    from dsge_agents.traces.validate import validate

    _, rep = validate(got, "quarantine", quarantine_path=tmp_path / "q.parquet")
    assert rep.quarantined_rows == 0


def test_a_span_longer_than_292_years_is_quarantined_not_a_crash(tmp_path):
    """1700 -> 2200 fits the nanosecond range at both ends, but not its length (int64 ns):
    nan_duration (it cannot be aggregated); 2200 -> 1700 is end_before_start. Both validators,
    and the Langfuse reader's unit detection, no longer overflow."""
    from dsge_agents.traces.schema import ns_between
    from dsge_agents.traces.validate import load_spans
    from dsge_agents.traces.validate_sql import validate_files

    a = pd.Series(pd.to_datetime(["1700-01-01", "2200-01-01", "1969-12-31 23:59:59"], utc=True,
                                 format="ISO8601")).astype("datetime64[ns, UTC]")
    b = pd.Series(pd.to_datetime(["2200-01-01", "1700-01-01", "1970-01-01 00:00:01"], utc=True,
                                 format="ISO8601")).astype("datetime64[ns, UTC]")
    d, wrapped = ns_between(a, b)
    assert wrapped.tolist() == [True, True, False] and d[2] == 2 * 10**9
    df = two_spans()
    df.loc[0, ["start_ts", "end_ts"]] = [a[0], b[0]]  # far too long
    df.loc[1, ["start_ts", "end_ts"]] = [a[1], b[1]]  # far before its start
    df["parent_span_id"] = None
    p = tmp_path / "long.parquet"
    df.to_parquet(p)
    want = {"nan_duration": 1, "end_before_start": 1}
    _, rep = load_spans([p], on_error="quarantine", quarantine_path=tmp_path / "q1.parquet")
    _, rep_sql = validate_files([p], "quarantine", quarantine_path=tmp_path / "q2.parquet")
    assert rep.problems == want and rep_sql.problems == want
    lf = tmp_path / "lf.jsonl"
    lf.write_text('{"id": "o1", "traceId": "t1", "startTime": "1700-01-01T00:00:00Z", '
                  '"endTime": "2200-01-01T00:00:00Z", "latency": 1.0}\n')
    assert R.read_spans(lf)["span_id"].tolist() == ["o1"]


def test_an_existing_report_stops_load_spans_before_anything_is_written(tmp_path):
    from dsge_agents.traces.validate import load_spans

    df = two_spans()
    df.loc[1, "input_tokens"] = -1  # one bad row: a quarantine file would be written
    df.to_parquet(tmp_path / "s.parquet")
    (tmp_path / "report.json").write_text("{}")
    with pytest.raises(FileExistsError, match="report.json exists; refusing to overwrite the report"):
        load_spans([tmp_path / "s.parquet"], on_error="quarantine", quarantine_path=tmp_path / "bad.parquet",
                   report_path=tmp_path / "report.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "s.parquet"]
    _, rep = load_spans([tmp_path / "s.parquet"], on_error="quarantine", quarantine_path=tmp_path / "bad.parquet",
                        report_path=tmp_path / "report.json", overwrite_report=True)
    import json

    assert json.loads((tmp_path / "report.json").read_text())["quarantined_rows"] == rep.quarantined_rows == 1


def test_now_and_today_are_not_timestamps_of_a_trace():
    """pandas reads them as the clock time of the call: a result that changes from run to run."""
    from dsge_agents.traces.schema import _to_utc

    got, bad = _to_utc(pd.Series(["now", " Today ", "2024-06-01T00:00:00Z", None], dtype="object"))
    assert bad.tolist() == [True, True, False, False]
    assert got.isna().tolist() == [True, True, False, True]


def test_engine_path_keeps_underscore_columns_and_names_unknown_statuses(tmp_path):
    """The staged file keeps a user's _batch column (its quarantine equals the pandas path's), and
    a typed Parquet file read in place warns about an unknown status as the readers do."""
    from dsge_agents.traces.ingest import engine_plan, ingest_files
    from dsge_agents.traces.validate import load_spans

    csv = tmp_path / "u.csv"
    csv.write_text("trace_id,span_id,parent_span_id,start_ts,end_ts,_batch\n"
                   "t,a,,2024-06-01T00:00:00Z,2024-06-01T00:00:01Z,b1\n"
                   "t,b,zz,2024-06-01T00:00:00Z,2024-06-01T00:00:01Z,b2\n")
    ingest_files([csv], "1min", on_error="quarantine", quarantine_path=tmp_path / "qe.parquet")
    load_spans([csv], on_error="quarantine", quarantine_path=tmp_path / "qp.parquet")
    qe, qp = pd.read_parquet(tmp_path / "qe.parquet"), pd.read_parquet(tmp_path / "qp.parquet")
    assert qe["_batch"].tolist() == qp["_batch"].tolist() == ["b2"]
    pq_file = tmp_path / "s.parquet"
    df = two_spans()
    df["status"] = ["weird", "ok"]
    df.to_parquet(pq_file)
    assert engine_plan([pq_file]).direct == [str(pq_file)]
    with pytest.warns(UserWarning, match=r"not recognised.*'weird' \(1 rows\)"):
        ingest_files([pq_file], "1min", on_error="quarantine", quarantine_path=tmp_path / "q3.parquet")
