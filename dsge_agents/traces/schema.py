"""The canonical span table (DESIGN §6) and helpers to coerce frames into it.

Columns (OpenTelemetry GenAI names, one row per span):

=====================  ==========================  ==============================================
column                 dtype                       meaning
=====================  ==========================  ==============================================
trace_id               str                         request / trace identifier
span_id                str                         span identifier (unique in a table)
parent_span_id         str (NA for roots)          parent span, NA for a root span
name                   str                         span name
operation              str                         ``gen_ai.operation.name`` (chat, invoke_agent, ...)
agent_name             str                         ``gen_ai.agent.name`` (or nearest invoke_agent ancestor)
provider               str                         ``gen_ai.provider.name`` (older ``gen_ai.system``)
model                  str                         request/response model
start_ts, end_ts       datetime64[ns, UTC]         span start / end (end NA for arrival-only rows)
ttft_s                 float64                     time to first token, seconds
input_tokens           Int64                       ``gen_ai.usage.input_tokens``
output_tokens          Int64                       ``gen_ai.usage.output_tokens``
cached_input_tokens    Int64                       ``gen_ai.usage.cache_read.input_tokens``
cost_usd               float64                     spend of the span in USD
status                 str                         ``ok`` | ``error`` | ``unset``
error_type             str                         ``error.type`` (NA when no error)
=====================  ==========================  ==============================================

Extra columns are kept after the canonical ones. Readers may add the bookkeeping
columns ``_source`` (file), ``_row`` (1-based row / line number in that file) and
``_raw_start`` / ``_raw_end`` (the raw timestamp text where it could not be parsed) and
``_arrival_only`` (rows of arrival traces, which have no end time);
:func:`dsge_agents.traces.validate.validate` consumes and removes them.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

CANONICAL_COLUMNS = [
    "trace_id",
    "span_id",
    "parent_span_id",
    "name",
    "operation",
    "agent_name",
    "provider",
    "model",
    "start_ts",
    "end_ts",
    "ttft_s",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cost_usd",
    "status",
    "error_type",
]
TIME_COLUMNS = ["start_ts", "end_ts"]
INT_COLUMNS = ["input_tokens", "output_tokens", "cached_input_tokens"]
FLOAT_COLUMNS = ["ttft_s", "cost_usd"]
STRING_COLUMNS = [c for c in CANONICAL_COLUMNS if c not in TIME_COLUMNS + INT_COLUMNS + FLOAT_COLUMNS]
#: columns without which a span table cannot be used
REQUIRED_COLUMNS = ["trace_id", "span_id", "start_ts", "end_ts"]
BOOKKEEPING_COLUMNS = ["_source", "_row", "_raw_start", "_raw_end", "_arrival_only"]
#: column names the readers and the validator write themselves (the bookkeeping and the
#: quarantine file's ``_problems``): an input column of such a name is set aside, not kept as data
RESERVED_COLUMNS = tuple(BOOKKEEPING_COLUMNS) + ("_problems",)
STATUS_VALUES = ("ok", "error", "unset")


def _ns_utc(parsed: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parsed UTC times at nanosecond resolution, and the mask of those outside its range
    (years 1677-2262; pandas parses e.g. ``2300-01-01`` at second resolution, and the cast to ns
    would raise ``OutOfBoundsDatetime``): those become NaT."""
    if str(parsed.dtype) == "datetime64[ns, UTC]":
        return parsed, pd.Series(False, index=parsed.index)
    lo, hi = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
    oob = parsed.notna() & ((parsed < lo) | (parsed > hi))
    return parsed.where(~oob).astype("datetime64[ns, UTC]"), oob


def _time_text(v) -> str:
    """A timestamp as text, as ``str`` gives it (``2300-01-01 00:00:00+00:00``), also for years
    beyond 9999, which pandas cannot print (numpy's ISO text, UTC for aware times)."""
    try:
        return str(v)
    except (NotImplementedError, ValueError, OverflowError):
        text = np.datetime_as_string(v.to_datetime64()).replace("T", " ")
        return text + ("+00:00" if getattr(v, "tz", None) is not None else "")


