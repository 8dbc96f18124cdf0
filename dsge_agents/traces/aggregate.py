"""Aggregation of span tables into per-period, per-agent panels (DESIGN §6).

Periods are fixed pandas offsets (``"10s"``, ``"1min"``, ``"1h"``); period ``b`` is the
left-closed UTC interval ``[b·P, (b+1)·P)`` counted from the Unix epoch and labelled by
its start (for periods dividing a day this equals pandas' ``resample`` bins).

Metrics per (period, agent) — names are exactly those of :data:`METRICS`:

``arrivals``       spans whose ``start_ts`` falls in the period
``completions``    spans whose ``end_ts`` falls in the period
``latency_mean``   mean of ``end_ts − start_ts`` (s) over spans completing in the period
``latency_p50/p95/p99``  percentiles of the same latencies; **percentile definition**:
                   linear interpolation between order statistics, Q(p) = x₍ⱼ₎ + (h − j)(x₍ⱼ₊₁₎ − x₍ⱼ₎),
                   h = (n − 1)p, j = ⌊h⌋ (0-based sorted sample) — Hyndman & Fan (1996)
                   type 7, numpy's default ``"linear"``, DuckDB ``quantile_cont``
``ttft_mean``      mean ``ttft_s`` over spans completing in the period
``input_tokens``, ``output_tokens``, ``cost``  sums over spans *arriving* in the period
                   (work enters with the request; arrival-only traces have no end)
``error_rate``     share of completions with ``status == "error"``
``concurrency``    time-weighted mean number of spans in flight, (1/P)∫ N(t) dt over the
                   period — Little's law L = λW holds for it over long windows

Periods with no activity are present with zero counts and sums and NaN latency.
The request-level panel (agent ``_all``) applies the same metrics to the request
table: one row per trace, start = first span start, end = last span end
(end-to-end latency), summed tokens and cost, the root span's TTFT, and status
``error`` when the root span (or, without a root, any span) failed.

Concurrency is computed exactly from per-period partial sums: with N_s(b), N_e(b) the
cumulative counts of starts / ends up to and including period b and o_s(b), o_e(b)
the summed offsets of those starts / ends from the period start,
  ∫_{period b} N(t) dt / P = N_s(b) − N_e(b) − (o_s(b) − o_e(b)) / P.

All engines work on integer epoch nanoseconds (the resolution of OTLP and of pandas), so
latencies and offsets are exact differences of the recorded timestamps; the period index
is b = ⌊t / P⌋ and the offset t − bP reuses it (one integer division per timestamp).

Engines: ``"duckdb"`` (embedded, streams Parquet/CSV larger than memory, multi-threaded),
``"dask"`` (same partial sums on a Dask cluster; exact percentiles after a shuffle by
(agent, period)) and ``"pandas"`` (in-memory reference). All engines give the same
panel: integer partial sums are exact, floating sums agree to rounding.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dsge_agents.errors import DSGEError, TraceValidationError
from dsge_agents.traces.schema import STATUS_SPELLINGS, _to_utc
from dsge_agents.traces.schema import normalize_status as normalize_status_spellings

METRICS = [
    "arrivals",
    "completions",
    "latency_mean",
    "latency_p50",
    "latency_p95",
    "latency_p99",
    "ttft_mean",
    "input_tokens",
    "output_tokens",
    "cost",
    "error_rate",
    "concurrency",
]
ALL_AGENT = "_all"
UNKNOWN_AGENT = "_unknown"
_START_COLS = ["agent", "b", "n_arr", "n_sc", "off_s", "in_tok", "out_tok", "cost"]
_END_COLS = [
    "agent",
    "b",
    "n_comp",
    "off_e",
    "lat_sum",
    "n_err",
    "ttft_sum",
    "ttft_n",
    "q50",
    "q95",
    "q99",
]


def period_ns(period) -> int:
    """Length of a fixed pandas offset in nanoseconds (``"1min"`` -> 60_000_000_000)."""
    try:
        td = pd.Timedelta(pd.tseries.frequencies.to_offset(period))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"period {period!r} must be a fixed pandas offset such as '10s' or '1min'") from exc
    ns = int(td.value)
    if ns <= 0:
        raise ValueError(f"period {period!r} must be a positive duration")
    return ns


def _utc_naive(col) -> pd.Series:
    """Timestamps as UTC wall time without zone, ``datetime64[ns]`` (NaT kept).

    DuckDB maps a zone-aware pandas column to microsecond TIMESTAMPTZ but a naive
    ``datetime64[ns]`` column to TIMESTAMP_NS, so the naive form keeps nanoseconds.
    """
    parsed, bad = _to_utc(col)
    if bad.any():  # only unvalidated input (files given to aggregate directly) gets here
        raw = pd.Series(col)[bad.to_numpy()]
        raise TraceValidationError(
            f"{getattr(col, 'name', None) or 'timestamp'}: {int(bad.sum())} unparseable value(s), the first "
            f"{raw.iloc[0]!r}; aggregate takes validated spans -- load_spans / `dsge-agents ingest` "
            "(without --no-validate) name their rows and can quarantine them"
        )
    return parsed.dt.tz_localize(None).astype("datetime64[ns]")


@dataclass
class TracePanel:
    """Aggregated traces: ``tidy`` (period, agent, metric, value), ``wide`` and the request table."""

    tidy: pd.DataFrame
    period: str
    engine: str
    requests: pd.DataFrame | None = None
    info: dict = field(default_factory=dict)

    @property
    def wide(self) -> pd.DataFrame:
        """One row per (period, agent), one column per metric (in :data:`METRICS` order)."""
        w = self.tidy.pivot_table(
            index=["period", "agent"],
            columns="metric",
            values="value",
            dropna=False,
            sort=True,
            aggfunc="first",
        )
        w = w.reindex(columns=METRICS)
        w.columns.name = None
        return w

    def series(self, metric: str, agent: str = ALL_AGENT) -> pd.Series:
        """One metric of one agent as a time series indexed by period start; an unknown metric or
        agent is a KeyError naming the ones there are."""
        t = self.tidy
        if metric not in METRICS:
            raise KeyError(f"unknown metric {metric!r}; metrics are {', '.join(METRICS)}")
        agents = sorted(t["agent"].unique())
        if agent not in agents:
            raise KeyError(f"no agent {agent!r} in this panel; agents are {', '.join(map(str, agents))}")
        s = t[(t["metric"] == metric) & (t["agent"] == agent)].set_index("period")["value"]
        s.name = f"{agent}:{metric}"
        return s

    def summary(self) -> str:
        t = self.tidy
        per = t["period"]
        return (
            f"TracePanel: {t['agent'].nunique()} agents, {per.nunique()} periods of {self.period} "
            f"from {per.min()} to {per.max()} ({self.engine})"
        )


# ----------------------------------------------------------------------------- finisher
def _finish(
    starts: pd.DataFrame, ends: pd.DataFrame, P: int, *, b_min=None, b_max=None, agents=None
) -> pd.DataFrame:
    """Partial sums per (agent, period) -> tidy panel on the full (agent × period) grid."""
    starts = starts.copy()
    ends = ends.copy()
    for d in (starts, ends):
        d["b"] = d["b"].astype(np.int64)
        d["agent"] = d["agent"].astype(object)
    bs = [
        x
        for x in (starts["b"].min() if len(starts) else None, ends["b"].min() if len(ends) else None, b_min)
        if x is not None and x == x
    ]
    be = [
        x
        for x in (starts["b"].max() if len(starts) else None, ends["b"].max() if len(ends) else None, b_max)
        if x is not None and x == x
    ]
    if agents is None:
        agents = sorted(set(starts["agent"]) | set(ends["agent"]))
    if not bs or not agents:
        return pd.DataFrame(
            {"period": pd.Series([], dtype="datetime64[ns, UTC]"), "agent": [], "metric": [], "value": []}
        )
    b0, b1 = int(min(bs)), int(max(be))
    nb = b1 - b0 + 1
    na = len(agents)
    aidx = {a: i for i, a in enumerate(agents)}

    positions = {}  # per frame: (agent row, period column, in-grid mask), computed once

    def grid(df, col, fill=0.0, dtype=float):
        g = np.full((na, nb), fill, dtype=dtype)
        if len(df):
            if id(df) not in positions:
                ia = df["agent"].map(aidx).to_numpy()
                ib = df["b"].to_numpy() - b0
                ok = ~pd.isna(ia) & (ib >= 0) & (ib < nb)
                positions[id(df)] = (ia[ok].astype(int), ib[ok], ok)
            ia, ib, ok = positions[id(df)]
            v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
            if dtype is not float:
                v = np.nan_to_num(v)
            g[ia, ib] = v[ok]
        return g

    n_arr = grid(starts, "n_arr")
    n_sc = grid(starts, "n_sc")
    off_s = grid(starts, "off_s")
    # every engine sums to 0 where a group has no values: a NaN here is a NaN sum (infinities
    # of both signs), shown as NaN rather than zeroed
    in_tok = grid(starts, "in_tok")
    out_tok = grid(starts, "out_tok")
    cost = grid(starts, "cost")
    n_comp = grid(ends, "n_comp")
    off_e = grid(ends, "off_e")
    lat_sum = grid(ends, "lat_sum")
    n_err = grid(ends, "n_err")
    ttft_sum = grid(ends, "ttft_sum")
    ttft_n = grid(ends, "ttft_n")
    q = [grid(ends, c, fill=np.nan) for c in ("q50", "q95", "q99")]
    with np.errstate(invalid="ignore", divide="ignore"):
        lat_mean = np.where(n_comp > 0, lat_sum / np.maximum(n_comp, 1) / 1e9, np.nan)
        ttft_mean = np.where(ttft_n > 0, ttft_sum / np.maximum(ttft_n, 1), np.nan)
        err_rate = np.where(n_comp > 0, n_err / np.maximum(n_comp, 1), np.nan)
    conc = (np.cumsum(n_sc, axis=1) - np.cumsum(n_comp, axis=1)) - (
        np.nan_to_num(off_s) - np.nan_to_num(off_e)
    ) / P
    values = {
        "arrivals": n_arr,
        "completions": n_comp,
        "latency_mean": lat_mean,
        "latency_p50": q[0] / 1e9,
        "latency_p95": q[1] / 1e9,
        "latency_p99": q[2] / 1e9,
        "ttft_mean": ttft_mean,
        "input_tokens": in_tok,
        "output_tokens": out_tok,
        "cost": cost,
        "error_rate": err_rate,
        "concurrency": conc,
    }
    periods_ns = np.arange(b0, b1 + 1, dtype=np.int64) * P
    nm = len(METRICS)
    # row order: agent, period, metric
    # object arrays of str become pandas' string dtype directly (astype(str) first was 3x slower)
    agent_col = np.repeat(np.asarray([str(a) for a in agents], dtype=object), nb * nm)
    period_col = np.tile(np.repeat(periods_ns, nm), na)
    metric_col = np.tile(np.asarray(METRICS, dtype=object), na * nb)
    stacked = np.stack([values[m] for m in METRICS], axis=-1)  # (na, nb, nm)
    tidy = pd.DataFrame(
        {
            "period": pd.to_datetime(period_col, unit="ns", utc=True),
            "agent": agent_col,
            "metric": metric_col,
            "value": stacked.reshape(-1).astype(float),
        }
    )
    return tidy


# ----------------------------------------------------------------------------- pandas partials
def _base_pandas(df: pd.DataFrame) -> pd.DataFrame:
    """Span rows -> (agent, s, e, ttft, in_tok, out_tok, cost, err); s, e integer epoch ns (e nullable)."""

    def ns(col):
        t = _utc_naive(col)
        return pd.arrays.IntegerArray(t.to_numpy("datetime64[ns]").view(np.int64), t.isna().to_numpy())

    lacking = [c for c in ("start_ts", "end_ts") if c not in df.columns]
    if lacking:
        raise TraceValidationError(f"span table lacks {', '.join(lacking)}")
    # optional columns absent from the input are missing values (as in the DuckDB engine)
    df = df.assign(**{c: pd.Series(np.nan, index=df.index, dtype=object)
                      for c in ("ttft_s", "input_tokens", "output_tokens", "cost_usd", "status")
                      if c not in df.columns})

    agent = (
        df["agent_name"].astype(object).where(df["agent_name"].notna(), UNKNOWN_AGENT)
        if "agent_name" in df.columns
        else pd.Series(UNKNOWN_AGENT, index=df.index)
    )
    out = pd.DataFrame(
        {
            "agent": agent.astype(str).to_numpy(),
            "s": ns(df["start_ts"]),
            "e": ns(df["end_ts"]),
            "ttft": pd.to_numeric(df["ttft_s"], errors="coerce").to_numpy(float),
            "in_tok": pd.to_numeric(df["input_tokens"], errors="coerce")
            .astype("Float64")
            .to_numpy(float, na_value=np.nan),
            "out_tok": pd.to_numeric(df["output_tokens"], errors="coerce")
            .astype("Float64")
            .to_numpy(float, na_value=np.nan),
            "cost": pd.to_numeric(df["cost_usd"], errors="coerce").to_numpy(float),
            "err": (df["status"].astype(str) == "error").to_numpy(),
        },
        index=df.index,
    )
    out = out[out["s"].notna().to_numpy()]
    return out.astype({"s": np.int64})


def _requests_pandas(df: pd.DataFrame) -> pd.DataFrame:
    """Span rows -> request rows (same base layout, agent ``_all``)."""
    df = df.reset_index(drop=True)
    b = _base_pandas(df)
    par = (
        df.loc[b.index, "parent_span_id"]
        if "parent_span_id" in df.columns
        else pd.Series(None, index=b.index)
    )
    root = par.isna().to_numpy() | (par.astype(str).str.len() == 0).to_numpy()
    b = b.assign(
        trace=df.loc[b.index, "trace_id"].astype(str).to_numpy(),
        root=root,
        root_err=root & b["err"].to_numpy(),
        root_ttft=np.where(root, b["ttft"].to_numpy(), np.nan),
    )
    g = b.groupby("trace", sort=False)
    r = pd.DataFrame(
        {
            "s": g["s"].min(),
            # a request with a span still open (no end) has not ended: no end, no completion
            "e": g["e"].max().where(g["e"].count() == g["e"].size()),
            "ttft": g["root_ttft"].max(),
            "in_tok": g["in_tok"].sum(min_count=1),
            "out_tok": g["out_tok"].sum(min_count=1),
            "cost": g["cost"].sum(min_count=1),
            "has_root": g["root"].any(),
            "root_err": g["root_err"].any(),
            "any_err": g["err"].any(),
        }
    )
    r["err"] = np.where(r["has_root"], r["root_err"], r["any_err"])
    r["agent"] = ALL_AGENT
    r.index.name = "trace_id"
    return r.reset_index()[["trace_id", "agent", "s", "e", "ttft", "in_tok", "out_tok", "cost", "err"]]


def _starts_partial(b: pd.DataFrame, P: int) -> pd.DataFrame:
    s = b["s"].to_numpy(np.int64)
    bb = s // P
    has_end = b["e"].notna().to_numpy(bool)
    t = pd.DataFrame(
        {
            "agent": b["agent"].to_numpy(),
            "b": bb,
            "n_arr": 1,
            "n_sc": has_end.astype(np.int64),
            # nanosecond offsets summed as float: an int64 sum could overflow for long periods
            # with millions of spans (DuckDB sums them in 128-bit integers)
            "off_s": np.where(has_end, s - bb * P, 0).astype(float),
            "in_tok": b["in_tok"].to_numpy(float),
            "out_tok": b["out_tok"].to_numpy(float),
            "cost": b["cost"].to_numpy(float),
        }
    )
    g = t.groupby(["agent", "b"], sort=False)
    # missing values skipped, 0 for a group without any (as the DuckDB queries sum)
    out = g[["n_arr", "n_sc", "off_s", "in_tok", "out_tok", "cost"]].sum()
    return out.reset_index()[_START_COLS]


def _ends_partial(b: pd.DataFrame, P: int) -> pd.DataFrame:
    """Exact per-(agent, period) completion statistics; the group must be whole in ``b``."""
    e = b[b["e"].notna().to_numpy(bool)]
    if not len(e):
        return pd.DataFrame({c: [] for c in _END_COLS})
    eu = e["e"].to_numpy(np.int64)
    su = e["s"].to_numpy(np.int64)
    bb = eu // P
    t = pd.DataFrame(
        {
            "agent": e["agent"].to_numpy(),
            "b": bb,
            "n_comp": 1,
            "off_e": (eu - bb * P).astype(float),
            "lat": (eu - su).astype(float),
            "n_err": e["err"].to_numpy().astype(np.int64),
            "ttft": e["ttft"].to_numpy(float),
        }
    )
    t["ttft_n"] = np.isfinite(t["ttft"].to_numpy()).astype(np.int64)
    g = t.groupby(["agent", "b"], sort=False)
    out = g[["n_comp", "off_e", "n_err", "ttft_n"]].sum()
    out["lat_sum"] = g["lat"].sum()
    out["ttft_sum"] = g["ttft"].sum()
    # type-7 percentiles per group (numpy "linear" == DuckDB quantile_cont)
    t = t.sort_values(["agent", "b", "lat"], kind="stable")
    keys = t[["agent", "b"]]
    starts = np.flatnonzero(
        np.r_[
            True,
            (keys["agent"].to_numpy()[1:] != keys["agent"].to_numpy()[:-1])
            | (keys["b"].to_numpy()[1:] != keys["b"].to_numpy()[:-1]),
        ]
    )
    ends_ = np.r_[starts[1:], len(t)]
    lat = t["lat"].to_numpy(float)
    qs = np.empty((len(starts), 3))
    for i, (a, z) in enumerate(zip(starts, ends_)):
        qs[i] = np.percentile(lat[a:z], [50, 95, 99], method="linear")
    qdf = pd.DataFrame(
        {
            "agent": keys["agent"].to_numpy()[starts],
            "b": keys["b"].to_numpy()[starts],
            "q50": qs[:, 0],
            "q95": qs[:, 1],
            "q99": qs[:, 2],
        }
    ).set_index(["agent", "b"])
    out = out.join(qdf)
    return out.reset_index()[_END_COLS]


#: the span columns the aggregation reads (both engines)
AGG_COLUMNS = ["agent_name", "start_ts", "end_ts", "ttft_s", "input_tokens", "output_tokens", "cost_usd",
               "status", "trace_id", "parent_span_id"]
#: SQL types of the aggregated columns (a column absent from every input file is NULL of its type)
_SQL_TYPES = {"agent_name": "VARCHAR", "start_ts": "TIMESTAMPTZ", "end_ts": "TIMESTAMPTZ", "ttft_s": "DOUBLE",
              "input_tokens": "BIGINT", "output_tokens": "BIGINT", "cost_usd": "DOUBLE", "status": "VARCHAR",
              "trace_id": "VARCHAR", "parent_span_id": "VARCHAR"}


# ----------------------------------------------------------------------------- DuckDB
def sql_str(value) -> str:
    """A SQL string literal (single quotes doubled): file names may hold any character."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_list(values) -> str:
    """A SQL list literal of strings, e.g. the files of ``read_parquet([...])``."""
    return "[" + ", ".join(sql_str(v) for v in values) + "]"


