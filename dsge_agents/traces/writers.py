"""Writers of the canonical span table into the formats the readers accept.

They exist for round-trip tests, for feeding simulated traces to other tools and
for examples. Each writer is the inverse of the matching reader in
:mod:`dsge_agents.traces.readers` on the canonical columns (timestamps at
microsecond resolution where the format stores ISO text).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from dsge_agents._fileio import atomic_path
from dsge_agents.traces.schema import CANONICAL_COLUMNS, RESERVED_COLUMNS

#: the file suffixes each writer writes (``otlp-jsonl``: ``write_otlp_json(jsonl=True)``); the
#: readers detect each of them as the format written (``dsge-agents simulate-traces`` checks ``-o``
#: against this table)
SUFFIXES = {
    "canonical": (".parquet", ".pq", ".csv", ".tsv"),
    "otlp": (".json", ".jsonl", ".ndjson"),
    "otlp-jsonl": (".jsonl", ".ndjson", ".json"),
    "langfuse": (".csv", ".jsonl", ".json", ".ndjson", ".parquet", ".pq"),
    "phoenix": (".parquet", ".pq"),
    "langsmith": (".jsonl", ".ndjson", ".json"),
}


def _check_suffix(path, fmt: str) -> Path:
    """``path`` as a Path when its suffix is one ``fmt`` writes, else a ValueError naming the file
    and those suffixes (a CSV text in a ``.tsv``, Parquet bytes in a ``.csv`` or a file without a
    suffix would be read back as another layout)."""
    path = Path(path)
    ok = SUFFIXES[fmt]
    if path.suffix.lower() not in ok:
        raise ValueError(f"{path}: the {fmt} writer writes {' / '.join(ok)} files, not "
                         f"{path.suffix or 'a file without a suffix'}")
    return path


def _check_new(path: Path, overwrite: bool) -> Path:
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _ns(ts: pd.Series) -> np.ndarray:
    """Times as int64 nanoseconds since 1970 UTC (naive times taken as UTC; NaT the smallest int64)."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    return ts.to_numpy("datetime64[ns]").view(np.int64)


def _iso(ts: pd.Series) -> list:
    """UTC ISO-8601 text with microseconds and a ``Z`` suffix (None for NaT); nanoseconds are
    floored to the microsecond, as ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` writes them (tested),
    by NumPy's vectorised ``datetime_as_string`` (strftime formats value by value). The floor
    is taken on the integer nanoseconds here: NumPy's ns -> µs cast wraps to the year 2262 in
    the last second above the smallest time (1677-09-21T00:12:43.145225Z)."""
    ns = _ns(ts)
    nat = ns == np.iinfo(np.int64).min
    us = np.floor_divide(np.where(nat, 0, ns), 1000).astype("datetime64[us]")
    text = np.char.add(np.datetime_as_string(us, unit="us"), "Z").astype(object)
    text[nat] = None
    return text.tolist()


def _seconds_between(start: pd.Series, end: pd.Series) -> np.ndarray:
    """``(end - start).dt.total_seconds()`` (NaN where either is missing), also for spans longer
    than 292 years, where the int64 nanosecond difference overflows: those rows are computed
    from the nanoseconds as Python integers (the others by pandas, as before)."""
    a, b = _ns(start), _ns(end)
    nat = np.iinfo(np.int64).min
    far = (a != nat) & (b != nat) & (np.abs(b.astype(np.float64) - a.astype(np.float64)) >= 9.2e18)
    keep = pd.Series(~far, index=start.index)
    out = (end.where(keep) - start.where(keep)).dt.total_seconds().to_numpy(dtype=np.float64, na_value=np.nan,
                                                                               copy=True)
    for i in np.flatnonzero(far):
        out[i] = (int(b[i]) - int(a[i])) / 1e9
    return out


