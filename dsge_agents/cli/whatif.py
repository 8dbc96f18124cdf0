"""``dsge-agents whatif [MODEL] --set NAME=VALUE [--set ...] [--alt NAME=VALUE,...]``.

Compares the model's current rule (scenario ``baseline``) with alternatives:
all ``--set`` assignments form one scenario, each ``--alt`` another. Prints
the moments / loss / welfare table; ``--csv`` writes the IRFs
(``scenario,shock,variable,period,value``), ``--plot`` the IRF figure.
Also holds the small helpers the other policy subcommands share.
"""
from __future__ import annotations

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import add_force, guard_outputs, load_model, write_figure
from dsge_agents.errors import PolicyError


# ---------------------------------------------------------------- shared helpers
def add_model_argument(p) -> None:
    p.add_argument("model", nargs="?", default=None,
                   help="model file (.yaml, .mod or orchestrated-economy YAML); default: the bundled "
                        "default model")


load_model_arg = load_model  # MODEL or the bundled default, through the api layer


def parse_set_args(values) -> dict:
    """``["a=1", "b=2,c=3"]`` -> ``{"a": 1.0, "b": 2.0, "c": 3.0}``."""
    from dsge_agents.policy.whatif import parse_assignments
    out: dict = {}
    for v in values or []:
        ch = parse_assignments(v)
        twice = [k for k in ch if k in out]
        if twice:
            raise PolicyError(f"{', '.join(map(repr, twice))} assigned more than once")
        out.update(ch)
    return out


def parse_weights(text: str) -> dict:
    """``"latency=1,cost=0.5"`` -> ``{"latency": 1.0, "cost": 0.5}``."""
    if not text or not text.strip():
        raise PolicyError("empty loss: give VAR=WEIGHT,...")
    out = {}
    for part in [p for p in text.split(",") if p.strip()]:
        if "=" not in part:
            raise PolicyError(f"malformed loss term {part.strip()!r}: expected VAR=WEIGHT")
        k, v = (s.strip() for s in part.split("=", 1))
        if k in out:
            raise PolicyError(f"loss variable {k!r} appears twice in {text!r}")
        try:
            out[k] = float(v)
        except ValueError:
            raise PolicyError(f"weight of {k!r} is not a number: {v!r}") from None
    if not out:
        raise PolicyError("empty loss: give VAR=WEIGHT,...")
    return out


def save_figure(fig, path) -> None:
    write_figure(fig, path, dpi=110)
    print(f"wrote {path}")


# ---------------------------------------------------------------- the command
def run(args) -> int:
    guard_outputs(args, {"--csv": args.csv, "--table": args.table, "--plot": args.plot})
    from dsge_agents.policy.whatif import scenario_label, whatif
    model = load_model_arg(args.model)
    if args.shock is not None and args.shock not in model.shocks:
        raise PolicyError(f"unknown shock {args.shock!r} (--shock); shocks: {', '.join(model.shocks)}")
    scen = {}
    sets = parse_set_args(args.set)
    if sets:
        scen[scenario_label(sets)] = sets
    for a in args.alt or []:
        ch = parse_set_args([a])
        scen[scenario_label(ch)] = ch
    if not scen:
        raise PolicyError("nothing to compare: give --set NAME=VALUE or --alt NAME=VALUE,...")
    loss = parse_weights(args.loss) if args.loss else None
    cmp = whatif(model, scen, periods=args.periods, loss=loss)
    print(cmp.summary())
    if args.csv:
        with atomic_path(args.csv) as _tmp:
            cmp.irfs[["scenario", "shock", "variable", "period", "value"]].to_csv(_tmp, index=False)
        print(f"wrote {args.csv}")
    if args.table:
        with atomic_path(args.table) as _tmp:
            cmp.table().to_csv(_tmp)
        print(f"wrote {args.table}")
    if args.plot:
        save_figure(cmp.plot(shock=args.shock), args.plot)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "whatif", help="compare policy rules: IRFs, std, loss, welfare",
        description="Compare the model's current policy rule with alternatives. All --set "
                    "assignments form one scenario; each --alt NAME=VALUE,... is another. "
                    "FORM changes of the SLO rule: --alt form=integral,slo_phi_latency=0.2.")
    add_model_argument(p)
    p.add_argument("--set", action="append", metavar="NAME=VALUE", help="parameter change (repeatable)")
    p.add_argument("--alt", action="append", metavar="NAME=VALUE,...", help="one alternative scenario")
    p.add_argument("--periods", type=int, default=40, metavar="N", help="IRF horizon in model periods (default 40)")
    p.add_argument("--loss", metavar="VAR=WEIGHT,...", help="loss weights on variances")
    p.add_argument("--csv", metavar="PATH", help="write IRFs: scenario,shock,variable,period,value")
    p.add_argument("--table", metavar="PATH", help="write the moments/loss/welfare table as CSV")
    p.add_argument("--plot", metavar="PATH", help="write the IRF comparison figure")
    p.add_argument("--shock", help="shock shown in the figure (default: the first)")
    add_force(p)
    p.set_defaults(func=run)