def _duck_source(con, source, exclude=None, need_trace_id: bool = False) -> tuple[str, list[str] | None]:
    """Register the input; return a SQL relation expression and the files when all are Parquet.

    Parquet files carry per-row-group null counts, so a filter such as ``end_ts IS NULL``
    is answered from the footer without decoding the column when no value is missing.
    ``exclude``: rows to leave out of Parquet files (``_source`` as the file was given, ``_row``
    1-based), by an anti-join on DuckDB's file name and row number columns.
    ``need_trace_id``: a source without ``trace_id`` is an error (the request rows need it).
    """
    if isinstance(source, pd.DataFrame):
        if need_trace_id and "trace_id" not in source.columns:
            raise _no_trace_id("span table")
        df = source[[c for c in AGG_COLUMNS if c in source.columns]]
        missing = [c for c in AGG_COLUMNS if c not in source.columns]
        if missing:
            df = df.assign(
                **{c: pd.Series([None] * len(df), index=df.index, dtype="object") for c in missing}
            )
            if "start_ts" in missing or "end_ts" in missing:
                raise TraceValidationError(
                    f"span table lacks {', '.join(m for m in missing if m.endswith('_ts'))}"
                )
        df = df.assign(start_ts=_utc_naive(df["start_ts"]), end_ts=_utc_naive(df["end_ts"]))
        con.register("spans_df", df)
        return "spans_df", None
    paths = [source] if isinstance(source, (str, os.PathLike)) else list(source)
    files = [str(f) for f in _span_files(paths)]
    if not files:
        raise TraceValidationError(f"no Parquet/CSV span files found in {paths}")
    pq = [f for f in files if f.lower().endswith((".parquet", ".pq"))]
    csv = [f for f in files if f not in pq]
    parts = []
    use_exclude = exclude is not None and len(exclude) > 0
    if use_exclude and (csv or not pq):
        raise ValueError("exclude= applies to Parquet span files only")
    import duckdb

    # hive_partitioning=false: only the files' own columns, as the pandas readers and the Dask
    # engine read them (DuckDB would otherwise add agent_name from folders agent_name=x/)
    pq_scan = f"read_parquet({sql_list(pq)}, union_by_name=true, hive_partitioning=false"
    csv_scan = f"read_csv({sql_list(csv)}, header=true, union_by_name=true, hive_partitioning=false"
    pq_types, csv_types = {}, {}
    try:
        if pq:
            pq_types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {pq_scan})").fetchall()}
        if csv:
            csv_types = {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM {csv_scan})").fetchall()}
    except duckdb.Error as exc:  # an unreadable file, named in DuckDB's message
        raise TraceValidationError(f"cannot read span files {files}: {exc}") from None
    present = set(pq_types) | set(csv_types)
    lacking = [c for c in ("start_ts", "end_ts") if c not in present]
    if lacking and not use_exclude:
        raise TraceValidationError(f"span files {files} lack {', '.join(lacking)}")
    if need_trace_id and "trace_id" not in present:
        raise _no_trace_id(f"span files {files}")
    if pq:
        _check_duck_types(con, pq, pq_types, "read_parquet")

    def select(types: dict, text_times: bool) -> str:
        # optional columns absent from every file of this part are NULL of their canonical type
        out = []
        for c in AGG_COLUMNS:
            if c not in types:
                out.append(f"CAST(NULL AS {_SQL_TYPES[c]}) AS {c}")
            elif c in ("start_ts", "end_ts"):
                out.append(f"{_time_sql(c, 'VARCHAR' if text_times else types[c])} AS {c}")
            else:
                out.append(c)
        return "SELECT " + ", ".join(out)

    if pq and use_exclude:
        con.register("excluded_rows", pd.DataFrame({"f": exclude["_source"].astype(str).to_numpy(),
                                                    "r": exclude["_row"].to_numpy(dtype=np.int64)}))
        parts.append(
            select(pq_types, False) + f" FROM {pq_scan}, filename='_src_file', file_row_number=true) AS t "
            "ANTI JOIN excluded_rows AS x ON t._src_file = x.f AND t.file_row_number + 1 = x.r"
        )
    elif pq:
        parts.append(select(pq_types, False) + f" FROM {pq_scan})")
    if csv:
        text = ["start_ts", "end_ts", "trace_id", "parent_span_id", "agent_name", "status"]
        types = ", ".join(f"'{c}': 'VARCHAR'" for c in text if c in csv_types)
        parts.append(select(csv_types, True) + f" FROM {csv_scan}" + (f", types={{{types}}})" if types else ")"))
    return "(" + " UNION ALL BY NAME ".join(parts) + ")", (None if csv else pq)


