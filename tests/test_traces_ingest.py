"""Validated ingest without loading the table into pandas (traces.ingest) and the CSV reader beneath it.

References: pandas' own CSV parser (``read_csv(dtype=object)``) for the text frames, pandas'
``to_numeric`` for numbers, and the pandas validator (``load_spans`` + ``aggregate`` of the
accepted rows) for reports, error messages, quarantined rows and panels.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dsge_agents.cli.main import main
from dsge_agents.errors import TraceValidationError
from dsge_agents.traces import readers
from dsge_agents.traces.aggregate import aggregate
from dsge_agents.traces.ingest import engine_plan, ingest_files
from dsge_agents.traces.readers import TraceFormatError
from dsge_agents.traces.schema import CANONICAL_COLUMNS, _to_number
from dsge_agents.traces.validate import load_spans
from test_traces_validate_sql import _spans, cli_engines_agree

ROW = "t1,s1,,chat,chat,a,p,m,2024-01-01T00:00:00Z,2024-01-01T00:00:01Z,0.1,10,20,,0.01,ok,,x"
HEAD = ",".join(CANONICAL_COLUMNS) + ",note"


def _pandas_frames(path, sep=","):
    return pd.read_csv(path, sep=sep, dtype="object", keep_default_na=True)


def _same_text(a: pd.DataFrame, b: pd.DataFrame):
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c].astype(object), b[c].astype(object)
        assert (x.isna().to_numpy() == y.isna().to_numpy()).all(), c
        assert x[x.notna()].tolist() == y[y.notna()].tolist(), c


CASES = {
    "quoted": HEAD + '\n"t,1","s""1",,"multi\nline",chat,a,p,m,2024-01-01 00:00:00,x,1e-1, 10 ,1_000,abc,0x1,'
                     'STATUS_CODE_ERROR,,"y,z"\n',
    "na_spellings": HEAD + "\nNA,None,null,n/a,NaN,-nan,#N/A,<NA>,yesterday,1717200000,inf,-5,1,nan,"
                           'Infinity,Failed,"",\n',
    "short_row": HEAD + "\nt1,s1\n" + ROW + "\n",       # pandas pads with NA: Arrow rejects, pandas continues
    "bom_crlf": "\ufeff" + (HEAD + "\n" + ROW + "\n").replace("\n", "\r\n"),
    "unicode": HEAD + "\n" + ROW.replace("chat,a", "ch\u00e4t \u2603,\u00e9") + "\n",
    "blank_lines": HEAD + "\n\n" + ROW + "\n\n",
    "header_only": HEAD + "\n",
    "cr_line_endings": (HEAD + "\n" + ROW + "\n" + ROW.replace("t1,s1", "t2,s2") + "\n").replace("\n", "\r"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_csv_frames_equal_pandas_parser(name, tmp_path):
    p = tmp_path / f"{name}.csv"
    p.write_bytes(CASES[name].encode("utf-8"))
    frames = list(readers._csv_frames(p))
    got = pd.concat(frames, ignore_index=True)
    _same_text(got, _pandas_frames(p))


def test_csv_frames_refuse_a_repeated_column_name(tmp_path):
    """pandas would rename the second "note" to "note.1" (and the readers use the first alone)."""
    p = tmp_path / "repeated_name.csv"
    p.write_text(HEAD + ",note\n" + ROW + ",w\n")
    with pytest.raises(readers.TraceFormatError, match="'note' appear more than once in the header"):
        list(readers._csv_frames(p))


def test_csv_frames_across_blocks_and_a_late_bad_row(tmp_path):
    """Many Arrow blocks; a short row after the first blocks hands over to pandas, which
    continues from the first row not yet yielded: no row lost or repeated."""
    r = np.random.default_rng(0)
    rows = [ROW.replace("t1,s1", f"t{i},s{i}").replace("0.01", repr(float(r.random()))) for i in range(3000)]
    for name, text in {"clean": rows, "late_short_row": rows[:2500] + ["t9,s9"] + rows[2500:]}.items():
        p = tmp_path / f"{name}.csv"
        p.write_text(HEAD + "\n" + "\n".join(text) + "\n")
        frames = list(readers._csv_frames(p, chunk_rows=100))
        assert len(frames) > 3
        kinds = {"pandas" if f["trace_id"].dtype == object else "arrow" for f in frames}
        assert kinds == ({"arrow"} if name == "clean" else {"arrow", "pandas"})  # the hand-over happened
        _same_text(pd.concat(frames, ignore_index=True), _pandas_frames(p))
    # the canonical chunks number the lines as read_canonical does
    ch = [c for c, _ in readers.canonical_chunks(p, chunk_rows=100)]
    whole = readers.read_canonical(p)
    assert pd.concat(ch, ignore_index=True)["_row"].tolist() == whole["_row"].tolist() == list(range(2, 3003))


def test_csv_errors_name_the_file_and_line(tmp_path):
    long_row = tmp_path / "long.csv"
    long_row.write_text(HEAD + "\n" + ROW + "\n" + ROW + ",extra,fields\n")
    with pytest.raises(TraceFormatError, match=r"long\.csv: cannot parse CSV: .*line 3"):
        readers.read_canonical(long_row)
    bad_utf8 = tmp_path / "latin1.csv"
    line2 = ROW.replace("chat,a", "ch\xe4t,a").encode("latin-1")
    bad_utf8.write_bytes(HEAD.encode() + b"\n" + line2 + b"\n")
    byte = line2.index(bytes([0xE4])) + 1
    where = f"line 2, byte {byte}"                                 # 't1,s1,,chat,ch' is 14 bytes: 15
    assert where == "line 2, byte 15"
    with pytest.raises(TraceFormatError, match=rf"latin1\.csv: {where}: not UTF-8 text"):
        list(readers.canonical_chunks(bad_utf8))
    with pytest.raises(TraceFormatError, match=rf"latin1\.csv: {where}: not UTF-8 text"):
        readers.read_canonical(bad_utf8)
    not_parquet = tmp_path / "x.parquet"
    not_parquet.write_text("hello")
    with pytest.raises(TraceFormatError, match=r"x\.parquet: not a readable Parquet file"):
        readers.read_spans([not_parquet])
    bad_header = tmp_path / "h.csv"
    bad_header.write_bytes(b"trace_id,sp\xe4n_id\n")
    with pytest.raises(TraceFormatError, match=r"h\.csv: line 1, byte 12: not UTF-8 text"):
        readers.read_spans([bad_header])


def test_byte_order_mark_is_not_a_missing_column(tmp_path):
    """Spreadsheet exports start with a UTF-8 byte-order mark: the header still names trace_id
    (the column check once read it as '\ufefftrace_id' and rejected every row)."""
    p = tmp_path / "excel.csv"
    p.write_bytes(("\ufeff" + HEAD + "\n" + ROW + "\n").encode("utf-8"))
    assert readers._columns_of(p)[0] == "trace_id"
    accepted, rep = load_spans([p], on_error="quarantine", quarantine_path=tmp_path / "q.parquet")
    assert rep.problems == {} and len(accepted) == 1 and accepted["trace_id"].iat[0] == "t1"
    panel, rep2 = ingest_files([p], on_error="raise", workdir=tmp_path)
    assert rep2.to_dict() == rep.to_dict()


def test_text_numbers_parse_as_pandas_does():
    r = np.random.default_rng(1)
    vals = [repr(float(x)) for x in r.lognormal(0, 5, 2000)] + [str(int(x)) for x in r.integers(-10**6, 10**6, 500)]
    vals += ["1e400", "-1e-400", "inf", "-Infinity", "nan", "007", "+3", ".5", "5.", "4.9e-324", None]
    s = pd.Series(vals, dtype=object)
    ref = pd.to_numeric(s, errors="coerce").astype("float64").to_numpy()
    np.testing.assert_array_equal(_to_number(s).to_numpy(), ref)           # Arrow's fast path, bit for bit
    odd = pd.Series(vals[:50] + [" 12", "1,000", "abc", "0x10"], dtype=object)  # pandas' path
    np.testing.assert_array_equal(
        _to_number(odd).astype("float64").to_numpy(), pd.to_numeric(odd, errors="coerce").astype("float64").to_numpy())


TIMES = ["2024-06-01 00:00:00.014834000Z", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00.5+02:00",
         "2024-06-01T00:00:00-05:30", "2024-06-01 00:00:00", "2024-06-01", "2024-06-01T00:00:60Z",
         "2024-02-30T00:00:00Z", "2300-01-01T00:00:00Z", "1969-12-31T23:59:59.999999999Z",
         "2024-06-01T00:00:00.123456789123Z", " 2024-06-01T00:00:00Z", "2024-06-01T00:00:00z", "20240601T000000Z",
         "2024-06-01T00:00:00+0200", "2024-06-01T24:00:00Z", "2024-6-1T00:00:00Z", "1717200000",
         "2024-06-01T00:00:00 UTC", "", "  ", None, "2262-04-11T23:47:16.854775807Z",
         "2262-04-11T23:47:16.854775808Z", "2024-06-01T00:00:00+14:00", "2024-06-01T00:00:00+25:00",
         "0001-01-01T00:00:00Z"]


def test_text_times_parse_as_pandas_does():
    """Arrow's ISO 8601 cast (taken when every value parses) against pandas' to_datetime path:
    the same instants and the same unparseable values, one by one and as whole columns."""
    from dsge_agents.traces.schema import _arrow_times, _to_utc

    def both(values):
        s = pd.Series(values, dtype=object)
        (a, ba), (b, bb) = _to_utc(s, fast=True), _to_utc(s, fast=False)
        pd.testing.assert_series_equal(a, b)
        pd.testing.assert_series_equal(ba, bb)
        return _arrow_times(s) is not None

    used = [both([v]) for v in TIMES]
    assert sum(used) >= 8 and not all(used)            # both paths exercised
    assert not both(TIMES)                             # one odd value: pandas parses the column
    r = np.random.default_rng(3)
    ns = r.integers(-2 * 10**18, 9 * 10**18, 5000)
    stamps = pd.to_datetime(ns, unit="ns", utc=True)
    offs = r.choice(["Z", "+02:00", "-05:30", "+0000"], len(ns))
    digits = r.integers(0, 10, len(ns))
    text = [t.tz_convert(None).strftime("%Y-%m-%dT%H:%M:%S") + ("." + f"{t.value % 10**9:09d}"[:d] if d else "")
            + o for t, o, d in zip(stamps, offs, digits)]
    assert both(text)                                  # all ISO with zones: Arrow's cast


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Four files of every kind the engine path takes: a CSV and a TSV staged, a typed Parquet
    read directly, a Parquet with text timestamps staged; problems of every class across them."""
    d = tmp_path_factory.mktemp("ingest")
    a, b, t = _spans(3000, 0, 11), _spans(2000, 3000, 12), _spans(1500, 6000, 13)
    a = a.astype({"start_ts": object, "end_ts": object, "output_tokens": object})
    a.loc[5, "span_id"] = None                                           # missing_id
    a.loc[10, "end_ts"] = None                                           # nan_duration
    a.loc[12, "start_ts"] = "yesterday-ish"                              # unparseable_timestamp
    a.loc[13, "end_ts"] = "2024-13-45T99:00"                             # unparseable_timestamp
    a.loc[14, "end_ts"] = "2300-01-01T00:00:00Z"                         # beyond ns timestamps: same
    a.loc[20, "end_ts"] = a.loc[20, "start_ts"] - pd.Timedelta("1s")     # end_before_start
    a.loc[30, "ttft_s"] = -0.1                                           # negative_duration
    a.loc[40, "input_tokens"] = -5                                       # negative_tokens
    a.loc[41, "output_tokens"] = "many"                                  # not a number: NA, fine
    a.loc[50:70, "status"] = "STATUS_CODE_ERROR"                         # spelling mapped by the reader
    a["note, free text"] = [f"n{i}" if i % 4 else None for i in range(len(a))]  # a quoted header name
    b.loc[7, "span_id"] = a.loc[100, "span_id"]                          # duplicate across files
    b.loc[50, "parent_span_id"] = "nope"                                 # orphan_parent
    t["start_ts"] = t["start_ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")   # text timestamps: staged
    t.loc[3, "end_ts"] = pd.NaT
    t.loc[4, "span_id"] = b.loc[9, "span_id"]                            # duplicate of a direct file
    c = _spans(300, 9000, 14).drop(columns=["end_ts"])                   # missing_columns
    paths = [d / "a.csv", d / "b.parquet", d / "t.parquet", d / "c.tsv"]
    a.to_csv(paths[0], index=False)
    b.to_parquet(paths[1], index=False)
    t.to_parquet(paths[2], index=False)
    c.to_csv(paths[3], index=False, sep="\t")
    return [str(p) for p in paths]


