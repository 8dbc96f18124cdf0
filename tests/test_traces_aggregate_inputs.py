"""Aggregation of unvalidated / unusual inputs: NaN floats, pre-1970 times, partitioned and
mixed-schema layouts, odd column types, reserved names, huge grids. Every engine is compared
with a computation by hand (numpy / pandas group-bys on floored epoch nanoseconds)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dsge_agents.errors import DSGEError, TraceValidationError
from dsge_agents.traces.aggregate import aggregate

ENGINES = ("duckdb", "dask", "pandas")


@pytest.fixture(autouse=True, scope="module")
def _sync_dask():
    dask = pytest.importorskip("dask")
    with dask.config.set(scheduler="synchronous"):
        yield


def make_spans(n=48, seed=0, t0="2024-06-01T00:00:00Z", agents=("alpha", "beta")) -> pd.DataFrame:
    """n spans in traces of two (a root and its child), over ~5 minutes from t0."""
    rng = np.random.default_rng(seed)
    base = pd.Timestamp(t0).value
    start = base + np.sort(rng.integers(0, 300 * 10**9, n))
    end = start + rng.integers(10**8, 40 * 10**9, n)
    root = np.arange(n) % 2 == 0
    return pd.DataFrame(
        {
            "trace_id": [f"t{i // 2}" for i in range(n)],
            "span_id": [f"s{i}" for i in range(n)],
            "parent_span_id": [None if r else f"s{i - 1}" for i, r in enumerate(root)],
            "agent_name": np.asarray(agents, dtype=object)[rng.integers(0, len(agents), n)],
            "start_ts": pd.to_datetime(start, unit="ns", utc=True),
            "end_ts": pd.to_datetime(end, unit="ns", utc=True),
            "ttft_s": rng.uniform(0.01, 0.1, n),
            "input_tokens": rng.integers(1, 100, n).astype(float),
            "output_tokens": rng.integers(1, 50, n).astype(float),
            "cost_usd": rng.uniform(0, 1e-3, n),
            "status": np.where(rng.random(n) < 0.2, "error", "ok"),
        }
    )


def by_hand(df: pd.DataFrame, period: str, requests: bool = True) -> pd.DataFrame:
    """Arrivals, completions, token / cost sums and TTFT means per (period, agent), NaN as
    missing, periods ⌊t/P⌋ by numpy's floor division; the request rows from a trace group-by."""
    P = pd.Timedelta(period).value
    s = pd.DatetimeIndex(df["start_ts"]).as_unit("ns").asi8
    e = pd.DatetimeIndex(df["end_ts"]).as_unit("ns").asi8
    t = pd.DataFrame({"agent": df["agent_name"].to_numpy(), "bs": s // P, "be": e // P,
                      "ttft": df["ttft_s"].to_numpy(float), "cost": df["cost_usd"].to_numpy(float),
                      "in_tok": df["input_tokens"].to_numpy(float)})
    if requests:
        root = df["parent_span_id"].isna().to_numpy()
        g = pd.DataFrame({"trace": df["trace_id"].to_numpy(), "s": s, "e": e,
                          "ttft": np.where(root, t["ttft"], np.nan), "cost": t["cost"],
                          "in_tok": t["in_tok"]}).groupby("trace")
        r = pd.DataFrame({"agent": "_all", "bs": g["s"].min() // P, "be": g["e"].max() // P,
                          "ttft": g["ttft"].max(), "cost": g["cost"].sum(), "in_tok": g["in_tok"].sum()})
        t = pd.concat([t, r], ignore_index=True)
    arr = t.groupby(["bs", "agent"]).agg(arrivals=("cost", "size"), cost=("cost", "sum"),
                                         input_tokens=("in_tok", "sum"))
    comp = t.groupby(["be", "agent"]).agg(completions=("ttft", "size"), ttft_mean=("ttft", "mean"))
    arr.index.names = comp.index.names = ["b", "agent"]
    out = arr.join(comp, how="outer")
    out.index = out.index.set_levels(pd.to_datetime(out.index.levels[0] * P, unit="ns", utc=True), level=0)
    out.index.names = ["period", "agent"]
    return out