def _first_token(spans: pd.DataFrame, path: Path) -> pd.Series:
    """``start_ts + ttft_s`` (the first-token time; NaT where either is missing or TTFT is not
    finite), or a ValueError naming the file and spans when that time is outside the range of
    nanosecond timestamps (1677-09-21 to 2262-04-11), where pandas' addition overflows."""
    start = spans["start_ts"]
    ttft = pd.to_numeric(spans["ttft_s"], errors="coerce").astype("float64").to_numpy()
    ns = _ns(start)
    lo, hi = np.iinfo(np.int64).min + 1, np.iinfo(np.int64).max  # the smallest int64 is NaT
    use = (ns != lo - 1) & np.isfinite(ttft)
    with np.errstate(invalid="ignore", over="ignore"):
        approx = ns.astype(np.float64) + ttft * 1e9
    near = np.flatnonzero(use & ~(np.abs(approx) < 9.2e18))  # decided exactly, in Python integers
    out = [i for i in near if not lo <= int(ns[i]) + round(float(ttft[i]) * 1e9) <= hi]
    if out:
        ids = spans["span_id"].astype("object").to_numpy()
        shown = ", ".join(f"row {i + 1} (span {ids[i]})" for i in out[:5])
        raise ValueError(f"{path}: start_ts + ttft_s of {len(out)} span(s) is outside the timestamp "
                         f"range 1677-09-21 .. 2262-04-11 (nanoseconds since 1970 in int64): {shown}"
                         f"{' ...' if len(out) > 5 else ''}; fix or drop their ttft_s")
    td = pd.to_timedelta(pd.Series(np.where(use, ttft, np.nan), index=spans.index), unit="s")
    return start + td


def _none(v):
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v


def _columns(df: pd.DataFrame, names) -> dict[str, list]:
    """The named columns as lists of Python scalars, None for missing values (NaN in an object
    column too; NumPy scalars converted; a column the table lacks is all None), column by column: ``tolist`` converts a typed column in
    one call (tested equal, types included, to :func:`_none` applied to every cell of the rows)."""
    out = {}
    for c in names:
        if c not in df.columns:  # an optional column the table lacks: all missing
            out[c] = [None] * len(df)
            continue
        s = df[c]
        if pd.api.types.is_object_dtype(s.dtype):
            out[c] = [_none(v) for v in s.tolist()]
            continue
        values = s.tolist()
        for i in np.flatnonzero(s.isna().to_numpy()):
            values[i] = None
        out[c] = values
    return out


def _json_texts(values) -> list:
    """``json.dumps`` of each value (dicts of scalars), once per distinct content."""
    memo: dict = {}
    out = []
    for v in values:
        # types in the key: 1, 1.0 and True are equal as dict keys but not as JSON
        key = tuple((k, type(x), x) for k, x in v.items()) if isinstance(v, dict) else (type(v), v)
        try:
            t = memo.get(key)
        except TypeError:  # unhashable content
            out.append(json.dumps(v))
            continue
        if t is None:
            t = memo[key] = json.dumps(v)
        out.append(t)
    return out


def write_canonical(spans: pd.DataFrame, path, *, overwrite: bool = False) -> Path:
    """Canonical table as Parquet (``.parquet`` / ``.pq``), CSV (``.csv``; ISO UTC timestamps) or
    TSV (``.tsv``, tab-separated, refused when a value holds a tab, line break or quote); another
    suffix is a ValueError (see :data:`SUFFIXES`).

    Every column is written but the readers' bookkeeping (``_source``, ``_row``, ``_raw_start``,
    ``_raw_end``, ``_arrival_only``, ``_problems``); user columns starting with ``_`` are kept.
    In Parquet, an extra object column whose values Arrow cannot store as one type (``1`` and
    ``"prod"`` in one JSON field) is written as text (missing values stay missing), as the
    validator's quarantine file does; other columns keep their types.
    """
    path = _check_suffix(path, "canonical")
    path = _check_new(path, overwrite)
    df = spans[[c for c in spans.columns if c not in RESERVED_COLUMNS]]  # every other column is written
    suf = path.suffix.lower()
    if suf in (".parquet", ".pq"):
        with atomic_path(path) as tmp:
            _write_parquet(df, tmp)
    else:
        out = df.copy()
        for c in ("start_ts", "end_ts"):
            out[c] = pd.Series(_iso(df[c]), index=df.index, dtype="object")
        if suf == ".tsv":
            _check_tsv(out, path)
        with atomic_path(path) as tmp:
            _write_csv(out, tmp, sep="\t" if suf == ".tsv" else ",")
    return path


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    """``df.to_parquet(path, index=False)``; object columns Arrow cannot convert to one type
    are written as text (``str`` of each value, None for missing ones)."""
    import pyarrow as pa

    mixed = {}
    for c in df.columns:
        if df[c].dtype == object:
            try:
                pa.array(df[c], from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                mixed[c] = df[c].map(lambda v: None if _none(v) is None else str(v)).astype("object")
    (df.assign(**mixed) if mixed else df).to_parquet(path, index=False)


def _check_tsv(df: pd.DataFrame, path: Path) -> None:
    """A TSV file is written plain (no quoting, which TSV readers do not agree on): a column
    name or text value holding a tab, line break or double quote is a ValueError naming the
    column and rows."""
    bad_name = [c for c in df.columns if any(ch in str(c) for ch in '\t\n\r"')]
    if bad_name:
        raise ValueError(f"{path}: column name(s) {bad_name} hold a tab, line break or quote, which a "
                         "plain TSV file cannot; write .csv or .parquet")
    for c in df.columns:
        s = df[c]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s.dtype)):
            continue
        text = s.map(lambda v: v if isinstance(v, str) else None).astype("object")
        hit = text.str.contains('[\t\n\r"]', regex=True, na=False).to_numpy(dtype=bool)
        if hit.any():
            rows = np.flatnonzero(hit)
            raise ValueError(f"{path}: column {c!r}, row(s) {', '.join(str(i + 1) for i in rows[:5])}"
                             f"{' ...' if len(rows) > 5 else ''} hold a tab, line break or quote, which a "
                             "plain TSV file cannot; write .csv or .parquet")