def test_plan_routes_each_file(inputs, tmp_path):
    plan = engine_plan(inputs)
    assert plan.direct == [inputs[1]] and plan.staged == [inputs[0], inputs[2], inputs[3]]
    assert engine_plan(inputs, price_table={"m": (1.0, 2.0)}).direct == []
    otlp = tmp_path / "x.json"
    otlp.write_text(json.dumps({"resourceSpans": []}))
    reserved = tmp_path / "r.csv"
    reserved.write_text(HEAD + ",_row\n" + ROW + ",1\n")
    assert engine_plan([inputs[0], otlp]) is None and engine_plan([reserved]) is None
    with pytest.raises(TraceFormatError, match=r"r\.csv: has columns named like the readers' bookkeeping \(_row\)"):
        ingest_files([reserved])
    with pytest.raises(TraceFormatError, match="x.json"):
        ingest_files([otlp])


def test_same_report_quarantine_and_panels_as_pandas(inputs, tmp_path):
    accepted, ref = load_spans(inputs, on_error="quarantine", quarantine_path=tmp_path / "qp.parquet")
    panel, rep = ingest_files(inputs, on_error="quarantine", quarantine_path=tmp_path / "qe.parquet",
                              chunk_rows=700, workdir=tmp_path)
    r, e = ref.to_dict(), rep.to_dict()
    assert r.pop("quarantine_file") != e.pop("quarantine_file")
    assert e == r
    hand = {"missing_columns": 300, "missing_id": 1, "unparseable_timestamp": 3, "nan_duration": 2,
            "end_before_start": 1, "negative_duration": 1, "negative_tokens": 1, "duplicate_span_id": 2}
    assert {k: e["problems"][k] for k in hand} == hand
    assert e["input_rows"] == 6800 == e["accepted_rows"] + e["quarantined_rows"]
    ex = {x["row"]: x["value"] for x in e["examples"]["unparseable_timestamp"]}
    assert ex == {14: "yesterday-ish", 15: "2024-13-45T99:00", 16: "2300-01-01T00:00:00Z"}  # CSV lines
    qp, qe = pd.read_parquet(tmp_path / "qp.parquet"), pd.read_parquet(tmp_path / "qe.parquet")
    assert list(qe.columns) == list(qp.columns)
    for c in qp.columns:
        assert qe[c].astype(str).tolist() == qp[c].astype(str).tolist(), c
    m = aggregate(accepted, "1min").tidy.merge(panel.tidy, on=["period", "agent", "metric"], how="outer",
                                               suffixes=("_r", "_e"), indicator=True)
    assert (m["_merge"] == "both").all()
    np.testing.assert_allclose(m["value_e"], m["value_r"], rtol=1e-12, atol=1e-12, equal_nan=True)
    assert panel.wide["error_rate"].max() > 0.5        # the STATUS_CODE_ERROR rows count as errors
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("dsge-agents-stage-")]  # staging removed


