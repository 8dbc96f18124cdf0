"""Validation inside DuckDB (traces.validate_sql) against the pandas validator, on the same files.

The pandas validator (traces.validate) is the reference: the tests write canonical Parquet files
holding every problem class (about 1 % of the rows, mixed, spread over three files, one of which
lacks a required column) and require the same report, the same error message, the same
quarantined rows and the same panels of the accepted rows.
"""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dsge_agents.cli.main import main
from dsge_agents.errors import TraceValidationError
from dsge_agents.traces.aggregate import aggregate
from dsge_agents.traces.ingest import engine_plan
from dsge_agents.traces.validate import load_spans
from dsge_agents.traces.validate_sql import engine_can_validate, status_needs_mapping, validate_files


def _spans(n: int, first: int, seed: int) -> pd.DataFrame:
    r = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(
        np.sort(r.integers(0, 3_600_000_000, n)), unit="us")
    lat = pd.to_timedelta((r.lognormal(0.0, 0.7, n) * 1e6).astype(np.int64), unit="us")
    return pd.DataFrame({
        "trace_id": [f"t{(first + i) // 3:06d}" for i in range(n)],
        "span_id": [f"s{first + i:07d}" for i in range(n)],
        "parent_span_id": [None if i % 3 == 0 else f"s{first + i - 1:07d}" for i in range(n)],
        "name": "chat", "operation": "chat",
        "agent_name": r.choice(["plan", "act", "verify"], n), "provider": "p", "model": "m",
        "start_ts": start, "end_ts": start + lat,
        "ttft_s": r.uniform(0.0, 0.5, n) * lat.total_seconds().to_numpy(),  # within the span
        "input_tokens": r.integers(1, 100, n), "output_tokens": r.integers(1, 100, n),
        "cached_input_tokens": pd.array([None] * n, dtype="Int64"),
        "cost_usd": r.uniform(0, 0.01, n), "status": r.choice(["ok", "error"], n, p=[0.95, 0.05]),
        "error_type": None, "extra": np.arange(n),
    })


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("vsql")
    a, b = _spans(3000, 0, 1), _spans(2000, 3000, 2)
    a.loc[5, "span_id"] = None                                               # missing_id
    a.loc[6, "trace_id"] = " \t"                                             # missing_id (blank)
    a.loc[10, "end_ts"] = pd.NaT                                             # nan_duration
    a.loc[11, "start_ts"] = pd.NaT                                           # nan_duration
    a.loc[20, "end_ts"] = a.loc[20, "start_ts"] - pd.Timedelta("1s")         # end_before_start
    a.loc[30, "ttft_s"] = -0.1                                               # negative_duration
    a.loc[31, "ttft_s"] = np.inf                                             # negative_duration
    a.loc[32, "ttft_s"] = 1e6                                                # ttft longer than the span
    a.loc[33, "ttft_s"] = np.nan                                             # fine
    a.loc[40, "input_tokens"] = -5                                           # negative_tokens
    b.loc[3, "output_tokens"] = -1                                           # negative_tokens
    b.loc[7, "span_id"] = a.loc[100, "span_id"]                              # duplicate across files
    a.loc[101, "span_id"] = a.loc[102, "span_id"]                            # duplicate, first kept
    b.loc[50, "parent_span_id"] = "nope"                                     # orphan_parent
    b.loc[51, "parent_span_id"] = " "                                        # blank parent: fine
    b.loc[60, ["span_id", "end_ts"]] = [a.loc[200, "span_id"], pd.NaT]       # two problems in one row
    c = _spans(300, 9000, 3).drop(columns=["end_ts"])                        # missing_columns
    paths = [d / "a.parquet", d / "b.parquet", d / "c.parquet"]
    for df, p in zip((a, b, c), paths):
        df.to_parquet(p, index=False)
    return [str(p) for p in paths]


