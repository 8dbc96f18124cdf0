"""``dsge-agents export MODEL --to mod -o PATH``: write a model as a Dynare ``.mod`` file."""
from __future__ import annotations

from pathlib import Path

from dsge_agents.cli._common import guard_outputs, load_model
from dsge_agents.errors import DSGEError


_load = load_model


class ExportError(DSGEError):
    """Bad arguments to ``dsge-agents export``."""


def run(args) -> int:
    if args.to != "mod":
        raise ExportError(f"unsupported export format {args.to!r} (only 'mod')")
    # -o differs from the model file; an existing file needs --force, a directory or a missing
    # parent directory is an error before any work (cli._common.guard_outputs)
    out = guard_outputs(args, {"-o": Path(args.output)})["-o"]
    from dsge_agents.model.mod_writer import check_mod_path
    check_mod_path(out)                      # a name Dynare can run (before loading the model)
    m = _load(args.model)
    model = getattr(m, "model", m)          # accept an api facade wrapping a model.Model
    model.to_mod(out)
    print(f"wrote {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="export a model file (e.g. to a Dynare .mod)",
                              description="Export a model to another format (Dynare 5.3 .mod).")
    p.add_argument("model", nargs="?", default=None, help="model file (.yaml or .mod; default: the bundled default model)")
    p.add_argument("--to", default="mod", choices=["mod"], help="output format (default: mod)")
    p.add_argument("-o", "--output", required=True, help="output .mod file, named <letter><letters, digits, _>.mod as Dynare requires "
                   "(e.g. my_model.mod)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=run)