def assert_matches(panel, ref: pd.DataFrame, what=""):
    """The panel's rows of the reference's (period, agent) pairs equal the reference (the panel
    has more rows: the zero-filled rest of the grid)."""
    w = panel.wide
    got = w.reindex(ref.index)
    for c in ref.columns:
        np.testing.assert_allclose(got[c].to_numpy(float), ref[c].fillna(0 if c in (
            "arrivals", "completions", "cost", "input_tokens") else np.nan).to_numpy(float),
            rtol=1e-12, atol=1e-15, equal_nan=True, err_msg=f"{what} {c}")
    rest = w.drop(index=ref.index)
    assert (rest[["arrivals", "completions"]].to_numpy() == 0).all(), what


# ----------------------------------------------------------------------------- item 1: NaN floats
def write_with_nan(df: pd.DataFrame, path) -> None:
    """Parquet as pyarrow writes NumPy floats: NaN stays NaN (``Table.from_pandas`` makes it NULL)."""
    pq.write_table(pa.table({c: pa.array(df[c].to_numpy()) if df[c].dtype == float else pa.array(df[c])
                             for c in df.columns}), path)


def test_nan_in_parquet_and_csv_floats_is_missing_in_every_engine(tmp_path):
    """pyarrow / Polars / Spark Parquet can hold NaN (not NULL) in float columns, and pyarrow
    leaves NaN out of the column statistics: DuckDB summed the NaN (cost NaN, then zeroed) and
    its optimizer folded a NaN test away. NaN is a missing value, as in pandas."""
    df = make_spans()
    df.loc[[0, 5, 6, 17], "ttft_s"] = np.nan  # 0 and 6 are roots: the request TTFT too
    df.loc[[1, 2, 9, 30], "cost_usd"] = np.nan
    df.loc[[3, 4], "input_tokens"] = np.nan
    write_with_nan(df, tmp_path / "nan.parquet")
    meta = pq.read_metadata(tmp_path / "nan.parquet").row_group(0)
    cols = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    assert cols["cost_usd"].statistics.null_count == 0  # the NaNs are not NULLs to the footer
    floats = {c: [repr(v) for v in df[c]] for c in ("ttft_s", "cost_usd", "input_tokens")}  # "nan"
    df.assign(**floats).to_csv(tmp_path / "nan.csv", index=False)
    ref = by_hand(df, "1min")
    assert ref.loc[ref["arrivals"] > 0, "cost"].notna().all() and ref["ttft_mean"].notna().any()
    for engine in ENGINES:
        for src in ("nan.parquet", "nan.csv"):
            assert_matches(aggregate(tmp_path / src, "1min", engine=engine), ref, f"{engine} {src}")


@pytest.mark.filterwarnings("ignore:invalid value encountered in reduceat:RuntimeWarning")  # inf + -inf, as meant
def test_nan_sum_from_infinities_is_not_zeroed():
    """A period whose costs are +inf and -inf has a NaN sum (IEEE 754): shown as NaN, not 0."""
    df = make_spans(n=4)
    df["start_ts"] = pd.Timestamp("2024-06-01T00:00:00Z") + pd.to_timedelta([1, 2, 70, 71], unit="s")
    df["end_ts"] = df["start_ts"] + pd.Timedelta("1s")
    df["cost_usd"] = [np.inf, -np.inf, 1.0, 2.0]
    df["agent_name"] = "alpha"
    for engine in ENGINES:
        c = aggregate(df, "1min", engine=engine, requests=False).wide["cost"]
        assert np.isnan(c.iloc[0]) and c.iloc[1] == 3.0, engine