def _to_utc(values, *, fast: bool = True) -> tuple[pd.Series, pd.Series]:
    """Parse timestamps to tz-aware UTC; returns (parsed, unparseable mask).

    Naive timestamps are taken to be UTC; aware ones are converted. Integers and
    floats are read as Unix epoch **seconds** (callers convert other units first).
    Times outside the nanosecond range (years 1677-2262) count as unparseable.

    ``fast``: text in which every value is an ISO 8601 time with a zone (``Z`` / ``±hh:mm``),
    as trace exporters write it, goes through Arrow's string-to-timestamp cast (about 10x
    pandas' ``to_datetime``; the same instants, tested against the pandas path); any other
    text (naive times, other layouts, garbage) makes the cast fail and pandas parses it.
    """
    s = pd.Series(values)
    if fast and len(s) and _is_text(s):
        got = _arrow_times(s)
        if got is not None:
            return got, pd.Series(False, index=s.index)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return _ns_utc(s.dt.tz_convert("UTC"))
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return _ns_utc(s.dt.tz_localize("UTC"))
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        f = pd.to_numeric(s, errors="coerce").astype("float64")
        with np.errstate(invalid="ignore", over="ignore"):
            ns = np.where(np.isfinite(f), np.round(f * 1e9), np.nan)
            oob = pd.Series(np.abs(ns) >= 9.2e18, index=s.index)  # beyond int64 nanoseconds
        ns = np.where(oob, np.nan, ns)
        out = pd.to_datetime(pd.Series(ns, index=s.index), unit="ns", utc=True)
        return out.astype("datetime64[ns, UTC]"), oob
    text = s.astype("str").str.strip()
    present = s.notna() & (text != "")
    # pandas reads "now" / "today" as the clock time of the call: a result that changes from run
    # to run is no timestamp of the trace -- unparseable, as "yesterday" is
    clock = present & text.str.lower().isin(["now", "today"]).to_numpy()
    if clock.any():
        out, bad = _to_utc(s.where(~clock), fast=fast)
        return out, bad | clock
    try:
        out = pd.to_datetime(s.where(present), utc=True, errors="coerce", format="ISO8601")
    except (ValueError, TypeError):
        out = None
    if out is None or (present & out.isna()).any():
        # not all ISO 8601: numeric dates (01/06/2024) get one day/month order for the column
        numeric_dates = _numeric_dates(s.where(present))
        if numeric_dates is not None:
            has = numeric_dates[0].notna()
            rest, bad = _to_utc(s.where(present & ~has), fast=fast)
            got, wrong = _day_month_dates(s, numeric_dates)
            return rest.where(~has, got), (bad & ~has) | wrong
    if out is None:
        out = pd.to_datetime(s.where(present), utc=True, errors="coerce", format="mixed")
    out, _ = _ns_utc(out)
    bad = present & out.isna()
    if bad.any():  # second chance for odd but valid layouts
        retry, _ = _ns_utc(pd.to_datetime(s[bad], utc=True, errors="coerce", format="mixed"))
        out.loc[bad] = retry
        bad = present & out.isna()
    return out, bad


#: dates written ``a/b/yyyy`` (also ``.`` or ``-``): day/month or month/day
_NUMERIC_DATE = r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})(?:\D|$)"


