"""Validated ingest of canonical span files without loading them into pandas: stage,
validate in the engine, aggregate.

:func:`ingest_files` is the library form of ``dsge-agents ingest`` for canonical span tables
(CSV / TSV / Parquet with the canonical column names, DESIGN §6). The pandas validator
(:mod:`dsge_agents.traces.validate`) holds the whole table as Python objects (about 1 KB per
span); here staging holds one chunk at a time, and DuckDB holds hash tables of the span and
trace ids (for duplicates, orphans and request rows), which ``memory_limit`` caps by spilling:

1. **Stage.** Parquet files whose columns already have the canonical types are read where they
   are. Every other canonical file (CSV/TSV, Parquet with timestamps stored as text or numbers)
   is read chunk by chunk through the readers' own coercion (:func:`readers.canonical_chunks`:
   the same parsing of timestamps, numbers and status spellings as ``read_spans``, and the
   price table when given) and written to a staging Parquet file in a temporary folder, with
   the readers' bookkeeping columns: ``_row`` (the line / row number in the original file) and
   ``_raw_start`` / ``_raw_end`` (timestamp text that did not parse).
2. **Validate** all files together in DuckDB (:func:`validate_sql.validate_files` with
   ``sources=``): duplicates and orphan parents across files, the pandas validator's report,
   error message and quarantine rows, naming the original files and lines.
3. **Aggregate** the files leaving the rejected rows out (``aggregate(exclude=)``).

Inputs this cannot take (other formats, files with columns named like the bookkeeping ones)
are reported by :func:`engine_plan` returning ``None``; the CLI then uses the pandas path.
"""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dsge_agents.traces.readers import TraceFormatError, trace_files
from dsge_agents.traces.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS, RESERVED_COLUMNS, arrow_type

__all__ = ["engine_plan", "stage_file", "ingest_files", "CHUNK_ROWS"]

#: rows per chunk when staging (≈ 250 MB of pandas objects for a wide CSV)
CHUNK_ROWS = 200_000
_STAGE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")
_BOOKKEEPING = RESERVED_COLUMNS + ("_src_file", "_frn", "_fidx", "file_row_number", "file_index")


@dataclass(frozen=True)
class Plan:
    """How each input goes through the engine: ``direct`` files are read where they are,
    ``staged`` ones are converted chunk by chunk first."""

    direct: list[str]
    staged: list[str]


def _route(p: Path, format: str, price_table) -> str:
    """``"direct"``, ``"staged"``, or why the file needs the pandas path."""
    from dsge_agents.traces.readers import _columns_of, detect_format
    from dsge_agents.traces.validate_sql import engine_can_validate

    if not p.is_file():
        return f"{p}: no such file"
    if p.suffix.lower() not in _STAGE_SUFFIXES:
        return f"{p}: not a CSV/TSV/Parquet file"
    try:
        fmt = detect_format(p) if format == "auto" else format
        cols = _columns_of(p)
    except Exception as exc:  # unreadable or unrecognised: the readers' own message
        return str(exc)
    if fmt != "canonical" or cols is None:
        return f"{p}: format {fmt!r}, not a canonical span table"
    clash = sorted(set(cols) & set(_BOOKKEEPING))
    if clash:
        return f"{p}: has columns named like the readers' bookkeeping ({', '.join(clash)})"
    return "direct" if price_table is None and engine_can_validate([p]) else "staged"


def engine_plan(paths, format: str = "auto", price_table=None, *, explain: bool = False) -> Plan | None:
    """Which inputs the engine path takes directly and which it stages; ``None`` when some
    input needs the pandas path (not a canonical CSV/TSV/Parquet table, or a column named like
    the bookkeeping columns) -- or, with ``explain=True``, a
    :class:`~dsge_agents.traces.readers.TraceFormatError` saying why. With a price table every
    file is staged (the prices are applied while staging)."""
    direct, staged = [], []
    for p in paths:
        route = _route(Path(p), format, price_table)
        if route == "direct":
            direct.append(str(p))
        elif route == "staged":
            staged.append(str(p))
        elif explain:
            raise TraceFormatError(f"{route} (ingest_files takes canonical CSV/TSV/Parquet span tables; "
                                   "read other inputs with read_spans and validate them)")
        else:
            return None
    return Plan(direct, staged)


