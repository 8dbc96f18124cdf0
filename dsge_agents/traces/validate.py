"""Validation of canonical span tables: raise, or quarantine bad rows and report.

Problem classes (report keys), checked row by row:

=========================  =========================================================
``missing_columns``        a required column (trace_id, span_id, start_ts, end_ts) is
                           absent from a file: every row of that file is bad
``unparseable_timestamp``  start_ts / end_ts text that is not a timestamp
``nan_duration``           start_ts missing, or end_ts missing when completions are
                           expected (arrival-only traces such as Azure allow it), or
                           a span longer than 292 years (beyond int64 nanoseconds)
``end_before_start``       end_ts < start_ts
``negative_duration``      a negative or non-finite duration field: ttft_s < 0,
                           ttft_s = ±inf, or ttft_s longer than the span
``negative_tokens``        input/output/cached token count < 0
``duplicate_span_id``      a further copy of a span_id (kept: the first copy
                           without another problem, else the first copy)
``missing_id``             trace_id or span_id empty
``orphan_parent``          parent_span_id that is not the span_id of any input row
=========================  =========================================================

``on_error="raise"`` raises :class:`~dsge_agents.errors.TraceValidationError` naming
the first problems (file, row, span id). ``on_error="quarantine"`` keeps the bad
rows in a side file (never overwriting an existing file) and returns a report with
``input_rows, accepted_rows, quarantined_rows, problems, quarantine_file, examples``;
``input_rows == accepted_rows + quarantined_rows`` always holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dsge_agents._fileio import atomic_path
from dsge_agents.errors import TraceValidationError
from dsge_agents.traces.schema import (
    BOOKKEEPING_COLUMNS, CANONICAL_COLUMNS, INT_COLUMNS, REQUIRED_COLUMNS, ns_between,
)

PROBLEMS = (
    "missing_columns",
    "missing_id",
    "unparseable_timestamp",
    "nan_duration",
    "end_before_start",
    "negative_duration",
    "negative_tokens",
    "duplicate_span_id",
    "orphan_parent",
)
N_EXAMPLES = 5


@dataclass
class ValidationReport:
    """Outcome of :func:`validate`; ``to_dict()`` is the JSON report."""

    input_rows: int
    accepted_rows: int
    quarantined_rows: int
    problems: dict = field(default_factory=dict)
    quarantine_file: str | None = None
    examples: dict = field(default_factory=dict)
    files: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "input_rows": self.input_rows,
            "accepted_rows": self.accepted_rows,
            "quarantined_rows": self.quarantined_rows,
            "problems": dict(self.problems),
            "quarantine_file": self.quarantine_file,
            "examples": self.examples,
            "files": self.files,
        }

    def write(self, path, *, overwrite: bool = False) -> Path:
        path = check_report_path(path, overwrite)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2, default=str))
        return path

    def summary(self) -> str:
        lines = [
            f"input rows {self.input_rows}, accepted {self.accepted_rows}, "
            f"quarantined {self.quarantined_rows}"
        ]
        lines += [f"  {k}: {v}" for k, v in self.problems.items()]
        if self.quarantine_file:
            lines.append(f"  bad rows in {self.quarantine_file}")
        return "\n".join(lines)


def check_report_path(path, overwrite: bool) -> Path:
    """``path`` as a Path; an existing report there is a FileExistsError unless ``overwrite``."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; refusing to overwrite the report (overwrite_report=True)")
    return path


def free_path(path) -> Path:
    """``path`` if it does not exist, else ``stem-1.suffix``, ``stem-2.suffix``...

    Never returns an existing file.
    """
    path = Path(path)
    if not path.exists():
        return path
    i = 1
    while True:
        cand = path.with_name(f"{path.stem}-{i}{path.suffix}")
        if not cand.exists():
            return cand
        i += 1


def _where(df: pd.DataFrame, i: int) -> str:
    src = df["_source"].iat[i] if "_source" in df.columns else None
    row = df["_row"].iat[i] if "_row" in df.columns else i + 1
    sid = df["span_id"].iat[i] if "span_id" in df.columns else None
    loc = f"{src}: row {row}" if src is not None else f"row {row}"
    return f"{loc} (span_id {sid})" if sid is not None and sid == sid else loc