def _write_csv(df: pd.DataFrame, path: Path, sep: str = ",") -> None:
    """``df.to_csv(path, index=False, sep=sep)`` -- by Arrow's CSV writer (about 10x faster) when every
    column is text or a number, otherwise by pandas (Arrow spells booleans, times and nested
    values differently). Values are quoted only where they must be (a comma, quote or line
    break somewhere in the table: then Arrow quotes every text value); empty cells are
    missing values either way; floats are written in the shortest text that reads back to
    the same number (Arrow writes 0 where pandas writes 0.0)."""
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        table = pa.Table.from_pandas(df, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        table = None
    plain = table is not None and all(
        pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
        or pa.types.is_floating(t) or pa.types.is_null(t) for t in table.schema.types
    )
    if not plain:
        df.to_csv(path, index=False, sep=sep)
        return
    import csv
    import io

    header = io.StringIO()
    csv.writer(header, lineterminator="\n", delimiter=sep).writerow(df.columns)  # quoted only where needed
    for style in ("none", "needed"):  # unquoted values, unless one needs quotes (Arrow refuses then)
        try:
            with open(path, "wb") as fh:
                fh.write(header.getvalue().encode("utf-8"))
                pcsv.write_csv(table, fh, write_options=pcsv.WriteOptions(
                    include_header=False, quoting_style=style, delimiter=sep))
            return
        except pa.ArrowInvalid:
            if style == "needed":
                raise


# ----------------------------------------------------------------------------- OTLP
def _otlp_any(v):
    if isinstance(v, bool):
        return {"boolValue": v}
    if isinstance(v, (int, np.integer)):
        return {"intValue": str(int(v))}  # protobuf JSON mapping: int64 as string
    if isinstance(v, (float, np.floating)):
        return {"doubleValue": float(v)}
    return {"stringValue": str(v)}


def _json_str(v) -> str:
    """``json.dumps`` of a value that is usually a plain ASCII string (ids, names)."""
    if isinstance(v, str) and v.isascii() and (v.isalnum() or v.replace("_", "").replace(" ", "").isalnum()):
        return f'"{v}"'
    return json.dumps(v)


def write_otlp_json(
    spans: pd.DataFrame,
    path,
    *,
    jsonl: bool = False,
    service_name: str = "dsge_agents",
    overwrite: bool = False,
) -> Path:
    """OTLP/JSON ``ExportTraceServiceRequest`` (one document, or one request per trace as JSON lines).

    GenAI attributes use the current names (``gen_ai.provider.name``,
    ``gen_ai.usage.input_tokens``, ``gen_ai.usage.cache_read.input_tokens``...); TTFT and
    cost, which have no standard span attribute yet, go to
    ``gen_ai.response.time_to_first_chunk`` (s) and ``gen_ai.usage.cost`` (USD).

    An error span's ``error_type`` is its ``error.type`` attribute and status message; without
    one, neither is written (the reader then gives OpenTelemetry's fallback type ``_OTHER``). A
    span without a name is written without ``name``. Suffixes ``.json`` / ``.jsonl`` /
    ``.ndjson``; a time at or before 1970-01-01T00:00:00Z is a ValueError naming the spans (OTLP
    times are unsigned nanoseconds since 1970, 0 standing for unset).
    """
    path = _check_suffix(path, "otlp-jsonl" if jsonl else "otlp")
    early = [(i, c) for c in ("start_ts", "end_ts") for i in np.flatnonzero(
        spans[c].notna().to_numpy() & (_ns(spans[c]) <= 0))]
    if early:
        ids = spans["span_id"].astype("object").to_numpy()
        shown = ", ".join(f"row {i + 1} (span {ids[i]}) {c}" for i, c in early[:5])
        raise ValueError(f"{path}: {len(early)} time(s) at or before 1970-01-01T00:00:00Z, which OTLP's "
                         f"unsigned startTimeUnixNano / endTimeUnixNano cannot hold (0 means unset): {shown}"
                         f"{' ...' if len(early) > 5 else ''}")
    path = _check_new(path, overwrite)
    attr_map = [
        ("operation", "gen_ai.operation.name"),
        ("provider", "gen_ai.provider.name"),
        ("model", "gen_ai.request.model"),
        ("agent_name", "gen_ai.agent.name"),
        ("input_tokens", "gen_ai.usage.input_tokens"),
        ("output_tokens", "gen_ai.usage.output_tokens"),
        ("cached_input_tokens", "gen_ai.usage.cache_read.input_tokens"),
        ("ttft_s", "gen_ai.response.time_to_first_chunk"),
        ("cost_usd", "gen_ai.usage.cost"),
        ("error_type", "error.type"),
    ]
    start, end = _ns(spans["start_ts"]), _ns(spans["end_ts"])
    s_na, e_na = spans["start_ts"].isna().to_numpy(), spans["end_ts"].isna().to_numpy()
    code = {"unset": 0, "ok": 1, "error": 2}
    # column by column: Python values (None for missing); each span's JSON text is assembled from
    # pieces exactly as json.dumps would write the span object (same key order and separators)
    col = _columns(spans, [c for c in CANONICAL_COLUMNS if c not in ("start_ts", "end_ts")])
    attr_texts = []
    for c, k in attr_map:
        memo: dict = {}
        key = f'{{"key": {_json_str(k)}, "value": '
        texts = []
        for v in col[c]:
            if v is None:
                texts.append(None)
                continue
            t = memo.get((type(v), v))
            if t is None:
                t = memo[(type(v), v)] = key + json.dumps(_otlp_any(v)) + "}"
            texts.append(t)
        attr_texts.append(texts)
    span_texts, trace_of = [], col["trace_id"]
    for i in range(len(spans)):
        status = col["status"][i]
        attrs = ", ".join(t[i] for t in attr_texts if t[i] is not None)
        message = col["error_type"][i] if status == "error" else None
        name = col["name"][i]
        text = (f'{{"traceId": {_json_str(trace_of[i])}, "spanId": {_json_str(col["span_id"][i])}, '
                + ("" if name is None else f'"name": {_json_str(name)}, ')
                + f'"kind": {3 if col["operation"][i] == "chat" else 1}, '
                f'"attributes": [{attrs}], "status": {{"code": {code.get(status, 0)}'
                + ("" if message is None else f', "message": {_json_str(message)}') + "}")
        if col["parent_span_id"][i] is not None:
            text += f', "parentSpanId": {_json_str(col["parent_span_id"][i])}'
        if not s_na[i]:
            text += f', "startTimeUnixNano": "{int(start[i])}"'
        if not e_na[i]:  # both encodings occur in the wild
            text += f', "endTimeUnixNano": {int(end[i])}' if i % 2 else f', "endTimeUnixNano": "{int(end[i])}"'
        span_texts.append(text + "}")

    request = json.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service_name}}]},
        "scopeSpans": [{"scope": {"name": "dsge_agents.traces"}, "spans": []}]}]})
    head, tail = request.split('"spans": []')
    head += '"spans": ['
    tail = "]" + tail
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        if jsonl:  # one request per trace, traces in order of first appearance
            groups: dict = {}
            for t, text in zip(trace_of, span_texts):
                groups.setdefault(t, []).append(text)
            for texts in groups.values():
                fh.write(head + ", ".join(texts) + tail + "\n")
        else:
            fh.write(head + ", ".join(span_texts) + tail)
    return path