def test_same_error_message_as_pandas(inputs):
    with pytest.raises(TraceValidationError) as ref:
        load_spans(inputs, on_error="raise")
    with pytest.raises(TraceValidationError) as got:
        ingest_files(inputs, on_error="raise", chunk_rows=500)
    assert str(got.value) == str(ref.value)
    assert "a.csv: row 14 (span_id s0000012)" in str(got.value)


def test_price_table_fills_cost_while_staging(tmp_path):
    df = _spans(400, 0, 15).drop(columns=["cost_usd"])
    df["model"] = np.where(np.arange(400) % 2 == 0, "small", "other")
    p = tmp_path / "s.parquet"                     # typed Parquet: staged because of the prices
    df.to_parquet(p, index=False)
    prices = {"small": (2.0, 8.0)}
    accepted, _ = load_spans([p], on_error="raise", price_table=prices)
    panel, _ = ingest_files([p], price_table=prices, requests=False)
    ref = aggregate(accepted, "1min", requests=False).wide["cost"]
    np.testing.assert_allclose(panel.wide["cost"].to_numpy(), ref.to_numpy(), rtol=1e-12)
    small = df["model"] == "small"                 # by hand: 2 $ and 8 $ per million tokens
    hand = ((df.loc[small, "input_tokens"] * 2.0 + df.loc[small, "output_tokens"] * 8.0) / 1e6).sum()
    assert panel.wide["cost"].sum() == pytest.approx(hand, rel=1e-12)