#: DuckDB types of columns read as numbers (times given as numbers are epoch seconds)
_SQL_NUMBERS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                "UBIGINT", "UHUGEINT", "FLOAT", "DOUBLE", "DECIMAL")


def _type_kind(sql_type: str) -> str:
    """``"time"``, ``"text"``, ``"number"``, ``"null"`` or ``"other"`` for a DuckDB type name."""
    t = sql_type.upper().strip('"')
    if t.startswith("TIMESTAMP") or t == "DATE":
        return "time"
    if t == "VARCHAR":
        return "text"
    if t.split("(")[0] in _SQL_NUMBERS:
        return "number"
    return "null" if t == "NULL" else "other"


def _time_sql(c: str, sql_type: str) -> str:
    """A time column as a timestamp, as the pandas engine reads it (``schema._to_utc``): stored
    times as they are, text cast as CSV text is (ISO 8601; naive is UTC), numbers as Unix epoch
    seconds (rounded half to even to whole nanoseconds, as numpy rounds; NaN / infinite missing)."""
    kind = _type_kind(sql_type)
    if kind == "time" and not sql_type.upper().startswith("DATE"):
        return c
    if kind == "number":
        x = f"CAST({c} AS DOUBLE)"
        return (f"CASE WHEN isfinite({x}) THEN CAST(make_timestamp_ns(CAST(roundbankers({x} * 1e9, 0) AS BIGINT)) "
                "AS TIMESTAMPTZ_NS) END")
    return f"CAST({c} AS TIMESTAMPTZ_NS)"  # text, DATE, NULL


