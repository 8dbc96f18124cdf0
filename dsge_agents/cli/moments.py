"""``dsge-agents moments MODEL [--csv PATH]``: theoretical moments and variance decomposition."""
from __future__ import annotations

import pandas as pd

from dsge_agents.cli._common import guard_outputs, qz_option, stoch_simul_options
from dsge_agents.cli.solve import load_model


def moments_table(sol, nlags: int = 5) -> pd.DataFrame:
    """One row per declared variable: std, variance, autocorr_1..nlags, vd_<shock> (percent)."""
    mo = sol.moments(nlags=nlags)
    tab = pd.DataFrame({"std": mo["std"], "variance": mo["variance"]})
    for k in mo["autocorr"].columns:
        tab[f"autocorr_{k}"] = mo["autocorr"][k]
    vd = sol.variance_decomposition()
    for s in vd.columns:
        tab[f"vd_{s}"] = vd[s]
    tab.index.name = "variable"
    return tab


def run(args) -> int:
    from dsge_agents.linear import solve
    if args.nlags is not None and args.nlags < 0:
        from dsge_agents.errors import DSGEError
        raise DSGEError(f"--nlags must be >= 0, got {args.nlags}")
    csv = guard_outputs(args, {"--csv": args.csv})["--csv"]
    m = load_model(args.model)
    ss_opts = stoch_simul_options(m, "moments")
    sol = solve(m, **qz_option(ss_opts))
    nlags = args.nlags if args.nlags is not None else int(ss_opts.get("ar", 5))
    tab = moments_table(sol, nlags)
    if ss_opts.get("varlist"):   # Dynare reports the stoch_simul variable list, in its order
        unknown = [v for v in ss_opts["varlist"] if v not in tab.index]
        if unknown:
            from dsge_agents.errors import DSGEError
            raise DSGEError(f"stoch_simul lists unknown variable(s) {unknown}")
        tab = tab.loc[ss_opts["varlist"]]
    unit = " (log deviations)" if sol.loglinear else ""
    fmt = lambda x: f"{x: .6g}"  # noqa: E731
    print(f"THEORETICAL MOMENTS{unit} of {getattr(m, 'name', '')} (first order, unfiltered)")
    print(tab[["std", "variance"]].to_string(float_format=fmt))
    if nlags > 0:   # ar=0 / --nlags 0: no autocorrelations, as Dynare prints none
        print(f"\nAUTOCORRELATIONS (lags 1-{nlags})")
        print(tab[[c for c in tab.columns if c.startswith("autocorr_")]].to_string(float_format=fmt))
    print("\nVARIANCE DECOMPOSITION (in percent)")
    print(tab[[c for c in tab.columns if c.startswith("vd_")]].rename(columns=lambda c: c[3:])
          .to_string(float_format=lambda x: f"{x: .2f}"))
    if csv is not None:
        tab.to_csv(csv)
        print(f"\nwrote {csv}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "moments", help="theoretical moments and variance decomposition",
        description="Theoretical first-order moments of MODEL (std, variance, autocorrelations, "
                    "variance decomposition in percent), as Dynare's stoch_simul reports them: for a .mod file with "
                    "a stoch_simul statement, its variable list, ar= and qz_criterium= are followed; options "
                    "that are not (hp_filter, bandpass_filter, periods) are named in a note.")
    p.add_argument("model", nargs="?", default=None, help="model file or bundled model name (default: the bundled default model)")
    p.add_argument("--nlags", type=int, default=None, metavar="N",
                   help="autocorrelation lags (default: the file's stoch_simul ar=, else 5)")
    p.add_argument("--csv", metavar="PATH", help="write the table as CSV (one row per variable)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --csv file")
    p.set_defaults(func=run)