def test_cli_ingest_csv_in_the_engine(inputs, tmp_path, monkeypatch, capsys):
    cli_engines_agree(inputs, tmp_path)
    # the default engine does not read the table into pandas
    import importlib

    v = importlib.import_module("dsge_agents.traces.validate")  # the module, not the re-exported function

    def refuse(*a, **k):
        raise AssertionError("pandas validator used")

    monkeypatch.setattr(v, "validate", refuse)
    out = tmp_path / "again.parquet"
    assert main(["ingest", inputs[0], "-o", str(out), "--on-error", "quarantine"]) == 0
    assert (tmp_path / "again.quarantine.parquet").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("dsge-agents-stage-")]


def test_file_names_with_quotes_and_spaces(tmp_path):
    """File names go into DuckDB's SQL as literals: quotes and spaces must survive."""
    d = tmp_path / "team's traces [v2]"
    d.mkdir()
    a, b = _spans(300, 0, 16), _spans(200, 300, 17)
    b.loc[3, "span_id"] = a.loc[4, "span_id"]     # a duplicate across the files; b row 4 loses its parent
    a.to_csv(d / "a 'x'.csv", index=False)
    b.to_parquet(d / 'b "y".parquet', index=False)
    files = [str(d / "a 'x'.csv"), str(d / 'b "y".parquet')]
    q = d / "o'q.parquet"
    panel, rep = ingest_files(files, on_error="quarantine", quarantine_path=q, workdir=d, requests=False)
    assert rep.problems == {"duplicate_span_id": 1, "orphan_parent": 1}
    assert rep.quarantine_file == str(q) and q.exists()
    assert pd.read_parquet(q)[["_source", "_row"]].values.tolist() == [[files[1], 4], [files[1], 5]]
    assert panel.wide["arrivals"].sum() == 498
    assert aggregate(files[1:], "1min", requests=False).wide["arrivals"].sum() == 200