def _stage_schema(extra: list[tuple[str, object]]):
    import pyarrow as pa

    fields = [pa.field(c, arrow_type(c)) for c in CANONICAL_COLUMNS]
    fields += [pa.field(n, t) for n, t in extra]
    fields += [pa.field("_row", pa.int64()), pa.field("_raw_start", pa.string()), pa.field("_raw_end", pa.string())]
    return pa.schema(fields)


def _writer(out: Path, schema):
    """Parquet writer for a staging file: dictionary encoding only for the text columns other than
    ids (names, agents, models, status: few distinct values, smaller and cheap). Ids are unique,
    and for numbers and times the dictionary attempt is most of the write: measured on 2 M staged
    CSV spans, 2.6 s with dictionaries on every column but the ids, 1.15 s like this (same size)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ids = {"trace_id", "span_id", "parent_span_id", "_raw_start", "_raw_end"}
    dict_cols = [f.name for f in schema if f.name not in ids and pa.types.is_string(f.type)]
    return pq.ParquetWriter(out, schema, compression="snappy", use_dictionary=dict_cols)


def stage_file(path, out, *, price_table=None, chunk_rows: int = CHUNK_ROWS, bar=None) -> dict:
    """Convert one canonical CSV/TSV/Parquet file to a staging Parquet file ``out`` (canonical
    types, extra columns kept — as text for CSV, as stored for Parquet — plus ``_row``,
    ``_raw_start``, ``_raw_end``), one chunk at a time.

    Returns ``{"rows": n, "missing": [required columns the file lacks]}``. ``bar``: a tqdm bar
    advanced by the rows staged.
    """
    import pyarrow as pa

    from dsge_agents.traces.readers import _columns_of, apply_price_table, canonical_chunks

    path, out = Path(path), Path(out)
    cols = _columns_of(path) or []
    rows, writer, schema, extra_names = 0, None, None, []
    # the Parquet encoding of one chunk (Arrow, without the GIL) overlaps the parsing of the next
    # (pandas, with it); at most one chunk waits to be written
    pool, pending = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dsge-agents-stage"), None
    try:
        for chunk, arrow in canonical_chunks(path, chunk_rows, arrow=price_table is None):
            if writer is None:  # the extra columns the reader keeps, typed as stored (Parquet) or text
                names = chunk.column_names if isinstance(chunk, pa.Table) else list(chunk.columns)
                extra_names = [c for c in names if c not in CANONICAL_COLUMNS and c not in _BOOKKEEPING]
                extra = [(c, arrow.schema.field(c).type if arrow is not None else pa.string()) for c in extra_names]
                schema = _stage_schema(extra)
                writer = _writer(out, schema)
            if isinstance(chunk, pa.Table):  # already canonical (text chunk on Arrow's fast path)
                table = chunk.select(schema.names).cast(schema)
            else:
                table = _stage_table(apply_price_table(chunk, price_table), arrow, schema, extra_names)
            if pending is not None:
                pending.result()
            pending = pool.submit(writer.write_table, table)
            rows += table.num_rows
            if bar is not None:
                bar.update(table.num_rows)
        if pending is not None:
            pending.result()
        if writer is None:  # a Parquet file without rows
            writer = _writer(out, _stage_schema([]))
    finally:
        pool.shutdown(wait=True)
        if writer is not None:
            writer.close()
    return {"rows": rows, "missing": [c for c in REQUIRED_COLUMNS if c not in cols]}


def ingest_files(
    paths,
    period: str = "1min",
    *,
    format: str = "auto",
    on_error: str = "raise",
    quarantine_path=None,
    report_path=None,
    check_parents: bool = True,
    price_table=None,
    requests: bool = True,
    workdir=None,
    chunk_rows: int = CHUNK_ROWS,
    overwrite_report: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
    progress: bool = False,
):
    """Read, validate and aggregate canonical span files without loading them into pandas.

    The same report, error, quarantine rows and panel as ``aggregate(validate(read_spans(paths)))``
    (see the module docstring for how). ``workdir``: folder for the staging files (a temporary
    folder inside it, removed afterwards; default the system's temporary folder) — staging
    needs about the size of the inputs as Parquet; DuckDB spills there too. ``threads``,
    ``memory_limit`` (``"4GB"``): DuckDB's settings -- its hash tables of span and trace ids
    grow with the input (10 M spans of CSV: ≈ 1.5 GB peak unlimited, ≈ 0.95 GB with
    ``"500MB"``); staging needs ≈ 0.6 GB whatever the size. ``progress``: a bar while staging and DuckDB's bar for
    long queries.

    Returns ``(panel, report)``. Raises :class:`~dsge_agents.traces.readers.TraceFormatError` when an
    input is not a canonical CSV/TSV/Parquet table (use ``read_spans`` + ``validate`` then).
    """
    from tqdm.auto import tqdm

    from dsge_agents.traces.aggregate import aggregate
    from dsge_agents.traces.validate_sql import status_needs_mapping, validate_files

    try:  # directories stand for the trace files beneath them
        paths = [str(p) for p in trace_files(paths)]
    except FileNotFoundError as exc:
        raise TraceFormatError(str(exc)) from None
    if not paths:
        raise TraceFormatError("ingest_files: no trace files given")
    plan = engine_plan(paths, format, price_table, explain=True)
    if price_table is not None:  # read once (and its errors said) before any staging
        from dsge_agents.traces.readers import _price_frame

        price_table = _price_frame(price_table)
    staged_set = set(plan.staged)
    with tempfile.TemporaryDirectory(prefix="dsge-agents-stage-", dir=workdir) as tmp:
        files, missing, row_numbers = [], {}, {}
        total = _rows_hint(plan.staged)
        with tqdm(total=total, unit="rows", unit_scale=True, desc="staging",
                  disable=not (progress and plan.staged)) as bar:
            for i, p in enumerate(paths):
                if p in staged_set:
                    out = Path(tmp) / f"stage-{i:05d}.parquet"
                    info = stage_file(p, out, price_table=price_table, chunk_rows=chunk_rows, bar=bar)
                    if info["missing"]:
                        missing[p] = info["missing"]
                    if Path(p).suffix.lower() not in (".parquet", ".pq"):
                        row_numbers[p] = _line_mapper(p, info["rows"])
                    files.append(str(out))
                else:
                    files.append(p)
        bad, report = validate_files(
            files, on_error, quarantine_path=quarantine_path, report_path=report_path,
            check_parents=check_parents, overwrite_report=overwrite_report, threads=threads,
            memory_limit=memory_limit, progress=progress, sources=paths, missing_columns=missing or None,
            temp_directory=Path(tmp) / "duckdb", row_numbers=row_numbers)
        exclude = bad[["_file", "_file_row"]].rename(columns={"_file": "_source", "_file_row": "_row"})
        # staged files hold canonical status values (the readers map the spellings)
        panel = aggregate(files, period, engine="duckdb", requests=requests, threads=threads,
                          memory_limit=memory_limit, exclude=exclude,
                          normalize_status=bool(plan.direct) and status_needs_mapping(plan.direct),
                          progress=progress, temp_directory=Path(tmp) / "duckdb")
    return panel, report


def _stage_table(chunk: pd.DataFrame, arrow, schema, extra_names: list[str]):
    """A canonical frame (and, for Parquet, the record batch it came from) in the staging layout."""
    import pyarrow as pa

    arrays = []
    for f in schema:
        if f.name in extra_names and arrow is not None:
            arrays.append(arrow.column(f.name))  # Parquet extras untouched
        elif f.name in chunk.columns:
            v = chunk[f.name]
            if pd.api.types.is_object_dtype(v.dtype) and pa.types.is_string(f.type):
                v = v.map(lambda x: None if x is None or (isinstance(x, float) and x != x) else str(x))
            arrays.append(pa.array(v, type=f.type, from_pandas=True))
        else:
            arrays.append(pa.nulls(len(chunk), f.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _line_mapper(path, n_records: int):
    """Staged CSV rows are numbered ``record + 2``; this maps such numbers to the lines the
    records start on (they differ after blank lines or values spanning lines). The file is
    looked at only when one of its rows is reported."""
    def remap(rows: np.ndarray) -> np.ndarray:
        from dsge_agents.traces.readers import csv_row_numbers

        return csv_row_numbers(Path(path), n_records)[rows - 2]

    return remap


def _rows_hint(paths) -> int | None:
    """Rows to stage for the progress bar: exact for Parquet, estimated from the size for text."""
    import pyarrow.parquet as pq

    total = 0
    for p in paths:
        p = Path(p)
        if p.suffix.lower() in (".parquet", ".pq"):
            total += pq.ParquetFile(p).metadata.num_rows
        else:
            with open(p, "rb") as fh:
                head = fh.read(1 << 20)
            lines = max(head.count(b"\n") - 1, 1)
            total += int(p.stat().st_size / max(len(head), 1) * lines) if head else 0
    return int(np.round(total)) if total else None
