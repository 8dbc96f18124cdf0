"""Validation of canonical Parquet span files inside DuckDB: the same checks as
:mod:`dsge_agents.traces.validate`, streamed, without loading the table into pandas.

``dsge-agents ingest`` validates by default. The pandas validator holds every span as Python
objects (10 M spans: ~10 GB and 2.5 min on this machine, most of it string handling), while the
aggregation next to it streams the files in about a second. For canonical Parquet files whose
timestamps are stored as timestamps — the common export of a trace pipeline — this module
computes the problem flags of :func:`~dsge_agents.traces.validate.find_problems` in SQL:

* the row-wise checks (missing ids, missing times, ``end_ts < start_ts``, TTFT negative,
  infinite or longer than the span, negative token counts, files without a required column)
  in one scan;
* ``duplicate_span_id`` as "a usable row whose span id occurred at an earlier position" (file
  order, then row order), from a grouping of the ids that occur more than once;
* ``orphan_parent`` as an anti-join of the parent ids on all span ids.

Only the flagged rows are materialised. The report (counts, first examples with file, row and
span id), the error message of ``on_error="raise"`` and ``input = accepted + quarantined`` are
those of the pandas validator; the tests compare both on files holding every problem class.
The quarantine file holds the bad rows as stored in their file (all columns, untouched), plus
``_source``, ``_row`` and ``_problems``. The accepted rows are not materialised either:
:func:`dsge_agents.traces.aggregate.aggregate` reads the files and leaves the flagged rows out
(``exclude=``).

Inputs this path does not take directly (CSV, timestamps stored as text or numbers, non-numeric
TTFT or cost, non-integer token columns) are staged first by :mod:`dsge_agents.traces.ingest`:
converted chunk by chunk into Parquet files with the readers' bookkeeping (``_row``,
``_raw_start``, ``_raw_end``), which :func:`validate_files` reads with ``sources=`` (the original
file names) so that reports name the original files and lines. Other formats and files that
already have columns named like the bookkeeping ones go through the pandas validator;
:func:`engine_can_validate` decides what is read directly.
Status spellings other than ``ok / error / unset`` are found by :func:`status_needs_mapping`
and mapped inside the aggregation, as the readers map them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dsge_agents._fileio import atomic_path
from dsge_agents.errors import TraceValidationError
from dsge_agents.traces.aggregate import SPACE_CODES, SQL_WHITESPACE, duck_connect, sql_list, sql_str
from dsge_agents.traces.schema import INT_COLUMNS, REQUIRED_COLUMNS, STRING_COLUMNS, warn_unknown_status
from dsge_agents.traces.validate import N_EXAMPLES, PROBLEMS, ValidationReport, free_path

__all__ = ["engine_can_validate", "validate_files", "status_needs_mapping"]

_RESERVED = ("_src_file", "_frn", "_fidx", "_source", "_row", "_problems", "file_row_number", "file_index")


#: rows per file in the position ``_fidx * stride + file_row_number`` (2⁴⁰)
_FILE_STRIDE = 1099511627776


def _schemas(paths):
    import pyarrow.parquet as pq

    return {str(p): pq.read_schema(p) for p in paths}


def engine_can_validate(paths) -> bool:
    """True when every input is a Parquet file whose ``start_ts`` / ``end_ts`` (where present)
    are timestamps, whose ``ttft_s`` / ``cost_usd`` (where present) are numbers and token columns
    integers, whose text columns (ids, names, status) are text or integers, and which has no
    column named like this module's bookkeeping columns."""
    import pyarrow as pa

    paths = [Path(p) for p in paths]
    if not paths or any(p.suffix.lower() not in (".parquet", ".pq") or not p.is_file() for p in paths):
        return False
    try:
        schemas = _schemas(paths)
    except Exception:  # unreadable footer: the pandas reader reports it with the file name
        return False
    for sch in schemas.values():
        names = set(sch.names)
        if names & set(_RESERVED):
            return False
        for c in ("start_ts", "end_ts"):
            if c in names and not pa.types.is_timestamp(sch.field(c).type):
                return False
        for c in STRING_COLUMNS:  # text or integers (DuckDB's text of a float id is "1.0", the readers' "1")
            if c in names:
                t = sch.field(c).type
                if pa.types.is_dictionary(t):
                    t = t.value_type
                if not (pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_integer(t)
                        or pa.types.is_null(t)):
                    return False
        for c in ["ttft_s", "cost_usd"] + INT_COLUMNS:
            if c in names:
                t = sch.field(c).type
                ok = pa.types.is_integer(t) or pa.types.is_null(t) or (
                    pa.types.is_floating(t) and c not in INT_COLUMNS)  # the readers round tokens
                if not ok:
                    return False
    return all(_times_fit_ns(p, sch) for p, sch in schemas.items())


