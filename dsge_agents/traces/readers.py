"""Readers of agent-platform traces into the canonical span table (DESIGN §6).

Supported formats (``format=`` name, what is read):

``canonical``
    CSV / Parquet tables that already have the canonical columns; extra columns are kept.
``otlp``
    OTLP/JSON: one ``ExportTraceServiceRequest`` per file or JSON lines of them
    (``resourceSpans → scopeSpans → spans``; ``instrumentationLibrarySpans`` of older
    exporters also accepted). Hex ids, ``startTimeUnixNano`` as string or number, typed
    attribute values (``stringValue``, ``intValue`` as string or number, ``doubleValue``,
    ``boolValue``, ``arrayValue``, ``kvlistValue``), ``kind`` and ``status.code`` integers
    (0 unset, 1 ok, 2 error) or their enum names; unknown fields are ignored.
    GenAI attributes are read under their current and older names
    (``gen_ai.provider.name``/``gen_ai.system``, ``gen_ai.usage.input_tokens``/
    ``gen_ai.usage.prompt_tokens``, ``gen_ai.usage.output_tokens``/
    ``gen_ai.usage.completion_tokens``, ``gen_ai.usage.cache_read.input_tokens``/
    ``gen_ai.usage.cache_read_input_tokens``); ``agent_name`` comes from
    ``gen_ai.agent.name`` or the nearest ``invoke_agent`` ancestor.
``langfuse``
    Langfuse observation exports (CSV, JSON/JSONL, Parquet; camelCase API names or the
    snake_case blob-export names). ``latency``/``timeToFirstToken`` were milliseconds in
    older exports: the unit is detected from ``endTime − startTime`` (or
    ``completionStartTime − startTime``) or set with ``time_unit="s"|"ms"``; undetectable:
    seconds, with a warning.
``phoenix``
    Arize Phoenix span dataframes saved as Parquet (``context.span_id``,
    ``context.trace_id``, ``parent_id``, ``span_kind``, ``status_code``, OpenInference
    ``attributes.llm.*`` columns, ``events``).
``langsmith``
    LangSmith runs as JSON lines (``id``, ``trace_id``, ``parent_run_id``, ``run_type``,
    ``start_time``, ``end_time``, ``status``, ``error``, ``prompt_tokens``,
    ``completion_tokens``, ``total_cost``, ``first_token_time``, ``extra.metadata``).
``azure``
    The Azure LLM inference trace (``TIMESTAMP, ContextTokens, GeneratedTokens``): one
    arrival per row with token counts and no end time (``end_ts`` is NA).

All timestamps become tz-aware UTC. Every reader adds ``_source`` and ``_row``
(1-based data row, or JSON-lines line number) so validation can name the input
position of a problem.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from dsge_agents.errors import TraceValidationError
from dsge_agents.traces.schema import BOOKKEEPING_COLUMNS, CANONICAL_COLUMNS, RESERVED_COLUMNS, _to_utc, seconds_between, to_canonical

FORMATS = ("canonical", "otlp", "langfuse", "phoenix", "langsmith", "azure")


class TraceFormatError(TraceValidationError):
    """A trace file whose format cannot be recognised or parsed."""


# ----------------------------------------------------------------------------- helpers
@contextlib.contextmanager
def _gc_paused():
    """Pause CPython's cyclic garbage collector while a trace file's records are built
    (a context manager and a decorator).

    Reading a trace creates millions of small containers (a dict per JSON record and object,
    lists of attributes, object columns); each allocation burst triggers a collection whose
    cost grows with everything allocated so far -- on 200 k LangSmith runs, more than half of
    ``json.loads``' time (4.4 s, 1.9 s paused). The records hold no reference cycles, so the
    pause leaves nothing behind; the collector is switched back on afterwards if it was on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _first(d: Mapping, keys: Iterable[str], default=None):
    """The value of the first key present in ``d`` that is neither None nor NaN."""
    for k in keys:
        v = d.get(k)
        if v is not None and not (isinstance(v, float) and v != v):
            return v
    return default


def _maybe_json(v):
    """A nested value as a Python object: JSON text (``{...}`` / ``[...]``) decoded, a Parquet
    MAP (which pandas gives as a list of ``(key, value)`` tuples, as ClickHouse / Spark write
    usage, cost and metadata maps) as a dict; anything else as it is."""
    if isinstance(v, str) and v[:1] in "{[":
        try:
            return json.loads(v)
        except ValueError:
            return v
    if isinstance(v, list) and v and type(v[0]) is tuple:
        return _map_pairs(v)
    return v


def _map_pairs(v: list):
    """A list of ``(str key, value)`` tuples (a Parquet MAP value) as a dict, values that are
    MAPs in turn included; any other list unchanged."""
    if not all(type(x) is tuple and len(x) == 2 and isinstance(x[0], str) for x in v):
        return v
    return {k: _map_pairs(x) if isinstance(x, list) and x and type(x[0]) is tuple else x for k, x in v}


def _omap(fn, s: pd.Series, *, once_per: str | None = None) -> pd.Series:
    """``s.map(fn)`` as an object Series, by a list comprehension over the values: pandas' ``map``
    walks extension arrays element by element and infers a dtype for the result (3-5x slower on
    200 k-row exports; the canonical coercion types the columns afterwards anyway).

    ``once_per``: compute ``fn`` once per distinct ``"text"`` (a column of strings and missing
    values: factorised, ``fn`` applied to each distinct string, missing values value by value) or
    per distinct ``"object"`` (by identity: the shared dicts :func:`_decode_json` gives equal
    JSON texts). ``fn`` must be pure and leave its argument unchanged (readers only look up).
    """
    vals = s.to_numpy(dtype=object)
    if once_per == "text" and len(vals) and pd.api.types.infer_dtype(vals, skipna=True) == "string":
        codes, uniques = pd.factorize(vals)  # missing values: code -1
        mapped = np.empty(len(uniques), dtype=object)
        mapped[:] = [fn(u) for u in uniques]
        out = mapped[codes] if len(uniques) else np.empty(len(vals), dtype=object)
        na = np.flatnonzero(codes < 0)
        if len(na):
            out[na] = [fn(v) for v in vals[na]]
        return pd.Series(out, index=s.index, dtype=object)
    # by identity only where objects repeat (decoded JSON text): on a column of distinct dicts
    # (JSON lines) the memo is pure cost -- a quarter of the Langfuse JSONL read
    if once_per == "object" and len({id(v) for v in vals[:512]}) <= min(len(vals), 512) // 2:
        memo: dict = {}
        out = [memo[k] if (k := id(v)) in memo else memo.setdefault(k, fn(v)) for v in vals]
        return pd.Series(out, index=s.index, dtype=object)
    return pd.Series([fn(v) for v in vals], index=s.index, dtype=object)


def _decode_json(s: pd.Series) -> pd.Series:
    """A column of JSON texts (usage / cost / metadata objects as CSV and flat Parquet exports
    write them) decoded as :func:`_maybe_json` decodes each value, every distinct text once:
    exports repeat them (a handful of metadata objects, recurring token counts) and json.loads
    is the costly step. Equal texts give one shared object (see ``_omap(once_per="object")``).
    Columns already holding decoded values (JSON lines, nested Parquet) go value by value."""
    return _omap(_maybe_json, s, once_per="text")


def _ns_to_utc(ns: list) -> tuple[pd.Series, list]:
    """Integers (or integer strings) of Unix nanoseconds to UTC timestamps; returns raw of bad ones."""
    fast = _ns_to_utc_fast(ns)
    if fast is not None:
        return fast
    vals = np.zeros(len(ns), dtype=np.int64)
    ok = np.zeros(len(ns), dtype=bool)
    bad_raw: list = [None] * len(ns)
    for i, v in enumerate(ns):
        if v is None or v == "":
            continue
        try:
            iv = int(v) if not isinstance(v, float) else int(round(v))
            ok[i] = 0 < iv < 2**63  # beyond int64 nanoseconds (year 2262): unparseable
            vals[i] = iv if ok[i] else 0
            if not ok[i]:
                bad_raw[i] = str(v)
        except (TypeError, ValueError, OverflowError):  # OverflowError: inf / huge floats
            bad_raw[i] = str(v)
    arr = pd.to_datetime(vals, unit="ns", utc=True)
    s = pd.Series(arr).where(ok, pd.NaT).astype("datetime64[ns, UTC]")
    return s, bad_raw


def _ns_to_utc_fast(ns: list):
    """:func:`_ns_to_utc` when every value is missing (None / "") or a Python int / plain digit
    string in (0, 2^63): one vectorised conversion; ``None`` otherwise (the loop decides)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not ns:
        return None
    kinds = {type(v) for v in ns}
    if not kinds <= {int, str, type(None)}:
        return None
    if str in kinds:
        texts = pa.array([None if v is None or v == "" else str(v) for v in ns], pa.string())
        valid = pc.is_valid(texts)
        if not pc.all(pc.or_(pc.invert(valid), pc.match_substring_regex(texts, r"^[0-9]{1,19}$"))).as_py():
            return None
        try:
            vals = pc.cast(texts, pa.int64())
        except (pa.ArrowInvalid, OverflowError):
            return None
    else:
        try:
            vals = pa.array(ns, pa.int64())
        except (pa.ArrowInvalid, OverflowError):
            return None
    ok = np.asarray(pc.fill_null(pc.greater(vals, 0), False).to_numpy(zero_copy_only=False), dtype=bool)
    if (~ok & np.asarray(vals.is_valid().to_numpy(zero_copy_only=False), dtype=bool)).any():
        return None  # zero or negative: the loop reports them
    arr = pd.to_datetime(np.where(ok, pc.fill_null(vals, 0).to_numpy(zero_copy_only=False), 0), unit="ns", utc=True)
    return pd.Series(arr).where(ok, pd.NaT).astype("datetime64[ns, UTC]"), [None] * len(ns)


#: what _parse_times reads as a number: numeric scalars, and text of digits / sign / point / exponent
_NUMBER_TYPES = (int, float, np.integer, np.floating)
_NUMBER_TEXT = re.compile(r"\s*[0-9.eE+-]+\s*")


def _number_candidates(values: list) -> np.ndarray:
    """Which values :func:`_parse_times` tries as numbers: numeric scalars, and texts matching
    ``_NUMBER_TEXT`` (to_numeric then decides, on these only).

    A column of texts (the usual case: ISO 8601 times) is screened in Arrow first: a text
    holding a letter other than e/E or a colon cannot match ``_NUMBER_TEXT``, so only the rest
    (few, or none) go through the Python pattern -- the same answer as testing every value.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    match = _NUMBER_TEXT.fullmatch
    obj = np.empty(len(values), dtype=object)
    obj[:] = values
    if len(obj) and pd.api.types.infer_dtype(obj, skipna=True) == "string":
        maybe = pc.match_substring_regex(pa.array(obj, type=pa.string(), from_pandas=True), r"^[^A-DF-Za-df-z:]*$")
        cand = np.zeros(len(obj), dtype=bool)
        for i in np.flatnonzero(np.asarray(pc.fill_null(maybe, False).to_numpy(zero_copy_only=False), dtype=bool)):
            cand[i] = match(obj[i]) is not None
        return cand
    return np.fromiter(
        (isinstance(v, _NUMBER_TYPES) or (isinstance(v, str) and match(v) is not None) for v in values),
        dtype=bool, count=len(values),
    )