#: the kinds of column type each aggregated column may have (others are named errors)
_TYPE_KINDS = {"start_ts": ("time", "text", "number", "null"), "end_ts": ("time", "text", "number", "null"),
               **{c: ("number", "text", "null") for c in ("ttft_s", "input_tokens", "output_tokens", "cost_usd")}}


def _check_duck_types(con, files: list[str], types: dict, scan: str) -> None:
    """A TraceValidationError naming the column, its type and the files holding it, for a column
    of a type the aggregation cannot read as a time / number (a list, struct, blob, boolean...)."""
    for c, kinds in _TYPE_KINDS.items():
        if c in types and _type_kind(types[c]) not in kinds:
            bad = []
            for f in files:  # only on the error path: one footer / header read per file
                t = dict(con.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM "
                                     f"{scan}({sql_str(f)}, hive_partitioning=false))").fetchall()).get(c)
                if t is not None and _type_kind(t) not in kinds:
                    bad.append(f"{f} ({t})")
            raise TraceValidationError(
                f"column {c} is stored as {types[c]}, which aggregate cannot read as a "
                f"{'time' if c.endswith('_ts') else 'number'}: {', '.join(bad) or files}; aggregate takes "
                "canonical span tables (times as timestamps, ISO 8601 text or epoch seconds, numbers as numbers)"
            )


#: the code points Python's ``str.strip()`` (and Arrow's ``utf8_trim_whitespace``, which pandas'
#: text columns use) remove, and the same as the characters argument of DuckDB's ``trim`` (which
#: takes ASCII spaces only by default): SQL strips text as the readers and validators do
SPACE_CODES = tuple(i for i in range(0x3001) if chr(i).isspace())
SQL_WHITESPACE = " || ".join(f"chr({i})" for i in SPACE_CODES)
# the error flag: canonical tables spell the status ok / error / unset (schema); inputs that may
# use other spellings (``normalize_status=True``) are lower-cased, stripped and looked up in
# schema.STATUS_SPELLINGS as the readers do (the CASE settles the canonical spellings with one
# comparison; measured +4 % on the benchmark's end-side query, so not the default)
_ERR_EXACT = "coalesce(CAST(status AS VARCHAR) = 'error', false)"
_ERR_SPELLINGS = (
    "coalesce(CASE CAST(status AS VARCHAR) WHEN 'error' THEN true WHEN 'ok' THEN false "
    f"ELSE lower(trim(CAST(status AS VARCHAR), {SQL_WHITESPACE})) IN "
    f"({', '.join(repr(k) for k, v in STATUS_SPELLINGS.items() if v == 'error')}) END, false)"
)
_DUCK_BASE = """
    SELECT coalesce(CAST(agent_name AS VARCHAR), '{unknown}') AS agent,
           epoch_ns(start_ts) AS s, epoch_ns(end_ts) AS e,
           {ttft} AS ttft, {in_tok} AS in_tok,
           {out_tok} AS out_tok, {cost} AS cost,
           {err} AS err,
           CAST(trace_id AS VARCHAR) AS trace_id,
           (parent_span_id IS NULL OR CAST(parent_span_id AS VARCHAR) = '') AS root
    FROM {rel} WHERE start_ts IS NOT NULL{extra}"""
#: the floating inputs of the base query (canonical column -> name in the query)
_DUCK_FLOATS = {"ttft_s": "ttft", "input_tokens": "in_tok", "output_tokens": "out_tok", "cost_usd": "cost"}


def _duck_base(rel: str, err: str, extra: str = "", nan_null: bool = False) -> str:
    """The base query over ``rel``. ``nan_null``: floating NaN (which Parquet files from pyarrow,
    Polars or Spark and CSV text ``nan`` can hold) is read as NULL, as pandas and Dask read it;
    otherwise the values are taken as they are (see :func:`_duck_panels` for when each is used)."""
    num = {
        name: (f"nullif(CAST({c} AS DOUBLE), CAST('NaN' AS DOUBLE))" if nan_null else f"CAST({c} AS DOUBLE)")
        for c, name in _DUCK_FLOATS.items()
    }
    return _DUCK_BASE.format(unknown=UNKNOWN_AGENT, rel=rel, extra=extra, err=err, **num)


def _period_sql(t: str, P: int, floor: bool = True) -> str:
    """SQL of the period index ⌊t / P⌋ of integer nanoseconds ``t``.

    DuckDB's integer ``//`` truncates toward zero, which is the floor only for t ≥ 0; before
    1970 (t < 0) the floor is (t − (P − 1)) // P: for t < 0, t − P + 1 ≤ 0 and truncating
    −(P − 1 − t)/P gives −⌈−t/P⌉ = ⌊t/P⌋. ``floor=False`` when every time is known to be ≥ 0
    (footer statistics, :func:`_duck_facts`): the plain division, nothing more per row.
    """
    if not floor:
        return f"{t} // {P}"
    return f"({t} - CAST({t} < 0 AS BIGINT) * {P - 1}) // {P}"


