"""Entry point of the ``dsge-agents`` command.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)`` which adds a parser whose ``func`` attribute is called
with the parsed namespace and returns an exit code. Any :class:`DSGEError`
(or other exception) becomes a one-line message and a non-zero exit code unless
``--debug`` is given.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

SUBCOMMANDS = [
    "solve", "irf", "moments", "export", "equilibrium", "ingest", "simulate_traces",
    "loglik", "estimate", "whatif", "transition", "determinacy", "optimal_rule", "cache",
]


def _requested(argv: list[str]) -> list[str]:
    """Subcommand modules to import: only the one named on the command line (fast start-up),
    or all of them when none is named (``--help``)."""
    for tok in argv:
        if tok.startswith("-"):
            continue
        name = tok.replace("-", "_")
        return [name] if name in SUBCOMMANDS else SUBCOMMANDS
    return SUBCOMMANDS


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dsge-agents",
        description="DSGE engine and orchestrated-agent economy (see README).")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    from dsge_agents import __version__
    parser.add_argument("--version", action="version", version=f"dsge-agents {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (SUBCOMMANDS if argv is None else _requested(argv)):
        try:
            mod = importlib.import_module(f"dsge_agents.cli.{name}")
        except ModuleNotFoundError as exc:  # subcommand not built yet
            if exc.name == f"dsge_agents.cli.{name}":
                continue
            raise
        mod.register(sub)
    return parser


def _interrupted_query(exc: BaseException) -> bool:
    """True for DuckDB's report of a query stopped by SIGINT (``InterruptException``, or the
    ``RuntimeError('Query interrupted')`` DuckDB raises for Ctrl-C during ``execute``)."""
    duckdb = sys.modules.get("duckdb")
    if duckdb is not None and isinstance(exc, getattr(duckdb, "InterruptException", ())):
        return True
    return type(exc) is RuntimeError and str(exc).strip() == "Query interrupted"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    if debug:  # accepted anywhere on the line (``dsge-agents ingest ... --debug`` too)
        argv = ["--debug"] + [a for a in argv if a != "--debug"]
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except BrokenPipeError:  # output piped into `head` & co.: not an error
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except KeyboardInterrupt:
        print("dsge-agents: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI turns every error into one line
        if _interrupted_query(exc) and not debug:
            # Ctrl-C inside a DuckDB query (ingest, aggregate) reaches us as DuckDB's error, not as
            # KeyboardInterrupt: the same message and status as any other interruption
            print("dsge-agents: interrupted", file=sys.stderr)
            return 130
        if debug:
            raise
        kind = type(exc).__name__
        print(f"dsge-agents {args.command}: error: {kind}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