# ----------------------------------------------------------------------------- Langfuse
_LF_TYPE = {
    "chat": "GENERATION",
    "invoke_agent": "AGENT",
    "execute_tool": "TOOL",
    "embeddings": "EMBEDDING",
    "retrieval": "RETRIEVER",
}


def write_langfuse(spans: pd.DataFrame, path, *, time_unit: str = "s", overwrite: bool = False) -> Path:
    """Langfuse observation export (camelCase API fields) as CSV, JSONL or Parquet (by extension).

    ``latency`` and ``timeToFirstToken`` are written in ``time_unit`` (``"ms"`` mimics
    older exports). Agent, provider and operation go to ``metadata`` under their
    GenAI names; nested fields are JSON text in CSV and Parquet. Suffixes ``.csv``, ``.json`` /
    ``.jsonl`` / ``.ndjson`` (JSON lines) and ``.parquet`` / ``.pq``.
    """
    path = _check_suffix(path, "langfuse")
    path = _check_new(path, overwrite)
    fac = 1000.0 if time_unit == "ms" else 1.0
    c = _columns(spans, [c for c in CANONICAL_COLUMNS if c not in ("start_ts", "end_ts")])
    dur = _seconds_between(spans["start_ts"], spans["end_ts"])

    def some(pairs):  # the object of the pairs whose value is present
        return {k: v for k, v in pairs if v is not None}

    meta_of: dict = {}  # one metadata object per (agent, provider, operation); types in the key
    metadata = []
    for a, p, o in zip(c["agent_name"], c["provider"], c["operation"]):
        key = (type(a), a, type(p), p, type(o), o)
        m = meta_of.get(key)
        if m is None:
            m = meta_of[key] = some((("gen_ai.agent.name", a), ("gen_ai.provider.name", p),
                                     ("gen_ai.operation.name", o)))
        metadata.append(m)
    # the fields in the order of a Langfuse observation, column by column
    fields = {
        "id": c["span_id"],
        "traceId": c["trace_id"],
        "parentObservationId": c["parent_span_id"],
        "type": [_LF_TYPE.get(o, "SPAN") for o in c["operation"]],
        "name": c["name"],
        "startTime": _iso(spans["start_ts"]),
        "endTime": _iso(spans["end_ts"]),
        "completionStartTime": _iso(_first_token(spans, path)),
        "model": c["model"],
        "level": ["ERROR" if s == "error" else "DEFAULT" for s in c["status"]],
        "statusMessage": [e if s == "error" else None for s, e in zip(c["status"], c["error_type"])],
        "usageDetails": [some((("input", i), ("output", o), ("cache_read_input_tokens", k)))
                         for i, o, k in zip(c["input_tokens"], c["output_tokens"], c["cached_input_tokens"])],
        "costDetails": [{"total": x} if x is not None else {} for x in c["cost_usd"]],
        "latency": [None if np.isnan(d) else d * fac for d in dur],
        "timeToFirstToken": [None if t is None else t * fac for t in c["ttft_s"]],
        "metadata": metadata,
    }
    suf = path.suffix.lower()
    if suf in (".jsonl", ".json", ".ndjson"):
        keys = list(fields)
        with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            for values in zip(*fields.values()):
                fh.write(json.dumps(dict(zip(keys, values))) + "\n")
    else:
        for k in ("usageDetails", "costDetails", "metadata"):
            fields[k] = _json_texts(fields[k])
        df = pd.DataFrame(fields)
        with atomic_path(path) as tmp:
            if suf in (".parquet", ".pq"):
                df.to_parquet(tmp, index=False)
            else:
                _write_csv(df, tmp)
    return path


