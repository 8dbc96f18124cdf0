"""Writer edge cases found by a QA pass on the writers and round trips: file suffixes (and how the
readers take a file without a known suffix), mixed extra columns, error types, OTLP's limits,
time zones of extra columns, user columns starting with ``_``, token counts beyond 2^53, empty
JSON files and timestamps at the ends of the nanosecond range.

Expected values are written out by hand from the inputs built here."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from dsge_agents.traces import read_spans, schema
from dsge_agents.traces import readers as R
from dsge_agents.traces import writers as W
from dsge_agents.traces.schema import canonical_equal, to_canonical

T0 = pd.Timestamp("2024-06-01T00:00:00Z")


def spans(n: int = 2, **extra) -> pd.DataFrame:
    rows = [dict(trace_id="t", span_id=f"s{i}", parent_span_id=None, name="n", operation="chat", agent_name="A",
                 provider="openai", model="m", start_ts=T0 + pd.Timedelta(seconds=i),
                 end_ts=T0 + pd.Timedelta(seconds=i + 1), ttft_s=0.25, input_tokens=10, output_tokens=2,
                 cached_input_tokens=0, cost_usd=0.1, status="ok", error_type=None) for i in range(n)]
    df = to_canonical(pd.DataFrame(rows))
    for k, v in extra.items():
        df[k] = v
    return to_canonical(df)


WRITERS = {
    "canonical": W.write_canonical,
    "otlp": W.write_otlp_json,
    "otlp-jsonl": lambda df, p, **kw: W.write_otlp_json(df, p, jsonl=True, **kw),
    "langfuse": W.write_langfuse,
    "phoenix": W.write_phoenix,
    "langsmith": W.write_langsmith,
}


# ----------------------------------------------------------------------------- suffixes
@pytest.mark.parametrize("fmt, name", [("canonical", "spans"), ("canonical", "spans.json"), ("langfuse", "o.tsv"),
                                       ("langfuse", "o.txt"), ("phoenix", "p.csv"), ("phoenix", "p.json"),
                                       ("langsmith", "r.log"), ("langsmith", "r.csv"), ("otlp", "o.csv"),
                                       ("otlp-jsonl", "o.parquet")])
def test_writer_refuses_a_suffix_it_does_not_write(tmp_path, fmt, name):
    p = tmp_path / name
    with pytest.raises(ValueError, match=r"writes \.") as exc:
        WRITERS[fmt](spans(), p)
    msg = str(exc.value)
    assert str(p) in msg and not p.exists()
    assert all(s in msg for s in W.SUFFIXES[fmt])


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_every_suffix_a_writer_takes_reads_back_as_written(tmp_path, fmt):
    df = spans(3)
    for i, suf in enumerate(W.SUFFIXES[fmt]):
        p = WRITERS[fmt](df, tmp_path / f"x{i}{suf.upper() if i == 1 else suf}")
        assert canonical_equal(df, read_spans(p)) == [], (fmt, suf)


def test_cli_takes_the_writers_table():
    from dsge_agents.cli import simulate_traces

    assert not hasattr(simulate_traces, "_SUFFIXES")  # one table: the writers'
    assert W.SUFFIXES["canonical"] == (".parquet", ".pq", ".csv", ".tsv")


def test_canonical_tsv_is_tab_separated_and_reads_back(tmp_path):
    df = spans(2, note=["a, b", "c"])
    p = W.write_canonical(df, tmp_path / "s.tsv")
    lines = p.read_text().splitlines()
    assert lines[0].split("\t")[:3] == ["trace_id", "span_id", "parent_span_id"]
    assert lines[1].split("\t")[-1] == "a, b"  # a comma needs no quotes in TSV
    got = read_spans(p)
    assert canonical_equal(df, got) == [] and got["note"].tolist() == ["a, b", "c"]


@pytest.mark.parametrize("bad", ["a\tb", "two\nlines", 'say "hi"'])
def test_canonical_tsv_refuses_values_a_plain_tsv_cannot_hold(tmp_path, bad):
    df = spans(3)
    df.loc[2, "name"] = bad
    with pytest.raises(ValueError, match=r"column 'name', row\(s\) 3 hold a tab, line break or quote"):
        W.write_canonical(df, tmp_path / "s.tsv")
    assert not (tmp_path / "s.tsv").exists()


@pytest.mark.parametrize("fmt, written, renamed", [
    ("langsmith", "r.jsonl", "runs.json.log"), ("langsmith", "r.jsonl", "runs"),
    ("langfuse", "o.jsonl", "obs.log"), ("otlp", "o.json", "export"),
    ("canonical", "s.csv", "spans"), ("canonical", "s.parquet", "spans.bin"), ("phoenix", "p.parquet", "phx"),
])
def test_a_file_without_a_known_suffix_is_read_by_its_content(tmp_path, fmt, written, renamed):
    """detect_format and the readers decide alike: JSON when the first non-blank character is { or [,
    Parquet by its magic number, CSV else; with format= given as well as with auto."""
    df = spans(3)
    p = WRITERS[fmt](df, tmp_path / written).rename(tmp_path / renamed)
    fmt_read = "otlp" if fmt == "otlp" else fmt
    assert R.detect_format(p) == fmt_read
    assert canonical_equal(df, read_spans(p)) == []
    assert canonical_equal(df, read_spans(p, format=fmt_read)) == []


def test_json_sniffing_skips_a_byte_order_mark_and_blank_lines(tmp_path):
    p = W.write_langsmith(spans(2), tmp_path / "r.jsonl")
    q = tmp_path / "runs.log"
    q.write_bytes(b"\xef\xbb\xbf\n  \n" + p.read_bytes())
    assert R._layout(q) == "json"
    assert canonical_equal(spans(2), read_spans(q)) == []


# ----------------------------------------------------------------------------- mixed extra columns
def test_canonical_parquet_writes_a_mixed_extra_column_as_text(tmp_path):
    lf = tmp_path / "lf.jsonl"
    lf.write_text("".join(json.dumps({"id": i, "traceId": "t", "startTime": "2024-06-01T00:00:00Z",
                                      "endTime": "2024-06-01T00:00:01Z", "environment": e, "retries": r}) + "\n"
                          for i, e, r in [("a", 1, 0), ("b", "prod", 3), ("c", None, 1)]))
    got = read_spans(lf)
    p = W.write_canonical(got, tmp_path / "out.parquet")
    back = read_spans(p)
    assert back["environment"].tolist()[:2] == ["1", "prod"] and pd.isna(back["environment"].iloc[2])
    assert str(back["retries"].dtype) == "int64" and back["retries"].tolist() == [0, 3, 1]
    assert canonical_equal(got, back) == []


# ----------------------------------------------------------------------------- error types
@pytest.mark.parametrize("fmt, suffix", [("langsmith", ".jsonl"), ("otlp", ".json"), ("langfuse", ".jsonl"),
                                         ("phoenix", ".parquet"), ("canonical", ".csv")])
def test_error_types_with_spaces_read_back_as_written(tmp_path, fmt, suffix):
    df = spans(3, status="error", error_type=["Rate limit", "  RateLimit", "TimeoutError"])
    got = read_spans(WRITERS[fmt](df, tmp_path / f"x{suffix}"))
    assert got.sort_values("span_id")["error_type"].tolist() == ["Rate limit", "  RateLimit", "TimeoutError"]


def test_langsmith_error_field_is_a_message_and_absent_without_a_type(tmp_path):
    df = spans(3, status=["error", "error", "ok"], error_type=["Rate limit", None, None])
    p = W.write_langsmith(df, tmp_path / "r.jsonl")
    runs = [json.loads(line) for line in p.read_text().splitlines()]
    assert [r["error"] for r in runs] == ["Rate limit", None, None]
    assert [r["status"] for r in runs] == ["error", "error", "success"]
    assert runs[0]["extra"]["metadata"]["error.type"] == "Rate limit"
    assert "error.type" not in runs[1]["extra"]["metadata"]
    got = read_spans(p).sort_values("span_id")
    assert got["status"].tolist() == ["error", "error", "ok"]
    assert got["error_type"].iloc[0] == "Rate limit" and got["error_type"].iloc[1:].isna().all()


# ----------------------------------------------------------------------------- OTLP
def test_otlp_error_without_type_reads_other_and_missing_name_is_left_out(tmp_path):
    df = spans(2, status="error", error_type=[None, "Boom"], name=[None, "chat m"])
    p = W.write_otlp_json(df, tmp_path / "o.json")
    written = json.loads(p.read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert "name" not in written[0] and written[1]["name"] == "chat m"
    assert "message" not in written[0]["status"]
    got = read_spans(p).sort_values("span_id")
    assert got["error_type"].tolist() == ["_OTHER", "Boom"]
    assert pd.isna(got["name"].iloc[0]) and got["name"].iloc[1] == "chat m"


@pytest.mark.parametrize("jsonl", [False, True])
def test_otlp_refuses_times_before_1970(tmp_path, jsonl):
    df = spans(3)
    df.loc[1, "start_ts"] = pd.Timestamp("1969-12-31T23:59:59Z")
    df.loc[2, "end_ts"] = pd.Timestamp("1960-01-01T00:00:00Z")
    df.loc[0, "start_ts"] = pd.Timestamp("1970-01-01T00:00:00.000000001Z")  # 1 ns: the first time OTLP holds
    df.loc[0, "end_ts"] = pd.Timestamp("1970-01-01T00:00:01Z")
    df.loc[2, "start_ts"] = pd.Timestamp("1970-01-01T00:00:00Z")  # 0: OTLP's "unset"
    p = tmp_path / ("o.jsonl" if jsonl else "o.json")
    with pytest.raises(ValueError, match=r"3 time\(s\) at or before 1970-01-01T00:00:00Z.*row 2 \(span s1\) "
                                         r"start_ts, row 3 \(span s2\) start_ts, row 3 \(span s2\) end_ts"):
        W.write_otlp_json(df, p)
    assert not p.exists()
    ok = W.write_otlp_json(df.iloc[:1], p)
    assert read_spans(ok)["start_ts"].iloc[0] == pd.Timestamp("1970-01-01T00:00:00.000000001Z")


# ----------------------------------------------------------------------------- extra columns
def test_time_zone_of_an_extra_column_is_kept(tmp_path):
    df = spans(2)
    df["seen_at"] = pd.Series(pd.to_datetime(["2024-01-01T10:00:00+02:00", "2024-01-02T00:00:00+02:00"]),
                              index=df.index)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = to_canonical(df)
        back = read_spans(W.write_canonical(df, tmp_path / "s.parquet"))
    for got in (again, back):
        assert isinstance(got["seen_at"].dtype, pd.DatetimeTZDtype) and str(got["seen_at"].dt.tz) == "UTC+02:00"
        assert got["seen_at"].iloc[0] == pd.Timestamp("2024-01-01T08:00:00Z")


def test_user_columns_starting_with_underscore_are_written_bookkeeping_is_not(tmp_path):
    df = spans(2, _batch=[7, 8], _source="x.csv", _row=[1, 2], _problems="late", _raw_start=None,
               _raw_end=None, _arrival_only=False)
    for suf in (".parquet", ".csv"):
        p = W.write_canonical(df, tmp_path / f"s{suf}")
        cols = pd.read_parquet(p).columns if suf == ".parquet" else pd.read_csv(p).columns
        assert "_batch" in cols and not {"_source", "_row", "_problems", "_raw_start", "_raw_end",
                                         "_arrival_only"} & set(cols)
        back = read_spans(p)
        assert back["_batch"].tolist() == ([7, 8] if suf == ".parquet" else ["7", "8"])  # CSV: text
        assert back["_source"].tolist() == [str(p)] * 2


# ----------------------------------------------------------------------------- counts beyond 2^53
BIG = [2**53 + 1, 2**63 - 1, 12]


@pytest.mark.parametrize("fmt, suffix", [("canonical", ".parquet"), ("canonical", ".csv"), ("canonical", ".tsv"),
                                         ("otlp", ".json"), ("langfuse", ".jsonl"), ("langfuse", ".csv"),
                                         ("langfuse", ".parquet"), ("phoenix", ".parquet"),
                                         ("langsmith", ".jsonl")])
def test_token_counts_beyond_2_53_read_back_exactly(tmp_path, fmt, suffix):
    df = spans(3)
    df["input_tokens"] = pd.array(BIG, dtype="Int64")
    # a missing count next to a big one: the OTLP and LangSmith readers frame JSON values column by
    # column, where pandas makes integers with a None float (a known limit, docs §2 writers)
    holes = fmt not in ("otlp", "langsmith")
    df["output_tokens"] = pd.array([None if holes else 1, 5, 2**62 + 3], dtype="Int64")
    got = read_spans(WRITERS[fmt](df, tmp_path / f"x{suffix}")).sort_values("span_id")
    assert got["input_tokens"].tolist() == BIG
    assert got["output_tokens"].tolist()[1:] == [5, 2**62 + 3]
    assert pd.isna(got["output_tokens"].iloc[0]) if holes else got["output_tokens"].iloc[0] == 1


def test_to_canonical_counts_exact_integers_rounded_floats_and_missing_beyond_int64():
    text = ["9007199254740993", " 9223372036854775807 ", "9223372036854775808", "-9223372036854775807",
            "2.5", "3.5", "1e3", "1_000", "x", None, "+12"]
    got = to_canonical(pd.DataFrame({"input_tokens": text}))["input_tokens"].tolist()
    want = [2**53 + 1, 2**63 - 1, None, -(2**63 - 1), 2, 4, 1000, None, None, None, 12]
    assert [None if pd.isna(v) else v for v in got] == want
    objs = pd.Series([2**53 + 1, None, 2**64, np.int64(2**62 + 1), 7.5], dtype=object)
    got = to_canonical(pd.DataFrame({"input_tokens": objs}))["input_tokens"].tolist()
    assert [None if pd.isna(v) else v for v in got] == [2**53 + 1, None, None, 2**62 + 1, 8]
    u = pd.Series(np.array([2**64 - 1, 2**63 - 1, 3], dtype=np.uint64))
    got = to_canonical(pd.DataFrame({"input_tokens": u}))["input_tokens"].tolist()
    assert pd.isna(got[0]) and got[1:] == [2**63 - 1, 3]


def test_canonical_arrow_leaves_counts_beyond_2_53_to_pandas():
    import pyarrow as pa

    t = pa.table({"trace_id": ["t"], "span_id": ["s"], "input_tokens": ["9007199254740993"]})
    assert schema.canonical_arrow(t) is None
    t = pa.table({"trace_id": ["t"], "span_id": ["s"], "input_tokens": ["9007199254740991"]})
    assert schema.canonical_arrow(t).column("input_tokens").to_pylist() == [2**53 - 1]


# ----------------------------------------------------------------------------- empty JSON files
@pytest.mark.parametrize("fmt, name", [("otlp-jsonl", "e.jsonl"), ("langsmith", "e.jsonl"), ("langfuse", "e.jsonl"),
                                       ("langfuse", "e.json"), ("otlp", "e.json")])
def test_an_empty_table_written_as_json_reads_back_empty(tmp_path, fmt, name):
    p = WRITERS[fmt](spans(2).iloc[:0], tmp_path / name)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        got = read_spans(p)
    said = [str(w.message) for w in ws if "without records" in str(w.message)]
    # one OTLP document holds its (empty) resourceSpans: an OTLP file; the others are empty files
    assert said == ([] if fmt == "otlp" else [f"{p}: a JSON file without records; read as an empty span table"])
    assert len(got) == 0 and list(got.columns[:17]) == schema.CANONICAL_COLUMNS
    assert str(got["start_ts"].dtype) == "datetime64[ns, UTC]"


@pytest.mark.parametrize("text", ["", "\n\n", "[]", '{"data": [], "meta": {}}'])
def test_detect_format_of_a_json_file_without_records(tmp_path, text):
    p = tmp_path / "e.json"
    p.write_text(text)
    with pytest.warns(UserWarning, match="without records"):
        assert R.detect_format(p) == "canonical"


# ----------------------------------------------------------------------------- timestamp edges
LAST = pd.Timestamp("2262-04-11T23:47:16.854775807Z")  # the largest nanosecond time
FIRST = pd.Timestamp("1677-09-21T00:12:43.145224193Z")  # the smallest


@pytest.mark.parametrize("fmt, suffix", [("langfuse", ".jsonl"), ("phoenix", ".parquet"), ("langsmith", ".jsonl")])
def test_first_token_time_beyond_the_range_is_a_named_error(tmp_path, fmt, suffix):
    df = spans(3, ttft_s=[0.25, 1.0, -2.0])
    df["start_ts"] = pd.Series([LAST - pd.Timedelta("1s"), LAST - pd.Timedelta("0.5s"), FIRST + pd.Timedelta("1s")],
                               index=df.index)
    df["end_ts"] = df["start_ts"]
    p = tmp_path / f"x{suffix}"
    with pytest.raises(ValueError, match=r"start_ts \+ ttft_s of 2 span\(s\) is outside.*row 2 \(span s1\), "
                                         r"row 3 \(span s2\)"):
        WRITERS[fmt](df, p)
    assert not p.exists()
    ok = df.iloc[:1]  # 0.25 s before the end of the range: written, first token read back
    got = read_spans(WRITERS[fmt](ok, p))
    assert got["ttft_s"].iloc[0] == pytest.approx(0.25, abs=1e-6)


def test_iso_text_at_the_ends_of_the_range():
    ts = pd.Series([FIRST, pd.Timestamp("1677-09-21T00:12:43.145225Z"), LAST, pd.NaT,
                    pd.Timestamp("1969-12-31T23:59:59.9999995Z")], dtype="datetime64[ns, UTC]")
    assert W._iso(ts) == ["1677-09-21T00:12:43.145224Z", "1677-09-21T00:12:43.145225Z",
                          "2262-04-11T23:47:16.854775Z", None, "1969-12-31T23:59:59.999999Z"]


def test_canonical_csv_round_trip_at_the_ends_of_the_range(tmp_path):
    df = spans(2)
    df["start_ts"] = pd.Series([pd.Timestamp("1677-09-21T00:12:43.145225Z"), LAST - pd.Timedelta("1s")],
                               index=df.index)
    df["end_ts"] = pd.Series([pd.Timestamp("1677-09-21T00:12:44Z"), LAST.floor("us")], index=df.index)
    back = read_spans(W.write_canonical(df, tmp_path / "s.csv"))
    assert canonical_equal(df, back) == []
    assert back["start_ts"].iloc[0] == pd.Timestamp("1677-09-21T00:12:43.145225Z")


def test_langfuse_latency_of_a_span_longer_than_292_years(tmp_path):
    df = spans(1)
    df["start_ts"] = pd.Series([pd.Timestamp("1700-01-01T00:00:00Z")], index=df.index)
    df["end_ts"] = pd.Series([pd.Timestamp("2200-01-01T00:00:00.5Z")], index=df.index)
    df["ttft_s"] = 1.0
    p = W.write_langfuse(df, tmp_path / "o.jsonl")
    rec = json.loads(p.read_text())
    days = 500 * 365 + 121  # leap days 1700-2199: 125 multiples of 4, less 1700, 1800, 1900, 2100
    assert rec["latency"] == days * 86400 + 0.5
    assert rec["completionStartTime"] == "1700-01-01T00:00:01.000000Z"
