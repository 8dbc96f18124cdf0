"""``dsge-agents simulate-traces -o spans.parquet``: discrete-event simulation of an agent DAG.

Arrivals (times and token counts) come from the Azure LLM trace 2023 (``azure-conv``,
``azure-code``; local cache or download) or any span / arrival file. The DAG is the
built-in 6-agent example (``--model default``) or an orchestrated-economy YAML
(``--model models/orchestrated_default.yaml`` or a bundled name). Shocks:
``--outage AGENT:START:END:FRACTION``, ``--rate-limit AGENT:START:END:N`` (times in
seconds from the first arrival), ``--timeout S``. Writes the canonical span table
(Parquet/CSV, or ``--format otlp|langfuse|phoenix|langsmith``) and the ground-truth
shocks table (``--shocks``, default ``<output>.shocks.csv``).
"""

from __future__ import annotations

import math
from pathlib import Path

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import check_distinct, check_output
from dsge_agents.errors import DSGEError


def _parse_shock(text: str, kind: str):
    from dsge_agents.traces.simulate import Outage, RateLimit

    parts = text.split(":")
    if len(parts) != 4:
        form = "AGENT:START:END:FRACTION" if kind == "outage" else "AGENT:START:END:N"
        raise DSGEError(f"--{kind.replace('_', '-')} {text!r}: expected {form}")
    agent, a, b, v = parts
    opt = f"--{kind.replace('_', '-')} {text!r}"
    try:
        start, end = float(a), float(b)
    except ValueError:
        raise DSGEError(f"{opt}: START and END must be numbers (seconds from the first arrival)") from None
    for name, t in (("START", start), ("END", end)):
        # no timestamp is more than 2**63 ns ≈ 9.2e9 s from any other one pandas can hold
        if not (math.isfinite(t) and abs(t) <= _MAX_SECONDS):
            raise DSGEError(f"{opt}: {name} must be finite seconds within ±{_MAX_SECONDS:.2g}, got {t:g}")
    if end <= start:
        raise DSGEError(f"{opt}: END must be after START")
    if kind == "outage":
        try:
            val = float(v)
        except ValueError:
            raise DSGEError(f"{opt}: FRACTION must be a number in [0, 1]") from None
        if not 0 <= val <= 1:
            raise DSGEError(f"{opt}: FRACTION must be in [0, 1]")
        return Outage(agent, start, end, val)
    try:
        n = int(v)
    except ValueError:
        n = -1
    if n < 0:
        raise DSGEError(f"{opt}: N (calls per second) must be a non-negative integer, got {v!r}")
    return RateLimit(agent, start, end, n)


_MAX_SECONDS = 9.2e9


def _check_options(args) -> None:
    """Numeric options, checked before anything is read (the arrivals may need a download)."""

    def bad(opt, need, got):
        raise DSGEError(f"{opt} must be {need}, got {got!r}")

    if args.retries < 0:
        bad("--retries", "a non-negative integer", args.retries)
    if not 0 <= args.seed < 2**32:
        bad("--seed", "an integer in [0, 2**32)", args.seed)
    if not (math.isfinite(args.time_scale) and args.time_scale > 0):
        bad("--time-scale", "a positive finite number", args.time_scale)
    if args.repeat < 1:
        bad("--repeat", "at least 1", args.repeat)
    if args.max_requests is not None and args.max_requests < 1:
        bad("--max-requests", "at least 1", args.max_requests)
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        bad("--timeout", "a positive finite number of seconds", args.timeout)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "simulate-traces",
        help="simulate span traces of an agent DAG from real arrivals",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    p.add_argument(
        "--arrivals",
        default="azure-conv",
        help="azure-conv | azure-code | PATH of an arrival/span file (default azure-conv)",
    )
    from dsge_agents.traces.readers import FORMATS as READ_FORMATS

    p.add_argument(
        "--arrivals-format", default="auto", choices=("auto",) + tuple(READ_FORMATS),
        help="format of an --arrivals file (default: detect from its columns)",
    )
    p.add_argument(
        "--model", default="default", help="'default' (6-agent DAG) or an orchestrated-economy YAML"
    )
    p.add_argument("--outage", action="append", default=[], metavar="AGENT:START:END:FRACTION",
                   help="FRACTION of AGENT's servers down from START to END (seconds from the first arrival; "
                   "repeatable)")
    p.add_argument("--rate-limit", action="append", default=[], metavar="AGENT:START:END:N",
                   help="at most N calls per second to AGENT from START to END (seconds; repeatable)")
    p.add_argument(
        "--timeout", type=float, help="queueing timeout (s) after which calls are abandoned and retried"
    )
    p.add_argument("--retries", type=int, default=3, help="client retries per call (default 3)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--time-scale", type=float, default=1.0, help="compress arrival times by this factor")
    p.add_argument("--repeat", type=int, default=1, help="replay the arrivals this many times back to back")
    p.add_argument("--max-requests", type=int, help="simulate only the first N requests (default: all)")
    p.add_argument("-o", "--output", required=True, help="span table (.parquet, .csv, or per --format)")
    p.add_argument(
        "--format",
        default="canonical",
        choices=("canonical", "otlp", "otlp-jsonl", "langfuse", "phoenix", "langsmith"),
        help="output format (default canonical)",
    )
    p.add_argument("--shocks", help="ground-truth shocks table (default <output>.shocks.csv)")
    p.add_argument("--force", action="store_true", help="overwrite existing outputs")
    p.set_defaults(func=run)