def _parse_times(values, *, unit: str | None = None) -> tuple[pd.Series, list]:
    """Mixed ISO strings / numbers to UTC; numbers in ``unit`` ('s', 'ms', 'us', 'ns') or guessed.

    A column already of a datetime type (typed Parquet) is converted as it is (naive = UTC; times
    outside the nanosecond range unparseable) instead of going through text.
    """
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed, bad = _to_utc(values.reset_index(drop=True))
        raw = values.reset_index(drop=True).astype(object)
        return parsed, [str(v) if b else None for v, b in zip(raw, bad.to_numpy())] if bad.any() else [None] * len(raw)
    if isinstance(values, pd.Series):
        values = values.tolist()
    values = list(values)
    s = pd.Series(values, dtype="object")
    out = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    bad_raw: list = [None] * len(s)
    cand = _number_candidates(values)
    is_num = pd.Series(False, index=s.index)
    num = None
    if cand.any():
        num = pd.to_numeric(s[cand], errors="coerce")
        is_num[cand] = num.notna().to_numpy()
    if is_num.any():
        x = num[num.notna()].astype(float)
        u = unit
        if u is None:  # magnitude of a 2000-2100 epoch in each unit
            med = float(np.nanmedian(np.abs(x)))
            u = "s" if med < 1e11 else "ms" if med < 1e14 else "us" if med < 1e17 else "ns"
        scale = {"s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}[u]
        with np.errstate(invalid="ignore", over="ignore"):
            ns = np.round(x.to_numpy() * scale)
        fits = np.isfinite(ns) & (np.abs(ns) < 9.2e18)  # int64 nanoseconds; beyond: unparseable
        idx = np.flatnonzero(is_num.to_numpy())
        out.iloc[idx[fits]] = pd.to_datetime(ns[fits].astype(np.int64), unit="ns", utc=True)
        for i in idx[~fits]:
            bad_raw[i] = str(s.iloc[i])
    txt = (~is_num) & s.notna() & (s.astype(str).str.strip() != "")
    if txt.any():  # text: the canonical table's parser (ISO 8601, then other layouts)
        parsed, _ = _to_utc(s[txt].astype(str))
        out[txt] = parsed
        for i in np.flatnonzero(txt.to_numpy() & out.isna().to_numpy()):
            bad_raw[i] = str(s.iloc[i])
    return out, bad_raw


def _frame(records: dict, source: str, rows) -> pd.DataFrame:
    df = pd.DataFrame(records)
    df["_source"] = source
    df["_row"] = np.asarray(rows, dtype=np.int64)
    return df


def _raw_cols(df: pd.DataFrame, bad_start: list, bad_end: list) -> None:
    if any(v is not None for v in bad_start):
        df["_raw_start"] = pd.Series(bad_start, dtype="object").values
    if any(v is not None for v in bad_end):
        df["_raw_end"] = pd.Series(bad_end, dtype="object").values




def _set_aside(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """An input column named like the readers' bookkeeping (``_source``, ``_row``, ...; e.g. a
    quarantine file read back) is kept as ``input.<name>`` instead of being overwritten."""
    clash = [c for c in df.columns if c in RESERVED_COLUMNS]
    if not clash:
        return df
    taken = [f"input.{c}" for c in clash if f"input.{c}" in df.columns]
    if taken:
        raise TraceFormatError(f"{path}: columns {clash} are reserved for the readers' bookkeeping and "
                               f"{taken}, where they would be kept, exist too; rename them")
    return df.rename(columns={c: f"input.{c}" for c in clash})


def _finish(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical coercion keeping bookkeeping columns last (other columns, also those whose
    names start with ``_``, kept in between)."""
    raw = {c: df.pop(c) for c in ("_raw_start", "_raw_end") if c in df.columns}
    out = to_canonical(df)
    for c, v in raw.items():
        if c in out.columns:  # produced by to_canonical from text: merge
            out[c] = out[c].where(out[c].notna(), v.values)
        else:
            out[c] = v.values
    order = (
        CANONICAL_COLUMNS
        + [c for c in out.columns if c not in CANONICAL_COLUMNS and c not in RESERVED_COLUMNS]
        + [c for c in BOOKKEEPING_COLUMNS if c in out.columns]
    )
    return out[order]


def fill_agent_names(df: pd.DataFrame) -> pd.DataFrame:
    """Fill missing ``agent_name`` from the nearest ``invoke_agent`` ancestor.

    An ``invoke_agent`` span without ``gen_ai.agent.name`` takes the agent from its
    span name (``"invoke_agent {agent}"``, the GenAI span-name convention).
    """
    if df.empty:
        return df
    df = df.copy()
    inv = df["operation"].fillna("") == "invoke_agent"
    need = inv & df["agent_name"].isna() & df["name"].notna()
    if need.any():  # the text work on those rows only
        from_name = df.loc[need, "name"].astype("str").str.replace(r"^invoke_agent\s*", "", regex=True)
        ok = (from_name.str.len() > 0).to_numpy()
        df.loc[from_name.index[ok], "agent_name"] = from_name[ok]
    missing = df["agent_name"].isna() & df["parent_span_id"].notna()
    if not missing.any():
        return df
    sid = df["span_id"].to_numpy(dtype=object)
    parent = dict(zip(sid, df["parent_span_id"].to_numpy(dtype=object)))
    agent_of_inv = dict(zip(sid[inv.to_numpy()], df.loc[inv, "agent_name"].to_numpy(dtype=object)))
    idx = np.flatnonzero(missing.to_numpy())
    cur = df["parent_span_id"].to_numpy(dtype=object)[idx]
    found = np.full(len(idx), None, dtype=object)
    for _ in range(256):  # depth bound (cycles are caught by validation)
        open_ = np.array(
            [c is not None and c == c and found[j] is None for j, c in enumerate(cur)], dtype=bool
        )
        if not open_.any():
            break
        for j in np.flatnonzero(open_):
            a = agent_of_inv.get(cur[j])
            if a is not None and a == a:
                found[j] = a
            else:
                cur[j] = parent.get(cur[j])
    col = df["agent_name"].to_numpy(dtype=object)
    col[idx] = np.where(pd.isna(found), None, found)
    df["agent_name"] = (
        pd.Series(col, index=df.index, dtype="object")
        .astype("str")
        .where(pd.Series(col, index=df.index).notna(), None)
    )
    return df


def apply_price_table(df: pd.DataFrame, price_table) -> pd.DataFrame:
    """Fill missing ``cost_usd`` from per-model prices (USD per 1M input / output tokens).

    ``price_table``: mapping ``model -> (input_per_1m, output_per_1m[, cached_input_per_1m])``
    or ``model -> {"input": .., "output": ..[, "cached_input": ..]}``, a list of rows
    ``{"model": .., "input_per_1m": .., "output_per_1m": ..[, "cached_input_per_1m": ..]}``,
    a DataFrame / CSV / YAML file of those (a YAML file holds the mapping or the list). A
    malformed table -- a model listed twice, a price that is not a number >= 0 (``$2.50``), a
    missing input / output price, a price of the wrong shape -- is a :class:`TraceFormatError`
    naming the file, the model and the column.

    A cost is computed only where both ``input_tokens`` and ``output_tokens`` are known: a
    missing count is not taken as zero, the cost stays NaN (unknown). A missing
    ``cached_input_tokens`` means no cache reads reported (0). Cached input tokens are, as in
    the canonical schema (OTel ``gen_ai.usage.cache_read.input_tokens``), the part of the input
    read from cache, billed at ``cached_input_per_1m`` (the input price when not given):

        cost = ((in − cached)·p_in + cached·p_cached + out·p_out) / 1e6.

    A row with more cached than input tokens cannot hold that reading; its source reported
    cache reads apart from the input (as Anthropic's ``input_tokens`` /
    ``cache_read_input_tokens`` do), and it is billed so: in·p_in + cached·p_cached + out·p_out
    (per 1e6) -- never a negative cost.
    """
    if price_table is None:
        return df
    table = _price_frame(price_table)
    tin_all = df["input_tokens"].astype("Float64")
    tout_all = df["output_tokens"].astype("Float64")
    need = df["cost_usd"].isna() & df["model"].isin(table.index) & tin_all.notna() & tout_all.notna()
    if not need.any():
        return df
    df = df.copy()
    sub = df.loc[need]
    p = table.loc[sub["model"].to_numpy()]
    tin = tin_all[need].to_numpy(float)
    tout = tout_all[need].to_numpy(float)
    tc = sub["cached_input_tokens"].astype("Float64").fillna(0).to_numpy(float)
    p_in = p["input_per_1m"].to_numpy(float)
    pc = p["cached_input_per_1m"].fillna(p["input_per_1m"]).to_numpy(float)
    uncached = np.where(tc > tin, tin, tin - tc)  # cached beyond the input: reported apart from it
    cost = (uncached * p_in + tc * pc + tout * p["output_per_1m"].to_numpy(float)) / 1e6
    df.loc[need, "cost_usd"] = cost
    return df


_PRICE_SHAPE = ("expected model -> (input_per_1m, output_per_1m[, cached_input_per_1m]) or "
                "{input, output[, cached_input]}, or rows with columns model, input_per_1m, "
                "output_per_1m[, cached_input_per_1m]")
_PRICE_COLUMNS = ("input_per_1m", "output_per_1m", "cached_input_per_1m")


def _price_frame(price_table) -> pd.DataFrame:
    """A price table (see :func:`apply_price_table`) as a frame indexed by unique ``model`` with
    float columns ``input_per_1m, output_per_1m, cached_input_per_1m`` (NaN: the input price);
    anything else is a :class:`TraceFormatError` naming the table, the model and the column."""
    where = "price table"
    if isinstance(price_table, (str, os.PathLike)):
        p = Path(price_table)
        where = f"price table {p}"
        if not p.is_file():
            raise TraceFormatError(f"{where}: no such file")
        if p.suffix.lower() in (".yaml", ".yml"):
            import yaml

            try:
                price_table = yaml.safe_load(p.read_text())
            except yaml.YAMLError as exc:
                raise TraceFormatError(f"{where}: not valid YAML ({exc})") from None
            if price_table is None:
                raise TraceFormatError(f"{where}: empty ({_PRICE_SHAPE})")
        else:
            try:
                price_table = pd.read_csv(p)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise TraceFormatError(f"{where}: cannot parse CSV ({exc})") from None
    if isinstance(price_table, pd.DataFrame):
        t = price_table
        if "model" not in t.columns and t.index.name == "model":
            t = t.reset_index()
        t = t.copy()
        labels = [f"row {i}" for i in range(1, len(t) + 1)]
    elif isinstance(price_table, Mapping):
        rows, labels = [], []
        for model, v in price_table.items():
            if isinstance(v, Mapping):
                rows.append({"model": model,
                             "input_per_1m": v.get("input", v.get("input_per_1m")),
                             "output_per_1m": v.get("output", v.get("output_per_1m")),
                             "cached_input_per_1m": v.get("cached_input", v.get("cached_input_per_1m"))})
            elif isinstance(v, (list, tuple)) and len(v) in (2, 3):
                rows.append({"model": model, "input_per_1m": v[0], "output_per_1m": v[1],
                             "cached_input_per_1m": v[2] if len(v) > 2 else None})
            else:
                raise TraceFormatError(
                    f"{where}: model {model!r}: price {v!r} has the wrong shape ({_PRICE_SHAPE})")
            labels.append(None)
        t = pd.DataFrame(rows, columns=["model", *_PRICE_COLUMNS])
    elif isinstance(price_table, list):
        for i, r in enumerate(price_table, start=1):
            if not isinstance(r, Mapping):
                raise TraceFormatError(f"{where}: entry {i}: {r!r} is not a row ({_PRICE_SHAPE})")
        t = pd.DataFrame(list(price_table))
        labels = [f"entry {i}" for i in range(1, len(t) + 1)]
    else:
        raise TraceFormatError(f"{where}: a {type(price_table).__name__} ({_PRICE_SHAPE})")
    need = [c for c in ("model", "input_per_1m", "output_per_1m") if c not in t.columns]
    if need:
        raise TraceFormatError(f"{where} lacks column(s) {', '.join(need)} (expected model, input_per_1m, "
                               f"output_per_1m[, cached_input_per_1m]; got {', '.join(map(str, t.columns))})")
    if "cached_input_per_1m" not in t.columns:
        t["cached_input_per_1m"] = np.nan

    def at(i: int) -> str:
        m = t["model"].iat[i]
        return f"{labels[i]} (model {m!r})" if labels[i] else f"model {m!r}"

    for i, m in enumerate(t["model"]):
        if m is None or (isinstance(m, float) and m != m) or str(m).strip() == "":
            raise TraceFormatError(f"{where}: {labels[i] or f'row {i + 1}'}: no model name")
    dup = t["model"].duplicated(keep=False).to_numpy()
    if dup.any():
        first = t["model"][dup].iat[0]
        at_ = [labels[i] for i in np.flatnonzero(dup & (t["model"] == first).to_numpy()) if labels[i]]
        raise TraceFormatError(f"{where}: model {first!r} is listed more than once"
                               + (f" ({', '.join(at_)})" if at_ else ""))
    for c in _PRICE_COLUMNS:
        vals = t[c].to_numpy(dtype=object)
        num = np.full(len(vals), np.nan)
        for i, v in enumerate(vals):
            missing = v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip())
            if missing:
                if c != "cached_input_per_1m":
                    raise TraceFormatError(f"{where}: {at(i)}: no {c} price ({_PRICE_SHAPE})")
                continue
            try:
                x = float(v) if not isinstance(v, bool) else np.nan
            except (TypeError, ValueError):
                x = np.nan
            if not (np.isfinite(x) and x >= 0):
                shown = repr(v) if isinstance(v, str) else str(v)
                raise TraceFormatError(
                    f"{where}: {at(i)}: {c} {shown} is not a number >= 0 (USD per 1M tokens)")
            num[i] = x
        t[c] = num
    return t.set_index("model")


# ----------------------------------------------------------------------------- detection
def _json_layout(path: Path) -> tuple[list | None, list | None, list[str] | None]:
    """How a JSON file holds its records: ``(records, numbers, None)`` for an empty file or one
    JSON document (an array: its elements, numbered 1, 2, ...), ``(None, None, lines)`` for JSON
    lines (the file's lines as ``str.splitlines`` gives them; the text itself is not kept)."""
    text = _utf8_text(path)
    stripped = text.strip()
    if not stripped:
        return [], [], None
    try:
        doc = json.loads(stripped)
    except json.JSONDecodeError:
        del stripped
        return None, None, text.splitlines()
    doc = _unwrap_page(doc)
    if isinstance(doc, list):
        return doc, list(range(1, len(doc) + 1)), None
    return [doc], [1], None


def _unwrap_page(doc):
    """A saved API page ``{"data": [records...], "meta": {...}}`` (Langfuse's public API answers
    so) -> its records; anything else as it is."""
    if isinstance(doc, dict) and isinstance(doc.get("data"), list) and set(doc) <= {"data", "meta"}:
        return doc["data"]
    return doc


def _json_line_records(path: Path, lines: list[str]):
    """``(line number, record)`` for each non-blank line; invalid JSON is a
    :class:`TraceFormatError` naming the line and column."""
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield i, json.loads(line)
        except json.JSONDecodeError as exc:
            raise TraceFormatError(f"{path}: line {i}, column {exc.colno}: invalid JSON ({exc.msg})") from None


def _json_records(path: Path) -> tuple[list, list[int]]:
    """A JSON document (object or array) or JSON lines -> (records, 1-based line/ordinal numbers)."""
    recs, numbers, lines = _json_layout(path)
    if lines is None:
        return recs, numbers
    pairs = list(_json_line_records(path, lines))
    return [r for _, r in pairs], [i for i, _ in pairs]


def _json_frame(path: Path, chunk_rows: int = 50_000) -> tuple[pd.DataFrame, np.ndarray]:
    """A JSON file's records as a frame (nested values kept) and their line / ordinal numbers:
    ``pd.DataFrame`` of the :func:`_json_records` records (``json_normalize(max_level=0)`` gives
    the same frame but deep-copies every record first: 4x slower on 200 k LangSmith runs). A
    record that is not a JSON object is a :class:`TraceFormatError` naming its line (JSON
    lines) or position (an array); pandas failed on such files with a TypeError.

    JSON lines of objects are framed ``chunk_rows`` records at a time, so that not every
    record's Python objects are alive at once (200 k Langfuse observations: 650 MB of dicts and
    strings; peak of the read 1.1 GB -> 0.7 GB); the frame, numbers and errors are those of
    framing them all at once (tested).
    """
    def not_object(where, rec):
        return TraceFormatError(f"{path}: {where}: a record must be a JSON object, got {json.dumps(rec)[:60]}")

    recs, numbers, lines = _json_layout(path)
    if lines is None:
        for k, rec in zip(numbers, recs):
            if not isinstance(rec, dict):
                raise not_object(f"record {k}", rec)
        return (pd.DataFrame(recs) if recs else pd.DataFrame()), np.asarray(numbers)
    frames, numbers, chunk = [], [], []
    for i, rec in _json_line_records(path, lines):
        if not isinstance(rec, dict):
            raise not_object(f"line {i}", rec)
        chunk.append(rec)
        numbers.append(i)
        if len(chunk) >= chunk_rows:
            frames.append(pd.DataFrame(chunk))
            chunk = []
    if chunk:
        frames.append(pd.DataFrame(chunk))
    if len(frames) <= 1:
        return (frames[0] if frames else pd.DataFrame()), np.asarray(numbers)
    # chunks framed apart: a column missing (or all missing) in one chunk is typed by the others
    return pd.concat(frames, ignore_index=True, sort=False).infer_objects(), np.asarray(numbers)


def _layout(path: Path) -> str:
    """How a file is read: ``"parquet"``, ``"json"`` (a document or JSON lines) or ``"csv"``
    (TSV for ``.tsv``). By the suffix when it is one of :data:`TRACE_SUFFIXES` (``.txt``: CSV);
    otherwise (``spans``, ``runs.log``) by the content: Parquet's magic number ``PAR1``, JSON
    when the first non-blank character (after a UTF-8 byte-order mark) is ``{`` or ``[``, CSV
    else. :func:`detect_format` and :func:`_read_table` both decide so."""
    suf = path.suffix.lower()
    if suf in (".parquet", ".pq"):
        return "parquet"
    if suf in (".json", ".jsonl", ".ndjson"):
        return "json"
    if suf in (".csv", ".tsv", ".txt"):
        return "csv"
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
        if head.startswith(b"PAR1"):
            return "parquet"
        text = (head[3:] if head.startswith(b"\xef\xbb\xbf") else head).lstrip(b" \t\r\n")
        while not text and head:  # blank so far: read on
            head = fh.read(1 << 16)
            text = head.lstrip(b" \t\r\n")
    return "json" if text[:1] in (b"{", b"[") else "csv"


def _columns_of(path: Path) -> list[str] | None:
    """Column names of a Parquet / CSV / TSV file as pandas reads them (a UTF-8 byte-order mark
    dropped, quoted names unquoted, spaces kept); None for JSON files (:func:`_layout`)."""
    suf = path.suffix.lower()
    kind = _layout(path)
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            return list(pq.read_schema(path).names)
        except Exception as exc:  # noqa: BLE001 - any unreadable footer
            raise TraceFormatError(f"{path}: not a readable Parquet file ({exc})") from None
    if kind == "csv":
        return _csv_header(path, "\t" if suf == ".tsv" else ",") or []
    return None


def _format_from_columns(cols: Iterable[str]) -> str | None:
    cols = set(cols)
    if {"TIMESTAMP", "ContextTokens", "GeneratedTokens"} <= cols:
        return "azure"
    if "resourceSpans" in cols:
        return "otlp"
    if {"span_id", "start_ts"} <= cols:
        # the canonical names themselves: no export format uses them, and a canonical table
        # with an extra column named like another format's marker (span_kind, run_type,
        # attributes.*, traceId) is still canonical
        return "canonical"
    if "context.span_id" in cols or "span_kind" in cols or any(c.startswith("attributes.") for c in cols):
        return "phoenix"
    if cols & {"run_type", "parent_run_id", "dotted_order"}:
        return "langsmith"
    if cols & {
        "parentObservationId",
        "parent_observation_id",
        "completionStartTime",
        "completion_start_time",
        "traceId",
        "startTime",
    }:
        return "langfuse"
    if (
        {"span_id", "start_ts"} <= cols
        or {"trace_id", "span_id"} <= cols
        or len(cols & set(CANONICAL_COLUMNS)) >= 3
    ):
        return "canonical"
    return None


def detect_format(path: str | os.PathLike) -> str:
    """Guess the trace format of a file from its extension and column / field names (a file
    whose suffix is none of :data:`TRACE_SUFFIXES` by its content: :func:`_layout`). A JSON file
    without records (empty, blank, ``[]``) is ``"canonical"``, with a ``UserWarning``: it reads
    as an empty span table."""
    path = Path(path)
    if not path.exists():
        raise TraceFormatError(f"{path}: no such file")
    if path.is_dir():
        raise TraceFormatError(f"{path}: a directory; detect_format takes a file (read_spans and "
                               "load_spans take directories: the trace files beneath them)")
    _check_not_compressed(path)
    cols = _columns_of(path)
    if cols is None:  # JSON family
        with open(path, "rb") as fh:
            first = fh.readline().decode("utf-8-sig", errors="replace")
        try:
            obj = _unwrap_page(json.loads(first))
        except json.JSONDecodeError:
            recs, _ = _json_records(path)
            obj = recs[0] if recs else []
        if isinstance(obj, list):
            if not obj:  # no records (an empty file, [], an empty API page): any reader's empty table
                import warnings

                warnings.warn(f"{path}: a JSON file without records; read as an empty span table",
                              UserWarning, stacklevel=2)
                return "canonical"
            obj = obj[0]
        cols = list(obj.keys()) if isinstance(obj, dict) else []
    fmt = _format_from_columns(cols)
    if fmt is None:
        raise TraceFormatError(
            f"{path}: cannot recognise the trace format from its columns {sorted(cols)[:12]}; "
            f"name it (format= in Python, --format for ingest, --arrivals-format for simulate-traces): "
            f"one of {', '.join(FORMATS)}"
        )
    return fmt


# ----------------------------------------------------------------------------- canonical
def _csv_header(path: Path, sep: str) -> list[str] | None:
    """The header line's fields (None for an empty file); a header that is not UTF-8 text is a
    :class:`TraceFormatError` naming the file."""
    import csv

    with open(path, "rb") as fh:
        line = fh.readline(1 << 20)
    line = re.split(rb"\r\n|\r|\n", line, maxsplit=1)[0]  # any line ending, as pandas reads it
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TraceFormatError(f"{path}: line 1, byte {exc.start + 1}: not UTF-8 text") from None
    if not text and not path.stat().st_size:
        return None
    try:
        return next(csv.reader([text], delimiter=sep), None)
    except csv.Error as exc:
        raise TraceFormatError(f"{path}: line 1: {exc}") from None


def _csv_record_lines(path: Path, n_records: int, sep: str = ",") -> np.ndarray | None:
    """The 1-based line on which each of the ``n_records`` data records of a CSV file starts,
    or ``None`` when record ``i`` (0-based) is simply on line ``i + 2`` (header on line 1).

    Readers number CSV rows by line so that messages point into the file. Usually every record
    is one line; then the count of line ends (LF, CRLF or CR) is ``n_records + 1`` -- checked
    by :func:`_line_count` (≈ 0.5 s per GB). Otherwise -- blank or
    whitespace-only lines, which the parsers skip, or quoted values holding line breaks -- the
    records' first lines come from Python's ``csv`` module. Should its count of records
    disagree with ``n_records`` (a file the parsers read differently), ``None``.
    """
    import csv

    if path.stat().st_size == 0 or n_records == 0:
        return None
    lines = _line_count(path)
    if lines == n_records + 1:
        return None
    starts, prev_end, header_seen = [], 0, False
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        try:
            for row in reader:
                start, prev_end = prev_end + 1, reader.line_num
                if not row or (len(row) == 1 and not row[0].strip(" \t")):
                    continue  # blank line: skipped by Arrow's and pandas' parsers alike
                if header_seen:
                    starts.append(start)
                header_seen = True
        except csv.Error:
            return None
    if len(starts) != n_records:
        return None
    return np.asarray(starts, dtype=np.int64)


def _line_count(path: Path) -> int:
    """Lines of a text file ending in LF, CRLF or CR (a last line without an end counts), by
    counting bytes through a memory map; -1 when LF and CR are mixed otherwise than as CRLF."""
    import mmap

    size = path.stat().st_size
    if size == 0:
        return 0
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        lf = cr = 0
        step = 1 << 24
        for i in range(0, size, step):
            block = np.frombuffer(mm, dtype=np.uint8, count=min(step, size - i), offset=i)
            lf += int(np.count_nonzero(block == 10))
            if mm.find(b"\r", i, i + step) >= 0:  # memchr: most files have no CR
                cr += int(np.count_nonzero(block == 13))
            del block
            # the pages read are dropped from this process (they would count as its memory)
            mm.madvise(mmap.MADV_DONTNEED, i, min(step, size - i))
        last = mm[size - 1]
    if cr == 0:
        return lf + (last != 10)
    if lf == 0:
        return cr + (last != 13)
    if cr == lf:  # CRLF
        return lf + (last != 10)
    return -1


def csv_row_numbers(path: Path, n_records: int, sep: str | None = None) -> np.ndarray:
    """Line numbers of the records of a CSV/TSV file (see :func:`_csv_record_lines`)."""
    path = Path(path)
    sep = sep or ("\t" if path.suffix.lower() == ".tsv" else ",")
    lines = _csv_record_lines(path, n_records, sep)
    return np.arange(2, n_records + 2, dtype=np.int64) if lines is None else lines


def _csv_frames(path: Path, chunk_rows: int = 200_000, *, arrow: bool = False):
    """A CSV/TSV file as text frames (every column a string, pandas' default NA spellings
    missing), chunk by chunk, with the rows pandas' ``read_csv(dtype=object)`` gives.

    Arrow's streaming CSV reader parses on all cores, about 3x faster than pandas' parser with
    object columns, and hands pandas string columns without per-value objects. Where it
    rejects the file -- a row with more or fewer fields than the header (pandas pads short
    rows with NA, and reports long ones with their line), invalid UTF-8 --
    pandas' parser continues from the first row not yet yielded. Errors are
    :class:`TraceFormatError` naming the file. ``arrow=True``: the chunks Arrow parsed are
    yielded as Arrow tables (string columns), those of pandas' parser as frames.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv
    from pandas._libs.parsers import STR_NA_VALUES

    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    header = _csv_header(path, sep)
    repeated = sorted({c for c in (header or []) if header.count(c) > 1})
    if repeated:  # pandas would read the second as "model.1" and the first would be used alone
        raise TraceFormatError(f"{path}: line 1: column(s) {', '.join(map(repr, repeated))} appear more than "
                               "once in the header; keep one of each")
    done = 0  # rows yielded so far
    arrow_read_all = False
    if header and len(set(header)) == len(header):
        with open(path, "rb") as fh:
            head = fh.read(1 << 16)
        per_line = max(len(head) / max(head.count(b"\n"), 1), 16.0)
        # Arrow's reader parses some tens of blocks ahead of its consumer (measured: 45 MB blocks
        # held 1.8 GB while a 10 M-row file was staged, 8 MB blocks 0.33 GB): small blocks,
        # gathered into frames of chunk_rows rows
        block = int(min(max(chunk_rows * per_line / 8, 1 << 16), 1 << 22))
        try:
            reader = pacsv.open_csv(
                path,
                read_options=pacsv.ReadOptions(block_size=block),
                parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
                convert_options=pacsv.ConvertOptions(
                    column_types={c: pa.string() for c in header}, null_values=sorted(STR_NA_VALUES),
                    strings_can_be_null=True, quoted_strings_can_be_null=True),
            )
            pending, rows = [], 0
            for batch in reader:
                pending.append(batch)
                rows += batch.num_rows
                if rows >= chunk_rows:
                    table = pa.Table.from_batches(pending)
                    pending, rows = [], 0
                    done += table.num_rows
                    yield table if arrow else table.to_pandas()
            if pending:
                table = pa.Table.from_batches(pending)
                done += table.num_rows
                yield table if arrow else table.to_pandas()
            arrow_read_all = True
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass  # pandas takes over below, from the first row not yet yielded
    try:
        if not arrow_read_all:
            skip = done
            with pd.read_csv(path, sep=sep, dtype="object", keep_default_na=True, chunksize=chunk_rows) as reader:
                for df in reader:
                    if skip >= len(df):
                        skip -= len(df)
                        continue
                    if skip:
                        df, skip = df.iloc[skip:].reset_index(drop=True), 0
                    done += len(df)
                    yield df
        if done == 0 and header:  # header only: an empty frame with its columns
            yield pd.DataFrame({c: pd.Series([], dtype="object") for c in header})
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    except pd.errors.ParserError as exc:
        raise TraceFormatError(f"{path}: cannot parse CSV: {exc}") from None
    except pd.errors.EmptyDataError:
        raise TraceFormatError(f"{path}: empty file (no header line)") from None


def _not_utf8(path: Path) -> TraceFormatError:
    """The error for a text file that is not UTF-8, naming the line and byte (1-based) of the
    first byte that is not (found only on this error path)."""
    import codecs

    dec = codecs.getincrementaldecoder("utf-8")()
    where = "end of file"
    with open(path, "rb") as fh:
        for no, line in enumerate(fh, start=1):
            try:
                dec.decode(line)
            except UnicodeDecodeError as exc:
                where = f"line {no}, byte {exc.start + 1}"
                break
    return TraceFormatError(f"{path}: {where}: not UTF-8 text (re-save the file as UTF-8)")


def _utf8_text(path: Path) -> str:
    """A text file's contents (a UTF-8 byte-order mark dropped); other encodings are a
    :class:`TraceFormatError` naming the line and byte."""
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _not_utf8(path) from None


def _read_parquet(path: Path, **kw) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, **kw)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise TraceFormatError(f"{path}: not a readable Parquet file ({exc})") from None


def _read_table(path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """A Parquet / JSON / CSV file (:func:`_layout`, as :func:`detect_format` decides) as a frame
    and the row / line numbers of its records."""
    kind = _layout(path)
    if kind == "parquet":
        df = _read_parquet(path)
        rows = np.arange(1, len(df) + 1)
    elif kind == "json":
        df, rows = _json_frame(path)
    else:
        frames = list(_csv_frames(path))
        df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        rows = csv_row_numbers(path, len(df))  # line numbers (header is line 1)
    return df, rows


@_gc_paused()
def read_canonical(path) -> pd.DataFrame:
    """CSV / Parquet / JSONL already in the canonical column names (extra columns kept)."""
    path = Path(path)
    df, rows = _read_table(path)
    df = _set_aside(df, path).copy()
    df["_source"] = str(path)
    df["_row"] = rows
    return _finish(df)


def canonical_chunks(path, chunk_rows: int = 200_000, *, arrow: bool = False):
    """:func:`read_canonical` of a CSV/TSV or Parquet file, one chunk of rows at a time.

    Yields ``(frame, batch)``: the canonical frame of the chunk (bookkeeping ``_source`` /
    ``_row``: row numbers for Parquet; for text, ``record + 2``, the line numbers of
    :func:`read_canonical` unless the file has blank lines or values spanning lines --
    :func:`csv_row_numbers` maps them) and, for Parquet,
    the Arrow record batch it came from (``None`` for text). Each chunk is coerced on its own;
    timestamps, numbers and status spellings parse element by element, so the chunks equal
    the rows of the whole-file read.

    ``arrow=True``: text chunks that :func:`~dsge_agents.traces.schema.canonical_arrow` can
    coerce come as canonical Arrow tables instead of frames -- no pandas frame, no conversion
    back to Arrow for a caller that writes Parquet (measured on 2 M CSV spans: staging 3.1 s
    instead of 3.6 s, most of the rest being Arrow's CSV parsing) -- with ``_row`` and all-null
    ``_raw_start`` / ``_raw_end`` (every time parsed) but no ``_source``.
    """
    import pyarrow as pa

    path = Path(path)
    suf = path.suffix.lower()
    if suf in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        start = 1
        for batch in pq.ParquetFile(path).iter_batches(batch_size=chunk_rows):
            df = _set_aside(batch.to_pandas(), path)
            df["_source"] = str(path)
            df["_row"] = np.arange(start, start + len(df), dtype=np.int64)
            start += len(df)
            yield _finish(df), batch
        return
    if suf not in (".csv", ".tsv", ".txt"):
        raise TraceFormatError(f"{path}: chunked reading takes CSV/TSV/Parquet files, not {suf or 'no suffix'}")
    from dsge_agents.traces import schema

    start = 2  # line numbers (header is line 1)
    for part in _csv_frames(path, chunk_rows, arrow=arrow):
        n = part.num_rows if isinstance(part, pa.Table) else len(part)
        table = schema.canonical_arrow(part) if isinstance(part, pa.Table) else None
        if table is not None:
            table = table.append_column("_row", pa.array(np.arange(start, start + n, dtype=np.int64)))
            table = table.append_column("_raw_start", pa.nulls(n, pa.string()))
            yield table.append_column("_raw_end", pa.nulls(n, pa.string())), None
        else:
            df = _set_aside(part.to_pandas() if isinstance(part, pa.Table) else part, path).copy()
            df["_source"] = str(path)
            df["_row"] = np.arange(start, start + n, dtype=np.int64)
            yield _finish(df), None
        start += n


# ----------------------------------------------------------------------------- OTLP
def _otlp_value(v):
    if not isinstance(v, dict):
        return v
    for k in ("stringValue", "boolValue", "doubleValue"):
        if k in v:
            return v[k]
    if "intValue" in v:
        try:
            return int(v["intValue"])
        except (TypeError, ValueError):
            return None
    if "arrayValue" in v:
        return [_otlp_value(x) for x in (v["arrayValue"] or {}).get("values", []) or []]
    if "kvlistValue" in v:
        return {
            kv.get("key"): _otlp_value(kv.get("value"))
            for kv in (v["kvlistValue"] or {}).get("values", []) or []
        }
    if "bytesValue" in v:
        return v["bytesValue"]
    return None


def _otlp_attrs(lst) -> dict:
    out = {}
    for kv in lst or []:
        if isinstance(kv, dict) and "key" in kv:
            out[kv["key"]] = _otlp_value(kv.get("value"))
    return out


_OTLP_STATUS = {
    0: "unset",
    1: "ok",
    2: "error",
    "STATUS_CODE_UNSET": "unset",
    "STATUS_CODE_OK": "ok",
    "STATUS_CODE_ERROR": "error",
}
ATTR = {
    "operation": ("gen_ai.operation.name",),
    "provider": ("gen_ai.provider.name", "gen_ai.system"),
    "model": ("gen_ai.response.model", "gen_ai.request.model"),
    "agent_name": ("gen_ai.agent.name",),
    "input_tokens": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "output_tokens": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
    "cached_input_tokens": (
        "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_read_input_tokens",
        "gen_ai.usage.input_tokens.cached",
    ),
    # not (yet) standard span attributes: the names used by our writer first, then common ones
    "ttft_s": ("gen_ai.response.time_to_first_chunk", "gen_ai.server.time_to_first_token", "ttft_s"),
    "cost_usd": ("gen_ai.usage.cost", "gen_ai.usage.cost_usd", "cost_usd", "llm.usage.total_cost"),
    "error_type": ("error.type",),
}


#: OTLP/JSON files from this size on are parsed by DuckDB's JSON reader (:func:`_otlp_engine_columns`);
#: below it the Python walk is about as fast
OTLP_ENGINE_MIN_BYTES = 1 << 20


@_gc_paused()
def read_otlp_json(path, *, engine: str = "auto") -> pd.DataFrame:
    """OTLP/JSON ``ExportTraceServiceRequest`` (one document or JSON lines) -> canonical spans.

    ``engine``: ``"python"`` walks the parsed JSON in Python (the reference); ``"duckdb"`` has
    DuckDB parse and flatten the file and picks the values out with Arrow
    (:func:`_otlp_engine_columns`; ≈ 10x faster on large files), falling back to the Python walk
    for any file it cannot take value for value; ``"auto"``: DuckDB from
    :data:`OTLP_ENGINE_MIN_BYTES` on.
    """
    path = Path(path)
    if engine not in ("auto", "python", "duckdb"):
        raise ValueError(f"engine must be 'auto', 'python' or 'duckdb', got {engine!r}")
    got = None
    if engine == "duckdb" or (engine == "auto" and path.stat().st_size >= OTLP_ENGINE_MIN_BYTES):
        got = _otlp_engine_columns(path)
    if got is not None:
        cols, starts, ends, rows = got
    else:
        cols, starts, ends, rows = _otlp_python_columns(path)
    df = _frame(cols, str(path), rows)
    s, bs = _ns_to_utc(starts)
    e, be = _ns_to_utc(ends)
    df["start_ts"] = s.array
    df["end_ts"] = e.array
    _raw_cols(df, bs, be)
    return fill_agent_names(_finish(df))


def _otlp_python_columns(path: Path):
    """The columns of :func:`read_otlp_json` by walking the parsed JSON (Python objects)."""
    recs, lines = _json_records(path)
    # every canonical column except the timestamps (collected separately), plus two OTLP extras
    cols: dict[str, list] = {
        c: [] for c in [*(c for c in CANONICAL_COLUMNS if c not in ("start_ts", "end_ts")), "service_name", "kind"]
    }
    starts, ends, rows = [], [], []
    ordinal = 0
    for rec, line in zip(recs, lines):
        if not isinstance(rec, dict):
            raise TraceFormatError(f"{path}: line {line}: expected a JSON object (ExportTraceServiceRequest)")
        def objects(value, what):
            """A list of JSON objects, or a TraceFormatError naming the line and the field."""
            value = value or []
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise TraceFormatError(f"{path}: line {line}: {what} must be a list of objects, got "
                                       f"{json.dumps(value)[:60]}")
            return value

        def obj(value, what):
            value = value or {}
            if not isinstance(value, dict):
                raise TraceFormatError(f"{path}: line {line}: {what} must be an object, got {json.dumps(value)[:60]}")
            return value

        for rs in objects(rec.get("resourceSpans"), "resourceSpans"):
            res = _otlp_attrs(obj(rs.get("resource"), "resource").get("attributes"))
            for ss in objects(rs.get("scopeSpans") or rs.get("instrumentationLibrarySpans"), "scopeSpans"):
                for sp in objects(ss.get("spans"), "spans"):
                    ordinal += 1
                    a = _otlp_attrs(sp.get("attributes"))
                    st = obj(sp.get("status"), "status")
                    status = _otlp_status(st.get("code", 0))
                    cols["trace_id"].append(sp.get("traceId"))
                    cols["span_id"].append(sp.get("spanId"))
                    cols["parent_span_id"].append(_otlp_parent(sp.get("parentSpanId")))
                    cols["name"].append(sp.get("name"))
                    for k in (
                        "operation",
                        "provider",
                        "model",
                        "agent_name",
                        "input_tokens",
                        "output_tokens",
                        "cached_input_tokens",
                        "ttft_s",
                        "cost_usd",
                        "error_type",
                    ):
                        cols[k].append(_first(a, ATTR[k]))
                    if status == "error" and cols["error_type"][-1] is None:
                        cols["error_type"][-1] = st.get("message") or "_OTHER"
                    cols["status"].append(status)
                    cols["service_name"].append(res.get("service.name"))
                    cols["kind"].append(sp.get("kind"))
                    starts.append(sp.get("startTimeUnixNano"))
                    ends.append(sp.get("endTimeUnixNano"))
                    rows.append(line if len(recs) > 1 else ordinal)
    return cols, starts, ends, rows


class _NotPlain(Exception):
    """A JSON value the engine path does not convert (objects, arrays, odd number texts)."""


def _json_scalars(arr, *, int_strings: bool = False) -> np.ndarray:
    """JSON texts (an Arrow string array: DuckDB's JSON values, NULL for absent) -> the Python
    values ``json.loads`` gives (str, int, float, bool, None), as an object array; with
    ``int_strings``, quoted integers become ints (``int("374")``, as OTLP's ``intValue`` is read).
    Objects and arrays raise :class:`_NotPlain` (the caller then walks the file in Python).
    Vectorised for the usual texts (integers, decimals, strings without escapes); the others go
    through ``json.loads`` one by one.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    n = len(arr)
    out = np.full(n, None, dtype=object)
    if n == 0 or arr.null_count == n:
        return out
    if arr.null_count:
        valid = arr.is_valid()
        where = np.flatnonzero(np.asarray(valid.to_numpy(zero_copy_only=False)))
        arr = arr.filter(valid)
    else:
        where = None
    vals = np.full(len(arr), None, dtype=object)
    done = np.zeros(len(arr), dtype=bool)

    def mask(expr) -> np.ndarray:
        return np.asarray(pc.fill_null(expr, False).to_numpy(zero_copy_only=False), dtype=bool)

    def put(at: np.ndarray, m: np.ndarray, source, typ=None) -> None:
        """vals[at[m]] = source[m] (cast to typ); done marks them. Casts that fail (beyond
        int64) leave the values to json.loads."""
        if not m.any():
            return
        part = source.filter(pa.array(m))
        try:
            part = pc.cast(part, typ) if typ is not None else part
        except (pa.ArrowInvalid, OverflowError):
            return
        vals[at[m]] = np.asarray(part.to_numpy(zero_copy_only=False), dtype=object)
        done[at[m]] = True

    quoted = mask(pc.starts_with(arr, '"'))
    if quoted.any():  # strings: the text between the quotes when it holds no escape
        at = np.flatnonzero(quoted)
        sub = arr.filter(pa.array(quoted))
        inner = pc.utf8_slice_codeunits(sub, 1, -1)
        plain = ~mask(pc.match_substring(sub, "\\"))
        if int_strings:
            as_int = plain & mask(pc.match_substring_regex(sub, r'^"-?[0-9]{1,18}"$'))
            put(at, as_int, inner, pa.int64())
            plain &= ~as_int
        put(at, plain, inner)
    if not quoted.all():  # numbers: int(text) / float(text), as json.loads (both round correctly)
        at = np.flatnonzero(~quoted)
        sub = arr.filter(pa.array(~quoted))
        integer = mask(pc.match_substring_regex(sub, r"^-?[0-9]{1,19}$"))
        put(at, integer, sub, pa.int64())
        number = ~integer & mask(pc.match_substring_regex(sub, r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"))
        put(at, number, sub, pa.float64())
    rest = np.flatnonzero(~done)
    if len(rest):
        for i, t in zip(rest, arr.take(pa.array(rest)).to_pylist()):
            v = json.loads(t)
            if isinstance(v, (dict, list)):
                raise _NotPlain(t[:80])
            vals[i] = v
    if where is None:
        return vals
    out[where] = vals
    return out


_OTLP_VALUE = ("STRUCT(stringValue JSON, boolValue JSON, doubleValue JSON, intValue JSON, arrayValue JSON, "
               "kvlistValue JSON, bytesValue JSON)")
_OTLP_ATTRS = f'STRUCT("key" VARCHAR, "value" {_OTLP_VALUE})[]'
_OTLP_SPAN = (f'STRUCT(traceId JSON, spanId JSON, parentSpanId JSON, "name" JSON, kind JSON, '
              f'startTimeUnixNano JSON, endTimeUnixNano JSON, attributes {_OTLP_ATTRS}, '
              f'status STRUCT(code JSON, message JSON))')
_OTLP_SCOPE = f"STRUCT(spans {_OTLP_SPAN}[])"
_OTLP_RESOURCE = (f"STRUCT(resource STRUCT(attributes {_OTLP_ATTRS}), scopeSpans {_OTLP_SCOPE}[], "
                  f"instrumentationLibrarySpans {_OTLP_SCOPE}[])")


def _otlp_value_of(value_fields: dict) -> np.ndarray:
    """:func:`_otlp_value` over arrays: the first present of stringValue, boolValue, doubleValue,
    intValue (as an int); array / kvlist / bytes values raise :class:`_NotPlain`."""
    out = None
    for name in ("stringValue", "boolValue", "doubleValue", "intValue"):
        v = _json_scalars(value_fields[name], int_strings=name == "intValue")
        if name == "intValue":  # int(value), as _otlp_value does: "374" -> 374, 374.0 -> 374
            odd = np.flatnonzero([x is not None and (type(x) is not int) for x in v])
            for i in odd:
                v[i] = _int_or_none(v[i])
        out = v if out is None else np.where(out == None, v, out)  # noqa: E711 - elementwise
    for name in ("arrayValue", "kvlistValue", "bytesValue"):
        arr = value_fields[name]
        if arr.null_count < len(arr):
            present = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False))
            if (present & (out == None)).any():  # noqa: E711
                raise _NotPlain(name)
    return out


def _int_or_none(x):
    try:
        return int(x)
    except (TypeError, ValueError):
        return None
    except OverflowError:  # int(inf): the Python walk's error
        raise _NotPlain(repr(x)) from None


def _otlp_engine_columns(path: Path):
    """The columns of :func:`read_otlp_json` with DuckDB parsing the file: ``read_json`` with
    the OTLP span structure given (unknown fields ignored, every scalar kept as its JSON text),
    one row per record in file order (a scan keeps DuckDB's insertion order) holding its spans
    and, per resource, the span count and ``service.name`` (the counts are checked against the
    spans), then the attribute values wanted picked out of the flattened attribute lists
    with Arrow and converted as ``json.loads`` would. ``None`` when the file is not one DuckDB
    reads as OTLP (invalid JSON, a byte-order mark, another encoding...) or holds values this
    path does not convert (array / kvlist attribute values where a canonical field is read,
    objects in scalar fields): the Python walk then reads it and names any problem.

    Known differences, both from malformed exports: a value object holding ``"stringValue": null``
    beside another typed value (the Python walk takes the null, this path the other value), and
    JSON lines holding a raw U+2028 / U+2029 (Python's ``splitlines`` breaks such a line and
    reports invalid JSON; DuckDB reads it).
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    from dsge_agents.traces.aggregate import duck_connect, sql_str

    with open(path, "rb") as fh:
        head = fh.read(4096).lstrip()
    if not head[:1] in (b"{", b"["):
        return None  # empty, a byte-order mark, not JSON: the Python reader's messages
    size = path.stat().st_size
    con = duck_connect()
    try:
        scopes = "CASE WHEN len(r.scopeSpans) > 0 THEN r.scopeSpans ELSE r.instrumentationLibrarySpans END"

        def flat(fmt: str, extra: str = ""):
            # one row per record, in file order (a scan keeps it); the spans of a record and the
            # (span count, service.name value) of each of its resources as lists
            return con.sql(f"""
                SELECT flatten(list_transform(resourceSpans,
                           lambda r: flatten(list_transform({scopes}, lambda s: s.spans)))) AS spans,
                       list_transform(resourceSpans, lambda r: struct_pack(
                           n := list_sum(list_transform({scopes}, lambda s: len(s.spans))),
                           svc := (list_filter(r.resource.attributes, lambda a: a.key = 'service.name'))[-1].value))
                           AS res
                FROM read_json({sql_str(path)}, format='{fmt}', records=true,
                               columns={{'resourceSpans': '{_OTLP_RESOURCE}[]'}}{extra})""").to_arrow_table()

        try:
            if head[:1] == b"[":
                recs = flat("array", f", maximum_object_size={size + 1024}")
                layout = "array"
            else:
                try:
                    recs = flat("newline_delimited")
                    layout = "lines"
                except duckdb.Error:  # one document over several lines
                    recs = flat("unstructured", f", maximum_object_size={size + 1024}")
                    layout = "document"
                    if recs.num_rows != 1:
                        return None  # several documents in a row: not valid JSON for the Python reader
        except duckdb.Error:
            return None
    finally:
        con.close()
    n_rec = recs.num_rows
    spans_l = recs.column("spans").combine_chunks()
    rec = pc.list_parent_indices(spans_l).to_numpy() + 1  # the record of each span, 1-based
    sp = pc.list_flatten(spans_l)
    n = len(sp)
    res = pc.list_flatten(recs.column("res").combine_chunks())
    per_res = pc.fill_null(pc.struct_field(res, "n"), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    if per_res.sum() != n:
        return None  # the two counts disagree (never seen): the Python walk is the reference
    try:
        cols = {}
        for c, f in (("trace_id", "traceId"), ("span_id", "spanId"), ("parent_span_id", "parentSpanId"),
                     ("name", "name"), ("kind", "kind")):
            cols[c] = _json_scalars(pc.struct_field(sp, f))
        cols["parent_span_id"] = np.array([_otlp_parent(v) for v in cols["parent_span_id"]], dtype=object)
        starts = _json_scalars(pc.struct_field(sp, "startTimeUnixNano")).tolist()
        ends = _json_scalars(pc.struct_field(sp, "endTimeUnixNano")).tolist()
        status_ = pc.struct_field(sp, "status")
        code = _json_scalars(pc.struct_field(status_, "code"))
        msg = _json_scalars(pc.struct_field(status_, "message"))
        svc = pc.struct_field(res, "svc")
        svc_vals = np.repeat(_otlp_value_of({f: pc.struct_field(svc, f) for f in (
            "stringValue", "boolValue", "doubleValue", "intValue", "arrayValue", "kvlistValue", "bytesValue")}),
            per_res) if len(res) else np.full(0, None, dtype=object)
        # attributes: flattened once, the wanted keys picked out (the last of a repeated key wins)
        attrs = pc.struct_field(sp, "attributes")
        parent = pc.list_parent_indices(attrs).to_numpy()
        items = pc.list_flatten(attrs)
        keys = pc.struct_field(items, "key")
        wanted = sorted({k for ks in ATTR.values() for k in ks})
        take = np.flatnonzero(np.asarray(pc.fill_null(pc.is_in(keys, value_set=pa.array(wanted)), False)
                                         .to_numpy(zero_copy_only=False)))
        sel = items.take(pa.array(take))
        vals = pc.struct_field(sel, "value")
        values = _otlp_value_of({f: pc.struct_field(vals, f) for f in ("stringValue", "boolValue", "doubleValue",
                                                                       "intValue", "arrayValue", "kvlistValue",
                                                                       "bytesValue")})
        enc = pc.dictionary_encode(pc.struct_field(sel, "key"))
        key_codes, key_names = enc.indices.to_numpy(zero_copy_only=False), enc.dictionary.to_pylist()
        owner = parent[take]
        by_key = {}
        for code_, k in enumerate(key_names):
            m = key_codes == code_
            if m.any():  # last occurrence per span, as a dict built in order keeps it
                s_ = pd.Series(values[m], index=owner[m])
                s_ = s_[~s_.index.duplicated(keep="last")]
                by_key[k] = s_
        for c, ks in ATTR.items():
            col = np.full(n, None, dtype=object)
            for k in reversed(ks):  # _first: the first key with a value (not None / NaN) wins
                if k in by_key:
                    s_ = by_key[k]
                    ok = ~pd.isna(s_.to_numpy())  # None and NaN fall through to the next key
                    col[s_.index.to_numpy()[ok]] = s_.to_numpy()[ok]
            cols[c] = col
    except _NotPlain:
        return None
    # status as the Python walk maps it; error type from the status message when absent
    status = np.array([_OTLP_STATUS[x] if type(x) is int and 0 <= x <= 2 else _otlp_status(x) for x in code],
                      dtype=object)
    err = (status == "error") & (cols["error_type"] == None)  # noqa: E711
    if err.any():
        cols["error_type"][err] = [m_ if m_ else "_OTHER" for m_ in msg[err]]
    cols["status"] = status
    cols["service_name"] = svc_vals
    # lists, as the Python walk builds them (pandas infers the same column types)
    ordered = {c: list(cols[c]) for c in [*(c for c in CANONICAL_COLUMNS if c not in ("start_ts", "end_ts")),
                                          "service_name", "kind"]}
    if n_rec > 1:
        rows = rec if layout != "lines" else _jsonl_line_numbers(path, n_rec)[rec - 1]
    else:
        rows = np.arange(1, n + 1)
    return ordered, starts, ends, rows


def _otlp_parent(v):
    """``parentSpanId``: empty, or the all-zero id (OpenTelemetry's invalid SpanId, which some
    exporters write for roots), is no parent."""
    if not v or (isinstance(v, str) and not v.strip("0")):
        return None
    return v


def _otlp_status(code) -> str:
    status = _OTLP_STATUS.get(code, _OTLP_STATUS.get(str(code), "unset"))
    if isinstance(code, str) and code.isdigit():
        status = _OTLP_STATUS.get(int(code), "unset")
    return status


def _jsonl_line_numbers(path: Path, n_records: int) -> np.ndarray:
    """The line of each of the ``n_records`` records of a JSON-lines file (blank lines skipped,
    as :func:`_json_records` numbers them)."""
    if _line_count(path) == n_records:  # one record per line, no blank lines
        return np.arange(1, n_records + 1)
    with open(path, "rb") as fh:
        data = fh.read()
    lines = [i for i, line in enumerate(data.decode("utf-8-sig", errors="replace").splitlines(), start=1)
             if line.strip()]
    return np.asarray(lines[:n_records], dtype=np.int64)


# ----------------------------------------------------------------------------- Langfuse
def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_LF_OPERATION = {
    "GENERATION": "chat",
    "AGENT": "invoke_agent",
    "TOOL": "execute_tool",
    "EMBEDDING": "embeddings",
    "RETRIEVER": "retrieval",
}


def _meta_get(meta, keys):
    if not isinstance(meta, dict):
        return None
    v = _first(meta, keys)
    if v is None and isinstance(meta.get("attributes"), dict):
        v = _first(meta["attributes"], keys)
    return v


@_gc_paused()
def read_langfuse(path, *, time_unit: str = "auto") -> pd.DataFrame:
    """Langfuse observations (CSV / JSON / JSONL / Parquet) -> canonical spans.

    ``time_unit`` applies to ``latency`` and ``timeToFirstToken``: ``"s"``, ``"ms"`` or
    ``"auto"`` (ms when the median of latency/(endTime−startTime) and
    timeToFirstToken/(completionStartTime−startTime) over the spans having them is above 30;
    when no span has either pair but the fields are used, seconds with a ``UserWarning``).
    A latency whose end falls outside the timestamp range (``Infinity``, ``1e12``) leaves
    ``end_ts`` NA with ``_raw_end`` naming the latency (an ``unparseable_timestamp``).
    """
    path = Path(path)
    df, rows = _read_table(path)
    names = {c: _snake(c) if not c.startswith("_") else c for c in df.columns}
    seen: dict[str, str] = {}
    for c, sn in names.items():
        if sn in seen:  # e.g. traceId and trace_id: which one is meant cannot be told
            raise TraceFormatError(f"{path}: columns {seen[sn]!r} and {c!r} both name the Langfuse field "
                                   f"{sn!r}; keep one of them")
        seen[sn] = c
    df = _set_aside(df.rename(columns=names), path)
    n = len(df)

    def col(*names, nested=False):
        """The first of the named columns present (``nested``: JSON text decoded, as CSV exports
        write the usage / cost / metadata objects); all None when none is."""
        for nm in names:
            if nm in df.columns:
                return _decode_json(df[nm]) if nested else df[nm]
        return pd.Series([None] * n, index=df.index, dtype="object")

    start, bs = _parse_times(col("start_time"))
    end, be = _parse_times(col("end_time"))
    cst, _ = _parse_times(col("completion_start_time"))
    latency_raw = col("latency")
    latency = pd.to_numeric(latency_raw, errors="coerce")
    ttft_raw = pd.to_numeric(col("time_to_first_token"), errors="coerce")
    dur = pd.Series(seconds_between(start, end), index=start.index)  # no overflow (> 292 years: NaN)
    ttft_t = pd.Series(seconds_between(start, cst), index=start.index)
    if time_unit not in ("s", "ms", "auto"):
        raise ValueError("time_unit must be 's', 'ms' or 'auto'")
    # end from start + latency where the export gives only the latency
    fill_end = (
        end.isna() & start.notna() & latency.notna() & pd.Series([v is None for v in be], index=df.index)
    )
    fill_ttft = ttft_t.isna() & ttft_raw.notna()
    unit = time_unit
    if unit == "auto":
        # the unit from the spans giving a field and its timestamps both: latency against
        # endTime − startTime, timeToFirstToken against completionStartTime − startTime
        ok_lat = latency.notna() & dur.notna() & (dur > 0)
        ok_ttft = ttft_raw.notna() & ttft_t.notna() & (ttft_t > 0)
        pairs = [x for x in (latency[ok_lat] / dur[ok_lat], ttft_raw[ok_ttft] / ttft_t[ok_ttft]) if len(x)]
        if pairs:
            unit = "ms" if float(np.median(pd.concat(pairs))) > 30 else "s"
        else:
            unit = "s"
            if fill_end.any() or fill_ttft.any():
                import warnings

                warnings.warn(
                    f"{path}: latency / timeToFirstToken without endTime or completionStartTime to tell "
                    f"their unit; read as seconds (older Langfuse exports wrote milliseconds): pass "
                    f"time_unit='s' or 'ms' (dsge-agents ingest --time-unit s|ms) to say which",
                    UserWarning,
                    stacklevel=2,
                )
    fac = 1e-3 if unit == "ms" else 1.0
    if fill_end.any():
        end = end.copy()
        # in integer nanoseconds: a latency too large for a timestamp (1e12, Infinity) makes the
        # end unparseable (``_raw_end`` names the latency) instead of overflowing
        with np.errstate(invalid="ignore", over="ignore"):
            ns = latency[fill_end].to_numpy(float) * fac * 1e9
            start_ns = start[fill_end].astype("int64").to_numpy().astype(float)
            fits = np.isfinite(ns) & (np.abs(start_ns + ns) < 9.2e18)
        idx = np.flatnonzero(fill_end.to_numpy())
        if fits.any():
            end.iloc[idx[fits]] = start.iloc[idx[fits]] + pd.to_timedelta(
                np.round(ns[fits]).astype(np.int64), unit="ns"
            ).to_numpy()
        if not fits.all():
            be = list(be)
            for i in idx[~fits]:
                be[i] = f"startTime + latency {latency_raw.iloc[i]} ({unit})"
    ttft = ttft_t.where(ttft_t.notna(), ttft_raw * fac)

    usage, details, costd, meta = (col(c, nested=True) for c in ("usage", "usage_details", "cost_details", "metadata"))

    def from_dicts(series, keys):
        return _omap(lambda d: _first(d, keys) if isinstance(d, dict) else None, series, once_per="object")

    in_tok = from_dicts(details, ("input",)).combine_first(from_dicts(usage, ("input", "promptTokens")))
    in_tok = in_tok.combine_first(col("prompt_tokens", "input_usage"))
    out_tok = from_dicts(details, ("output",)).combine_first(
        from_dicts(usage, ("output", "completionTokens"))
    )
    out_tok = out_tok.combine_first(col("completion_tokens", "output_usage"))
    cached = from_dicts(
        details, ("cache_read_input_tokens", "input_cached_tokens", "input_cache_read", "cached_tokens")
    )
    cost = from_dicts(costd, ("total",)).combine_first(col("calculated_total_cost", "total_cost"))
    typ = col("type").astype("object")
    level = col("level").astype("object").fillna("DEFAULT").astype(str).str.upper()
    status = np.where(level == "ERROR", "error", "ok")
    msg = col("status_message")
    op = _omap(lambda m: _meta_get(m, ("gen_ai.operation.name",)), meta, once_per="object")
    op = op.combine_first(
        _omap(lambda t: _LF_OPERATION.get(str(t).upper(), str(t).lower()) if t is not None and t == t else None, typ,
              once_per="text")
    )
    out = {
        "trace_id": col("trace_id"),
        "span_id": col("id"),
        "parent_span_id": col("parent_observation_id"),
        "name": col("name"),
        "operation": op,
        "agent_name": _omap(lambda m: _meta_get(m, ("gen_ai.agent.name", "agent_name")), meta, once_per="object"),
        "provider": _omap(lambda m: _meta_get(m, ("gen_ai.provider.name", "gen_ai.system", "provider")), meta,
                          once_per="object"),
        "model": col("model", "provided_model_name"),
        "ttft_s": ttft,
        "input_tokens": in_tok,
        "output_tokens": out_tok,
        "cached_input_tokens": cached,
        "cost_usd": cost,
        "status": status,
        "error_type": msg.where(pd.Series(status, index=df.index) == "error", None),
    }
    res = pd.DataFrame({k: (v.values if isinstance(v, pd.Series) else v) for k, v in out.items()})
    res["start_ts"] = start.array
    res["end_ts"] = end.array
    extra = [
        c
        for c in df.columns
        if c
        not in {
            "id",
            "trace_id",
            "parent_observation_id",
            "name",
            "type",
            "model",
            "start_time",
            "end_time",
            "completion_start_time",
            "usage",
            "usage_details",
            "cost_details",
            "metadata",
            "level",
            "status_message",
            "latency",
            "time_to_first_token",
        }
    ]
    for c in extra:
        # a non-Langfuse column named like a canonical one (start_ts, status, ...) must not
        # replace the mapped value: kept as langfuse.<name>
        name = f"langfuse.{c}" if c in CANONICAL_COLUMNS else c
        if name != c and name in df.columns:
            raise TraceFormatError(f"{path}: column {c!r} is a canonical column name and {name!r}, "
                                   f"where it would be kept, exists too")
        res[name] = df[c].values
    res["_source"] = str(path)
    res["_row"] = rows
    _raw_cols(res, bs, be)
    return fill_agent_names(_finish(res))


# ----------------------------------------------------------------------------- Phoenix
_PHX_OPERATION = {
    "LLM": "chat",
    "AGENT": "invoke_agent",
    "TOOL": "execute_tool",
    "EMBEDDING": "embeddings",
    "RETRIEVER": "retrieval",
    "CHAIN": "chain",
    "RERANKER": "rerank",
    "GUARDRAIL": "guardrail",
    "EVALUATOR": "evaluator",
}


def _flatten(prefix: str, d, out: dict):
    if isinstance(d, dict):
        for k, v in d.items():
            _flatten(f"{prefix}.{k}", v, out)
    else:
        out[prefix] = d


@_gc_paused()
def read_phoenix(path) -> pd.DataFrame:
    """Phoenix span dataframe (Parquet / CSV) with OpenInference ``attributes.*`` -> canonical spans."""
    path = Path(path)
    df, rows = _read_table(path)
    df = df.reset_index(drop=("context.span_id" in df.columns or "span_id" in df.columns))
    if "attributes" in df.columns:  # nested attributes: flatten to attributes.x.y columns
        flat = [{} for _ in range(len(df))]
        for i, d in enumerate(df["attributes"].map(_maybe_json)):
            _flatten("attributes", d, flat[i])
        df = pd.concat([df.drop(columns=["attributes"]), pd.DataFrame(flat, index=df.index)], axis=1)
    n = len(df)

    def col(*names):
        for nm in names:
            if nm in df.columns:
                return df[nm]
        return pd.Series([None] * n, index=df.index, dtype="object")

    start, bs = _parse_times(col("start_time"))
    end, be = _parse_times(col("end_time"))
    kind = col("span_kind", "attributes.openinference.span.kind").astype("object")
    op = (
        col("attributes.gen_ai.operation.name")
        .astype("object")
        .combine_first(
            _omap(
                lambda k: (
                    _PHX_OPERATION.get(str(k).upper(), str(k).lower()) if k is not None and k == k else None
                ),
                kind,
                once_per="text",
            )
        )
    )
    status = (
        col("status_code")
        .astype("object")
        .fillna("UNSET")
        .astype(str)
        .str.upper()
        .map({"OK": "ok", "ERROR": "error", "UNSET": "unset"})
        .fillna("unset")
    )

    def first_token_ts(ev):
        if ev is None or (isinstance(ev, float) and np.isnan(ev)):
            return None
        for e in list(ev):
            e = dict(e) if not isinstance(e, dict) else e
            if "first token" in str(e.get("name", "")).lower():
                return e.get("timestamp")
        return None

    # events: a list of {name, timestamp, attributes} (JSON text in CSV / flat Parquet exports),
    # decoded once for both uses below; most spans have none ("[]")
    events = _decode_json(col("events"))
    ft, _ = _parse_times(_omap(first_token_ts, events, once_per="object").tolist())
    ttft = pd.Series(seconds_between(start.set_axis(df.index), ft.set_axis(df.index)), index=df.index)
    ttft = ttft.where(
        ttft.notna(), pd.to_numeric(col("attributes.llm.time_to_first_token_s"), errors="coerce")
    )

    def exc_type(ev):
        if ev is None or isinstance(ev, float):
            return None
        for e in list(ev):
            e = dict(e) if not isinstance(e, dict) else e
            if e.get("name") == "exception":
                at = _maybe_json(e.get("attributes")) or {}
                return at.get("exception.type") if isinstance(at, dict) else None
        return None

    err = col("attributes.error.type").astype("object").combine_first(_omap(exc_type, events, once_per="object"))
    err = err.combine_first(col("status_message").astype("object").replace("", None))
    err = err.where(status == "error", None)
    res = pd.DataFrame(
        {
            "trace_id": col("context.trace_id", "trace_id").values,
            "span_id": col("context.span_id", "span_id").values,
            "parent_span_id": col("parent_id", "parent_span_id").values,
            "name": col("name").values,
            "operation": op.values,
            "agent_name": col("attributes.agent.name", "attributes.gen_ai.agent.name").values,
            "provider": col("attributes.llm.provider")
            .astype("object")
            .combine_first(col("attributes.llm.system").astype("object"))
            .values,
            "model": col("attributes.llm.model_name").values,
            "ttft_s": ttft.values,
            "input_tokens": col("attributes.llm.token_count.prompt").values,
            "output_tokens": col("attributes.llm.token_count.completion").values,
            "cached_input_tokens": col("attributes.llm.token_count.prompt_details.cache_read").values,
            "cost_usd": col("attributes.llm.cost.total").values,
            "status": status.values,
            "error_type": err.values,
        }
    )
    res["start_ts"] = start.array
    res["end_ts"] = end.array
    res["_source"] = str(path)
    res["_row"] = rows
    _raw_cols(res, bs, be)
    return fill_agent_names(_finish(res))


# ----------------------------------------------------------------------------- LangSmith
_LS_OPERATION = {
    "llm": "chat",
    "tool": "execute_tool",
    "embedding": "embeddings",
    "retriever": "retrieval",
    "chain": "chain",
    "prompt": "prompt",
    "parser": "parser",
}


@_gc_paused()
def read_langsmith(path) -> pd.DataFrame:
    """LangSmith runs (JSON lines; also JSON arrays, CSV or Parquet of runs) -> canonical spans."""
    path = Path(path)
    df, rows = _read_table(path)
    n = len(df)

    def col(*names, nested=False):
        """The first of the named columns present (``nested``: JSON text decoded, as CSV exports
        write ``extra`` / ``metadata``); all None when none is."""
        for nm in names:
            if nm in df.columns:
                return _decode_json(df[nm]) if nested else df[nm]
        return pd.Series([None] * n, index=df.index, dtype="object")

    extra = col("extra", nested=True)
    meta = _omap(lambda e: e.get("metadata") if isinstance(e, dict) else None, extra, once_per="object")
    meta = meta.combine_first(col("metadata", nested=True))
    inv = _omap(lambda e: e.get("invocation_params") if isinstance(e, dict) else None, extra, once_per="object")
    start, bs = _parse_times(col("start_time"))
    end, be = _parse_times(col("end_time"))
    ftt, _ = _parse_times(col("first_token_time"))
    status = (
        col("status")
        .astype("object")
        .fillna("unset")
        .astype(str)
        .str.lower()
        .map({"success": "ok", "error": "error", "pending": "unset"})
        .fillna("unset")
    )
    err = col("error").astype("object")
    etype = _omap(lambda m: _meta_get(m, ("error.type", "error_type")), meta, once_per="object")
    parsed = _omap(
        lambda s: re.split(r"[(:\s]", s.strip(), maxsplit=1)[0] if isinstance(s, str) and s.strip() else None, err
    )
    etype = etype.combine_first(parsed)
    status = status.where(~(err.notna() & (err.astype(str).str.len() > 0)), "error")
    run_type = col("run_type").astype("object")
    op = _omap(lambda m: _meta_get(m, ("gen_ai.operation.name",)), meta, once_per="object").combine_first(
        _omap(lambda r: _LS_OPERATION.get(str(r).lower(), str(r).lower()) if r is not None and r == r else None,
              run_type, once_per="text")
    )
    pdet = col("prompt_token_details", nested=True)
    cached = _omap(lambda d: _first(d, ("cache_read", "cached_tokens")) if isinstance(d, dict) else None, pdet,
                   once_per="object")
    res = pd.DataFrame(
        {
            "trace_id": col("trace_id").values,
            "span_id": col("id").values,
            "parent_span_id": col("parent_run_id").values,
            "name": col("name").values,
            "operation": op.values,
            "agent_name": _omap(
                lambda m: _meta_get(m, ("gen_ai.agent.name", "agent_name", "lc_agent_name")), meta, once_per="object"
            ).values,
            "provider": _omap(lambda m: _meta_get(m, ("ls_provider", "gen_ai.provider.name")), meta, once_per="object").values,
            "model": _omap(lambda m: _meta_get(m, ("ls_model_name",)), meta, once_per="object")
            .combine_first(
                _omap(lambda d: _first(d, ("model", "model_name")) if isinstance(d, dict) else None, inv, once_per="object")
            )
            .values,
            "ttft_s": seconds_between(start, ftt),
            "input_tokens": col("prompt_tokens").values,
            "output_tokens": col("completion_tokens").values,
            "cached_input_tokens": cached.values,
            "cost_usd": col("total_cost").values,
            "status": status.values,
            "error_type": etype.where(status == "error", None).values,
        }
    )
    res["start_ts"] = start.array
    res["end_ts"] = end.array
    res["_source"] = str(path)
    res["_row"] = rows
    _raw_cols(res, bs, be)
    return fill_agent_names(_finish(res))


# ----------------------------------------------------------------------------- Azure
def _file_tag(path: Path) -> str:
    """8 hex digits naming a file: BLAKE2b of its absolute path, so ids built from it differ
    between files (also between ``day1/x.csv`` and ``day2/x.csv``) and repeat when the same file
    is read again; two of 100 files share a tag with probability ~1e-6 (birthday bound, 32 bits)."""
    import hashlib

    return hashlib.blake2b(str(path.resolve()).encode(), digest_size=4).hexdigest()


@_gc_paused()
def read_azure(path, *, agent_name: str | None = None, provider: str = "azure") -> pd.DataFrame:
    """Azure LLM inference trace (``TIMESTAMP, ContextTokens, GeneratedTokens``) -> arrival spans.

    Each row is one request: ``start_ts`` = TIMESTAMP (UTC), ``input_tokens`` =
    ContextTokens, ``output_tokens`` = GeneratedTokens; ``end_ts`` is NA (the trace has no
    completion times). ``trace_id = span_id`` = 16 hex digits: 8 from a hash of the file's absolute
    path (:func:`_file_tag`: day-partitioned copies of the same file name get different ids), 8 from
    the record number; ``agent_name``
    defaults to the file's kind (``conv`` / ``code``) or its stem. Other columns are kept (one
    named like a canonical column as ``azure.<name>``); ``_row`` is the CSV line number.
    """
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        df = _read_parquet(path)
        rows = np.arange(1, len(df) + 1)
    else:
        try:
            df = pd.read_csv(path, dtype={"TIMESTAMP": "object"})
        except UnicodeDecodeError:
            raise _not_utf8(path) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise TraceFormatError(f"{path}: cannot parse CSV: {exc}") from None
        rows = csv_row_numbers(path, len(df))  # line numbers (blank lines counted)
    df = _set_aside(df, path)
    missing = [c for c in ("TIMESTAMP", "ContextTokens", "GeneratedTokens") if c not in df.columns]
    if missing:
        raise TraceFormatError(f"{path}: not an Azure LLM trace, missing columns {missing}")
    if agent_name is None:
        m = re.search(r"_(conv|code)\b", path.stem)
        agent_name = m.group(1) if m else path.stem
    start, bs = _parse_times(df["TIMESTAMP"].tolist())
    ids = [f"{_file_tag(path)}{i:08x}" for i in range(len(df))]
    res = pd.DataFrame(
        {
            "trace_id": ids,
            "span_id": ids,
            "parent_span_id": None,
            "name": "llm_request",
            "operation": "chat",
            "agent_name": agent_name,
            "provider": provider,
            "model": None,
            "input_tokens": df["ContextTokens"].values,
            "output_tokens": df["GeneratedTokens"].values,
            "status": "unset",
        }
    )
    res["start_ts"] = start.array
    res["end_ts"] = pd.Series(pd.NaT, index=res.index, dtype="datetime64[ns, UTC]").array
    for c in df.columns:  # other columns kept; one named like a canonical column as azure.<name>
        if c in ("TIMESTAMP", "ContextTokens", "GeneratedTokens"):
            continue
        name = f"azure.{c}" if c in CANONICAL_COLUMNS else c
        if name != c and name in df.columns:
            raise TraceFormatError(f"{path}: column {c!r} is a canonical column name and {name!r}, "
                                   f"where it would be kept, exists too")
        res[name] = df[c].values
    res["_source"] = str(path)
    res["_row"] = rows
    res["_arrival_only"] = True
    _raw_cols(res, bs, [None] * len(res))
    out = _finish(res)
    out.attrs["arrivals_only"] = True
    return out


# ----------------------------------------------------------------------------- entry point
_READERS = {
    "canonical": read_canonical,
    "otlp": read_otlp_json,
    "langfuse": read_langfuse,
    "phoenix": read_phoenix,
    "langsmith": read_langsmith,
    "azure": read_azure,
}


#: the files a directory given to :func:`read_spans` / ``dsge-agents ingest`` stands for
TRACE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".json", ".jsonl", ".ndjson")


#: formats whose fields the readers map onto the canonical columns (a file of another format
#: gives rows without ids or times: :func:`_check_mapped`)
_EXPORT_FORMATS = ("otlp", "langfuse", "phoenix", "langsmith")


def _check_mapped(df: pd.DataFrame, path: Path, fmt: str) -> None:
    """A file read as ``fmt`` in which no row has a span id, or none a start time (parsed or
    not), is not a ``fmt`` export: a TraceFormatError naming the format detected from its
    fields, instead of rows of missing values."""
    if not len(df):
        return
    lacks = [what for what, empty in (
        ("span id", df["span_id"].isna().all()),
        ("start time", df["start_ts"].isna().all() and "_raw_start" not in df.columns),
    ) if empty]
    if not lacks:
        return
    try:
        hint = f"its fields look like {detect_format(path)!r}"
    except TraceFormatError:
        hint = "its fields match no known format"
    raise TraceFormatError(
        f"{path}: read as {fmt!r}, but no record has a {' or a '.join(lacks)}: not a {fmt} export "
        f"({hint}; format='auto' detects it)")


def trace_files(paths) -> list[Path]:
    """The trace files named by ``paths`` (a path or a list): files as given; a directory stands
    for the files with a :data:`TRACE_SUFFIXES` suffix beneath it, recursively and sorted (hidden
    files and folders skipped), as partitioned exports are laid out. A file named twice (also
    through its directory) is read once.

    Raises ``FileNotFoundError`` for a path that does not exist or a directory without trace
    files (naming it), and :class:`TraceFormatError` for a compressed trace file (``.gz``,
    ``.bz2``, ``.xz``, ``.zst``, ``.zip``: decompress it first) or a folder that cannot be listed.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    files: list[Path] = []
    for t in paths:
        p = Path(t)
        if not p.exists():
            raise FileNotFoundError(f"{t}: no such trace file")
        if not p.is_dir():
            files.append(p)
            continue
        found = []

        def unreadable(err):
            raise TraceFormatError(f"{err.filename}: cannot list this folder ({err.strerror})")

        for root, dirs, names in os.walk(p, onerror=unreadable):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for nm in names:
                if nm.startswith("."):
                    continue
                f = Path(root) / nm
                low = nm.lower()
                if any(low.endswith(s + z) for s in TRACE_SUFFIXES for z in _COMPRESSED):
                    how = f" (gunzip -k {f})" if low.endswith(".gz") else ""
                    raise TraceFormatError(f"{f}: a compressed trace file; decompress it first{how} -- "
                                           "the readers take plain files")
                if f.suffix.lower() in TRACE_SUFFIXES and f.is_file():
                    found.append(f)
        if not found:
            raise FileNotFoundError(f"{t}: a directory without trace files ({', '.join(TRACE_SUFFIXES)})")
        files += sorted(found)
    seen, out = set(), []
    for f in files:
        key = f.resolve()
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


#: compressed-file suffixes (a trace file inside one is reported, not skipped)
_COMPRESSED = (".gz", ".bz2", ".xz", ".zst", ".zip")
#: the magic numbers at the start of compressed files (gzip, bzip2, xz, zstd, zip)
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bzip2", b"\xfd7zXZ": "xz", b"\x28\xb5\x2f\xfd": "zstd",
          b"PK\x03\x04": "zip"}


def _check_not_compressed(path: Path) -> None:
    """A compressed file is a TraceFormatError saying so (else it failed as 'not UTF-8 text' or
    an unreadable Parquet footer)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError:
        return  # the reader names the problem
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            raise TraceFormatError(f"{path}: a {kind}-compressed file; decompress it first -- the "
                                   "readers take plain CSV / JSON / Parquet files")


def read_spans(
    paths, format: str = "auto", *, price_table=None, time_unit: str = "auto", agent_name: str | None = None
) -> pd.DataFrame:
    """Read one or more trace files into one canonical span table (not yet validated).

    Parameters
    ----------
    paths : path or list of paths; a directory stands for the trace files beneath it
        (:func:`trace_files`)
    format : ``"auto"`` (detect per file) or one of :data:`FORMATS`.
    price_table : optional prices filling missing ``cost_usd`` (see :func:`apply_price_table`).
    time_unit : Langfuse ``latency`` unit (``"auto"``, ``"s"``, ``"ms"``).
    agent_name : agent label for Azure arrival traces.

    Returns
    -------
    DataFrame with the canonical columns, extra columns, and ``_source`` / ``_row``
    bookkeeping; ``attrs["formats"]`` lists the format of each file and
    ``attrs["arrivals_only"]`` is True when every file is an arrival trace.
    """
    try:
        paths = trace_files(paths)
    except FileNotFoundError as exc:
        raise TraceFormatError(str(exc)) from None
    if not paths:
        raise TraceFormatError("read_spans: no trace files given")
    frames, fmts = [], []
    for p in paths:
        if format == "auto":
            fmt = detect_format(p)  # which also refuses compressed files
        else:
            _check_not_compressed(p)
            fmt = format
        if fmt not in _READERS:
            raise TraceFormatError(f"unknown trace format {fmt!r}; expected one of {', '.join(FORMATS)}")
        kw: dict[str, Any] = {}
        if fmt == "langfuse":
            kw["time_unit"] = time_unit
        if fmt == "azure" and agent_name is not None:
            kw["agent_name"] = agent_name
        got = _READERS[fmt](p, **kw)
        if fmt in _EXPORT_FORMATS:
            _check_mapped(got, p, fmt)
        frames.append(got)
        fmts.append(fmt)
    derived = np.concatenate([np.full(len(f), fmt != "canonical") for f, fmt in zip(frames, fmts)])
    frames = [f for f in frames if len(f.columns)]
    df = (
        pd.concat(frames, ignore_index=True, sort=False)
        if len(frames) > 1
        else frames[0].reset_index(drop=True)
    )
    if len(frames) > 1 and derived.any():
        # a trace split over several files (rotated / batched exports): a span whose
        # invoke_agent ancestor is in another file inherits its agent too (each reader
        # filled what its own file holds; canonical tables keep their agent_name as given)
        need = derived & df["agent_name"].isna().to_numpy()
        if need.any():
            df.loc[need, "agent_name"] = fill_agent_names(df).loc[need, "agent_name"]
    df = apply_price_table(df, price_table)
    df.attrs["formats"] = fmts
    df.attrs["arrivals_only"] = all(f == "azure" for f in fmts)
    return df
