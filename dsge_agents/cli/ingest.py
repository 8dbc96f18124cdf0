"""``dsge-agents ingest TRACES... -o OUT.parquet|OUT.csv``: read, validate and aggregate traces.

Reads span files of any supported format (auto-detected or ``--format``), validates
them (``--on-error raise`` stops at the first bad rows; ``quarantine`` moves bad rows
to a side file and writes ``--report``), aggregates them into per-period, per-agent
panels (``--period``, ``--engine duckdb|dask``, ``--scheduler ADDR``) and writes the
tidy table ``period, agent, metric, value`` (``--wide`` for one column per metric).
Existing outputs are never overwritten without ``--force``, inputs never (also not with
``--force``), and the output, report and quarantine must be three different files; the
quarantine file is always a fresh name. Canonical CSV/TSV/Parquet span tables are validated and aggregated
inside the embedded engine without loading them into pandas (dsge_agents.traces.ingest: text
files are staged chunk by chunk; ``--memory-limit`` caps DuckDB, which spills beyond it);
other formats, and ``--engine dask|pandas``, are read into memory and validated with pandas.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import OutputPathError, check_distinct, check_output
from dsge_agents.errors import DSGEError


def _write(panel, out: Path, wide: bool) -> None:
    table = panel.wide.reset_index() if wide else panel.tidy
    with atomic_path(out) as tmp:
        if out.suffix.lower() == ".csv":
            table.to_csv(tmp, index=False)
        else:
            table.to_parquet(tmp, index=False)


def register(subparsers) -> None:
    from dsge_agents.traces.readers import FORMATS

    p = subparsers.add_parser(
        "ingest",
        help="read, validate and aggregate agent traces into per-period panels",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument(
        "traces",
        nargs="+",
        metavar="TRACES",
        help="trace files (OTLP JSON, Langfuse, Phoenix, " "LangSmith, Azure CSV, canonical CSV/Parquet)",
    )
    p.add_argument(
        "--format", default="auto", choices=("auto",) + FORMATS, help="input format (default: detect)"
    )
    p.add_argument(
        "--period", default="1min", help="aggregation period, a fixed pandas offset (default 1min)"
    )
    p.add_argument("-o", "--output", required=True, help="output panel, .parquet or .csv")
    p.add_argument("--on-error", default="raise", choices=("raise", "quarantine"),
                   help="bad rows: stop with an error naming them (raise, the default) or move them to the "
                   "--quarantine file and go on")
    p.add_argument("--report", help="JSON validation report (with --on-error raise only when every row passes; "
                   "an existing file needs --force)")
    p.add_argument(
        "--quarantine", help="side file for bad rows (default: next to the output; never overwritten)"
    )
    p.add_argument("--engine", default="duckdb", choices=("duckdb", "dask", "pandas"),
                   help="aggregation engine (default duckdb)")
    p.add_argument("--scheduler", help="Dask scheduler address (tcp://host:8786) for --engine dask")
    p.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    p.add_argument("--memory-limit", help="DuckDB memory limit, e.g. 4GB (default: DuckDB's, 80%% of RAM); "
                   "it spills to a temporary folder beside the output beyond it")
    p.add_argument("--price-table", help="CSV/YAML of model prices per 1M tokens to fill missing cost")
    p.add_argument("--time-unit", default="auto", choices=("auto", "s", "ms"), help="Langfuse latency unit")
    p.add_argument("--no-check-parents", action="store_true", help="accept parent ids missing from the input")
    p.add_argument(
        "--no-validate",
        action="store_true",
        help="canonical Parquet/CSV only: skip validation and aggregate the files as they are "
        "(status spellings are still mapped; a time that does not parse stops the run -- validation "
        "names such rows and can quarantine them)",
    )
    p.add_argument(
        "--wide", action="store_true", help="write one column per metric instead of the tidy table"
    )
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=run)


def run(args) -> int:
    from tqdm.auto import tqdm

    import pandas as pd

    from dsge_agents.traces.aggregate import aggregate
    from dsge_agents.traces.readers import _columns_of, detect_format, read_spans
    from dsge_agents.traces.schema import REQUIRED_COLUMNS
    from dsge_agents.traces.validate import free_path, validate

    out = check_output(args.output, args.force)
    if out.suffix.lower() not in (".parquet", ".pq", ".csv"):
        raise OutputPathError(f"{out}: the output must end in .parquet or .csv")
    report_path = check_output(args.report, args.force) if args.report else None
    duck = _duck_settings(args)  # bad --threads / --memory-limit: said before any reading
    from dsge_agents.traces.aggregate import period_ns

    try:  # a bad --period, too
        period_ns(args.period)
    except ValueError as exc:
        raise DSGEError(f"--period: {exc}") from None
    from dsge_agents.traces.readers import trace_files

    try:  # directories stand for the trace files beneath them
        args.traces = [str(f) for f in trace_files(args.traces)]
    except FileNotFoundError as exc:
        raise DSGEError(str(exc)) from None
    if args.scheduler and args.engine != "dask":
        raise DSGEError("--scheduler applies to --engine dask")
    qpath = Path(args.quarantine) if args.quarantine else out.with_name(out.stem + ".quarantine.parquet")
    if args.quarantine and Path(args.quarantine).is_dir():
        raise OutputPathError(f"--quarantine {args.quarantine} is a directory; name a file")
    qpath = free_path(qpath)  # never an existing file
    check_distinct({"-o": out, "--report": report_path,
                    "--quarantine": qpath if args.on_error == "quarantine" else None}, args.traces)
    if args.no_validate:
        fmts = {detect_format(t) if args.format == "auto" else args.format for t in args.traces}
        if fmts != {"canonical"}:
            raise DSGEError(
                f"--no-validate needs canonical Parquet/CSV span tables, got formats {sorted(fmts)}"
            )
        # unchecked files: status spellings (ERROR, STATUS_CODE_ERROR, failed, ...) mapped as the
        # readers map them, so the error rate is the validated path's
        panel = aggregate(list(args.traces), args.period, engine=args.engine, scheduler=args.scheduler,
                          progress=sys.stdout.isatty(), normalize_status=True, **duck)
        return _finish(panel, out, args, None, None)
    if _engine_path(args):
        from dsge_agents.traces.ingest import ingest_files

        # canonical CSV/TSV/Parquet: staged chunk by chunk where needed, validated and aggregated
        # in DuckDB; the staging files go in a temporary folder beside the output
        panel, rep = ingest_files(
            list(args.traces),
            args.period,
            format=args.format,
            on_error=args.on_error,
            quarantine_path=qpath,
            report_path=report_path,
            check_parents=not args.no_check_parents,
            price_table=args.price_table,
            overwrite_report=args.force,
            workdir=out.parent,
            progress=sys.stdout.isatty(),  # a bar while staging, DuckDB's for steps over a second
            **duck,
        )
        print(rep.summary())
        return _finish(panel, out, args, rep, report_path)
    frames, missing = [], {}
    bar = tqdm(args.traces, desc="reading traces", unit="file", disable=len(args.traces) < 2)
    for t in bar:
        fmt = detect_format(t) if args.format == "auto" else args.format
        size = Path(t).stat().st_size
        if size > 50e6:  # a read of several seconds: say what is going on
            bar.write(f"reading {t} ({size / 1e6:,.0f} MB, {fmt}) ...", file=sys.stderr)
        if fmt == "canonical":
            cols = _columns_of(Path(t)) or []
            missing[str(Path(t))] = [c for c in REQUIRED_COLUMNS if c not in cols]
        frames.append(read_spans(t, format=fmt, price_table=args.price_table, time_unit=args.time_unit))
    df = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    df.attrs["arrivals_only"] = all(f.attrs.get("arrivals_only", False) for f in frames)
    spans, rep = validate(
        df,
        args.on_error,
        quarantine_path=qpath,
        report_path=report_path,
        check_parents=not args.no_check_parents,
        missing_columns=missing or None,
        overwrite_report=args.force,
    )
    print(rep.summary())
    panel = aggregate(spans, args.period, engine=args.engine, scheduler=args.scheduler, **duck)
    return _finish(panel, out, args, rep, report_path)


def _duck_settings(args) -> dict:
    """DuckDB's thread count and memory limit from the options (DuckDB engine only)."""
    if args.engine != "duckdb":
        if args.threads or args.memory_limit:
            raise DSGEError("--threads and --memory-limit apply to --engine duckdb")
        return {}
    if args.threads is not None and args.threads < 1:
        raise DSGEError(f"--threads must be at least 1, got {args.threads}")
    if args.memory_limit:
        from dsge_agents.traces.aggregate import duck_connect

        try:  # checked before any reading: DuckDB parses the size
            duck_connect(memory_limit=args.memory_limit).close()
        except ValueError:
            raise DSGEError(f"--memory-limit {args.memory_limit!r}: not a size DuckDB understands "
                            "(e.g. 4GB, 500MB)") from None
    return {"threads": args.threads, "memory_limit": args.memory_limit}


def _engine_path(args) -> bool:
    """Validate and aggregate inside DuckDB (:func:`dsge_agents.traces.ingest.ingest_files`):
    the DuckDB engine and canonical CSV/TSV/Parquet span tables."""
    from dsge_agents.traces.ingest import engine_plan

    return args.engine == "duckdb" and engine_plan(args.traces, args.format, args.price_table) is not None


def _finish(panel, out, args, rep, report_path) -> int:
    _write(panel, out, args.wide)
    print(panel.summary())
    print(f"wrote {out}" + (f" and {report_path}" if report_path else ""))
    if rep is not None and report_path is None and rep.quarantined_rows:
        keys = ("input_rows", "accepted_rows", "quarantined_rows", "problems", "quarantine_file")
        print(json.dumps({k: rep.to_dict()[k] for k in keys}))
    return 0
