"""Command line: ``dsge-agents ingest`` and ``dsge-agents simulate-traces`` (issue 4, item 7)."""

from __future__ import annotations

import json
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dsge_agents.cli.main import main
from dsge_agents.traces.aggregate import METRICS
from dsge_agents.traces.readers import read_spans
from dsge_agents.traces.writers import write_langfuse


@pytest.fixture
def offline_cache(monkeypatch, tmp_path, shared_data):
    from dsge_agents import datasets

    cache = tmp_path / "cache"
    (cache / "azure_llm_2023").mkdir(parents=True)
    shutil.copy(shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_code.csv", cache / "azure_llm_2023")
    monkeypatch.setenv("DSGE_AGENTS_CACHE", str(cache))

    def offline(url, dest, timeout=30.0, **kw):
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(datasets, "_download", offline)
    return cache


def test_simulate_then_ingest(tmp_path, offline_cache, capsys):
    spans = tmp_path / "spans.parquet"
    rc = main(
        [
            "simulate-traces",
            "--arrivals",
            "azure-code",
            "--outage",
            "solve_large:600:900:0.5",
            "--rate-limit",
            "triage_small:100:200:3",
            "--seed",
            "2",
            "--max-requests",
            "3000",
            "-o",
            str(spans),
        ]
    )
    assert rc == 0
    sh = pd.read_csv(str(spans) + ".shocks.csv")
    assert list(sh["shock"]) == ["outage", "rate_limit"] and list(sh["agent"]) == [
        "solve_large",
        "triage_small",
    ]
    df = read_spans(spans)
    assert df["trace_id"].nunique() == 3000 and (df["error_type"] == "rate_limited").any()
    # refuse to overwrite
    assert main(["simulate-traces", "--arrivals", "azure-code", "-o", str(spans)]) == 1
    assert "exists" in capsys.readouterr().err
    out = tmp_path / "panel.csv"
    rep = tmp_path / "report.json"
    assert (
        main(
            [
                "ingest",
                str(spans),
                "--period",
                "1min",
                "-o",
                str(out),
                "--on-error",
                "quarantine",
                "--report",
                str(rep),
            ]
        )
        == 0
    )
    panel = pd.read_csv(out)
    assert list(panel.columns) == ["period", "agent", "metric", "value"]
    assert set(panel["metric"]) == set(METRICS) and "_all" in set(panel["agent"])
    r = json.loads(rep.read_text())
    assert r["input_rows"] == len(df) == r["accepted_rows"] and r["quarantined_rows"] == 0
    arr = panel[(panel["agent"] == "_all") & (panel["metric"] == "arrivals")]["value"].sum()
    assert arr == 3000


def test_ingest_quarantine_and_formats(tmp_path, shared_data):
    azure = shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv"
    spans = read_spans(azure).head(300)
    lf = tmp_path / "lf.csv"
    sp = spans.assign(
        end_ts=spans["start_ts"] + pd.Timedelta("2s"), status="ok", span_id=[f"lf{i:06d}" for i in range(300)]
    )
    sp.loc[sp.index[:3], "input_tokens"] = -1  # three bad rows
    write_langfuse(sp, lf)
    out = tmp_path / "p.parquet"
    rep = tmp_path / "r.json"
    assert (
        main(
            [
                "ingest",
                str(lf),
                str(azure),
                "-o",
                str(out),
                "--on-error",
                "quarantine",
                "--report",
                str(rep),
                "--period",
                "10s",
                "--wide",
            ]
        )
        == 0
    )
    r = json.loads(rep.read_text())
    assert r["input_rows"] == 300 + 19366 and r["quarantined_rows"] == 3
    assert r["problems"] == {"negative_tokens": 3}
    assert r["quarantine_file"].endswith("p.quarantine.parquet")
    assert len(pd.read_parquet(r["quarantine_file"])) == 3
    w = pd.read_parquet(out)
    assert list(w.columns) == ["period", "agent"] + METRICS
    # raise mode names the problem and fails
    assert main(["ingest", str(lf), "-o", str(tmp_path / "x.csv")]) == 1


def test_ingest_dask_engine(tmp_path, spans_small=None):
    from dsge_agents.traces.simulate import SimulationConfig, poisson_arrivals, simulate
    from dsge_agents.traces.writers import write_canonical

    sp = simulate(SimulationConfig.default(), poisson_arrivals(5.0, 800, seed=1), seed=1).spans
    p = write_canonical(sp, tmp_path / "s.parquet")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert main(["ingest", str(p), "-o", str(a)]) == 0
    assert main(["ingest", str(p), "-o", str(b), "--engine", "dask"]) == 0
    c = tmp_path / "c.parquet"
    assert main(["ingest", str(p), "-o", str(c), "--no-validate"]) == 0  # streamed straight from the file
    x, y, z = pd.read_parquet(a), pd.read_parquet(b), pd.read_parquet(c)
    for other in (y, z):
        assert (x[["period", "agent", "metric"]] == other[["period", "agent", "metric"]]).all().all()
        np.testing.assert_allclose(x["value"], other["value"], rtol=1e-12, equal_nan=True)


def test_cli_errors(tmp_path, capsys):
    assert main(["ingest", str(tmp_path / "missing.json"), "-o", str(tmp_path / "o.csv")]) == 1
    assert (
        main(["simulate-traces", "--arrivals", str(tmp_path / "nope.csv"), "-o", str(tmp_path / "s.parquet")])
        == 1
    )
    assert (
        main(
            [
                "simulate-traces",
                "--outage",
                "a:1:2",
                "-o",
                str(tmp_path / "s2.parquet"),
                "--arrivals",
                str(tmp_path / "nope.csv"),
            ]
        )
        == 1
    )
    # a bad option is reported before the arrivals are looked at (they may need a download)
    assert "expected AGENT:START:END:FRACTION" in capsys.readouterr().err
    nope = str(tmp_path / "nope.csv")
    out = str(tmp_path / "s3.parquet")
    assert main(["simulate-traces", "--outage", "ghost:0:1:0.5", "-o", out, "--arrivals", nope]) == 1
    assert "unknown agent 'ghost'" in capsys.readouterr().err
    assert main(["simulate-traces", "--rate-limit", "review_small:5:1:3", "-o", out, "--arrivals", nope]) == 1
    assert "END must be after START" in capsys.readouterr().err


def test_ingest_no_validate_maps_status_spellings(tmp_path):
    """`--no-validate` on a Parquet whose status is spelled ERROR / STATUS_CODE_OK gives the
    validated run's error rates (it reported 0 % errors before), and a bad time is a named error."""
    from dsge_agents.traces.simulate import SimulationConfig, poisson_arrivals, simulate

    sp = simulate(SimulationConfig.default(), poisson_arrivals(5.0, 600, seed=2), seed=2).spans
    sp["status"] = np.where(np.arange(len(sp)) % 17 == 0, "ERROR", "STATUS_CODE_OK")
    assert (sp["status"] == "ERROR").sum() > 0
    p = tmp_path / "s.parquet"
    sp.to_parquet(p)
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert main(["ingest", str(p), "-o", str(a)]) == 0
    assert main(["ingest", str(p), "-o", str(b), "--no-validate"]) == 0
    x, y = pd.read_parquet(a), pd.read_parquet(b)
    err = x["metric"] == "error_rate"
    assert x.loc[err, "value"].max() > 0
    np.testing.assert_allclose(x["value"], y["value"], rtol=1e-12, equal_nan=True)
    bad = tmp_path / "bad.csv"
    sp.assign(end_ts=sp["end_ts"].astype(str).where(sp.index != 3, "soon")).to_csv(bad, index=False)
    assert main(["ingest", str(bad), "-o", str(tmp_path / "c.csv"), "--no-validate"]) == 1


def test_ingest_directory_of_exports(tmp_path, capsys, monkeypatch):
    """A directory argument means the trace files beneath it (partitioned exports): the same panel
    as naming the files; hidden files are skipped; a directory without trace files, or a bad
    --period, is a clear error before anything is read."""
    from dsge_agents.traces.simulate import SimulationConfig, poisson_arrivals, simulate
    from dsge_agents.traces.writers import write_canonical

    sp = simulate(SimulationConfig.default(), poisson_arrivals(5.0, 600, seed=3), seed=3).spans
    traces = sp["trace_id"].unique()
    part = sp["trace_id"].isin(traces[: len(traces) // 2])  # whole traces per partition
    d = tmp_path / "exports"
    write_canonical(sp[part], d / "day=1" / "a.parquet")
    write_canonical(sp[~part], d / "day=2" / "b.csv")
    write_canonical(sp[part], d / ".staging" / "dup.parquet")  # hidden: would duplicate span ids
    (d / "README.txt").write_text("not a trace")
    whole = write_canonical(sp, tmp_path / "all.parquet")
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert main(["ingest", str(d), "-o", str(a)]) == 0
    assert main(["ingest", str(whole), "-o", str(b)]) == 0
    x, y = pd.read_parquet(a), pd.read_parquet(b)
    assert len(x) == len(y) and (x[["period", "agent", "metric"]] == y[["period", "agent", "metric"]]).all().all()
    np.testing.assert_allclose(x["value"], y["value"], rtol=1e-12, equal_nan=True)
    capsys.readouterr()
    (tmp_path / "empty").mkdir()
    assert main(["ingest", str(tmp_path / "empty"), "-o", str(tmp_path / "e.parquet")]) == 1
    assert "a directory without trace files" in capsys.readouterr().err

    import dsge_agents.traces.readers as R

    def no_read(*a, **k):
        raise AssertionError("read before the options were checked")

    monkeypatch.setattr(R, "read_spans", no_read)
    lf = tmp_path / "lf.csv"
    write_langfuse(sp.head(50), lf)
    assert main(["ingest", str(lf), "--period", "7q", "-o", str(tmp_path / "q.parquet")]) == 1
    err = capsys.readouterr().err
    assert "--period" in err and "'7q'" in err and not (tmp_path / "q.parquet").exists()


def test_ingest_outputs_never_collide_with_each_other_or_an_input(tmp_path, capsys, shared_data):
    """One file cannot hold two results, and an input is never overwritten, also not with
    --force: each case stops before anything is written, and every file keeps its bytes."""
    from dsge_agents.traces.simulate import SimulationConfig, simulate

    src = tmp_path / "in.parquet"
    conv = shared_data / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv"
    simulate(SimulationConfig.default(), conv, seed=1, max_requests=50).spans.to_parquet(src)
    (tmp_path / "adir.csv").mkdir()
    before = src.read_bytes()
    cases = [
        (["-o", "same.csv", "--report", "same.csv"], "--report and -o name the same file"),
        (["-o", "q.csv", "--quarantine", "q.csv"], "--quarantine and -o name the same file"),
        (["-o", "o.csv", "--report", "r.json", "--quarantine", "r.json"], "--quarantine and --report name the same"),
        (["-o", "in.parquet", "--force"], "-o in.parquet is an input file"),
        (["-o", "o.csv", "--report", "in.parquet", "--force"], "--report in.parquet is an input file"),
        (["-o", "adir.csv", "--force"], "adir.csv is a directory"),
        (["-o", "o.csv", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler applies to --engine dask"),
    ]
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for opts, msg in cases:
            capsys.readouterr()
            assert main(["ingest", "in.parquet", "--on-error", "quarantine", *opts]) == 1, opts
            assert msg in capsys.readouterr().err, opts
            assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.csv", "in.parquet"], opts
    finally:
        os.chdir(cwd)
    assert src.read_bytes() == before


@pytest.mark.parametrize(
    "opts,message",
    [
        (["--outage", "solve_large:nan:10:1"], "START must be finite seconds"),
        (["--outage", "solve_large:1:inf:0.5"], "END must be finite seconds"),
        (["--outage", "solve_large:0:1e30:0.5"], "END must be finite seconds within"),
        (["--outage", "solve_large:0:10:half"], "FRACTION must be a number"),
        (
            ["--rate-limit", "triage_small:1:2:2.7"],
            "N (calls per second) must be a non-negative integer, got '2.7'",
        ),
        (
            ["--rate-limit", "triage_small:1:2:-3"],
            "N (calls per second) must be a non-negative integer, got '-3'",
        ),
        (["--rate-limit", "triage_small:1:2:1e30"], "must be a non-negative integer, got '1e30'"),
        (["--rate-limit", "triage_small:1:2:" + "9" * 30], "max_per_s must be an integer below"),
        (["--retries", "-1"], "--retries must be a non-negative integer"),
        (["--seed", "-1"], "--seed must be an integer in [0, 2**32)"),
        (["--seed", str(2**32)], "--seed must be an integer in [0, 2**32)"),
        (["--time-scale", "0"], "--time-scale must be a positive finite number"),
        (["--time-scale", "-2"], "--time-scale must be a positive finite number"),
        (["--time-scale", "nan"], "--time-scale must be a positive finite number"),
        (["--timeout", "-5"], "--timeout must be a positive finite number"),
        (["--timeout", "inf"], "--timeout must be a positive finite number"),
        (["--max-requests", "-5"], "--max-requests must be at least 1"),
        (["--max-requests", "0"], "--max-requests must be at least 1"),
        (["--repeat", "0"], "--repeat must be at least 1"),
    ],
)
def test_simulate_traces_rejects_bad_numbers_before_reading(tmp_path, capsys, opts, message):
    out = tmp_path / "s.parquet"
    rc = main(["simulate-traces", *opts, "-o", str(out), "--arrivals", str(tmp_path / "nope.csv")])
    err = capsys.readouterr().err
    assert rc == 1 and message in err and "no such file" not in err
    assert not out.exists()


def test_simulate_traces_refuses_to_overwrite_its_inputs_or_mix_outputs(tmp_path, capsys, monkeypatch):
    from dsge_agents.traces.simulate import poisson_arrivals

    arr = tmp_path / "arr.csv"
    poisson_arrivals(2.0, 50, seed=0).to_csv(arr, index=False)
    before = arr.read_bytes()
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    cases = [
        (["-o", "x.csv", "--shocks", "x.csv"], "--shocks and -o name the same file x.csv"),
        (["-o", "y.csv", "--shocks", "sub/../y.csv", "--force"], "--shocks and -o name the same file"),
        (["-o", "arr.csv", "--force"], "-o arr.csv is an input file"),
        (["-o", "sub/../arr.csv", "--force"], "is an input file"),
        (["-o", "z.parquet", "--shocks", str(arr), "--force"], "--shocks"),
    ]
    for opts, message in cases:
        assert main(["simulate-traces", "--arrivals", "arr.csv", *opts]) == 1
        err = capsys.readouterr().err
        assert message in err, err
    assert arr.read_bytes() == before
    assert not any((tmp_path / n).exists() for n in ("x.csv", "y.csv", "z.parquet"))
    # distinct names work
    assert (
        main(["simulate-traces", "--arrivals", "arr.csv", "-o", "ok.csv", "--shocks", "ok.shocks.csv"]) == 0
    )
    assert pd.read_csv(tmp_path / "ok.csv")["trace_id"].nunique() == 50


@pytest.mark.parametrize("fmt, name", [("canonical", "s.json"), ("phoenix", "s.csv"), ("langsmith", "s.parquet"),
                                       ("otlp", "s.csv")])
def test_simulate_traces_output_suffix_must_fit_the_format(tmp_path, capsys, fmt, name):
    """Else e.g. CSV text lands in a .json file, which ingest then cannot read."""
    out = tmp_path / name
    rc = main(["simulate-traces", "--format", fmt, "-o", str(out), "--arrivals", str(tmp_path / "nope.csv")])
    assert rc == 1 and f"--format {fmt} writes" in capsys.readouterr().err and not out.exists()


def _interrupted_duckdb_query():
    """A real DuckDB query stopped by con.interrupt() (what Ctrl-C does to a running query)."""
    import threading
    import duckdb
    con = duckdb.connect()
    con.execute("SET threads=1")
    threading.Timer(0.3, con.interrupt).start()
    try:
        con.execute("SELECT sum(a.range * b.range) FROM range(100000) a, range(100000) b").fetchall()
    except Exception as exc:  # noqa: BLE001
        return exc
    raise AssertionError("the query was not interrupted")


@pytest.mark.parametrize("make", ["duckdb_interrupt", "runtime_error"])
def test_ctrl_c_inside_a_duckdb_query_is_an_interruption(make, monkeypatch, capsys):
    """Ctrl-C during `ingest` reaches the CLI as DuckDB's exception (InterruptException, or
    RuntimeError('Query interrupted') from execute), not as KeyboardInterrupt: it printed
    'error: RuntimeError: Query interrupted' with status 1 instead of 'interrupted', 130."""
    import dsge_agents.cli.ingest as ingest_cli
    exc = _interrupted_duckdb_query() if make == "duckdb_interrupt" else RuntimeError("Query interrupted")

    def boom(args):
        raise exc
    monkeypatch.setattr(ingest_cli, "run", boom)
    assert main(["ingest", "x.csv", "-o", "y.parquet"]) == 130
    assert capsys.readouterr().err.strip() == "dsge-agents: interrupted"

    def other(args):
        raise RuntimeError("something else")
    monkeypatch.setattr(ingest_cli, "run", other)
    assert main(["ingest", "x.csv", "-o", "y.parquet"]) == 1


def test_simulate_traces_arrivals_format(tmp_path, capsys):
    """A file whose format is not recognised told the user to 'pass format=', a Python argument the
    command line does not have: simulate-traces takes --arrivals-format (and the hint names it); the
    option gives the same simulation as detection where detection works."""
    nk3 = Path(__file__).resolve().parents[1] / "dsge_agents" / "models" / "nk3.yaml"
    out = tmp_path / "s.parquet"
    assert main(["simulate-traces", "--arrivals", str(nk3), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "--arrivals-format" in err and not out.exists()
    arr = tmp_path / "arrivals.csv"
    pd.DataFrame({"TIMESTAMP": pd.date_range("2024-01-01", periods=200, freq="250ms", tz="UTC"),
                  "ContextTokens": 500, "GeneratedTokens": 80}).to_csv(arr, index=False)
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert main(["simulate-traces", "--arrivals", str(arr), "--seed", "3", "-o", str(a)]) == 0
    assert main(["simulate-traces", "--arrivals", str(arr), "--arrivals-format", "azure", "--seed", "3",
                 "-o", str(b)]) == 0
    pd.testing.assert_frame_equal(read_spans(a).drop(columns="_source"), read_spans(b).drop(columns="_source"))
    assert main(["simulate-traces", "--arrivals", "azure-conv", "--arrivals-format", "azure", "-o",
                 str(tmp_path / "c.parquet")]) == 1
    assert "applies to an arrival file" in capsys.readouterr().err