def _numeric_dates(s: pd.Series) -> pd.DataFrame | None:
    """The (a, b, year) fields of the values written as numeric dates ``a/b/yyyy``, or None when
    there are none (a column of ISO 8601 times, the usual case, costs one regex scan)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = s if _is_text(s) else s.astype("object").map(str, na_action="ignore")
    hit = pc.match_substring_regex(pa.array(text, type=pa.string(), from_pandas=True), _NUMERIC_DATE)
    hit = np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)
    if not hit.any():
        return None
    m = pd.DataFrame(index=s.index, columns=[0, 1, 2], dtype="object")
    m.loc[hit] = text[hit].str.extract(_NUMERIC_DATE).to_numpy()
    return m


def _day_month_dates(s: pd.Series, fields: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Parse the numeric dates ``a/b/yyyy`` of a column in one order for the whole column.

    Per value, ``format="mixed"`` reads ``01/06/2024`` month-first but ``13/06/2024``
    day-first -- two orders in one column, silently. Here the column decides: a first field
    above 12 somewhere means day/month, a second field above 12 means month/day; when both
    occur, the order more values prove wins and the values contradicting it are unparseable
    (validation names them); when neither occurs the dates are ambiguous and are read
    month/day (pandas' and dateutil's default) with a warning -- except dotted dates
    (``01.06.2024``), a day.month layout. A parsed date whose day and
    month are not the fields in the chosen order is unparseable too.
    """
    import warnings

    has = fields[0].notna()
    a = pd.to_numeric(fields[0][has]).astype(int)
    b = pd.to_numeric(fields[1][has]).astype(int)
    n_dayfirst, n_monthfirst = int((a > 12).sum()), int((b > 12).sum())
    dayfirst = n_dayfirst > n_monthfirst
    dotted = s[has].astype("str").str.strip().str.match(r"\d{1,2}\.\d{1,2}\.").all()
    if not n_dayfirst and not n_monthfirst and dotted:
        dayfirst = True  # 01.06.2024: the dotted layout is day.month wherever it is used
    elif not n_dayfirst and not n_monthfirst:
        warnings.warn(
            f"{int(has.sum())} timestamp(s) such as {str(s[has].iloc[0]).strip()!r} could be day/month or "
            "month/day; read as month/day -- write ISO 8601 times (2024-06-01T10:00:00Z) to avoid the "
            "ambiguity", UserWarning, stacklevel=4)
    parsed = pd.to_datetime(s[has], utc=True, errors="coerce", format="mixed", dayfirst=dayfirst)
    parsed, _ = _ns_utc(parsed)
    day, month = (a, b) if dayfirst else (b, a)
    ok = parsed.notna() & (parsed.dt.day == day) & (parsed.dt.month == month)
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    out[has] = parsed.where(ok)
    wrong = pd.Series(False, index=s.index)
    wrong[has] = ~ok.to_numpy()
    return out, wrong


def ns_between(start, end) -> tuple[np.ndarray, np.ndarray]:
    """``end − start`` of two UTC time columns in int64 nanoseconds without overflow, and the
    mask of the pairs whose difference does not fit int64 (a span longer than 292 years: both
    times may lie anywhere in 1677-2262); NaT on either side gives 0 there (mask ``False``)
    -- callers test for missing times themselves."""
    d, wrapped, _ = _ns_between(start, end)
    return d, wrapped