def test_same_report_quarantine_and_panels_as_pandas(files, tmp_path):
    assert engine_can_validate(files)
    accepted, ref = load_spans(files, on_error="quarantine", quarantine_path=tmp_path / "qp.parquet")
    bad, rep = validate_files(files, on_error="quarantine", quarantine_path=tmp_path / "qe.parquet")
    r, e = ref.to_dict(), rep.to_dict()
    assert r.pop("quarantine_file") != e.pop("quarantine_file")
    assert e == r
    # by hand from the fixture; orphans: b row 51 ('nope') and the children of the spans whose
    # id it changed (b rows 9 and 62; the children of a rows 6 and 102 are roots: i % 3 == 0)
    hand = {"missing_columns": 300, "missing_id": 2, "nan_duration": 3, "end_before_start": 1,
            "negative_duration": 3, "negative_tokens": 2, "duplicate_span_id": 3, "orphan_parent": 3}
    assert {k: e["problems"][k] for k in hand} == hand
    assert e["input_rows"] == 5300 == e["accepted_rows"] + e["quarantined_rows"]
    assert len(bad) == rep.quarantined_rows
    qp, qe = pd.read_parquet(tmp_path / "qp.parquet"), pd.read_parquet(tmp_path / "qe.parquet")
    for c in ("_source", "_row", "_problems", "span_id", "extra"):
        assert qe[c].tolist() == qp[c].tolist(), c
    assert "nan_duration,duplicate_span_id" in set(qe["_problems"])
    p_ref = aggregate(accepted, "1min").tidy
    p_eng = aggregate(files, "1min", exclude=bad).tidy
    m = p_ref.merge(p_eng, on=["period", "agent", "metric"], how="outer", suffixes=("_r", "_e"), indicator=True)
    assert (m["_merge"] == "both").all()
    assert (m["value_r"].isna() == m["value_e"].isna()).all()
    np.testing.assert_allclose(m["value_e"], m["value_r"], rtol=1e-12, atol=1e-12, equal_nan=True)


def test_same_error_message_as_pandas(files):
    with pytest.raises(TraceValidationError) as ref:
        load_spans(files, on_error="raise")
    with pytest.raises(TraceValidationError) as got:
        validate_files(files, on_error="raise")
    assert str(got.value) == str(ref.value)
    assert "b.parquet: row 8 (span_id s0000100)" in str(got.value)   # the later copy is the duplicate


def test_clean_files_and_check_parents_off(files, tmp_path):
    bad, rep = validate_files(files[:1], on_error="quarantine", check_parents=False,
                              quarantine_path=tmp_path / "q.parquet")
    _, ref = load_spans(files[:1], on_error="quarantine", check_parents=False,
                        quarantine_path=tmp_path / "qr.parquet")
    assert rep.problems == ref.problems and "orphan_parent" not in rep.problems
    clean = tmp_path / "clean.parquet"
    _spans(500, 0, 7).to_parquet(clean, index=False)
    bad, rep = validate_files([str(clean)], on_error="raise")
    assert len(bad) == 0 and rep.accepted_rows == rep.input_rows == 500 and rep.quarantine_file is None


def test_status_spellings_are_mapped_like_the_readers(tmp_path):
    df = _spans(2000, 0, 4)
    df["status"] = np.random.default_rng(5).choice(
        ["STATUS_CODE_ERROR", "failed", " Error", "ok", "Success", "unset"], len(df))
    p = tmp_path / "s.parquet"
    df.to_parquet(p, index=False)
    assert status_needs_mapping([p]) and not status_needs_mapping([_write_clean(tmp_path)])
    accepted, _ = load_spans([p], on_error="raise")
    ref = aggregate(accepted, "1min", requests=False).wide["error_rate"]
    got = aggregate([str(p)], "1min", requests=False, normalize_status=True).wide["error_rate"]
    raw = aggregate([str(p)], "1min", requests=False).wide["error_rate"]
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), equal_nan=True)
    # half the spellings mean "error"; taken literally, none of them is 'error'
    assert ref.mean() == pytest.approx(0.5, abs=0.05) and raw.max() == 0.0


def _write_clean(tmp_path):
    p = tmp_path / "clean_status.parquet"
    _spans(100, 0, 6).to_parquet(p, index=False)
    return p