def test_cli_duckdb_settings(inputs, tmp_path, capsys):
    out = tmp_path / "o.parquet"
    assert main(["ingest", inputs[1], "-o", str(out), "--memory-limit", "lots"]) == 1
    assert "--memory-limit 'lots': not a size DuckDB understands" in capsys.readouterr().err
    assert main(["ingest", inputs[1], "-o", str(out), "--engine", "pandas", "--threads", "2"]) == 1
    assert "apply to --engine duckdb" in capsys.readouterr().err
    assert main(["ingest", inputs[1], "-o", str(out), "--threads", "0"]) == 1
    assert "--threads must be at least 1" in capsys.readouterr().err
    assert not out.exists()
    ref = tmp_path / "ref.parquet"
    assert main(["ingest", inputs[0], inputs[1], "-o", str(ref), "--on-error", "quarantine"]) == 0
    assert main(["ingest", inputs[0], inputs[1], "-o", str(out), "--on-error", "quarantine",
                 "--memory-limit", "100MB", "--threads", "1"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(ref))


def test_price_table_errors_are_named(inputs, tmp_path):
    with pytest.raises(TraceFormatError, match=r"price table .*nope\.csv: no such file"):
        ingest_files(inputs[:1], price_table=tmp_path / "nope.csv")
    bad = tmp_path / "prices.csv"
    bad.write_text("model,input_per_1m\nm,1.0\n")
    for reader in (lambda: ingest_files(inputs[:1], price_table=bad),
                   lambda: readers.read_spans(inputs[:1], price_table=bad)):
        with pytest.raises(TraceFormatError, match=r"price table .*prices\.csv lacks column.s. output_per_1m"):
            reader()


def test_json_with_byte_order_mark_and_bad_bytes(tmp_path):
    rec = {"trace_id": "t1", "span_id": "s1", "start_ts": "2024-01-01T00:00:00Z",
           "end_ts": "2024-01-01T00:00:01Z", "agent_name": "a"}
    plain, bom, bad = tmp_path / "p.jsonl", tmp_path / "b.jsonl", tmp_path / "x.jsonl"
    text = json.dumps(rec) + "\n" + json.dumps({**rec, "span_id": "s2"}) + "\n"
    plain.write_text(text)
    bom.write_bytes(b"\xef\xbb\xbf" + text.encode())
    latin = json.dumps({**rec, "agent_name": "\xe9"}, ensure_ascii=False).encode("latin-1")
    bad.write_bytes(text.encode() + latin + b"\n")
    a, b = readers.read_spans([plain]), readers.read_spans([bom])
    assert len(a) == 2 and a.drop(columns="_source").equals(b.drop(columns="_source"))
    with pytest.raises(TraceFormatError, match=r"x\.jsonl: line 3, byte \d+: not UTF-8 text"):
        readers.read_spans([bad])


def test_out_of_range_times_and_counts_in_other_formats(tmp_path):
    """Times beyond int64 nanoseconds and absurd token counts: flagged or missing, never a
    pandas traceback and never wrapped to a negative number."""
    span = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "chat m",
            "startTimeUnixNano": "1717200000000000000", "endTimeUnixNano": "1717200001000000000",
            "attributes": [{"key": "gen_ai.usage.input_tokens", "value": {"doubleValue": 1e300}},
                           {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "7"}}]}
    huge = {**span, "spanId": "b7ad6b7169203332", "startTimeUnixNano": "99999999999999999999"}
    otlp = tmp_path / "o.json"
    otlp.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span, huge]}]}]}))
    df, rep = load_spans([otlp], on_error="quarantine", quarantine_path=tmp_path / "q1.parquet")
    assert rep.problems == {"unparseable_timestamp": 1}
    assert df["input_tokens"].isna().all() and df["output_tokens"].tolist() == [7]
    run = {"id": "r1", "trace_id": "t1", "name": "llm", "run_type": "llm", "start_time": "2024-06-01T00:00:00Z",
           "end_time": "3000-01-01T00:00:00Z"}
    ls = tmp_path / "runs.jsonl"
    ls.write_text(json.dumps(run) + "\n" + json.dumps({**run, "id": "r2", "end_time": 1e30}) + "\n")
    _, rep = load_spans([ls], on_error="quarantine", quarantine_path=tmp_path / "q2.parquet")
    assert rep.problems == {"unparseable_timestamp": 2}
    assert [x["value"] for x in rep.examples["unparseable_timestamp"]] == ["3000-01-01T00:00:00Z", "1e+30"]


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_rows_are_named_by_their_line_after_blank_lines_and_multiline_values(tmp_path, eol):
    """Reports name CSV rows by the line the record starts on. Blank and whitespace-only lines
    (skipped by the parsers) and quoted values holding line breaks shift records against their
    ordinal; the expected lines are counted while the file is written."""
    head = "trace_id,span_id,parent_span_id,name,agent_name,start_ts,end_ts,status,input_tokens"
    good = "t{i},s{i},,plain,a,2024-06-01T00:00:0{k}Z,2024-06-01T00:00:09Z,ok,10"
    lines, expected = [head], {}
    for i in range(12):
        k = i % 5
        if i in (2, 7):
            lines.append("")  # a blank line
        if i == 9:
            lines.append("   ")  # whitespace only: pandas skips it too
        rec = good.format(i=i, k=k)
        if i in (3, 8):  # a name holding a line break (its own line end inside the quotes)
            rec = rec.replace(",plain,", ',"two' + eol + 'lines",')
        if i in (5, 10):  # end before start
            rec = rec.replace("00:00:09Z", "00:00:00Z").replace("0{k}Z".format(k=k), "05Z", 1)
            expected[f"s{i}"] = sum(1 + x.count(eol) for x in lines) + 1
        if i == 11:  # negative tokens, last line without a line end
            rec = rec[: -len("10")] + "-3"
            expected[f"s{i}"] = sum(1 + x.count(eol) for x in lines) + 1
        lines.append(rec)
    path = tmp_path / "odd.csv"
    path.write_bytes(eol.join(lines).encode())
    # the lines counted while writing, checked on the file's bytes
    physical = path.read_bytes().decode().split(eol)
    for sid, line in expected.items():
        assert physical[line - 1].startswith(f"t{sid[1:]},{sid},")
    with pytest.raises(TraceValidationError) as pandas_err:
        load_spans(path)
    with pytest.raises(TraceValidationError) as engine_err:
        ingest_files([path], "1min", chunk_rows=5)
    for err in (pandas_err, engine_err):
        for sid, line in expected.items():
            assert f"row {line} (span_id {sid})" in str(err.value), (sid, line, str(err.value))
    q1, q2 = tmp_path / "q1.parquet", tmp_path / "q2.parquet"
    spans, rep = load_spans(path, on_error="quarantine", quarantine_path=q1)
    _, rep2 = ingest_files([path], "1min", on_error="quarantine", quarantine_path=q2, chunk_rows=5)
    assert rep.to_dict() | {"quarantine_file": None} == rep2.to_dict() | {"quarantine_file": None}
    assert rep.input_rows == 12 and rep.quarantined_rows == 3
    for q in (q1, q2):
        got = pd.read_parquet(q).set_index("span_id")["_row"].to_dict()
        assert got == expected
    # accepted rows keep their lines too (record 4 sits after one blank line and one two-line value)
    assert int(readers.read_canonical(path).set_index("span_id").loc["s4", "_row"]) == 4 + 2 + 2