def _duck_starts_sql(view: str, P: int, all_ended: bool, floor: bool = True) -> str:
    """Start-side partial sums per (agent, start period).

    ``all_ended``: count every span as started-and-ended (``n_sc``, ``off_s``); the caller
    subtracts the spans without an end afterwards. This keeps ``end_ts`` out of the scan.
    The period index b is computed once per row and the offset is s − bP (no second division;
    integer division is the costliest per-row operation here, measured with ``perf``).
    """
    if all_ended:
        n_sc, off = "count(*)", f"sum(s - b * {P})"
    else:
        n_sc, off = "count(e)", f"coalesce(sum(CASE WHEN e IS NOT NULL THEN s - b * {P} END), 0)"
    return f"""
        SELECT agent, b, count(*) AS n_arr, {n_sc} AS n_sc, {off} AS off_s,
               coalesce(sum(in_tok), 0) AS in_tok, coalesce(sum(out_tok), 0) AS out_tok,
               coalesce(sum(cost), 0) AS cost
        FROM (SELECT *, {_period_sql("s", P, floor)} AS b FROM {view}) GROUP BY agent, b"""


#: the error count rides in the high 32 bits of the completion count (one aggregate instead of two)
_PACK = 1 << 32


def _duck_ends_sql(view: str, P: int, *, pack_errors: bool = False, ttft_complete: bool = False,
                   floor: bool = True) -> str:
    """Completion-side partial sums and exact type-7 percentiles per (agent, end period).

    In DuckDB's hash aggregate each aggregate costs a scattered update per row (measured
    ~10 ns/row each on 10 M spans, the percentiles ~45 ns/row), so two are saved when the
    input allows: ``pack_errors`` (every group is known to hold < 2³¹ rows) sums
    ``1 + err·2³²`` once and splits it into completions and errors after the aggregation;
    ``ttft_complete`` (``ttft_s`` is known to have no NULLs) takes the TTFT count from the
    completion count.
    """
    if pack_errors:
        counts = f"sum(1 + CAST(err AS BIGINT) * {_PACK}) AS nn"
        n_comp = f"CAST(nn % {_PACK} AS BIGINT)"
        split = f"{n_comp} AS n_comp, CAST(nn // {_PACK} AS BIGINT) AS n_err"
    else:
        counts = "count(*) AS n_comp, count_if(err) AS n_err"
        n_comp = "n_comp"
        split = "n_comp, n_err"
    ttft_count = "" if ttft_complete else ", count(ttft) AS ttft_n"
    ttft_n = f"{n_comp} AS ttft_n" if ttft_complete else "ttft_n"
    return f"""
        SELECT agent, b, {split}, off_e, lat_sum, ttft_sum, {ttft_n},
               q[1] AS q50, q[2] AS q95, q[3] AS q99 FROM (
            SELECT agent, b, {counts}, sum(e - b * {P}) AS off_e, sum(e - s) AS lat_sum,
                   coalesce(sum(ttft), 0) AS ttft_sum{ttft_count}, quantile_cont(e - s, [0.5, 0.95, 0.99]) AS q
            FROM (SELECT *, {_period_sql("e", P, floor)} AS b FROM {view} WHERE e IS NOT NULL)
            GROUP BY agent, b)"""


@dataclass(frozen=True)
class _Facts:
    """What is known about the input without reading its data (None: unknown)."""

    rows: int | None = None
    ttft_null: bool | None = None  # may ttft_s be NULL?
    end_null: bool | None = None  # may end_ts be NULL?
    nonneg: bool | None = None  # are all times at or after 1970-01-01 (epoch ns >= 0)?


def _duck_facts(con, source, parquet_files) -> _Facts:
    """Row count and whether ``ttft_s`` / ``end_ts`` may be NULL, without scanning the data.

    DataFrames answer directly; Parquet files from their footers (row counts and per
    column-chunk null counts, one ``parquet_metadata`` query of ~10 ms); CSV files are not
    known without reading them. A file lacking the column, or a chunk without a null count,
    counts as "may be NULL"; an unreadable footer leaves everything unknown (the scan then
    reports the file).
    """
    if isinstance(source, pd.DataFrame):

        def may_be_null(c):
            return c not in source.columns or bool(source[c].isna().any())

        def nonneg(c):  # time columns of a datetime dtype answer with a min; text / numbers: unknown
            if c not in source.columns:
                return True
            col = source[c]
            if not (isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(col.dtype)):
                return None
            first = col.min()
            return first is pd.NaT or first != first or first.value >= 0

        known = [nonneg("start_ts"), nonneg("end_ts")]
        return _Facts(len(source), may_be_null("ttft_s"), may_be_null("end_ts"),
                      None if None in known else all(known))
    if not parquet_files:
        return _Facts()
    import duckdb

    # a row group's times are known to be >= 0 when its start_ts / end_ts chunks are all NULL or
    # their min statistic reads as a time at or after the epoch (text / number columns do not
    # read as times: unknown); a file without the column holds no such times
    epoch_ok = ("(stats_null_count = row_group_num_rows OR TRY_CAST(stats_min_value AS TIMESTAMPTZ) "
                ">= TIMESTAMPTZ '1970-01-01 00:00:00+00')")
    try:
        rows, ttft_ok, end_ok, nonneg = con.execute(
            "SELECT sum(n), bool_and(ttft_ok), bool_and(end_ok), bool_and(nonneg) FROM ("
            "SELECT any_value(row_group_num_rows) AS n, "
            "coalesce(bool_or(path_in_schema = 'ttft_s' AND stats_null_count = 0), false) AS ttft_ok, "
            "coalesce(bool_or(path_in_schema = 'end_ts' AND stats_null_count = 0), false) AS end_ok, "
            f"coalesce(bool_and(path_in_schema NOT IN ('start_ts', 'end_ts') OR {epoch_ok}), false) AS nonneg "
            f"FROM parquet_metadata({sql_list(parquet_files)}) GROUP BY file_name, row_group_id)"
        ).fetchone()
    except duckdb.Error:
        return _Facts()
    if rows is None:  # files without row groups
        return _Facts(0, True, True, True)
    return _Facts(int(rows), not ttft_ok, not end_ok, bool(nonneg))


def duck_connect(threads: int | None = None, memory_limit: str | None = None, progress: bool = False,
                 temp_directory=None):
    """An in-memory DuckDB connection in UTC with the given thread count / memory limit;
    ``progress``: DuckDB prints its progress bar for queries running over a second;
    ``temp_directory``: where DuckDB spills when it reaches the memory limit (DuckDB's
    default is ``.tmp`` in the working directory).

    Parquet, CSV and ICU (time zones) are linked into the duckdb wheel: nothing to load or
    download, and the start-up check for extensions is skipped (≈ 15 ms of ~40 ms connect).
    """
    import duckdb

    con = duckdb.connect(config={"autoload_known_extensions": False, "autoinstall_known_extensions": False})
    con.execute("SET TimeZone='UTC'")
    try:
        if threads:
            con.execute(f"SET threads={int(threads)}")
        if memory_limit:
            con.execute(f"SET memory_limit={sql_str(memory_limit)}")
    except (duckdb.Error, ValueError) as exc:
        con.close()
        raise ValueError(f"DuckDB settings threads={threads!r}, memory_limit={memory_limit!r}: {exc} "
                         "(memory_limit as '4GB', '500MB', ...)") from None
    if temp_directory is not None:
        con.execute(f"SET temp_directory={sql_str(temp_directory)}")
    try:
        if not progress:  # DuckDB's Python client may draw its bar by default
            con.execute("SET enable_progress_bar=false")
        else:
            con.execute("SET enable_progress_bar=true")
            con.execute("SET enable_progress_bar_print=true")
            con.execute("SET progress_bar_time=1000")
    except duckdb.Error:
        # in Jupyter, DuckDB refuses to change the bar's setting without ipywidgets: keep its default
        pass
    return con