def run(args) -> int:
    from dsge_agents.traces import writers
    from dsge_agents.traces.simulate import RetryPolicy, SimulationConfig, simulate

    _check_options(args)
    out = Path(args.output)
    ok = writers.SUFFIXES[args.format]
    if out.suffix.lower() not in ok:  # else e.g. CSV text in a .json file, which ingest cannot read
        raise DSGEError(f"-o {out}: --format {args.format} writes {' / '.join(ok)} files")
    shocks_path = Path(args.shocks) if args.shocks else out.with_name(out.name + ".shocks.csv")
    local = args.arrivals not in ("azure-conv", "azure-code")
    check_distinct({"-o": out, "--shocks": shocks_path}, [args.arrivals] if local else [])
    out = check_output(out, args.force)
    shocks_path = check_output(shocks_path, args.force)
    # the options are checked before the arrivals are loaded (which may download a data set)
    cfg = SimulationConfig.default() if args.model == "default" else SimulationConfig.from_economy(args.model)
    cfg.outages = [_parse_shock(x, "outage") for x in args.outage]
    cfg.rate_limits = [_parse_shock(x, "rate_limit") for x in args.rate_limit]
    cfg.validate()  # unknown agents in --outage / --rate-limit
    if not local and args.arrivals_format != "auto":
        raise DSGEError(f"--arrivals-format applies to an arrival file, not to {args.arrivals}")
    if args.arrivals in ("azure-conv", "azure-code"):
        from dsge_agents.datasets import azure_llm_2023

        arrivals = azure_llm_2023(args.arrivals.split("-")[1])
    else:
        if not Path(args.arrivals).exists():
            raise DSGEError(f"--arrivals {args.arrivals}: no such file (or use azure-conv / azure-code)")
        arrivals = args.arrivals
        if args.arrivals_format != "auto":
            from dsge_agents.traces.readers import read_spans

            arrivals = read_spans(args.arrivals, format=args.arrivals_format)
    if args.timeout is not None:
        cfg.timeout_s = args.timeout
    cfg.retry = RetryPolicy(max_retries=args.retries)
    res = simulate(
        cfg,
        arrivals,
        seed=args.seed,
        time_scale=args.time_scale,
        repeat=args.repeat,
        max_requests=args.max_requests,
        progress=True,
    )
    spans = res.spans
    if args.format == "canonical":
        writers.write_canonical(spans, out, overwrite=True)
    elif args.format in ("otlp", "otlp-jsonl"):
        writers.write_otlp_json(spans, out, jsonl=args.format == "otlp-jsonl", overwrite=True)
    elif args.format == "langfuse":
        writers.write_langfuse(spans, out, overwrite=True)
    elif args.format == "phoenix":
        writers.write_phoenix(spans, out, overwrite=True)
    else:
        writers.write_langsmith(spans, out, overwrite=True)
    with atomic_path(shocks_path) as _tmp:
        res.shocks.to_csv(_tmp, index=False)
    print(res.summary())
    print(f"wrote {out} and {shocks_path}")
    return 0