def _isin(values: pd.Series, pool: pd.Series) -> np.ndarray:
    """``values.isin(pool)`` as a NumPy mask. Text columns go through Arrow's hash-set
    membership (``pyarrow.compute.is_in``): pandas' ``isin`` on its Arrow-backed ``str`` dtype
    took 2 s for 200 k parent ids against 200 k span ids, Arrow 0.1 s. Missing values are not
    members (the pool holds none)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pd.api.types.is_string_dtype(values.dtype) and pd.api.types.is_string_dtype(pool.dtype):
        try:
            v = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
            p = pa.array(pool.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # object columns holding non-text values
            pass
        else:
            return np.asarray(pc.is_in(v, value_set=p).to_numpy(zero_copy_only=False), dtype=bool)
    return values.isin(set(pool.tolist())).to_numpy()


def find_problems(
    df: pd.DataFrame,
    *,
    allow_missing_end: bool | None = None,
    check_parents: bool = True,
    missing_columns: dict | None = None,
) -> dict[str, np.ndarray]:
    """Boolean masks (one per problem class) over the rows of ``df``.

    ``missing_columns`` maps source file -> list of absent required columns (readers of
    canonical tables report it); rows of those files are flagged.
    """
    n = len(df)
    out: dict[str, np.ndarray] = {}
    if allow_missing_end is None:  # per row from the readers' _arrival_only flag, or the frame's attrs
        allow_missing_end = bool(df.attrs.get("arrivals_only", False))
    mc = np.zeros(n, dtype=bool)
    if missing_columns:
        src = (
            df["_source"].to_numpy(dtype=object)
            if "_source" in df.columns
            else np.full(n, None, dtype=object)
        )
        for f, cols in missing_columns.items():
            if cols:
                mc |= src == f
    absent = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if absent:
        mc[:] = True
    out["missing_columns"] = mc
    tid = df["trace_id"] if "trace_id" in df.columns else pd.Series([None] * n)
    sid = df["span_id"] if "span_id" in df.columns else pd.Series([None] * n)
    empty = lambda s: (s.isna() | (s.astype("str").str.strip() == "")).to_numpy()  # noqa: E731
    out["missing_id"] = (empty(tid) | empty(sid)) & ~mc
    bad_ts = np.zeros(n, dtype=bool)
    for c in ("_raw_start", "_raw_end"):
        if c in df.columns:
            bad_ts |= df[c].notna().to_numpy()
    out["unparseable_timestamp"] = bad_ts
    start = df["start_ts"] if "start_ts" in df.columns else pd.Series(pd.NaT, index=df.index)
    end = df["end_ts"] if "end_ts" in df.columns else pd.Series(pd.NaT, index=df.index)
    s_na, e_na = start.isna().to_numpy(), end.isna().to_numpy()
    arrival_rows = np.full(n, bool(allow_missing_end))
    if "_arrival_only" in df.columns and not allow_missing_end:
        arrival_rows |= df["_arrival_only"].fillna(False).to_numpy(dtype=bool)
    # end − start in int64 ns; a difference beyond 292 years does not fit (both times may lie
    # anywhere in 1677-2262): after end, too long to aggregate -> nan_duration; before -> end_before_start
    dur_ns, wrapped = ns_between(start, end)
    later = end.to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT")) > start.to_numpy(
        dtype="datetime64[ns]", na_value=np.datetime64("NaT"))
    nan_dur = s_na | (e_na & ~arrival_rows) | (wrapped & later)
    out["nan_duration"] = nan_dur & ~bad_ts & ~mc
    dur = np.where(s_na | e_na, np.nan, np.where(wrapped, np.where(later, np.inf, -np.inf), dur_ns / 1e9))
    with np.errstate(invalid="ignore"):
        out["end_before_start"] = np.nan_to_num(dur, nan=0.0, posinf=0.0) < 0
        ttft = df["ttft_s"].to_numpy(dtype=float) if "ttft_s" in df.columns else np.full(n, np.nan)
        neg = (ttft < 0) | np.isinf(ttft) | (np.isfinite(dur) & (dur >= 0) & (ttft > dur + 1e-6))
    out["negative_duration"] = neg
    negtok = np.zeros(n, dtype=bool)
    for c in INT_COLUMNS:
        if c in df.columns:
            negtok |= (df[c].astype("Float64").fillna(0) < 0).to_numpy(dtype=bool)
    out["negative_tokens"] = negtok
    ok_id = ~out["missing_id"]
    usable = ok_id & ~mc  # rows of a file without required columns do not claim ids
    rowwise = (out["unparseable_timestamp"] | out["nan_duration"] | out["end_before_start"]
               | out["negative_duration"] | out["negative_tokens"])
    out["duplicate_span_id"] = _later_copies(sid, usable, rowwise)
    if check_parents and "parent_span_id" in df.columns:
        par = df["parent_span_id"]
        has = par.notna().to_numpy() & (par.astype("str").str.strip() != "").to_numpy()
        known = _isin(par, sid.dropna())
        out["orphan_parent"] = has & ~known
    else:
        out["orphan_parent"] = np.zeros(n, dtype=bool)
    for k in out:  # a file without required columns is reported once, as missing_columns
        if k != "missing_columns":
            out[k] = out[k] & ~mc
    return out


def _later_copies(sid: pd.Series, usable: np.ndarray, rowwise_bad: np.ndarray) -> np.ndarray:
    """The copies of a span id beyond the one kept: the first copy without a row-wise problem
    (else the first copy) is kept -- a bad first copy is quarantined for its own problem and
    the good copy after it is accepted, instead of losing both."""
    n = len(sid)
    dup = np.zeros(n, dtype=bool)
    idx = np.flatnonzero(usable)
    ids = sid.iloc[idx]
    multi = ids.duplicated(keep=False).to_numpy()  # usually few: the choice is made on these only
    if not multi.any():
        return dup
    rows = idx[multi]
    grp = pd.DataFrame({"sid": ids.to_numpy(dtype=object)[multi], "bad": rowwise_bad[rows], "pos": rows})
    keep = grp.sort_values(["bad", "pos"], kind="stable").drop_duplicates("sid")["pos"].to_numpy()
    dup[rows] = True
    dup[keep] = False
    return dup


def validate(
    df: pd.DataFrame,
    on_error: str = "raise",
    *,
    quarantine_path=None,
    report_path=None,
    allow_missing_end: bool | None = None,
    check_parents: bool = True,
    missing_columns: dict | None = None,
    overwrite_report: bool = False,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Check a span table (as returned by the readers) and split good from bad rows.

    Parameters
    ----------
    df : span table with canonical columns and optional ``_source``/``_row`` bookkeeping.
    on_error : ``"raise"`` or ``"quarantine"``.
    quarantine_path : side file for bad rows (Parquet unless it ends in ``.csv``). If it
        exists a fresh name ``stem-N.suffix`` is used; never an existing file. Default:
        ``./quarantine.parquet`` (made unique).
    report_path : where to write the JSON report (optional).
    allow_missing_end : arrival-only tables (no end_ts); default from ``df.attrs``.
    check_parents : flag parent ids that are not in the table.

    Returns
    -------
    (accepted, report): accepted rows as a clean canonical table (bookkeeping removed,
    extra columns kept) and the :class:`ValidationReport`.
    """
    if on_error not in ("raise", "quarantine"):
        raise ValueError("on_error must be 'raise' or 'quarantine'")
    if report_path is not None:  # said before anything is written (a quarantine file would be left behind)
        check_report_path(report_path, overwrite_report)
    masks = find_problems(
        df, allow_missing_end=allow_missing_end, check_parents=check_parents, missing_columns=missing_columns
    )
    n = len(df)
    bad = np.zeros(n, dtype=bool)
    for m in masks.values():
        bad |= m
    counts = {k: int(m.sum()) for k, m in masks.items() if m.any()}
    examples: dict = {}
    for k, m in masks.items():
        idx = np.flatnonzero(m)[:N_EXAMPLES]
        if len(idx):
            ex = []
            for i in idx:
                e = {
                    "row": int(df["_row"].iat[i]) if "_row" in df.columns else int(i) + 1,
                    "span_id": (
                        None
                        if "span_id" not in df.columns or pd.isna(df["span_id"].iat[i])
                        else str(df["span_id"].iat[i])
                    ),
                }
                if "_source" in df.columns:
                    e["file"] = str(df["_source"].iat[i])
                if k == "missing_columns" and missing_columns:
                    e["missing"] = missing_columns.get(e.get("file"), [])
                if k == "unparseable_timestamp":
                    e["value"] = next(
                        (
                            str(df[c].iat[i])
                            for c in ("_raw_start", "_raw_end")
                            if c in df.columns and pd.notna(df[c].iat[i])  # NaN after a concat
                        ),
                        None,
                    )
                ex.append(e)
            examples[k] = ex
    files = sorted(set(df["_source"].astype(str).unique().tolist())) if "_source" in df.columns and n else []
    if on_error == "raise" and bad.any():
        parts = []
        for k in PROBLEMS:
            if k in counts:
                where = "; ".join(_where(df, i) for i in np.flatnonzero(masks[k])[:3])
                extra = ""
                if k == "missing_columns" and missing_columns:
                    extra = " " + ", ".join(f"{f} lacks {c}" for f, c in missing_columns.items() if c)
                parts.append(f"{k} ({counts[k]} rows{extra}): {where}")
        raise TraceValidationError(f"{int(bad.sum())} of {n} span rows are invalid -- " + " | ".join(parts))
    qfile = None
    if bad.any():
        qpath = free_path(quarantine_path or "quarantine.parquet")
        qpath.parent.mkdir(parents=True, exist_ok=True)
        q = df.loc[bad].copy()
        q["_problems"] = [
            ",".join(k for k in PROBLEMS if k in masks and masks[k][i]) for i in np.flatnonzero(bad)
        ]
        for c in q.columns:  # keep the raw text; mixed object columns as strings
            if q[c].dtype == object:
                q[c] = q[c].map(
                    lambda v: None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                )
        with atomic_path(qpath) as tmp:
            if qpath.suffix.lower() == ".csv":
                q.to_csv(tmp, index=False)
            else:
                q.to_parquet(tmp, index=False)
        qfile = str(qpath)
    good = df.loc[~bad]
    keep = CANONICAL_COLUMNS + [
        c for c in good.columns if c not in CANONICAL_COLUMNS and c not in BOOKKEEPING_COLUMNS
    ]
    accepted = good[[c for c in keep if c in good.columns]].reset_index(drop=True)
    accepted.attrs = {k: v for k, v in df.attrs.items()}
    report = ValidationReport(
        input_rows=n,
        accepted_rows=int(len(accepted)),
        quarantined_rows=int(bad.sum()),
        problems=counts,
        quarantine_file=qfile,
        examples=examples,
        files=files,
    )
    assert report.input_rows == report.accepted_rows + report.quarantined_rows
    if report_path is not None:
        report.write(report_path, overwrite=overwrite_report)
    return accepted, report


