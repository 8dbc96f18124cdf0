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

from dsge_agents.traces.schema import CANONICAL_COLUMNS


def _check_new(path: Path, overwrite: bool) -> Path:
    path = Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _iso(ts: pd.Series) -> list:
    """UTC ISO-8601 text with microseconds and a ``Z`` suffix (None for NaT); nanoseconds are
    floored to the microsecond, as ``strftime("%Y-%m-%dT%H:%M:%S.%fZ")`` writes them (tested),
    by NumPy's vectorised ``datetime_as_string`` (strftime formats value by value)."""
    if isinstance(ts.dtype, pd.DatetimeTZDtype):
        ts = ts.dt.tz_convert("UTC").dt.tz_localize(None)
    us = ts.to_numpy("datetime64[ns]").astype("datetime64[us]")
    text = np.char.add(np.datetime_as_string(us, unit="us"), "Z").astype(object)
    text[np.isnat(us)] = None
    return text.tolist()


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
    """Canonical table as Parquet (``.parquet``) or CSV (anything else; ISO UTC timestamps)."""
    path = _check_new(path, overwrite)
    df = spans[[c for c in spans.columns if not c.startswith("_")]]
    if path.suffix.lower() in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        out = df.copy()
        for c in ("start_ts", "end_ts"):
            out[c] = pd.Series(_iso(df[c]), index=df.index, dtype="object")
        _write_csv(out, path)
    return path


def _write_csv(df: pd.DataFrame, path: Path) -> None:
    """``df.to_csv(path, index=False)`` -- by Arrow's CSV writer (about 10x faster) when every
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
        df.to_csv(path, index=False)
        return
    import csv
    import io

    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow(df.columns)  # quoted only where needed
    for style in ("none", "needed"):  # unquoted values, unless one needs quotes (Arrow refuses then)
        try:
            with open(path, "wb") as fh:
                fh.write(header.getvalue().encode("utf-8"))
                pcsv.write_csv(table, fh, write_options=pcsv.WriteOptions(include_header=False,
                                                                          quoting_style=style))
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
    """
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
    start = (
        spans["start_ts"]
        .dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .to_numpy("datetime64[ns]")
        .astype(np.int64)
    )
    end = (
        spans["end_ts"].dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    )
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
        text = (f'{{"traceId": {_json_str(trace_of[i])}, "spanId": {_json_str(col["span_id"][i])}, '
                f'"name": {_json_str(col["name"][i] or "")}, "kind": {3 if col["operation"][i] == "chat" else 1}, '
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
    with open(path, "w", encoding="utf-8") as fh:
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
    GenAI names; nested fields are JSON text in CSV and Parquet.
    """
    path = _check_new(path, overwrite)
    fac = 1000.0 if time_unit == "ms" else 1.0
    c = _columns(spans, [c for c in CANONICAL_COLUMNS if c not in ("start_ts", "end_ts")])
    dur = (spans["end_ts"] - spans["start_ts"]).dt.total_seconds().to_numpy()

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
        "completionStartTime": _iso(spans["start_ts"] + pd.to_timedelta(spans["ttft_s"], unit="s")),
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
        with open(path, "w", encoding="utf-8") as fh:
            for values in zip(*fields.values()):
                fh.write(json.dumps(dict(zip(keys, values))) + "\n")
    else:
        for k in ("usageDetails", "costDetails", "metadata"):
            fields[k] = _json_texts(fields[k])
        df = pd.DataFrame(fields)
        if suf in (".parquet", ".pq"):
            df.to_parquet(path, index=False)
        else:
            _write_csv(df, path)
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

    TTFT is a ``"First Token Stream Event"`` in ``events`` (ISO timestamp).
    """
    path = _check_new(path, overwrite)
    s = spans
    first_tok = _iso(s["start_ts"] + pd.to_timedelta(s["ttft_s"], unit="s"))
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
    df.to_parquet(path, index=False)
    return path


# ----------------------------------------------------------------------------- LangSmith
_LS_TYPE = {"chat": "llm", "execute_tool": "tool", "embeddings": "embedding", "retrieval": "retriever"}


def write_langsmith(spans: pd.DataFrame, path, *, overwrite: bool = False) -> Path:
    """LangSmith runs as JSON lines.

    Fields: ``run_type``, ``parent_run_id``, ``first_token_time``, ``extra.metadata``.
    """
    path = _check_new(path, overwrite)
    cols = _columns(spans, [c for c in CANONICAL_COLUMNS if c not in ("start_ts", "end_ts")])
    st, en = _iso(spans["start_ts"]), _iso(spans["end_ts"])
    ftt = _iso(spans["start_ts"] + pd.to_timedelta(spans["ttft_s"], unit="s"))
    names = list(cols)
    with open(path, "w", encoding="utf-8") as fh:
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
                "error": (r["error_type"] or "error") if r["status"] == "error" else None,
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
