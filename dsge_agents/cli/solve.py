"""``dsge-agents solve MODEL [--json PATH]``: steady state, eigenvalues + BK verdict, decision rules.

Also holds the small helpers shared by the ``irf`` and ``moments`` subcommands
(model loading and output-file policy).
"""
from __future__ import annotations

import json
from pathlib import Path

from dsge_agents.errors import DSGEError


class OutputExistsError(DSGEError):
    """An output file exists and ``--force`` was not given."""


def load_model(source=None):
    """Load the model a command names (the bundled default when ``source`` is None).

    Uses :func:`dsge_agents.api.load_model` / ``default_model`` (which also
    understand bundled names and orchestrated-economy YAML) when the api layer is
    present, else :func:`dsge_agents.model.load` and ``models/nk3.yaml``.
    """
    try:
        from dsge_agents import api
    except ImportError:  # pragma: no cover - api layer not built
        api = None
    if source is None:
        if api is not None and hasattr(api, "default_model"):
            return api.default_model()
        from dsge_agents.model import load
        return load(Path(__file__).resolve().parents[2] / "models" / "nk3.yaml")
    if api is not None and hasattr(api, "load_model"):
        return api.load_model(source)
    from dsge_agents.model import load
    return load(source)


def check_output(path, force: bool) -> Path:
    """Refuse to overwrite an existing user-named output file unless ``force``."""
    p = Path(path)
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists; use --force to overwrite it")
    if p.parent and not p.parent.exists():
        raise OutputExistsError(f"directory {p.parent} does not exist")
    return p


def run(args) -> int:
    from dsge_agents.linear import solve
    m = load_model(args.model)
    if args.json:
        out = check_output(args.json, args.force)
    sol = solve(m, method=args.method)
    print(sol.summary())
    if args.json:
        out.write_text(json.dumps(sol.to_dict(), indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "solve", help="first-order solution: steady state, eigenvalues, decision rules",
        description="Solve MODEL at first order (ordered QZ as Dynare) and print the steady state, the "
                    "eigenvalues with the Blanchard-Kahn verdict and the decision rules (ghx, ghu; log "
                    "deviations for loglinear models).")
    p.add_argument("model", help="model file (.yaml or Dynare .mod) or a bundled model name")
    p.add_argument("--json", metavar="PATH", help="also write the solution as JSON (parameters, steady_state, "
                   "eigenvalues, ghx, ghu)")
    p.add_argument("--method", default="qz", choices=["qz", "cr"], help="solver (default: qz)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.set_defaults(func=run)