def load_spans(
    paths,
    format: str = "auto",
    *,
    on_error: str = "raise",
    quarantine_path=None,
    report_path=None,
    price_table=None,
    time_unit: str = "auto",
    agent_name: str | None = None,
    check_parents: bool = True,
    overwrite_report: bool = False,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read (:func:`~dsge_agents.traces.readers.read_spans`) and :func:`validate` in one call.

    A canonical CSV/Parquet file that lacks required columns is reported as
    ``missing_columns`` (all its rows bad) rather than failing the read.
    """
    from dsge_agents.traces.readers import TraceFormatError, _columns_of, detect_format, read_spans, trace_files

    if report_path is not None:  # before reading
        check_report_path(report_path, overwrite_report)
    try:  # directories stand for the trace files beneath them, as in read_spans
        paths = trace_files(paths)
    except FileNotFoundError as exc:
        raise TraceFormatError(str(exc)) from None
    missing = {}
    for p in paths:
        fmt = detect_format(p) if format == "auto" else format
        if fmt == "canonical":
            cols = _columns_of(Path(p)) or []
            if cols:
                missing[str(Path(p))] = [c for c in REQUIRED_COLUMNS if c not in cols]
    df = read_spans(paths, format=format, price_table=price_table, time_unit=time_unit, agent_name=agent_name)
    return validate(
        df,
        on_error,
        quarantine_path=quarantine_path,
        report_path=report_path,
        check_parents=check_parents,
        missing_columns=missing or None,
        overwrite_report=overwrite_report,
    )
