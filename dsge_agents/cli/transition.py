"""``dsge-agents transition [MODEL] --set NAME=VALUE [--periods N]``: permanent change, old -> new steady state."""
from __future__ import annotations

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import add_force, guard_outputs
from dsge_agents.cli.whatif import add_model_argument, load_model_arg, parse_set_args, save_figure
from dsge_agents.errors import PolicyError


def run(args) -> int:
    guard_outputs(args, {"--csv": args.csv, "--plot": args.plot})
    from dsge_agents.policy.transition import transition
    changes = parse_set_args(args.set)
    if not changes:
        raise PolicyError("no change given: use --set NAME=VALUE")
    model = load_model_arg(args.model)
    tr = transition(model, changes, periods=args.periods, nonlinear=not args.first_order_only)
    print(tr.summary())
    if args.csv:
        with atomic_path(args.csv) as _tmp:
            tr.paths[["method", "variable", "period", "value"]].to_csv(_tmp, index=False)
        print(f"wrote {args.csv}")
    if args.plot:
        save_figure(tr.plot(), args.plot)
    if tr.perfect_foresight is None and not args.first_order_only:
        # a partial result: the first-order path (printed / written above) is kept, but the run did
        # not do what was asked, so the exit status says so (as `equilibrium` without convergence)
        import sys
        print("dsge-agents transition: error: the perfect-foresight path was not found (see above); only "
              "the first-order path was reported" + (" and written" if args.csv or args.plot else ""),
              file=sys.stderr)
        return 1
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "transition", help="path after a permanent parameter change (first order and perfect foresight)",
        description="Transition from the old to the new steady state after a permanent change, "
                    "e.g. --set slo_target_latency=28 (default model: 30 s): first-order path and nonlinear perfect-"
                    "foresight path (stacked Newton) with the linearization error. Exit status 1 when the "
                    "perfect-foresight path is not found (the first-order path is still printed and written).")
    add_model_argument(p)
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="permanent change (repeatable)")
    p.add_argument("--periods", type=int, default=60, metavar="N",
                   help="horizon in model periods (default 60)")
    p.add_argument("--first-order-only", action="store_true", help="skip the perfect-foresight path")
    p.add_argument("--csv", metavar="PATH", help="write paths: method,variable,period,value")
    p.add_argument("--plot", metavar="PATH", help="write the figure")
    add_force(p)
    p.set_defaults(func=run)
