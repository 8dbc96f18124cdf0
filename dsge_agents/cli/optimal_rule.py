"""``dsge-agents optimal-rule [MODEL] --loss VAR=WEIGHT,... --params NAME[:LOW:HIGH],...``: Dynare-style osr."""
from __future__ import annotations

import json

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import add_force, guard_outputs
from dsge_agents.cli.whatif import add_model_argument, load_model_arg, parse_weights
from dsge_agents.errors import PolicyError


def parse_param_bounds(text: str) -> dict:
    """``"phi_pi:1.01:5,phi_x"`` -> ``{"phi_pi": (1.01, 5.0), "phi_x": None}``."""
    if not text or not text.strip():
        raise PolicyError("no parameters: give --params NAME[:LOW:HIGH],...")
    out = {}
    for part in [p.strip() for p in text.split(",") if p.strip()]:
        bits = part.split(":")
        if bits[0] in out:
            raise PolicyError(f"parameter {bits[0]!r} appears twice in {text!r}")
        if len(bits) == 1:
            out[bits[0]] = None
        elif len(bits) == 3:
            try:
                out[bits[0]] = (float(bits[1]), float(bits[2]))
            except ValueError:
                raise PolicyError(f"malformed bounds in {part!r}: expected NAME:LOW:HIGH") from None
        else:
            raise PolicyError(f"malformed parameter {part!r}: expected NAME or NAME:LOW:HIGH")
        if not bits[0]:
            raise PolicyError(f"missing parameter name in {part!r}")
    return out


def run(args) -> int:
    guard_outputs(args, {"--json": args.json})
    from dsge_agents.policy.osr import optimal_rule
    loss = parse_weights(args.loss)
    params = parse_param_bounds(args.params)
    model = load_model_arg(args.model)
    res = optimal_rule(model, loss, params, coef_weight=args.coef_weight, restarts=args.restarts,
                       seed=args.seed)
    print(res.summary())
    if args.json:
        text = json.dumps(res.to_dict(), indent=2)
        with atomic_path(args.json) as _tmp:
            _tmp.write_text(text, encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "optimal-rule", help="optimal simple rule (weighted variances, as Dynare's osr)",
        description="Minimise sum_i w_i Var(y_i) (+ optional weight on squared coefficients) over "
                    "rule coefficients within bounds.")
    add_model_argument(p)
    p.add_argument("--loss", required=True, metavar="VAR=WEIGHT,...", help="weights on variances")
    p.add_argument("--params", required=True, metavar="NAME[:LOW:HIGH],...", help="coefficients and bounds")
    p.add_argument("--coef-weight", type=float, default=0.0, help="weight on squared coefficient size (default 0)")
    p.add_argument("--restarts", type=int, default=4, help="random restarts (default 4)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random restarts (default 0)")
    p.add_argument("--json", metavar="PATH", help="write the result as JSON")
    add_force(p)
    p.set_defaults(func=run)