def _times_fit_ns(path, schema) -> bool:
    """Whether every ``start_ts`` / ``end_ts`` of a Parquet file is a nanosecond timestamp
    (years 1677-2262), from the column type or, for s / ms / µs columns, the row groups'
    min/max statistics. A time outside that range is ``unparseable_timestamp`` for the readers
    (schema._ns_utc) but stops DuckDB's conversion to nanoseconds, so such a file (or one
    without statistics) is staged through the readers instead of read in place."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    per_ns = {"s": 10**9, "ms": 10**6, "us": 10**3}
    cols = [c for c in ("start_ts", "end_ts")
            if c in schema.names and pa.types.is_timestamp(schema.field(c).type)
            and schema.field(c).type.unit != "ns"]
    if not cols:
        return True
    lo, hi = pd.Timestamp.min.value, pd.Timestamp.max.value
    meta = pq.ParquetFile(path).metadata
    where = {meta.schema.column(j).path: j for j in range(meta.num_columns)}
    for c in cols:
        k = per_ns[schema.field(c).type.unit]
        for i in range(meta.num_row_groups):
            st = meta.row_group(i).column(where[c]).statistics
            if st is None or not st.has_min_max:
                if st is not None and st.null_count == meta.row_group(i).num_rows:
                    continue  # all missing
                return False
            if not (lo <= int(st.min_raw) * k and int(st.max_raw) * k <= hi):
                return False
    return True


def status_needs_mapping(paths) -> bool:
    """Whether any ``status`` in the Parquet files is not spelled ``ok`` / ``error`` / ``unset``
    (then :func:`~dsge_agents.traces.aggregate.aggregate` needs ``normalize_status=True`` to
    count errors as the readers would). One scan of the status column."""
    files = [str(p) for p in paths]
    if not any("status" in s.names for s in _schemas(files).values()):
        return False
    con = duck_connect()
    try:  # the other spellings with their counts (few distinct values), as the readers see them
        rows = con.execute(
            "SELECT CAST(status AS VARCHAR) AS v, count(*) FROM read_parquet("
            f"{sql_list(files)}, union_by_name=true, hive_partitioning=false) "
            "WHERE status IS NOT NULL AND CAST(status AS VARCHAR) NOT IN ('ok', 'error', 'unset') GROUP BY v"
        ).fetchall()
    finally:
        con.close()
    counts: dict = {}
    for v, n in rows:
        k = str(v).strip().lower()
        counts[k] = counts.get(k, 0) + int(n)
    warn_unknown_status(counts, stacklevel=4)  # as the readers warn when they map the column
    return bool(rows)


def _flag_sql(files: list[str], columns: set[str], lacking: list[str], staged: bool = False) -> dict[str, str]:
    """SQL of the three steps: ids occurring more than once (``dups``), rows whose parent id is
    not a span id (``orphans``), and the flagged rows (file, row, span id, one boolean per
    problem class), which joins the two small tables. Each step scans the files once; nothing
    of the size of the input is materialised.

    ``staged``: some files were written by :mod:`dsge_agents.traces.ingest` and carry the
    readers' bookkeeping: ``_row`` (row / line number in the original file) and ``_raw_start``
    / ``_raw_end`` (timestamp text that did not parse, as the pandas validator sees it)."""

    def col(c, cast=None):
        if c not in columns:
            return "NULL"
        return f"CAST({c} AS {cast})" if cast else c

    mc = f"_fidx IN ({', '.join(str(files.index(f)) for f in lacking)})" if lacking else "false"
    tok = " OR ".join(
        f"coalesce(round_even({col(c, 'DOUBLE')}, 0) < 0, false)" for c in INT_COLUMNS if c in columns
    ) or "false"

    def blank(x):
        # trimming every id costs ~2 s per 10 M rows; only strings starting with whitespace need it
        # an id of only whitespace is missing for the pandas validator (str.strip), so here too
        return (f"({x} IS NULL OR {x} = '' OR (ascii({x}) IN ({', '.join(map(str, SPACE_CODES))}) "
                f"AND trim({x}, {SQL_WHITESPACE}) = ''))")

    # position in the input: file (in the order given), then row
    ord_ = f"_fidx * CAST({_FILE_STRIDE} AS BIGINT) + _frn"
    sid, tid, par = col("span_id", "VARCHAR"), col("trace_id", "VARCHAR"), col("parent_span_id", "VARCHAR")
    ids = f"SELECT {ord_} AS ord, {mc} AS mc, {sid} AS sid, {tid} AS tid, {par} AS par FROM raw"

    def usable(p=""):  # rows that claim their span id: ids present, file has the required columns
        return f"NOT {p}mc AND NOT ({blank(p + 'tid')} OR {blank(p + 'sid')})"

    dups = f"SELECT sid FROM ({ids}) WHERE {usable()} GROUP BY sid HAVING count(*) > 1"
    dup_rows = (f"SELECT i.ord FROM ({ids}) AS i JOIN keep AS k ON i.sid = k.sid "
                f"WHERE {usable('i.')} AND i.ord <> k.keep_ord")
    orphans = (f"SELECT ord FROM ({ids}) WHERE NOT mc AND NOT {blank('par')} "
               f"AND par NOT IN (SELECT {sid} FROM raw WHERE {sid} IS NOT NULL)")
    # end − start in seconds; operands of different signs may overflow int64 (a span longer
    # than 292 years): those rows (before 1970 on one side only, rare) subtract as doubles
    e_ns, s_ns = f"epoch_ns({col('end_ts')})", f"epoch_ns({col('start_ts')})"
    diff = f"(CASE WHEN ({e_ns} < 0) = ({s_ns} < 0) THEN CAST({e_ns} - {s_ns} AS DOUBLE) " \
           f"ELSE CAST({e_ns} AS DOUBLE) - CAST({s_ns} AS DOUBLE) END)"
    dur = f"({diff} / 1e9)"
    too_long = f"coalesce({diff} >= 9.223372036854775807e18, false)"
    ttft = col("ttft_s", "DOUBLE")
    row = "coalesce(_row, _frn + 1)" if staged and "_row" in columns else "_frn + 1"
    raw = [c for c in ("_raw_start", "_raw_end") if staged and c in columns]
    unparsed = f"({' OR '.join(f'{c} IS NOT NULL' for c in raw)})" if raw else "false"
    flag_cols = f"""
               {mc} AS missing_columns,
               NOT ({mc}) AND ({blank(tid)} OR {blank(sid)}) AS missing_id,
               NOT ({mc}) AND {unparsed} AS unparseable_timestamp,
               NOT ({mc}) AND NOT {unparsed}
                   AND ({col('start_ts')} IS NULL OR {col('end_ts')} IS NULL OR {too_long}) AS nan_duration,
               NOT ({mc}) AND coalesce({dur} < 0, false) AS end_before_start,
               NOT ({mc}) AND coalesce(NOT isnan({ttft}) AND ({ttft} < 0 OR isinf({ttft})
                   OR ({dur} >= 0 AND {ttft} > {dur} + 1e-6)), false) AS negative_duration,
               NOT ({mc}) AND ({tok}) AS negative_tokens"""
    flags = f"SELECT {ord_} AS ord, _fidx, {row} AS _row, {flag_cols} FROM raw"
    rowwise = ("missing_columns OR missing_id OR unparseable_timestamp OR nan_duration OR end_before_start "
               "OR negative_duration OR negative_tokens")
    # the copy of a duplicated id that is kept: the first without a row-wise problem (else the
    # first); one more scan, only when some id is duplicated
    keep = (f"SELECT sid, coalesce(min(ord) FILTER (WHERE NOT ({rowwise})), min(ord)) AS keep_ord "
            f"FROM (SELECT {ord_} AS ord, {sid} AS sid, {flag_cols} FROM raw) SEMI JOIN dups USING (sid) "
            "GROUP BY sid")
    # the row-wise flagged rows; the rows of the small position tables (duplicates, orphans) by a
    # semi-join (``IN (SELECT ...)`` or a left join would cost DuckDB ~5 s per 10 M rows here)
    main = f"SELECT * FROM ({flags}) WHERE {rowwise}"
    extra = f"SELECT f.* FROM ({flags}) AS f SEMI JOIN positions AS x ON f.ord = x.ord"
    value = f"coalesce({', '.join(raw)})" if raw else "NULL"
    ids_of = (f"SELECT i.ord, i.sid, i.raw FROM (SELECT {ord_} AS ord, {sid} AS sid, "
              f"CAST({value} AS VARCHAR) AS raw FROM raw) AS i SEMI JOIN positions AS x ON i.ord = x.ord")
    return {"dups": dups, "keep": keep, "dup_rows": dup_rows, "orphans": orphans, "main": main, "extra": extra,
            "ids_of": ids_of}


def validate_files(
    paths,
    on_error: str = "raise",
    *,
    quarantine_path=None,
    report_path=None,
    check_parents: bool = True,
    overwrite_report: bool = False,
    threads: int | None = None,
    memory_limit: str | None = None,
    progress: bool = False,
    sources=None,
    missing_columns: dict | None = None,
    temp_directory=None,
    row_numbers: dict | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Validate canonical Parquet span files in DuckDB (see the module docstring).

    Returns ``(bad_rows, report)``: ``bad_rows`` has columns ``_source`` (file as given) and
    ``_row`` (1-based row in that file) of every rejected row, in input order — pass it to
    :func:`~dsge_agents.traces.aggregate.aggregate` as ``exclude=`` — and the
    :class:`~dsge_agents.traces.validate.ValidationReport` of the pandas validator.
    ``on_error="raise"`` raises :class:`~dsge_agents.errors.TraceValidationError` as it does.
    ``progress``: DuckDB prints its progress bar for steps running over a second;
    ``temp_directory``: where DuckDB spills past ``memory_limit``.

    ``sources`` (used by :func:`dsge_agents.traces.ingest.ingest_files`): one name per file, the
    file the user gave, when some of ``paths`` are staging files holding the readers'
    bookkeeping columns (``_row``, ``_raw_start``, ``_raw_end``). Reports, errors and the
    quarantine then name the original files and rows, unparseable timestamps are flagged, and
    the returned frame also has ``_file`` / ``_file_row`` (the position in ``paths``, for
    ``aggregate(exclude=)``). ``missing_columns``: source -> required columns its original
    lacked (a staged file has them all, as NULL). ``row_numbers``: source -> function mapping
    the staged ``_row`` values of rejected rows to the numbers to report (staged CSV: record
    ordinals to the lines the records start on, computed only when a row of that file is bad).
    """
    if on_error not in ("raise", "quarantine"):
        raise ValueError("on_error must be 'raise' or 'quarantine'")
    files = [str(p) for p in paths]
    staged = sources is not None
    names = [str(x) for x in sources] if staged else list(files)
    if len(names) != len(files):
        raise ValueError(f"sources= needs one name per file ({len(files)}), got {len(names)}")
    name_of = dict(zip(files, names))
    schemas = _schemas(files)
    columns = set().union(*(set(s.names) for s in schemas.values()))

    def absent(f):  # required columns the file (or its original) lacks
        given = (missing_columns or {}).get(name_of[f])
        return list(given) if given else [c for c in REQUIRED_COLUMNS if c not in schemas[f].names]

    lacking = [f for f in files if absent(f)]
    con = duck_connect(threads, memory_limit, progress, temp_directory)
    try:
        con.execute(
            "CREATE TEMP VIEW raw AS SELECT * EXCLUDE (file_row_number), file_row_number AS _frn, "
            "file_index AS _fidx FROM read_parquet("
            f"{sql_list(files)}, union_by_name=true, hive_partitioning=false, filename='_src_file', "
            "file_row_number=true)"
        )
        per_file = con.execute(
            f"SELECT file_name, num_rows FROM parquet_file_metadata({sql_list(files)})").fetchall()
        n = int(sum(r for _, r in per_file))
        nonempty = sorted({name_of.get(f, f) for f, r in per_file if r > 0})
        sql = _flag_sql(files, columns, lacking, staged)
        con.execute("CREATE TEMP TABLE dups AS " + sql["dups"])
        empty = "SELECT CAST(NULL AS BIGINT) AS ord WHERE false"
        has_dups = con.execute("SELECT count(*) FROM dups").fetchone()[0] > 0
        if has_dups:
            con.execute("CREATE TEMP TABLE keep AS " + sql["keep"])
        con.execute("CREATE TEMP TABLE dup_rows AS " + (sql["dup_rows"] if has_dups else empty))
        parents = check_parents and "parent_span_id" in columns and con.execute(
            "SELECT count(*) FROM (SELECT 1 FROM raw WHERE parent_span_id IS NOT NULL LIMIT 1)").fetchone()[0]
        con.execute("CREATE TEMP TABLE orphans AS " + (sql["orphans"] if parents else empty))
        bad = con.execute(sql["main"]).df()
        dup_ords = con.execute("SELECT ord FROM dup_rows").df()["ord"].to_numpy(dtype=np.int64)
        orphan_ords = con.execute("SELECT ord FROM orphans").df()["ord"].to_numpy(dtype=np.int64)
        more = np.setdiff1d(np.union1d(dup_ords, orphan_ords), bad["ord"].to_numpy(dtype=np.int64))
        if len(more):
            con.register("positions", pd.DataFrame({"ord": more}))
            bad = pd.concat([bad, con.execute(sql["extra"]).df()], ignore_index=True)
            con.unregister("positions")
        bad = bad.sort_values("ord", kind="stable").reset_index(drop=True)
        bad["duplicate_span_id"] = np.isin(bad["ord"].to_numpy(dtype=np.int64), dup_ords)
        bad["orphan_parent"] = np.isin(bad["ord"].to_numpy(dtype=np.int64), orphan_ords)
        fidx = bad["_fidx"].to_numpy(dtype=np.int64)
        bad["_source"] = np.asarray(names, dtype=object)[fidx] if len(bad) else pd.Series([], dtype=object)
        bad["_file"] = np.asarray(files, dtype=object)[fidx] if len(bad) else pd.Series([], dtype=object)
        bad["_file_row"] = bad["ord"].to_numpy(dtype=np.int64) % _FILE_STRIDE + 1
        for name, fn in (row_numbers or {}).items():
            m = (bad["_source"] == name).to_numpy()
            if m.any():
                bad.loc[m, "_row"] = fn(bad.loc[m, "_row"].to_numpy(dtype=np.int64))
        masks = {k: bad[k].to_numpy(dtype=bool) for k in PROBLEMS}
        counts = {k: int(m.sum()) for k, m in masks.items() if m.any()}
        # span ids of the rows named in the report or the error (a few per class)
        named = sorted({int(o) for m in masks.values() for o in bad.loc[m, "ord"].head(N_EXAMPLES)})
        sid_of, raw_of = {}, {}
        if named:
            con.register("positions", pd.DataFrame({"ord": np.asarray(named, dtype=np.int64)}))
            for o, sid_, raw_ in con.execute(sql["ids_of"]).fetchall():
                sid_of[o], raw_of[o] = sid_, raw_
            con.unregister("positions")

        def span_id(o):
            v = sid_of.get(int(o))
            return None if v is None else str(v)

        examples = {}
        for k, m in masks.items():
            rows = bad.loc[m].head(N_EXAMPLES)
            if len(rows):
                ex = []
                for r in rows.to_dict("records"):
                    e = {"row": int(r["_row"]), "span_id": span_id(r["ord"]), "file": str(r["_source"])}
                    if k == "missing_columns":
                        e["missing"] = absent(r["_file"])
                    if k == "unparseable_timestamp":
                        e["value"] = raw_of.get(int(r["ord"]))
                    ex.append(e)
                examples[k] = ex
        if on_error == "raise" and len(bad):
            parts = []
            for k in PROBLEMS:
                if k in counts:
                    rows = bad.loc[masks[k]].head(3)
                    where = "; ".join(
                        f"{r['_source']}: row {r['_row']}"
                        + ("" if span_id(r["ord"]) is None else f" (span_id {span_id(r['ord'])})")
                        for r in rows.to_dict("records"))
                    extra = ""
                    if k == "missing_columns":
                        extra = " " + ", ".join(f"{name_of[f]} lacks {absent(f)}" for f in lacking)
                    parts.append(f"{k} ({counts[k]} rows{extra}): {where}")
            raise TraceValidationError(f"{len(bad)} of {n} span rows are invalid -- " + " | ".join(parts))
        qfile = None
        if len(bad):
            qpath = free_path(quarantine_path or "quarantine.parquet")
            qpath.parent.mkdir(parents=True, exist_ok=True)
            con.register("bad_rows", bad[["ord", "_source", "_row"] + list(PROBLEMS)])
            problems = "concat_ws(',', " + ", ".join(f"CASE WHEN b.{k} THEN '{k}' END" for k in PROBLEMS) + ")"
            fmt = "(FORMAT csv, HEADER)" if qpath.suffix.lower() == ".csv" else "(FORMAT parquet)"
            # staged files: the readers' bookkeeping goes after _source / _row, as the pandas
            # validator writes it
            book = [c for c in ("_row", "_raw_start", "_raw_end") if staged and c in columns]
            raw_cols = "".join(f"r.{c}, " for c in book if c != "_row"
                               and counts.get("unparseable_timestamp"))
            with atomic_path(qpath) as tmp:
                con.execute(
                    f"COPY (SELECT r.* EXCLUDE (_src_file, _frn, _fidx{''.join(', ' + c for c in book)}), "
                    f"b._source, b._row, {raw_cols}{problems} AS _problems "
                    f"FROM raw r JOIN bad_rows b ON r._fidx * CAST({_FILE_STRIDE} AS BIGINT) + r._frn = b.ord "
                    f"ORDER BY b.ord) TO {sql_str(tmp)} {fmt}"
                )
            qfile = str(qpath)
    finally:
        con.close()
    report = ValidationReport(
        input_rows=n,
        accepted_rows=n - len(bad),
        quarantined_rows=len(bad),
        problems=counts,
        quarantine_file=qfile,
        examples=examples,
        files=nonempty,
    )
    if report_path is not None:
        report.write(report_path, overwrite=overwrite_report)
    keep = ["_source", "_row"] + (["_file", "_file_row"] if staged else [])
    return bad[keep].reset_index(drop=True), report
