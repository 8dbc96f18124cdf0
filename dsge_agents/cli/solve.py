"""``dsge-agents solve MODEL [--json PATH]``: steady state, eigenvalues + BK verdict, decision rules.

Also holds the small helpers shared by the ``irf`` and ``moments`` subcommands
(model loading and output-file policy).
"""
from __future__ import annotations

import json


from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import guard_outputs, load_model, qz_option, stoch_simul_options


def run(args) -> int:
    from dsge_agents.linear import solve
    out = guard_outputs(args, {"--json": args.json})["--json"]
    m = load_model(args.model)
    ss_opts = stoch_simul_options(m, "solve")
    sol = solve(m, method=args.method, **qz_option(ss_opts))
    print(sol.summary())
    if args.json:
        with atomic_path(out) as _tmp:
            _tmp.write_text(json.dumps(sol.to_dict(), indent=1) + "\n", encoding="utf-8")
        print(f"\nwrote {out}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "solve", help="first-order solution: steady state, eigenvalues, decision rules",
        description="Solve MODEL at first order (ordered QZ as Dynare) and print the steady state, the "
                    "eigenvalues with the Blanchard-Kahn verdict and the decision rules (ghx, ghu; log "
                    "deviations for loglinear models).")
    p.add_argument("model", nargs="?", default=None,
                   help="model file (.yaml or Dynare .mod) or a bundled model name (default: the bundled default model)")
    p.add_argument("--json", metavar="PATH", help="also write the solution as JSON (parameters, steady_state, "
                   "eigenvalues, ghx, ghu)")
    p.add_argument("--method", default="qz", choices=["qz", "cr"], help="solver (default: qz)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --json file")
    p.set_defaults(func=run)