def test_inputs_the_engine_path_declines(tmp_path):
    df = _spans(50, 0, 8)
    csv = tmp_path / "x.csv"
    df.to_csv(csv, index=False)
    text_ts = tmp_path / "text_ts.parquet"
    df.assign(start_ts=df["start_ts"].astype(str)).to_parquet(text_ts, index=False)
    float_tok = tmp_path / "float_tok.parquet"
    df.assign(input_tokens=df["input_tokens"] + 0.4).to_parquet(float_tok, index=False)
    reserved = tmp_path / "reserved.parquet"
    df.assign(_row=1).to_parquet(reserved, index=False)
    ok = tmp_path / "ok.parquet"
    df.to_parquet(ok, index=False)
    assert engine_can_validate([ok])
    for bad in (csv, text_ts, float_tok, reserved):
        assert not engine_can_validate([ok, bad]), bad.name


def cli_engines_agree(files, tmp_path):
    """``dsge-agents ingest --on-error quarantine`` with the DuckDB engine (validated in the
    engine) and with pandas (read into memory): same report, same panel."""
    outs = {}
    for engine in ("duckdb", "pandas"):
        out, rep = tmp_path / f"{engine}.parquet", tmp_path / f"{engine}.json"
        assert main(["ingest", *files, "-o", str(out), "--on-error", "quarantine", "--report", str(rep),
                     "--engine", engine]) == 0
        outs[engine] = (pd.read_parquet(out), json.loads(rep.read_text()))
    (pe, re_), (pp, rp) = outs["duckdb"], outs["pandas"]
    assert re_.pop("quarantine_file") != rp.pop("quarantine_file")
    assert re_ == rp
    m = pe.merge(pp, on=["period", "agent", "metric"], how="outer", suffixes=("_e", "_p"))
    np.testing.assert_allclose(m["value_e"], m["value_p"], rtol=1e-9, atol=1e-12, equal_nan=True)


def test_cli_ingest_streams_parquet_and_reports_as_pandas(files, tmp_path, capsys):
    cli_engines_agree(files, tmp_path)
    capsys.readouterr()
    assert main(["ingest", *files, "-o", str(tmp_path / "r.parquet")]) == 1
    assert "duplicate_span_id (3 rows)" in capsys.readouterr().err


def test_optional_columns_absent_and_empty_file(tmp_path, capsys):
    """Canonical files need only the required columns: the engine path (validation and the
    streamed aggregation) fills absent optional columns as the readers do (NULL); an empty file
    gives an empty panel. Reference: the same files through pandas (--engine pandas)."""
    few = tmp_path / "few.parquet"
    _spans(300, 0, 9).drop(columns=["parent_span_id", "agent_name", "ttft_s", "input_tokens", "status"]
                           ).to_parquet(few, index=False)
    empty = tmp_path / "empty.parquet"
    _spans(0, 0, 9).to_parquet(empty, index=False)
    for src in (few, empty):
        # the empty frame's id columns are float64 (no values to type them): staged, not read in place
        assert engine_can_validate([src]) == (src is few)
        assert engine_plan([src]) is not None
        got = {}
        for engine in ("duckdb", "pandas"):
            out = tmp_path / f"{src.stem}_{engine}.csv"
            assert main(["ingest", str(src), "-o", str(out), "--engine", engine]) == 0
            got[engine] = pd.read_csv(out)
        e, p = got["duckdb"], got["pandas"]
        assert len(e) == len(p) == (0 if src is empty else len(e)) and (src is empty or len(e) > 0)
        if len(e):
            m = e.merge(p, on=["period", "agent", "metric"], how="outer", suffixes=("_e", "_p"))
            np.testing.assert_allclose(m["value_e"].astype(float), m["value_p"].astype(float),
                                       rtol=1e-9, atol=1e-12, equal_nan=True)
    capsys.readouterr()
    nostart = tmp_path / "nostart.parquet"
    _spans(10, 0, 9).drop(columns=["start_ts"]).to_parquet(nostart, index=False)
    with pytest.raises(TraceValidationError, match="lack start_ts"):
        aggregate([str(nostart)], "1min")