def _no_trace_id(what: str) -> TraceValidationError:
    return TraceValidationError(
        f"{what}: no trace_id column; the request-level rows (agent {ALL_AGENT!r}) group spans by trace; "
        "aggregate with requests=False for the per-agent rows alone"
    )


def _duck_queries(con, rel: str, P: int, requests: bool, facts: "_Facts", parquet_only: bool, err: str,
                  nan_null: bool) -> list:
    """The start- and end-side partial sums of the spans (and of the request table) over ``rel``."""
    base = _duck_base(rel, err, nan_null=nan_null)
    con.execute("CREATE OR REPLACE TEMP VIEW base AS " + base)
    pack = facts.rows is not None and facts.rows < 2**31
    # the TTFT count is the completion count when no ttft_s is NULL; a NaN read as NULL is not
    # in the footers' null counts, so not then
    views = [("base", parquet_only, facts.ttft_null is False and not nan_null)]
    if requests:
        # materialised once: both aggregations below read it
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE req AS
            SELECT '{ALL_AGENT}' AS agent, min(s) AS s,
                   CASE WHEN count(e) = count(*) THEN max(e) END AS e,
                   max(CASE WHEN root THEN ttft END) AS ttft, sum(in_tok) AS in_tok,
                   sum(out_tok) AS out_tok,
                   sum(cost) AS cost,
                   CASE WHEN bool_or(root) THEN bool_or(root AND err) ELSE bool_or(err) END AS err
            FROM base GROUP BY trace_id""")
        views.append(("req", False, False))
    floor = facts.nonneg is not True  # times before 1970 possible: the floor division
    out = []
    for view, all_ended, ttft_complete in views:
        starts = con.execute(_duck_starts_sql(view, P, all_ended, floor)).df()
        if all_ended and facts.end_null is not False:
            opened = con.execute(
                f"SELECT agent, b, count(*) AS n_open, sum(s - b * {P}) AS off_open "
                f"FROM (SELECT *, {_period_sql('s', P, floor)} AS b FROM ("
                + _duck_base(rel, err, extra=" AND end_ts IS NULL", nan_null=nan_null)
                + ")) GROUP BY agent, b"
            ).df()
            if len(opened):
                starts = starts.merge(opened, on=["agent", "b"], how="left")
                starts["n_sc"] = starts["n_sc"] - starts["n_open"].fillna(0)
                starts["off_s"] = starts["off_s"] - starts["off_open"].fillna(0)
        ends = con.execute(
            _duck_ends_sql(view, P, pack_errors=pack, ttft_complete=ttft_complete, floor=floor)
        ).df()
        if not len(ends):
            ends = pd.DataFrame({c: [] for c in _END_COLS})
        out.append((starts[_START_COLS], ends[_END_COLS]))
    return out


def _duck_panels(source, P: int, requests: bool, threads: int | None, memory_limit: str | None,
                 exclude=None, normalize_status: bool = False, progress: bool = False, temp_directory=None):
    """Partial sums per (agent, period) with DuckDB: one scan for the start side, one for the end side.

    The two sides have different group keys (start period, end period) and the percentiles
    are holistic (all latencies of a group are needed), so they are two aggregations. Each
    reads only its columns; for Parquet input the start side does not read ``end_ts`` at all
    (spans without an end are found from the row-group null counts and subtracted).
    """
    import duckdb

    con = duck_connect(threads, memory_limit, progress, temp_directory)
    try:
        rel, parquet_files = _duck_source(con, source, exclude, need_trace_id=requests)
        err = _ERR_SPELLINGS if normalize_status else _ERR_EXACT
        parquet_only = parquet_files is not None
        facts = _duck_facts(con, source, parquet_files)
        if parquet_only:
            # local files: read column by column instead of prefetching whole row-group ranges
            # (which include the unread columns between the needed ones); measured on 10 M
            # spans: half the page faults, about 0.15 s less system time, same user time
            con.execute("SET disable_parquet_prefetching=true")
        # Floating inputs are first taken as they are: a NaN (not NULL) among them makes its
        # group's sum NaN (IEEE 754 propagation; every query sums the floats it reads, and the
        # request table's root TTFT, a max, is NaN too when one is NaN), and the sums of groups
        # without values are 0, so a NaN in the partial sums means a NaN in the input. Only then
        # are the queries run again with NaN read as NULL (as pandas and Dask read it); the
        # usual input pays nothing for the check (a NULLIF on four columns is a per-row cost).
        for nan_null in (False, True):
            if nan_null:
                # DuckDB takes a Parquet column's min/max statistics as bounds of every value,
                # but writers leave NaN out of them (parquet-format: "NaNs must not be written
                # to min_values or max_values"), so its optimizer folds the NULLIF's NaN test to
                # false (duckdb/duckdb#7803, #25521): off for this run
                con.execute("SET disabled_optimizers='statistics_propagation'")
            out = _duck_queries(con, rel, P, requests, facts, parquet_only, err, nan_null)
            if nan_null or not any(
                np.isnan(st[["in_tok", "out_tok", "cost"]].to_numpy(float)).any()
                or np.isnan(en["ttft_sum"].to_numpy(float)).any()
                for st, en in out
            ):
                break
        return out
    except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.BinderException) as exc:
        # unvalidated files: a time DuckDB cannot read, a malformed CSV; a column of a type the
        # queries cannot take (the usual ones are named by _check_duck_types before this)
        what = "span table" if isinstance(source, pd.DataFrame) else f"span files {[str(f) for f in _span_files(source)]}"
        if isinstance(exc, duckdb.BinderException):
            raise TraceValidationError(
                f"{what}: a column of {', '.join(AGG_COLUMNS)} has a type aggregate cannot read "
                f"({str(exc).splitlines()[0]}); aggregate takes canonical span tables (times as "
                "timestamps, ISO 8601 text or epoch seconds, numbers as numbers)") from None
        raise TraceValidationError(
            f"{what}: {str(exc).splitlines()[0]}; aggregate takes validated spans -- load_spans / "
            "`dsge-agents ingest` (without --no-validate) name the bad rows and can quarantine them"
        ) from None
    finally:
        # closing frees the engine's buffers (~25 ms on 10 M spans): done on a worker thread
        # while the caller builds the panel; non-daemon, so interpreter exit waits for it
        threading.Thread(target=con.close, name="dsge-agents-duckdb-close").start()


# ----------------------------------------------------------------------------- Dask
def _dask_frame(source, npartitions: int = 4):
    """The span columns the aggregation reads (:data:`AGG_COLUMNS`) as a Dask DataFrame.

    Files may differ in their columns (an optional column added or dropped over time): each is
    read with the columns it has and given the others as missing values, so every partition has
    the same columns whatever file comes first (``dd.read_parquet`` / ``dd.read_csv`` of a list
    take the first file's columns). Files with the same columns are read together. Only the
    files' own columns are read (no hive ``key=value`` folder columns, as the pandas readers and
    the DuckDB engine)."""
    import dask.dataframe as dd

    if isinstance(source, dd.DataFrame):
        return source
    if isinstance(source, pd.DataFrame):
        cols = [c for c in source.columns if not str(c).startswith("_")]
        return dd.from_pandas(source[cols], npartitions=npartitions)
    files = [str(f) for f in _span_files(source)]
    if not files:
        raise TraceValidationError(f"no Parquet/CSV span files found in {source}")
    parquet = [f.lower().endswith((".parquet", ".pq")) for f in files]
    if any(parquet) and not all(parquet):
        raise ValueError("engine='dask' reads Parquet or CSV span files, not both at once: "
                         f"{[f for f, q in zip(files, parquet) if q][:3]} and {[f for f, q in zip(files, parquet) if not q][:3]}")
    if all(parquet):
        import pyarrow.parquet as papq

        names = {f: papq.read_schema(f).names for f in files}  # footers only
    else:
        names = {f: list(pd.read_csv(f, nrows=0, sep=_csv_sep(f)).columns) for f in files}  # header lines only
    want = [c for c in AGG_COLUMNS if any(c in n for n in names.values())]
    groups: dict[tuple, list[str]] = {}
    for f in files:  # (columns, separator) -> files
        groups.setdefault((tuple(c for c in want if c in names[f]), _csv_sep(f)), []).append(f)
    parts = []
    for (have, sep), group in groups.items():
        if all(parquet):
            d = dd.read_parquet(group, columns=list(have), dataset={"partitioning": None})
        else:
            d = dd.read_csv(group, dtype=str, usecols=list(have), sep=sep)
        if len(have) < len(want):
            d = d.map_partitions(pd.DataFrame.reindex, columns=want, meta=d._meta.reindex(columns=want))
        parts.append(d)
    return parts[0] if len(parts) == 1 else dd.concat(parts)


def _dask_panels(source, P: int, requests: bool, scheduler, normalize_status: bool = False):
    import dask
    import dask.dataframe as dd

    ddf = _dask_frame(source)
    cols = [
        c
        for c in AGG_COLUMNS
        if c in ddf.columns
    ]
    ddf = ddf[cols]
    meta_base = pd.DataFrame(
        {
            "agent": pd.Series([], dtype=object),
            "s": pd.Series([], dtype=np.int64),
            "e": pd.Series([], dtype="Int64"),
            "ttft": pd.Series([], dtype=float),
            "in_tok": pd.Series([], dtype=float),
            "out_tok": pd.Series([], dtype=float),
            "cost": pd.Series([], dtype=float),
            "err": pd.Series([], dtype=bool),
        }
    )

    def fix(df):  # text times are parsed by _base_pandas (schema._to_utc, as the readers parse them)
        if normalize_status and "status" in df.columns:
            df = df.assign(status=normalize_status_spellings(df["status"]))
        return df

    if requests and "trace_id" not in ddf.columns:
        raise _no_trace_id("span table" if isinstance(source, (pd.DataFrame, dd.DataFrame)) else
                           f"span files {[str(f) for f in _span_files(source)]}")
    base = ddf.map_partitions(lambda d: _base_pandas(fix(d)), meta=meta_base)
    views = [base]
    if requests:
        meta_req = meta_base.assign(trace_id=pd.Series([], dtype=object))[
            ["trace_id", "agent", "s", "e", "ttft", "in_tok", "out_tok", "cost", "err"]
        ]
        by_trace = ddf.shuffle(on="trace_id")
        req = by_trace.map_partitions(lambda d: _requests_pandas(fix(d)), meta=meta_req)
        views.append(req.drop(columns=["trace_id"]))
    meta_s = pd.DataFrame({c: pd.Series([], dtype=object if c == "agent" else float) for c in _START_COLS})
    meta_e = pd.DataFrame({c: pd.Series([], dtype=object if c == "agent" else float) for c in _END_COLS})
    tasks = []
    for v in views:
        st = v.map_partitions(_starts_partial, P, meta=meta_s)
        keyed = v.assign(
            _key=v["agent"].astype(str) + ":" + (v["e"].fillna(-P) // P).astype("int64").astype(str)
        )
        en = keyed.shuffle(on="_key").map_partitions(
            lambda d: _ends_partial(d.drop(columns=["_key"]), P), meta=meta_e
        )
        tasks += [st, en]
    with warnings.catch_warnings():
        # Dask's Parquet reader calls reset_index(inplace=True), deprecated in pandas 3.1: a warning
        # about Dask's code that users of this function cannot act on
        warnings.filterwarnings("ignore", message="The inplace keyword in DataFrame.reset_index",
                                module=r"dask\.")
        if scheduler is None:
            results = dask.compute(*tasks)
        elif isinstance(scheduler, str):
            from distributed import Client

            with Client(scheduler) as client:
                results = client.compute(tasks, sync=True)
        else:  # a distributed.Client
            results = scheduler.compute(tasks, sync=True)
    out = []
    for i in range(0, len(results), 2):
        st, en = results[i], results[i + 1]
        sums = st.groupby(["agent", "b"], sort=False)[_START_COLS[2:]].sum()
        out.append((sums.reset_index()[_START_COLS], en.reset_index(drop=True)[_END_COLS]))
    return out


# ----------------------------------------------------------------------------- public
def aggregate(
    source,
    period: str = "1min",
    *,
    engine: str = "duckdb",
    scheduler=None,
    requests: bool = True,
    start=None,
    end=None,
    threads: int | None = None,
    memory_limit: str | None = None,
    return_requests: bool = False,
    exclude: pd.DataFrame | None = None,
    normalize_status: bool = False,
    progress: bool = False,
    temp_directory=None,
) -> TracePanel:
    """Aggregate spans into per-period, per-agent panels (see module docstring for definitions).

    Parameters
    ----------
    source : canonical span DataFrame, or path(s) / directory of canonical Parquet or CSV
        files (streamed by DuckDB, read lazily by Dask), or a Dask DataFrame.
    period : fixed pandas offset (``"10s"``, ``"1min"``).
    engine : ``"duckdb"`` (default), ``"dask"`` or ``"pandas"``.
    scheduler : Dask only: ``None`` (current/default scheduler), a scheduler address
        ``"tcp://host:8786"`` or a ``distributed.Client``.
    requests : also build the request-level rows (agent ``_all``).
    start, end : optional timestamps widening the period grid (empty periods included).
    threads, memory_limit : DuckDB settings (defaults: all cores, DuckDB's default limit).
    return_requests : keep the request table on the result (pandas engine builds it anyway).
    exclude : DuckDB engine, Parquet files: rows to leave out, as returned by
        :func:`dsge_agents.traces.validate_sql.validate_files` (columns ``_source``, ``_row``).
    normalize_status : ``status`` may use other spellings than the canonical
        ``ok / error / unset`` (``STATUS_CODE_ERROR``, ``ERROR``, ``failed``, ...): map them as
        the readers map them (a little slower), in every engine. CSV files are always mapped
        (text carries no guarantee); Parquet files and DataFrames are taken as canonical
        unless this is set (DataFrames from the readers are canonical already).
    progress : DuckDB engine: print DuckDB's progress bar for queries running over a second.
    temp_directory : DuckDB engine: where it spills past ``memory_limit`` (default ``.tmp`` in
        the working directory).
    """
    P = period_ns(period)
    if isinstance(source, pd.DataFrame) and "start_ts" in source.columns and len(source):
        n_nostart = int(source["start_ts"].isna().sum())
        if n_nostart:  # the base queries keep spans with a start only
            import warnings

            warnings.warn(f"{n_nostart} of {len(source)} spans have no start_ts and are left out "
                          "(validation reports them as nan_duration)", UserWarning, stacklevel=2)
    normalize_status = normalize_status or _has_text_files(source)
    if engine == "duckdb":
        parts = _duck_panels(source, P, requests, threads, memory_limit, exclude, normalize_status, progress,
                             temp_directory)
    elif exclude is not None and len(exclude):
        raise ValueError("exclude= needs engine='duckdb'")
    elif engine == "dask":
        parts = _dask_panels(source, P, requests, scheduler, normalize_status)
    elif engine == "pandas":
        df = source if isinstance(source, pd.DataFrame) else _read_any(source)
        if requests and "trace_id" not in df.columns:
            raise _no_trace_id("span table" if isinstance(source, pd.DataFrame) else
                               f"span files {[str(f) for f in _span_files(source)]}")
        if normalize_status and "status" in df.columns:
            df = df.assign(status=normalize_status_spellings(df["status"]))
        b = _base_pandas(df)
        parts = [(_starts_partial(b, P), _ends_partial(b, P))]
        if requests:
            r = _requests_pandas(df)
            parts.append((_starts_partial(r, P), _ends_partial(r, P)))
    else:
        raise ValueError(f"engine must be 'duckdb', 'dask' or 'pandas', got {engine!r}")

    def bound(name, ts, fn):
        if ts is None:
            return None
        try:
            v = pd.Timestamp(ts)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ValueError(f"{name}={ts!r}: not a timestamp ({exc})") from None
        if v is pd.NaT:
            raise ValueError(f"{name}={ts!r}: not a timestamp")
        v = v.tz_localize("UTC") if v.tzinfo is None else v.tz_convert("UTC")
        return fn(v.as_unit("ns").value, P)

    b_min = bound("start", start, lambda u, p: u // p)
    b_max = bound("end", end, lambda u, p: (u - 1) // p)
    if b_min is not None and b_max is not None and b_min > b_max:
        raise ValueError(f"start={start!r} is not before end={end!r}")
    all_s = pd.concat([p[0] for p in parts]) if parts else None
    all_e = pd.concat([p[1] for p in parts]) if parts else None
    lo = [
        x
        for x in (all_s["b"].min() if len(all_s) else None, all_e["b"].min() if len(all_e) else None, b_min)
        if x is not None and x == x
    ]
    hi = [
        x
        for x in (all_s["b"].max() if len(all_s) else None, all_e["b"].max() if len(all_e) else None, b_max)
        if x is not None and x == x
    ]
    if requests and parts and (ALL_AGENT in set(parts[0][0]["agent"]) or ALL_AGENT in set(parts[0][1]["agent"])):
        raise TraceValidationError(
            f"agent_name {ALL_AGENT!r} is reserved for the request-level rows, and spans of an agent of that "
            "name would share their (period, agent) keys: rename the agent, or aggregate with requests=False"
        )
    if lo and hi:
        _check_grid(period, P, int(min(lo)), int(max(hi)),
                    sum(len(set(st["agent"]) | set(en["agent"])) for st, en in parts), start, end)
    frames = []
    for st, en in parts:
        frames.append(_finish(st, en, P, b_min=min(lo) if lo else None, b_max=max(hi) if hi else None))
    tidy = (
        pd.concat(frames, ignore_index=True)
        if frames
        else _finish(pd.DataFrame(columns=_START_COLS), pd.DataFrame(columns=_END_COLS), P)
    )
    req_table = None
    if return_requests:
        if not isinstance(source, pd.DataFrame):
            raise ValueError("return_requests=True takes a span DataFrame (files: request_table(read_spans(...)))")
        req_table = request_table(source)
    return TracePanel(tidy=tidy, period=str(period), engine=engine, requests=req_table, info={"period_ns": P})


#: largest panel built, in (period × agent) cells: each takes about 0.6 KB while the tidy table is
#: built (12 metric grids, their stack and 12 tidy rows), so 10 M cells are ~6 GB
MAX_PANEL_CELLS = 10_000_000


def _check_grid(period, P: int, b0: int, b1: int, rows: int, start=None, end=None) -> None:
    """A DSGEError naming the period, the time span and the number of periods when the panel's
    (period × agent) grid would exceed :data:`MAX_PANEL_CELLS` (a period far shorter than the
    traces, e.g. 1us over an hour: 3.6e9 periods, which once ended in a 27 GB allocation)."""
    nb = b1 - b0 + 1
    if nb * max(rows, 1) <= MAX_PANEL_CELLS:
        return
    first, last = (pd.Timestamp(b * P, unit="ns", tz="UTC") for b in (b0, b1 + 1))
    need = -(-nb * P * max(rows, 1) // MAX_PANEL_CELLS)  # ns, rounded up
    units = ((86_400 * 10**9, "D"), (3600 * 10**9, "h"), (60 * 10**9, "min"), (10**9, "s"), (10**6, "ms"),
             (10**3, "us"), (1, "ns"))
    unit, name = next((u, nm) for u, nm in units if need >= u)
    coarser = f"{-(-need // unit)}{name}"  # an offset --period / period= takes, e.g. "3ms"
    bounds = " (start=/end= included)" if start is not None or end is not None else ""
    raise DSGEError(
        f"period {period!r}: the traces span {last - first} ({first} to {last}){bounds}, {nb:,} periods "
        f"x {rows} agent rows = {nb * rows:,} panel cells, more than {MAX_PANEL_CELLS:,} (about 0.6 KB "
        f"each while the panel is built); choose a period of {coarser} or longer"
    )


#: JSON trace formats need the readers (agent names, id and time conventions) before aggregating
_JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


def _span_files(source) -> list[Path]:
    """The files the engines read for a path, a list of paths or directories: the files found as
    the readers find them (:func:`dsge_agents.traces.readers.trace_files`: directories searched
    recursively for trace suffixes, hidden files skipped, a file named twice read once, a missing
    path or a compressed file named). Parquet (``.parquet``, ``.pq``) is read as Parquet, any
    other file as a canonical CSV / TSV table; JSON traces are refused with the way to read them."""
    from dsge_agents.traces.readers import trace_files

    files = trace_files(source)
    json_files = [f for f in files if f.suffix.lower() in _JSON_SUFFIXES]
    if json_files:
        raise TraceValidationError(
            f"{json_files[0]}: aggregate reads canonical Parquet / CSV span tables; read JSON traces "
            "(OTLP, Langfuse, LangSmith, ...) with load_spans (or `dsge-agents ingest`) and aggregate "
            "the table it returns"
        )
    return files


def _csv_sep(f) -> str:
    """The field separator of a text span file: tab for ``.tsv``, else comma (as the readers)."""
    return "\t" if str(f).lower().endswith(".tsv") else ","


def _has_text_files(source) -> bool:
    """Whether the source names CSV / text span files (not Parquet)."""
    if isinstance(source, (pd.DataFrame, type(None))) or not isinstance(source, (str, os.PathLike, list, tuple)):
        return False
    return any(f.suffix.lower() not in (".parquet", ".pq") for f in _span_files(source))


def _read_any(source) -> pd.DataFrame:
    files = _span_files(source)
    if not files:
        raise TraceValidationError(f"no Parquet/CSV span files found in {source}")
    # CSV as text, as the DuckDB engine and the readers take it (no type guessing: a column of
    # epoch numbers is not a time column)
    frames = [pd.read_parquet(f) if f.suffix.lower() in (".parquet", ".pq") else
              pd.read_csv(f, dtype=str, sep=_csv_sep(f)) for f in files]
    return pd.concat(frames, ignore_index=True)


def request_table(spans: pd.DataFrame) -> pd.DataFrame:
    """One row per trace: start, end, end-to-end latency (s), summed tokens and cost, status.

    A trace with a span still open (no ``end_ts``) has no end and no latency yet."""
    if "trace_id" not in spans.columns:
        raise _no_trace_id("span table")
    r = _requests_pandas(spans)
    out = pd.DataFrame(
        {
            "trace_id": r["trace_id"].to_numpy(),
            "start_ts": pd.to_datetime(r["s"].to_numpy(np.int64), unit="ns", utc=True),
            "end_ts": pd.to_datetime(
                r["e"].to_numpy("datetime64[ns]", na_value=np.datetime64("NaT")), utc=True
            ),
            "latency_s": (r["e"] - r["s"]).to_numpy(float, na_value=np.nan) / 1e9,
            "ttft_s": r["ttft"].to_numpy(),
            "input_tokens": r["in_tok"].to_numpy(),
            "output_tokens": r["out_tok"].to_numpy(),
            "cost_usd": r["cost"].to_numpy(),
            "status": np.where(r["err"].to_numpy(bool), "error", "ok"),
        }
    )
    return out