def _ns_between(start, end) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`ns_between` plus the mask of pairs with a missing time.

    Two's-complement subtraction wraps exactly when the operands have different signs and the
    result's sign differs from the minuend's (Hacker's Delight §2-13); pandas' own subtraction
    raises OverflowError on the whole column instead."""
    s = pd.Series(start).to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT")).view(np.int64)
    e = pd.Series(end).to_numpy(dtype="datetime64[ns]", na_value=np.datetime64("NaT")).view(np.int64)
    nat = np.iinfo(np.int64).min
    missing = (s == nat) | (e == nat)
    with np.errstate(over="ignore"):
        d = e - s
    wrapped = ((e ^ s) < 0) & ((d ^ e) < 0) & ~missing
    return np.where(missing, 0, d), wrapped, missing


def seconds_between(start, end) -> np.ndarray:
    """``(end − start)`` in float seconds; NaN where either time is missing or the difference
    does not fit int64 nanoseconds (see :func:`ns_between`)."""
    d, wrapped, missing = _ns_between(start, end)
    return np.where(missing | wrapped, np.nan, d / 1e9)


def _arrow_times(s: pd.Series) -> pd.Series | None:
    """Text times through Arrow's ISO 8601 cast to UTC nanoseconds; None when any non-blank
    value does not parse that way (blank and missing values are NaT)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(s, type=pa.string(), from_pandas=True)
    blank = pc.equal(pc.utf8_trim_whitespace(arr), "")
    arr = pc.if_else(blank, pa.scalar(None, pa.string()), arr)
    try:
        ts = pc.cast(arr, pa.timestamp("ns", tz="UTC"))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return pd.Series(ts.to_numpy(zero_copy_only=False), index=s.index).dt.tz_localize("UTC")


def _is_text(col: pd.Series) -> bool:
    """Every non-missing value is a string (a text column: pandas' string dtype, or objects)."""
    if pd.api.types.is_string_dtype(col.dtype) and not pd.api.types.is_object_dtype(col.dtype):
        return True
    return pd.api.types.is_object_dtype(col.dtype) and pd.api.types.infer_dtype(col, skipna=True) in (
        "string", "empty")


def _as_text(v):
    """A value of a text column as text: integers as integers also when they come as floats
    (JSON / Parquet columns of integer ids with a missing value become float64 in pandas: the
    parent id ``1`` must stay ``"1"``, not ``"1.0"``, to match the span id ``1``); floats that
    are not whole numbers, or beyond 2^53 (where a float no longer holds every integer), as
    ``str`` gives them."""
    if v is None or isinstance(v, str) or v != v:
        return v
    if isinstance(v, (float, np.floating)) and float(v).is_integer() and abs(v) <= 2.0**53:
        return str(int(v))
    return str(v)


def _to_number(col: pd.Series) -> pd.Series:
    """``pd.to_numeric(col, errors="coerce")`` (float64 for text columns).

    Text columns (CSV) go through Arrow's string-to-double cast first: it parses the same
    grammar of plain decimals, exponents and ``inf`` / ``nan`` with correct rounding, about
    20x faster than pandas' object path, and fails on anything else (spaces, ``1,000``,
    words) -- then pandas coerces such values to NaN as before. Integers above 2^53 round to
    the nearest double either way (pandas' int64 result is cast to float afterwards).
    """
    if len(col) and _is_text(col):
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            arr = pc.cast(pa.array(col, type=pa.string(), from_pandas=True), pa.float64())
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        else:
            return pd.Series(arr.to_numpy(zero_copy_only=False), index=col.index, dtype="float64")
    return pd.to_numeric(col, errors="coerce")


_INT64_MAX = 2**63 - 1


def _to_count(col: pd.Series) -> pd.Series:
    """A token-count column as ``Int64``: integer columns as they are (values beyond int64, as
    ``uint64`` holds them, missing); other values as numbers (:func:`_to_number`) rounded half to
    even, those beyond int64 missing. Above 2^53, where a float no longer holds every integer, an
    integer given as an integer or as integer text (``9007199254740993``) keeps its exact value
    instead of its nearest double (``2^63 - 1`` stays, ``2^63`` is missing)."""
    if pd.api.types.is_integer_dtype(col.dtype):
        if pd.api.types.is_unsigned_integer_dtype(col.dtype):
            big = (col > _INT64_MAX).fillna(False).to_numpy(dtype=bool)
            col = col.astype("object").where(~big, None)
        return col.astype("Int64")
    num = _to_number(col).astype("Float64").round()
    far = (num.abs() >= 2.0**53).fillna(False).to_numpy(dtype=bool)
    # counts beyond int64 would wrap to -2^63 in the cast: missing instead
    out = num.where(num.abs() < 2.0**63).astype("Int64")
    if far.any():
        exact = [_exact_int(v) for v in col.to_numpy(dtype=object)[far]]
        idx = np.flatnonzero(far)
        keep = [(i, v) for i, v in zip(idx, exact) if v is not _NOT_INT]
        if keep:
            vals = pd.array([v for _, v in keep], dtype="Int64")
            out.iloc[[i for i, _ in keep]] = vals
    return out


_NOT_INT = object()
_INT_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")


def _exact_int(v):
    """The exact value of an integer given as a Python / NumPy integer or as plain integer text
    (``[+-]digits``, spaces around allowed), None when it is beyond int64; ``_NOT_INT`` for
    anything else (floats, decimals, exponents: their rounded double stands)."""
    if isinstance(v, (bool, np.bool_)):
        return _NOT_INT
    if isinstance(v, (int, np.integer)):
        n = int(v)
    elif isinstance(v, str):
        if not _INT_TEXT.fullmatch(v):
            return _NOT_INT
        n = int(v)
    else:
        return _NOT_INT
    return n if -_INT64_MAX <= n <= _INT64_MAX else None


def arrow_type(column: str):
    """The Arrow type of a canonical column: UTC nanosecond timestamps, int64 counts, float64
    seconds / dollars, strings."""
    import pyarrow as pa

    if column in TIME_COLUMNS:
        return pa.timestamp("ns", tz="UTC")
    if column in INT_COLUMNS:
        return pa.int64()
    if column in FLOAT_COLUMNS:
        return pa.float64()
    return pa.string()


def canonical_arrow(table):
    """:func:`to_canonical` of a chunk of text columns (a CSV chunk as Arrow parsed it) without
    pandas, or ``None`` when any value needs pandas' parsing -- then the caller coerces the chunk
    with :func:`to_canonical` as before.

    Only the fast paths that :func:`to_canonical` itself takes are taken here, on the same Arrow
    casts, so both give the same values: every non-blank time an ISO 8601 time with a zone
    (:func:`_arrow_times`), every number a plain decimal (:func:`_to_number`), counts rounded half
    to even and within int64; status spellings other than ``ok / error / unset`` go through
    :func:`normalize_status` (pandas) for that column only. Returns the canonical columns (types
    of the staging files: string, UTC nanosecond timestamps, int64, float64) followed by the extra
    columns (text; the readers' bookkeeping names are left out, as :func:`to_canonical`'s callers
    leave them).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    n = table.num_rows
    names = table.column_names
    out = {}
    for c in CANONICAL_COLUMNS:
        typ = arrow_type(c)
        if c not in names:
            out[c] = pa.nulls(n, typ) if c != "status" else pa.repeat(pa.scalar("unset"), n)
            continue
        col = table.column(c)
        if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
            return None  # not text: the pandas path knows the other types
        try:
            if c in TIME_COLUMNS:
                blank = pc.equal(pc.utf8_trim_whitespace(col), "")
                col = pc.if_else(blank, pa.scalar(None, pa.string()), col)
                out[c] = pc.cast(col, typ)
            elif c in FLOAT_COLUMNS:  # NaN (text "NAN", "-nan", ...) is missing, as from pandas
                x = pc.cast(col, typ)
                out[c] = pc.if_else(pc.is_nan(x), pa.scalar(None, typ), x)
            elif c in INT_COLUMNS:
                x = pc.round(pc.cast(col, pa.float64()), 0, round_mode="half_to_even")
                if pc.any(pc.greater_equal(pc.abs(x), 2.0**53)).as_py() or pc.any(pc.is_nan(x)).as_py():
                    return None  # NaN / inf / beyond 2^53 (exact integers) or int64: pandas' rules
                out[c] = pc.cast(x, typ)
            elif c == "status":
                if pc.all(pc.is_in(col, value_set=pa.array(STATUS_VALUES)), skip_nulls=True).as_py() is False:
                    out[c] = pa.array(normalize_status(col.to_pandas()), pa.string())
                else:
                    out[c] = pc.fill_null(col, "unset")
            else:
                out[c] = col
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
    for c in names:
        if c not in out and c not in RESERVED_COLUMNS:
            out[c] = table.column(c)
    return pa.table(out)


def empty_spans() -> pd.DataFrame:
    """An empty canonical span table with the right dtypes."""
    return to_canonical(pd.DataFrame({c: [] for c in CANONICAL_COLUMNS}))


def to_canonical(df: pd.DataFrame, *, keep_extra: bool = True) -> pd.DataFrame:
    """Coerce a frame to the canonical column order and dtypes.

    Missing canonical columns are added as NA; timestamps become tz-aware UTC
    (unparseable text is recorded in ``_raw_start`` / ``_raw_end`` so validation can
    name it); extra columns are kept after the canonical ones when ``keep_extra``.
    """
    out = pd.DataFrame(index=df.index)
    raws = {}
    for c in CANONICAL_COLUMNS:
        col = df[c] if c in df.columns else pd.Series(pd.NA, index=df.index, dtype="object")
        if c in STRING_COLUMNS:
            if pd.api.types.is_string_dtype(col.dtype) and not pd.api.types.is_object_dtype(col.dtype):
                out[c] = col
            else:
                obj = col.astype("object")
                nn = obj.notna()
                if not _is_text(obj):
                    obj = obj.map(_as_text)
                out[c] = obj.astype("str").where(nn, None)
        elif c in TIME_COLUMNS:
            parsed, bad = _to_utc(col)
            out[c] = pd.Series(parsed.array, index=df.index)
            raw_name = "_raw_start" if c == "start_ts" else "_raw_end"
            if bad.any():
                raw = pd.Series(None, index=df.index, dtype="object")
                bad_vals = col[bad.values]
                try:
                    raw[bad.values] = bad_vals.astype(str).values
                except (NotImplementedError, ValueError, OverflowError):
                    # typed times beyond the year 9999 (e.g. nanoseconds stored under a µs type):
                    # pandas cannot print them (toordinal); numpy can
                    raw[bad.values] = [_time_text(v) for v in bad_vals.astype(object)]
                raws[raw_name] = raw
        elif c in INT_COLUMNS:
            out[c] = _to_count(pd.Series(col, index=df.index))
        else:
            out[c] = _to_number(pd.Series(col, index=df.index)).astype("float64")
    if "status" in out.columns:
        out["status"] = normalize_status(out["status"])
    for k, v in raws.items():
        out[k] = v
    if keep_extra:
        for c in df.columns:
            if c not in out.columns:
                out[c] = df[c].array  # .values would drop a column's time zone
    return out


#: spellings of a span status (lower case, stripped) and the canonical value each maps to
STATUS_SPELLINGS = {
    "ok": "ok",
    "success": "ok",
    "status_code_ok": "ok",
    "1": "ok",
    "default": "ok",
    "error": "error",
    "status_code_error": "error",
    "2": "error",
    "failed": "error",
    "failure": "error",
    "fail": "error",
    "err": "error",
    "exception": "error",
    "timeout": "error",
    "timed_out": "error",
    "cancelled": "error",  # as OpenTelemetry maps gRPC CANCELLED for clients: not a success
    "canceled": "error",
    "aborted": "error",
    "succeeded": "ok",
    "completed": "ok",
    "unset": "unset",
    "status_code_unset": "unset",
    "0": "unset",
    "pending": "unset",
}


def warn_unknown_status(counts: dict, stacklevel: int = 3) -> None:
    """The warning naming status spellings (lower-cased, stripped) -> row counts that are not in
    :data:`STATUS_SPELLINGS` (kept as given, not counted as errors); nothing when there are none."""
    counts = {k: v for k, v in sorted(counts.items(), key=lambda kv: -kv[1]) if k not in STATUS_SPELLINGS}
    if not counts:
        return
    import warnings

    shown = ", ".join(f"{v!r} ({n} rows)" for v, n in list(counts.items())[:5])
    warnings.warn(f"status values not recognised, kept as given and not counted as errors: {shown}"
                  f"{' ...' if len(counts) > 5 else ''} (recognised: {', '.join(sorted(STATUS_SPELLINGS))})",
                  UserWarning, stacklevel=stacklevel)


def normalize_status(s: pd.Series) -> pd.Series:
    """Map the many spellings of a span status onto ``ok`` / ``error`` / ``unset``.

    A spelling not in :data:`STATUS_SPELLINGS` is kept (lower-cased) and does not count as an
    error; a warning names such values, so that a platform's own word for failure is not
    silently read as success."""
    m = STATUS_SPELLINGS
    low = s.astype("str").str.strip().str.lower()
    out = low.map(m)
    out = out.where(s.notna(), "unset")
    unknown = out.isna()
    if unknown.any():
        warn_unknown_status(low[unknown].value_counts().to_dict(), stacklevel=4)
    out = out.where(~unknown, low)
    return out.astype("str")


def canonical_equal(a: pd.DataFrame, b: pd.DataFrame, *, rtol: float = 1e-9) -> list[str]:
    """Differences between two canonical tables (ignoring row order); empty list if equal.

    Rows are matched on ``span_id``; timestamps must agree to the microsecond,
    floats to ``rtol``.
    """
    diffs = []
    a = a.sort_values("span_id").reset_index(drop=True)
    b = b.sort_values("span_id").reset_index(drop=True)
    if len(a) != len(b):
        return [f"row count {len(a)} != {len(b)}"]
    for c in CANONICAL_COLUMNS:
        x, y = a[c], b[c]
        if c in TIME_COLUMNS:
            dx = (x - y).abs().dt.total_seconds()
            bad = ~((x.isna() & y.isna()) | (dx <= 1e-6))
        elif c in FLOAT_COLUMNS:
            xf, yf = x.to_numpy(float), y.to_numpy(float)
            atol = 2e-6 if c == "ttft_s" else 1e-12  # formats carry microseconds
            bad = ~((np.isnan(xf) & np.isnan(yf)) | np.isclose(xf, yf, rtol=rtol, atol=atol))
        elif c in INT_COLUMNS:
            bad = ~((x.isna() & y.isna()) | (x.fillna(-1) == y.fillna(-1)))
        else:
            bad = ~((x.isna() & y.isna()) | (x.fillna("\0") == y.fillna("\0")))
        bad = np.asarray(bad, dtype=bool)
        if bad.any():
            i = int(np.argmax(bad))
            diffs.append(
                f"{c}: {int(bad.sum())} rows differ, e.g. span {a['span_id'][i]}: {x[i]!r} != {y[i]!r}"
            )
    return diffs