# ----------------------------------------------------------------------------- item 8: before 1970
def test_times_before_1970_fall_in_floored_periods(tmp_path):
    """Negative epoch nanoseconds: period ⌊t/P⌋ (DuckDB's integer // truncates toward zero and
    put -5 s into the period starting at 0). DataFrame, Parquet and CSV, every engine."""
    import importlib

    import duckdb

    agg = importlib.import_module("dsge_agents.traces.aggregate")
    df = make_spans(n=40, t0="1969-12-31T23:57:30Z")  # 2.5 min before the epoch to 2.5 after
    df.loc[0, "start_ts"] = pd.Timestamp("1969-12-31T23:59:00Z")  # exactly a period start
    df.loc[0, "end_ts"] = pd.Timestamp("1969-12-31T23:59:59.999999999Z")  # last ns of a period
    s = pd.DatetimeIndex(df["start_ts"]).asi8
    assert (s < 0).any() and (s > 0).any()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "old.parquet")
    df.to_csv(tmp_path / "old.csv", index=False)
    ref = by_hand(df, "1min")
    for engine in ENGINES:
        for src in (df, tmp_path / "old.parquet", tmp_path / "old.csv"):
            name = getattr(src, "name", "frame")
            assert_matches(aggregate(src, "1min", engine=engine), ref, f"{engine} {name}")
    # the plain division is used only when the footers show no time before 1970
    new = make_spans(n=6)
    pq.write_table(pa.Table.from_pandas(new, preserve_index=False), tmp_path / "new.parquet")
    con = duckdb.connect()
    try:
        for f, nonneg in (("old.parquet", False), ("new.parquet", True)):
            assert agg._duck_facts(con, tmp_path / f, [str(tmp_path / f)]).nonneg is nonneg
        assert agg._duck_facts(con, df, None).nonneg is False and agg._duck_facts(con, new, None).nonneg is True
        assert agg._duck_facts(con, tmp_path / "old.csv", None).nonneg is None
    finally:
        con.close()


# ----------------------------------------------------------------------------- items 4, 5: layouts
def _parts(df: pd.DataFrame, k: int):
    return [df.iloc[i::k].reset_index(drop=True) for i in range(k)]


def test_hive_layout_reads_the_files_own_columns_in_every_engine(tmp_path):
    """agent_name=X/part.parquet: DuckDB (aggregate and validate_files) and Dask took
    agent_name from the folder names, the pandas readers do not. All read the files' columns:
    files without agent_name are `_unknown`, files with it keep theirs."""
    from dsge_agents.traces.ingest import ingest_files

    df = make_spans(n=60)
    lack, keep = df.iloc[:30], df.iloc[30:].reset_index(drop=True)
    for i, part in enumerate(_parts(lack, 2)):
        d = tmp_path / "hive" / f"agent_name=folder{i}"
        d.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(part.drop(columns=["agent_name"]), preserve_index=False),
                       d / "part-0.parquet")
    d = tmp_path / "hive" / "agent_name=other"
    d.mkdir()
    pq.write_table(pa.Table.from_pandas(keep, preserve_index=False), d / "part-0.parquet")
    expect = pd.concat([lack.assign(agent_name="_unknown"), keep], ignore_index=True)
    ref = by_hand(expect, "1min")
    panels = {e: aggregate(tmp_path / "hive", "1min", engine=e) for e in ENGINES}
    panels["validated"], _ = ingest_files([tmp_path / "hive"], "1min", on_error="raise", check_parents=False)
    for name, p in panels.items():
        assert set(p.tidy["agent"]) == {"_unknown", "alpha", "beta", "_all"}, name
        assert_matches(p, ref, name)


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_dask_reads_files_with_different_columns(tmp_path, fmt):
    """Files of one folder with different columns (ttft_s / cost_usd added later): Dask took the
    first file's columns for all (dropping the others' values, or a KeyError the other way)."""
    df = make_spans(n=40)
    a, b = _parts(df, 2)  # rows 0, 2, 4, ... and 1, 3, 5, ...
    a = a.drop(columns=["ttft_s", "cost_usd"])
    expect = df.copy()
    expect.loc[expect.index[::2], ["ttft_s", "cost_usd"]] = np.nan
    ref = by_hand(expect, "1min")
    for first, second in ((a, b), (b, a)):
        d = tmp_path / f"{fmt}-{len(first.columns)}"
        d.mkdir()
        for i, part in enumerate((first, second)):
            if fmt == "parquet":
                pq.write_table(pa.Table.from_pandas(part, preserve_index=False), d / f"p{i}.parquet")
            else:
                part.to_csv(d / f"p{i}.csv", index=False)
        for engine in ENGINES:
            assert_matches(aggregate(d, "1min", engine=engine), ref, f"{engine} {d.name}")