def test_row_numbers_of_a_plain_file_are_its_lines(tmp_path):
    """One record per line (the common case): the byte count settles it without parsing."""
    p = tmp_path / "plain.csv"
    p.write_text("a,b\n" + "".join(f"{i},x\n" for i in range(1000)))
    assert readers._csv_record_lines(p, 1000) is None
    np.testing.assert_array_equal(readers.csv_row_numbers(p, 1000), np.arange(2, 1002))
    # a count that does not match what the csv module finds: no guessing, ordinal lines
    assert readers._csv_record_lines(p, 999) is None


def _rows_with(old, values):
    return [ROW.replace(old, v).replace("t1,s1", f"t{i},s{i}") for i, v in enumerate(values)]


_NUMS, _TIMES = "0.1,10,20,,0.01", "2024-01-01T00:00:00Z,2024-01-01T00:00:01Z"
FAST_CASES = {  # small files are one chunk: (rows, whether canonical_arrow coerces it)
    "clean": ([ROW.replace("t1,s1", f"t{i},s{i}") for i in range(40)], True),
    "status_spellings": (_rows_with(",ok,", [f",{s}," for s in ["OK", " error ", "STATUS_CODE_ERROR", "failed", "",
                                                                "weird", "Unset", "0"]]), True),
    "numbers_arrow": (_rows_with(_NUMS, ["1e-1,2.5,3.5,-0.5,NAN", "inf,1e3,0,,-inf", "0.25,7,8,9,1E-2",
                                         "-nan,12.5,13.5,0.5,Infinity", "1,-2.5,9007199254740991,1e15,-0"]), True),
    # above 2^53 a double no longer holds every integer: pandas' exact integer parsing
    "counts_beyond_2_53": (_rows_with(_NUMS, ["0.1,9007199254740993,9223372036854775807,,0.5",
                                              "0.1,1e18,2,, 0.5"]), False),
    "numbers_pandas": (_rows_with(_NUMS, [" 0.3,10,20,,0.01", "0.1,1_000,20,,0.01"]), False),
    "counts_beyond_int64": (_rows_with(_NUMS, ["0.1,1e19,2,,0.5", "0.1,inf,2,,0.5"]), False),
    "times_arrow": (_rows_with(_TIMES, ["2024-01-01T00:00:00.123456789+02:00,2024-01-01T00:00:01Z",
                                        " ,2024-01-01T00:00:01Z", "2024-01-01T00:00:00Z,",
                                        "2024-01-01T03:00:00-01:30,2024-01-01T03:00:00.5-01:30"]), True),
    "times_pandas": (_rows_with(_TIMES, ["2024-01-01 00:00:00,2024-01-01T00:00:01Z",
                                         "2024-01-01T00:00:00Z,yesterday",
                                         "2300-01-01T00:00:00Z,2024-01-01T00:00:01Z"]), False),
}


