"""``dsge-agents moments MODEL [--csv PATH]``: theoretical moments and variance decomposition."""
from __future__ import annotations

import pandas as pd

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import guard_outputs, qz_option, stoch_simul_options
from dsge_agents.cli.solve import load_model


def moments_table(sol, nlags: int = 5, *, moments: dict | None = None, **filt) -> pd.DataFrame:
    """One row per declared variable: std, variance, autocorr_1..nlags, vd_<shock> (percent);
    ``filt``: ``hp_filter=`` / ``bandpass=`` (filtered moments, as Dynare's stoch_simul options);
    ``moments``: ``sol.moments(nlags, **filt)`` when the caller has it already."""
    mo = moments if moments is not None else sol.moments(nlags=nlags, **filt)
    tab = pd.DataFrame({"std": mo["std"], "variance": mo["variance"]})
    for k in mo["autocorr"].columns:
        tab[f"autocorr_{k}"] = mo["autocorr"][k]
    vd = sol.variance_decomposition(**filt)
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
    filt = {k: ss_opts[k] for k in ("hp_filter", "bandpass") if k in ss_opts}
    mo = sol.moments(nlags=nlags, **filt)
    tab = moments_table(sol, nlags, moments=mo, **filt)
    rows = list(tab.index)
    if ss_opts.get("varlist"):   # Dynare reports the stoch_simul variable list, in its order
        unknown = [v for v in ss_opts["varlist"] if v not in tab.index]
        if unknown:
            from dsge_agents.errors import DSGEError
            raise DSGEError(f"stoch_simul lists unknown variable(s) {unknown}")
        rows = list(ss_opts["varlist"])
        tab = tab.loc[rows]
    unit = " (log deviations)" if sol.loglinear else ""
    fmt = lambda x: f"{x: .6g}"  # noqa: E731
    what = (f"HP filter, lambda = {filt['hp_filter']:g}" if "hp_filter" in filt else
            f"band-pass filter, periods {filt['bandpass'][0]:g} to {filt['bandpass'][1]:g}" if "bandpass" in filt
            else "unfiltered")
    print(f"THEORETICAL MOMENTS{unit} of {getattr(m, 'name', '')} (first order, {what})")
    print(tab[["std", "variance"]].to_string(float_format=fmt))
    nonstat = [v for v in rows if not tab.loc[v, "std"] == tab.loc[v, "std"]]
    if nonstat:
        print(f"(NaN: {', '.join(nonstat)} not stationary (unit root); Dynare reports NaN too)")
    if not ss_opts.get("nocorr"):   # Dynare's MATRIX OF CORRELATIONS (stationary variables), unless nocorr
        keep = [v for v in rows if v not in nonstat]
        corr = mo["correlation"].loc[keep, keep]
        print("\nMATRIX OF CORRELATIONS")
        print(corr.to_string(float_format=lambda x: f"{x: .4f}"))
    if nlags > 0:   # ar=0 / --nlags 0: no autocorrelations, as Dynare prints none
        print(f"\nAUTOCORRELATIONS (lags 1-{nlags})")
        print(tab[[c for c in tab.columns if c.startswith("autocorr_")]].to_string(float_format=fmt))
    print("\nVARIANCE DECOMPOSITION (in percent)")
    print(tab[[c for c in tab.columns if c.startswith("vd_")]].rename(columns=lambda c: c[3:])
          .to_string(float_format=lambda x: f"{x: .2f}"))
    if ss_opts.get("cvd"):
        cvd = sol.conditional_variance_decomposition(ss_opts["cvd"])
        print("\nCONDITIONAL VARIANCE DECOMPOSITION (in percent)")
        for h in dict.fromkeys(ss_opts["cvd"]):
            print(f"Period {h}:")
            print(cvd.loc[h].loc[rows].to_string(float_format=lambda x: f"{x: .2f}"))
            for s in cvd.columns:
                tab[f"cvd{h}_{s}"] = cvd.loc[h].loc[rows, s]
    if csv is not None:
        with atomic_path(csv) as _tmp:
            tab.to_csv(_tmp)
        print(f"\nwrote {csv}")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "moments", help="theoretical moments and variance decomposition",
        description="Theoretical first-order moments of MODEL (std, variance, autocorrelations, "
                    "variance decomposition in percent), as Dynare's stoch_simul reports them: for a .mod file with "
                    "a stoch_simul statement, its variable list, ar=, qz_criterium=, hp_filter=, bandpass_filter=, "
                    "nocorr and conditional_variance_decomposition= are followed (options persist from one stoch_simul "
                    "to the next, as in Dynare); options that are not (periods, simul_replic) are named in a note.")
    p.add_argument("model", nargs="?", default=None, help="model file or bundled model name (default: the bundled default model)")
    p.add_argument("--nlags", type=int, default=None, metavar="N",
                   help="autocorrelation lags (default: the file's stoch_simul ar=, else 5)")
    p.add_argument("--csv", metavar="PATH", help="write the table as CSV (one row per variable)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --csv file")
    p.set_defaults(func=run)