# ----------------------------------------------------------------------------- Phoenix
_PHX_KIND = {
    "chat": "LLM",
    "invoke_agent": "AGENT",
    "execute_tool": "TOOL",
    "embeddings": "EMBEDDING",
    "retrieval": "RETRIEVER",
}


def write_phoenix(spans: pd.DataFrame, path, *, overwrite: bool = False) -> Path:
    """Phoenix span dataframe layout (OpenInference ``attributes.*`` columns) as Parquet.

    TTFT is a ``"First Token Stream Event"`` in ``events`` (ISO timestamp). Suffixes
    ``.parquet`` / ``.pq``.
    """
    path = _check_suffix(path, "phoenix")
    path = _check_new(path, overwrite)
    s = spans
    first_tok = _iso(_first_token(s, path))
    events = [
        [{"name": "First Token Stream Event", "timestamp": t}] if t is not None else [] for t in first_tok
    ]
    op = s["operation"]
    df = pd.DataFrame(
        {
            "name": s["name"].values,
            "span_kind": op.map(
                lambda o: _PHX_KIND.get(o, "CHAIN") if isinstance(o, str) else "UNKNOWN"
            ).values,
            "parent_id": s["parent_span_id"].values,
            "start_time": s["start_ts"].array,
            "end_time": s["end_ts"].array,
            "status_code": s["status"].map({"ok": "OK", "error": "ERROR"}).fillna("UNSET").values,
            "status_message": s["error_type"].where(s["status"] == "error", "").fillna("").values,
            "events": pd.Series([json.dumps(e) for e in events], dtype="object").values,
            "context.span_id": s["span_id"].values,
            "context.trace_id": s["trace_id"].values,
            "attributes.openinference.span.kind": op.map(
                lambda o: _PHX_KIND.get(o, "CHAIN") if isinstance(o, str) else None
            ).values,
            "attributes.gen_ai.operation.name": op.values,
            "attributes.agent.name": s["agent_name"].values,
            "attributes.llm.provider": s["provider"].values,
            "attributes.llm.model_name": s["model"].values,
            "attributes.llm.token_count.prompt": s["input_tokens"].values,
            "attributes.llm.token_count.completion": s["output_tokens"].values,
            "attributes.llm.token_count.prompt_details.cache_read": s["cached_input_tokens"].values,
            "attributes.llm.cost.total": s["cost_usd"].values,
            "attributes.error.type": s["error_type"].values,
        }
    )
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False)
    return path


