"""``dsge-agents irf [MODEL] [--periods N] [--shock NAME ...] [--csv PATH] [--plot PATH]``.

Impulse responses to one-standard-deviation shocks (Dynare's ``oo_.irfs``):
writes the IRF grid figure (default ``./irf_<model>.png``) and prints where.
"""
from __future__ import annotations

from pathlib import Path

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import one_shot
from dsge_agents.cli._common import guard_outputs, qz_option, stoch_simul_options, write_figure
from dsge_agents.cli.solve import load_model

_MARK = "dsge-agents irf"


def _ours(path: Path) -> bool:
    """True if ``path`` is a figure this command wrote (PNG text chunk carries our mark)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return head.startswith(b"\x89PNG") and _MARK.encode() in head


def _default_plot_path(name: str) -> Path:
    """``./irf_<model>.png``; an existing file is reused only if we wrote it, else a free numbered name."""
    base = Path(f"irf_{name}.png")
    if not base.exists() or _ours(base):
        return base
    k = 2
    while True:
        cand = Path(f"irf_{name}-{k}.png")
        if not cand.exists() or _ours(cand):
            return cand
        k += 1


#: headline aggregates of an orchestrated economy (DESIGN §5.2) shown by default
_ECONOMY_VARS = ["latency", "slo_rate", "cost", "quality", "net_value", "demand"]


def _economy_headline(sol, periods: int):
    """Default figure of an orchestrated economy: SLO tightening, the capacity shock that moves
    end-to-end latency most, and a demand surge; headline aggregates plus that agent's
    utilization, share and provisioned capacity. ``None`` for other models."""
    declared, shocks = list(sol.declared), list(sol.shocks)
    if not (set(_ECONOMY_VARS) <= set(declared) and {"eps_slo", "eps_demand"} <= set(shocks)):
        return None
    cap = [s for s in shocks if s.startswith("eps_capacity_")]
    chosen_shocks = ["eps_slo"]
    variables = list(_ECONOMY_VARS)
    if cap:
        import numpy as np
        names, arr = sol.irf_array(periods=1, shocks=cap)
        if names:
            impact = np.abs(arr[:, 0, declared.index("latency")])
            best = names[int(np.argmax(impact))]          # first of equals, as idxmax
            chosen_shocks.append(best)
            agent = best[len("eps_capacity_"):]
            variables += [v for v in (f"{agent}_util", f"{agent}_share", f"{agent}_provisioned")
                          if v in declared]
    chosen_shocks.append("eps_demand")
    return variables, chosen_shocks


def _impact_table(names, arr, declared, variables) -> str:
    """Impact (period 1) responses as a text table: rows variables, columns shocks (``% .5g``)."""
    import numpy as np
    from dsge_agents.plots.irf import _NOISE
    rows = [v for v in declared if v in set(variables)]
    # rounding noise as exact zeros, as in the figure (plots.irf._NOISE): sw2007's flexible-price
    # economy does not move after a risk-premium shock, printed as -1.552e-16 before
    idx = [declared.index(v) for v in rows]
    imp = arr[:, 0, idx] if len(names) else np.zeros((0, len(idx)))
    scale = np.abs(imp).max(axis=0, initial=0.0)
    imp = np.where(np.abs(imp) <= _NOISE * scale, 0.0, imp)
    cols = [[f"{imp[k, i]: .5g}" for i in range(len(rows))] for k in range(len(names))]
    w0 = max([len("variable")] + [len(v) for v in rows])
    widths = [max([len(n)] + [len(c) for c in col]) for n, col in zip(names, cols)]
    lines = ["  ".join(["variable".ljust(w0)] + [n.rjust(w) for n, w in zip(names, widths)])]
    for i, v in enumerate(rows):
        lines.append("  ".join([v.ljust(w0)] + [col[i].rjust(w) for col, w in zip(cols, widths)]))
    return "\n".join(lines)


def _looks_like_model(token: str) -> bool:
    """A model file or a bundled model name (not a shock or variable name)."""
    p = Path(token)
    if p.suffix.lower() in (".yaml", ".yml", ".mod") or p.is_file():
        return True
    from dsge_agents.api import bundled_model_names
    return token in bundled_model_names()


def _recover_model_argument(args) -> None:
    """``irf --shock e_i nk3``: argparse gives every word after --shock / --var to the option, so the
    MODEL written after them became a shock or variable name and the command ran on the default
    model ('unknown shock e_i' for the wrong model). Take a trailing model file or bundled name back."""
    if args.model is not None:
        return
    for attr in ("var", "shock"):
        names = getattr(args, attr)
        if names and len(names) > 1 and _looks_like_model(names[-1]):
            args.model = names.pop()
            return


def run(args) -> int:
    from dsge_agents.errors import DSGEError
    from dsge_agents.linear import solve
    _recover_model_argument(args)
    if args.periods is not None and args.periods < 1:
        raise DSGEError("--periods must be at least 1")
    if args.dpi < 1:   # Pillow said "box can't be empty" after the solve; a PDF took a negative dpi
        raise DSGEError(f"--dpi must be at least 1, got {args.dpi}")
    out = guard_outputs(args, {"--csv": args.csv, "--plot": args.plot})
    csv, plot = out["--csv"], out["--plot"]
    m = load_model(args.model)
    # a .mod file's stoch_simul(irf=N, irf_shocks=..., qz_criterium=...) var_list, as Dynare
    ss_opts = stoch_simul_options(m, "irf")
    if args.periods is None:
        args.periods = int(ss_opts["irf"]) if ss_opts.get("irf", 0) >= 1 else 40
    if args.shock is None and ss_opts.get("irf_shocks"):
        args.shock = ss_opts["irf_shocks"]
    if args.var is None and ss_opts.get("varlist"):
        args.var = ss_opts["varlist"]
    # one solve: the model's NumPy code path, no Numba (see one_shot); QZ below the large-model size
    # (method "auto" would import the large-model solver, and with it Numba, only to compare sizes)
    from dsge_agents.model.compiled import LARGE_THRESHOLD
    sol = solve(one_shot(m), method="qz" if len(m.variables) < LARGE_THRESHOLD else "auto", **qz_option(ss_opts))
    relative = bool(ss_opts.get("relative_irf"))   # Dynare's relative_irf: 100 x response to a unit shock
    names, arr = sol.irf_array(periods=args.periods, shocks=args.shock, relative=relative)   # checks --shock names
    if args.var is not None:
        unknown = [v for v in args.var if v not in sol.declared]
        if unknown:
            raise DSGEError(f"unknown variable(s) {unknown}; the model's variables are {sol.declared}")
    name = getattr(m, "name", "model") or "model"
    if csv is not None:   # the only use of pandas here
        irf = sol.irf(periods=args.periods, shocks=args.shock, relative=relative)
        if args.var is not None:
            irf = irf[irf.variable.isin(args.var)]
        with atomic_path(csv) as _tmp:
            irf.to_csv(_tmp, index=False, columns=["shock", "variable", "period", "value"])
        print(f"wrote IRFs ({len(irf)} rows: shock,variable,period,value) to {csv}")
    if not args.no_plot:
        target = plot if plot is not None else _default_plot_path(name)
        headline = _economy_headline(sol, args.periods) if args.shock is None and args.var is None else None
        if headline is not None:
            variables, shocks = headline
        else:
            variables, shocks = sol.irf_selection(args.periods, args.shock, args.var)
        if target.suffix.lower() == ".png":
            # the light grid drawn straight to PNG with Pillow (no matplotlib: a fraction of the time)
            from dsge_agents.plots.irf import save_irf_png
            sel, resp = sol.irf_array(periods=args.periods, shocks=shocks, relative=relative)
            size = "unit shocks x 100 (relative_irf)" if relative else "one-s.d. shocks"
            title = f"{name}: impulse responses to {size}" + (" (log deviations)" if sol.loglinear else "")
            save_irf_png(target, list(range(1, args.periods + 1)), resp, sel, sol.declared, variables=variables,
                         shocks=shocks, title=title, dpi=args.dpi, metadata={"Software": _MARK})
        else:   # another format (pdf, svg, ...): matplotlib's Axes figure, format from the suffix
            if relative:
                from dsge_agents.plots.irf import plot_irf_panels
                sel, resp = sol.irf_array(periods=args.periods, shocks=shocks, relative=True)
                fig = plot_irf_panels(list(range(1, args.periods + 1)), resp, sel, sol.declared,
                                      variables=variables, shocks=shocks,
                                      title=f"{name}: impulse responses to unit shocks x 100 (relative_irf)")
            else:
                fig = sol.plot_irf(periods=args.periods, shocks=shocks, variables=variables)
            write_figure(fig, target, dpi=args.dpi)
        print(f"wrote IRF figure to {target.resolve()}")
        if len(variables) < len(sol.declared) or len(shocks) < len(sol.shocks):
            print(f"  (figure shows {len(variables)} of {len(sol.declared)} variables and {len(shocks)} of "
                  f"{len(sol.shocks)} shocks; choose with --var / --shock; the CSV has all)")
    # a short table: impact responses (rows variables, columns shocks)
    unit = "log deviation" if sol.loglinear else "deviation from steady state"
    size = "unit shocks x 100 (relative_irf)" if relative else "one-s.d. shocks"
    print(f"\nimpact (period 1) responses to {size} ({unit}), model {name}:")
    variables = sol.declared if args.var is None else args.var
    if len(names) > 8 and args.shock is None:   # eight: all of Smets-Wouters' seven shocks
        names, arr = names[:8], arr[:8]
        print("(first 8 shocks; --csv writes all)")
    if len(variables) > 20 and args.var is None:
        variables = variables[:20]
        print("(first 20 variables; --csv writes all)")
    print(_impact_table(names, arr, sol.declared, variables))
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "irf", help="impulse responses (figure + optional CSV)",
        description="Impulse responses of MODEL (default: the bundled default model) to one-standard-"
                    "deviation shocks, period 1 = impact (Dynare's oo_.irfs). Writes the IRF grid figure "
                    "(default ./irf_<model>.png) and prints where, then a table of impact responses. "
                    "Files: the default figure ./irf_<model>.png is rewritten on every run if this command "
                    "wrote it (its PNG carries our mark); a file of that name written by anything else is "
                    "kept and the figure goes to ./irf_<model>-2.png (-3, ...). Paths given with --plot / "
                    "--csv are never overwritten without --force.")
    p.add_argument("model", nargs="?", default=None, help="model file or bundled model name (optional)")
    p.add_argument("--periods", type=int, default=None, metavar="N",
                   help="number of periods (default: the file's stoch_simul irf=, else 40)")
    p.add_argument("--shock", nargs="+", default=None, metavar="NAME",
                   help="shock(s) to show (default: the file's stoch_simul irf_shocks, else all)")
    p.add_argument("--var", nargs="+", default=None, metavar="NAME",
                   help="variable(s) in the figure and table (default: the file's stoch_simul variable list, else "
                        "observables or the first 8; for an "
                        "orchestrated economy its headline aggregates and the agent hit hardest by capacity)")
    p.add_argument("--csv", metavar="PATH", help="write the tidy IRFs (shock,variable,period,value); "
                   "an existing PATH needs --force")
    p.add_argument("--plot", metavar="PATH", help="figure path (default ./irf_<model>.png, see above); the "
                   "format follows the suffix (.png, .pdf, .svg, ...); an existing PATH needs --force")
    p.add_argument("--no-plot", action="store_true", help="do not write a figure")
    p.add_argument("--dpi", type=int, default=110, help="figure resolution (default 110)")
    p.add_argument("--force", action="store_true", help="overwrite existing --csv/--plot files")
    p.set_defaults(func=run)