@pytest.mark.parametrize("name", sorted(FAST_CASES))
@pytest.mark.filterwarnings("ignore:status values not recognised")  # 'weird' (tested in test_traces_readers_edge)
def test_staging_arrow_fast_path_equals_pandas_coercion(name, tmp_path, monkeypatch):
    """Staging coerces text chunks in Arrow (schema.canonical_arrow) when it can; the staging file
    must be identical, value for value and type for type, to the one the pandas coercion
    (readers' to_canonical, the reference) writes. Also counts the chunks that took the Arrow
    path, so the comparison is not pandas against itself."""
    import pyarrow.parquet as pq

    from dsge_agents.traces import ingest, schema

    rows, arrow_path = FAST_CASES[name]
    p = tmp_path / f"{name}.csv"
    p.write_text("\n".join([HEAD + ",_hidden"] + [r + ",h" for r in rows]) + "\n")
    taken = []
    orig_arrow = schema.canonical_arrow
    monkeypatch.setattr(schema, "canonical_arrow", lambda t: taken.append(orig_arrow(t) is not None) or orig_arrow(t))
    ingest.stage_file(p, tmp_path / "fast.parquet", chunk_rows=4)
    assert taken == [arrow_path]
    monkeypatch.setattr(schema, "canonical_arrow", lambda t: None)  # every chunk through pandas
    ingest.stage_file(p, tmp_path / "pandas.parquet", chunk_rows=4)
    fast, ref = pq.read_table(tmp_path / "fast.parquet"), pq.read_table(tmp_path / "pandas.parquet")
    assert fast.schema.equals(ref.schema), (fast.schema, ref.schema)
    assert "_hidden" in ref.column_names and "note" in ref.column_names  # user columns, also with "_", kept
    for c in ref.column_names:
        assert fast.column(c).to_pylist() == ref.column(c).to_pylist(), c