# ----------------------------------------------------------------------------- LangSmith
_LS_TYPE = {"chat": "llm", "execute_tool": "tool", "embeddings": "embedding", "retrieval": "retriever"}


def write_langsmith(spans: pd.DataFrame, path, *, overwrite: bool = False) -> Path:
    """LangSmith runs as JSON lines.

    Fields: ``run_type``, ``parent_run_id``, ``first_token_time``, ``extra.metadata``. An error
    span's ``error_type`` goes to ``extra.metadata["error.type"]`` (which the reader prefers to
    the first word of ``error``) and is the ``error`` message; an error span without one has
    ``status: "error"`` and no ``error`` (a message would be read as a type). Suffixes
    ``.jsonl`` / ``.ndjson`` / ``.json`` (JSON lines).
    """
    path = _check_suffix(path, "langsmith")
    path = _check_new(path, overwrite)
    cols = _columns(spans, [c for c in CANONICAL_COLUMNS if c not in ("start_ts", "end_ts")])
    st, en = _iso(spans["start_ts"]), _iso(spans["end_ts"])
    ftt = _iso(_first_token(spans, path))
    names = list(cols)
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        for i, values in enumerate(zip(*cols.values())):
            r = dict(zip(names, values))
            meta = {
                k: r[c]
                for c, k in (
                    ("agent_name", "gen_ai.agent.name"),
                    ("provider", "ls_provider"),
                    ("model", "ls_model_name"),
                    ("operation", "gen_ai.operation.name"),
                )
                if r[c] is not None
            }
            failed = r["status"] == "error"
            if failed and r["error_type"] is not None:
                meta["error.type"] = r["error_type"]
            tot = (
                None
                if r["input_tokens"] is None and r["output_tokens"] is None
                else (r["input_tokens"] or 0) + (r["output_tokens"] or 0)
            )
            run = {
                "id": r["span_id"],
                "trace_id": r["trace_id"],
                "parent_run_id": r["parent_span_id"],
                "name": r["name"],
                "run_type": _LS_TYPE.get(r["operation"], "chain"),
                "start_time": st[i],
                "end_time": en[i],
                "status": {"ok": "success", "error": "error"}.get(r["status"], "pending"),
                "error": r["error_type"] if failed else None,
                "prompt_tokens": r["input_tokens"],
                "completion_tokens": r["output_tokens"],
                "total_tokens": tot,
                "total_cost": r["cost_usd"],
                "first_token_time": ftt[i],
                "extra": {"metadata": meta},
            }
            if r["cached_input_tokens"] is not None:
                run["prompt_token_details"] = {"cache_read": r["cached_input_tokens"]}
            fh.write(json.dumps(run) + "\n")
    return path