# ----------------------------------------------------------------------------- item 6: time types
def test_unvalidated_parquet_times_stored_as_text_or_numbers(tmp_path):
    """Canonical Parquet whose times are text (read as CSV text is) or numbers (Unix epoch
    seconds, as the pandas engine reads them) aggregates like stored times, in every engine;
    a time column of another type is a TraceValidationError naming the column and the file."""
    df = make_spans(n=30)
    for c in ("start_ts", "end_ts"):
        df[c] = df[c].dt.floor("500ms")  # exact in binary floating point as seconds
    sec = {c: pd.DatetimeIndex(df[c]).asi8 / 1e9 for c in ("start_ts", "end_ts")}
    variants = {
        "iso_z": {c: df[c].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for c in sec},
        "text": {c: df[c].astype(str) for c in sec},  # 2024-06-01 00:00:01.500000+00:00
        "float": sec,
    }
    ref = by_hand(df, "1min")
    for name, cols in variants.items():
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pandas(df.assign(**cols), preserve_index=False), path)
        for engine in ENGINES:
            assert_matches(aggregate(path, "1min", engine=engine), ref, f"{engine} {name}")
    whole = make_spans(n=20)
    for c in ("start_ts", "end_ts"):
        whole[c] = whole[c].dt.floor("1s")
    ints = {c: pd.DatetimeIndex(whole[c]).asi8 // 10**9 for c in ("start_ts", "end_ts")}
    pq.write_table(pa.Table.from_pandas(whole.assign(**ints), preserve_index=False), tmp_path / "int.parquet")
    assert_matches(aggregate(tmp_path / "int.parquet", "1min"), by_hand(whole, "1min"), "duckdb int")
    bad = df.assign(end_ts=[[1, 2]] * len(df))
    pq.write_table(pa.Table.from_pandas(bad, preserve_index=False), tmp_path / "list.parquet")
    with pytest.raises(TraceValidationError, match=r"column end_ts is stored as BIGINT\[\].*list\.parquet"):
        aggregate([tmp_path / "float.parquet", tmp_path / "list.parquet"], "1min")


# ----------------------------------------------------------------------------- items 9, 12, 13a
def test_request_rows_need_trace_id_in_every_engine(tmp_path):
    """Without trace_id DuckDB made one request of all spans and Dask / pandas raised KeyError:
    a TraceValidationError naming the column; requests=False aggregates the agents alone."""
    df = make_spans(n=20).drop(columns=["trace_id"])
    df.to_csv(tmp_path / "notrace.csv", index=False)
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "notrace.parquet")
    ref = by_hand(df, "1min", requests=False)
    for engine in ENGINES:
        for src in (df, tmp_path / "notrace.csv", tmp_path / "notrace.parquet"):
            with pytest.raises(TraceValidationError, match="no trace_id column.*requests=False"):
                aggregate(src, "1min", engine=engine)
            p = aggregate(src, "1min", engine=engine, requests=False)
            assert "_all" not in set(p.tidy["agent"])
            assert_matches(p, ref, engine)


def test_agent_named_all_is_refused_with_request_rows():
    """An agent literally named `_all` would share its keys with the request-level rows."""
    df = make_spans(n=10, agents=("_all", "beta"))
    for engine in ENGINES:
        with pytest.raises(TraceValidationError, match="'_all' is reserved.*requests=False"):
            aggregate(df, "1min", engine=engine)
        p = aggregate(df, "1min", engine=engine, requests=False)
        assert_matches(p, by_hand(df, "1min", requests=False), engine)
        assert not p.tidy.duplicated(["period", "agent", "metric"]).any()


def test_a_period_far_shorter_than_the_traces_is_refused_before_allocating():
    """--period 1us over an hour is 3.6e9 periods: a named error, not a 27 GB allocation."""
    df = make_spans(n=6)
    df.loc[5, "end_ts"] = df.loc[0, "start_ts"] + pd.Timedelta("1h")
    import re

    for engine in ENGINES:
        with pytest.raises(DSGEError, match=r"period '1us'.*0 days 01:0.*3,[0-9,]+ periods.*or longer") as err:
            aggregate(df, "1us", engine=engine)
        # the suggested period is an offset aggregate takes, within the bound (half of it is not);
        # counted by hand: periods covering [first start, last end] x 3 agent rows (A, B, _all)
        suggested = re.search(r"choose a period of (\S+) or longer", str(err.value)).group(1)
        from dsge_agents.traces.aggregate import MAX_PANEL_CELLS, period_ns

        lo = pd.DatetimeIndex(df["start_ts"]).asi8.min()
        hi = pd.DatetimeIndex(df["end_ts"]).asi8.max()

        def cells(P):
            return (hi // P - lo // P + 1) * 3

        P = period_ns(suggested)
        assert cells(P) <= MAX_PANEL_CELLS < cells(P // 2)
    with pytest.raises(DSGEError, match=r"period '1s'.*start=/end= included"):
        aggregate(df, "1s", start="2000-01-01", end="2024-06-02")
    hour = aggregate(df, "1s")  # 3,600+ periods x 3 agent rows: fine
    assert hour.wide["arrivals"].sum() == 6 + 3


def _numbered_spans(k: int, n: int) -> pd.DataFrame:
    """n one-second-apart canonical spans of agent ``a``, ids prefixed by k (0.5 s each)."""
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    return pd.DataFrame({
        "trace_id": [f"t{k}_{i}" for i in range(n)], "span_id": [f"s{k}_{i}" for i in range(n)],
        "parent_span_id": None, "agent_name": "a",
        "start_ts": t0 + pd.to_timedelta(np.arange(n), unit="s"),
        "end_ts": t0 + pd.to_timedelta(np.arange(n) + 0.5, unit="s"),
        "status": "ok", "input_tokens": 1, "output_tokens": 1, "cost_usd": 0.1, "ttft_s": 0.1,
    })


@pytest.mark.parametrize("engine", ["duckdb", "pandas", "dask"])
def test_directories_are_listed_as_the_readers_list_them(tmp_path, engine):
    """A directory means its trace files as the readers find them: `.pq` and `.tsv` included, hidden
    files / folders skipped, a file named twice read once. (Before: `.pq` / `.tsv` files inside a
    folder were skipped, hidden ones read, a repeated file counted twice, and the pandas and Dask
    engines read a `.tsv` with commas.)"""
    (tmp_path / "sub").mkdir()
    (tmp_path / ".hidden").mkdir()
    _numbered_spans(1, 30).to_parquet(tmp_path / "a.parquet")
    _numbered_spans(2, 20).to_parquet(tmp_path / "sub" / "b.pq")
    _numbered_spans(3, 7).to_parquet(tmp_path / ".hidden" / "c.parquet")
    _numbered_spans(4, 9).to_parquet(tmp_path / ".partial.parquet")
    src = [tmp_path / "a.parquet", tmp_path]
    if engine == "dask":  # the Dask engine reads Parquet or CSV in one call: Parquet here, text below
        expect = 30 + 20
    else:
        _numbered_spans(5, 11).to_csv(tmp_path / "e.tsv", sep="\t", index=False)
        expect = 30 + 20 + 11
    w = aggregate(src, "1min", engine=engine, requests=False).wide
    assert w["arrivals"].sum() == expect and w["completions"].sum() == expect
    assert w["latency_mean"].dropna().eq(0.5).all()
    if engine == "dask":
        text = tmp_path / "text"
        text.mkdir()
        _numbered_spans(5, 11).to_csv(text / "e.tsv", sep="\t", index=False)
        _numbered_spans(6, 4).to_csv(text / "f.csv", index=False)
        w = aggregate(text, "1min", engine=engine, requests=False).wide
        assert w["arrivals"].sum() == 15 and w["latency_mean"].dropna().eq(0.5).all()


def test_missing_span_files_and_json_traces_are_named(tmp_path):
    _numbered_spans(1, 5).to_parquet(tmp_path / "a.parquet")
    with pytest.raises(FileNotFoundError, match="nope.csv: no such trace file"):
        aggregate([tmp_path / "a.parquet", tmp_path / "nope.csv"], "1min", requests=False)
    (tmp_path / "otlp.jsonl").write_text("{}\n")
    with pytest.raises(TraceValidationError, match=r"otlp\.jsonl: aggregate reads canonical .* load_spans"):
        aggregate(tmp_path, "1min", requests=False)
