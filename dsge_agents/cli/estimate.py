"""``dsge-agents estimate MODEL [--data PATH] [--mode-only] [--draws N --chains C --jscale S
--seed N] [--out DIR] [--resume] [--force]``.

Posterior mode (several optimizers, Dynare-style Hessian), then random-walk
Metropolis–Hastings chains in parallel processes with checkpoints. Writes into DIR:
``summary.csv`` (parameter, prior, prior_mean, prior_std, mode, mode_std, post_mean,
hpd_low, hpd_high, rhat, ess), ``draws.parquet`` (kept draws), ``marginal_likelihood.json``,
``mode.json`` and figures (``priors.png``, ``traces.png``, ``irf.png``,
``shock_decomposition.png``). An existing non-empty DIR is never overwritten unless
``--resume`` (continue an interrupted run from DIR/checkpoints) or ``--force`` (removes the
files an earlier run wrote; refused when DIR holds any other file).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import write_figure
from dsge_agents.errors import DSGEError


def register(subparsers):
    p = subparsers.add_parser("estimate", help="Bayesian estimation (mode + MCMC), Dynare-style",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("model", nargs="?", default=None,
                   help="model file (.mod or .yaml) with estimated_params / priors (default: the bundled default model)")
    p.add_argument("--data", help="data file (.csv or .m), or a trace panel from `dsge-agents ingest` "
                                  "(period,agent,metric,value); default: the model's datafile")
    p.add_argument("--window", nargs=2, metavar=("START", "END"),
                   help="trace panel only: estimate on the periods from START to END (inclusive, UTC unless a "
                        "zone is given)")
    p.add_argument("--mode-only", action="store_true", help="stop after the posterior mode")
    p.add_argument("--draws", type=int, default=None, metavar="N", help="MH draws per chain (default: mh_replic or 20000)")
    p.add_argument("--chains", type=int, default=None, metavar="C", help="chains (default: mh_nblocks or 2)")
    p.add_argument("--jscale", type=float, default=None, help="proposal scale (default: tuned)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--out", default=None, help="output folder (default: estimate_<model>)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    p.add_argument("--force", action="store_true", help="overwrite a non-empty --out")
    p.add_argument("--checkpoint-every", type=int, default=1000, metavar="N",
                   help="checkpoint each chain every N draws (default 1000; 0 = every 200)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-figures", action="store_true", help="do not write the PNG figures")
    p.add_argument("--optimizers", default="bfgs,nelder-mead,bfgs",
                   help="comma-separated chain of mode optimizers (bfgs, nelder-mead, powell; default "
                        "bfgs,nelder-mead,bfgs)")
    p.add_argument("--restarts", type=int, default=1, help="repeat the optimizer chain while it improves (default 1)")
    p.add_argument("--stop-after", type=int, default=None, help=argparse_suppress())
    p.set_defaults(func=run)
    return p


def argparse_suppress():
    import argparse
    return argparse.SUPPRESS


def _mode_to_json(mode) -> dict:
    return dict(names=mode.names, mode=mode.mode.tolist(), std=mode.std.tolist(),
                log_posterior=mode.log_posterior, log_likelihood=mode.log_likelihood,
                log_prior=mode.log_prior, log_marginal_laplace=mode.log_marginal_laplace,
                hessian=mode.hessian.tolist(), inv_hessian=mode.inv_hessian.tolist(),
                hessian_pd=mode.hessian_pd)


def _mode_from_json(d, space):
    from dsge_agents.estimation.mode import ModeResult
    def num(v):
        return float("nan") if v is None else float(v)

    def arr(v):
        return np.array(v, dtype=float)      # null (written for NaN) -> nan

    return ModeResult(d["names"], arr(d["mode"]), num(d["log_posterior"]), num(d["log_likelihood"]),
                      num(d["log_prior"]), arr(d["hessian"]), arr(d["inv_hessian"]),
                      arr(d["std"]), num(d["log_marginal_laplace"]), d["hessian_pd"], [], 0, space)


def _strict(v):
    """JSON-safe copy: NaN/±inf (which json.dumps writes as the invalid tokens NaN/Infinity) -> null."""
    if isinstance(v, dict):
        return {k: _strict(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_strict(x) for x in v]
    if isinstance(v, (float, np.floating)):
        from dsge_agents.linear.solution import json_number
        return json_number(v)
    return v


#: what ``estimate`` writes into its output folder (``--force`` removes these and nothing else)
OUTPUT_FILES = ("summary.csv", "draws.parquet", "marginal_likelihood.json", "mode.json", "priors.png",
                "traces.png", "irf.png", "shock_decomposition.png")
CHECKPOINT_DIR = "checkpoints"
_CHECKPOINT_FILE = re.compile(r"^(run\.json|chain_\d+(\.tmp)?\.npz)$")


def _foreign_entries(out: Path) -> list[str]:
    """Entries of ``out`` that ``estimate`` did not write (user files: never removed)."""
    foreign = []
    for e in sorted(out.iterdir()):
        if e.name in OUTPUT_FILES and e.is_file():
            continue
        if e.name == CHECKPOINT_DIR and e.is_dir() and all(
                c.is_file() and _CHECKPOINT_FILE.match(c.name) for c in e.iterdir()):
            continue
        foreign.append(e.name + ("/" if e.is_dir() else ""))
    return foreign


def _check_options(args) -> None:
    """Option values, before any work (a negative --checkpoint-every looped forever, --chains 0
    and --jscale 0 failed inside NumPy after the mode, --draws -5 silently meant --mode-only)."""
    for opt, val, lo in (("--draws", args.draws, 0), ("--chains", args.chains, 1),
                         ("--checkpoint-every", args.checkpoint_every, 0), ("--restarts", args.restarts, 0)):
        if val is not None and val < lo:
            raise DSGEError(f"{opt} must be ≥ {lo}, got {val}")
    if args.jscale is not None and not (np.isfinite(args.jscale) and args.jscale > 0):
        raise DSGEError(f"--jscale must be a positive number, got {args.jscale}")
    if not [o for o in args.optimizers.split(",") if o.strip()]:
        raise DSGEError("--optimizers names no optimizer (bfgs, nelder-mead, powell)")
    if args.resume and args.force:
        raise DSGEError("--resume continues the run in --out, --force replaces it: give one of them")


def _prepare_out(out: Path, args) -> None:
    """Refuse to touch user files: a non-empty folder needs --resume (and must hold a run) or
    --force (and may hold only files this command writes, which are then removed)."""
    if out.exists() and not out.is_dir():
        raise DSGEError(f"--out {out} is a file; name a folder")
    has_run = (out / "mode.json").is_file() or (out / CHECKPOINT_DIR / "run.json").is_file()
    if out.is_dir() and any(out.iterdir()):
        foreign = _foreign_entries(out)
        if args.resume:
            if not has_run:
                raise DSGEError(f"--resume: {out} holds no run to resume (no mode.json or "
                                f"{CHECKPOINT_DIR}/run.json)")
        elif args.force:
            if foreign:
                shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
                raise DSGEError(f"--force: {out} holds files that estimate did not write ({shown}); "
                                "they are never removed — name an empty or new folder")
        else:
            raise DSGEError(f"output folder {out} exists and is not empty; use --resume to continue "
                            "an interrupted run or --force to overwrite it")
    elif args.resume:
        raise DSGEError(f"--resume: {out} holds no run to resume")


def _remove_outputs(out: Path) -> None:
    """--force: remove what a previous run wrote (checked by :func:`_prepare_out`)."""
    for name in OUTPUT_FILES:
        f = out / name
        if f.is_file():
            f.unlink()
    ck = out / CHECKPOINT_DIR
    if ck.is_dir():
        for c in ck.iterdir():
            if _CHECKPOINT_FILE.match(c.name):
                c.unlink()
        ck.rmdir()


# Convergence thresholds of Vehtari, Gelman, Simpson, Carpenter and Buerkner (2021), "Rank-normalization,
# folding, and localization: an improved R-hat", Bayesian Analysis 16(2), Section 4: use the draws when
# R-hat < 1.01 and the bulk effective sample size > 400 (the summary's rhat / ess columns).
RHAT_MAX, ESS_MIN = 1.01, 400


def _mcmc_report(summ, ml) -> list[str]:
    """Readable lines for the terminal: log marginal data density (Laplace; modified harmonic mean and
    acceptance rate per chain after MCMC, as Dynare prints them) and a convergence verdict from the
    summary's R-hat and ESS (:data:`RHAT_MAX`, :data:`ESS_MIN`). Before, the terminal got the raw
    ``marginal_likelihood.json`` and no word when the chains had not converged."""
    mhm = ml.get("modified_harmonic_mean")
    dens = f"log marginal data density: Laplace {ml['laplace']:.4f}"
    if "acceptance" not in ml:
        return [dens]
    dens += ", modified harmonic mean " + ("n/a" if mhm is None else f"{mhm:.4f}")
    acc = ", ".join(f"{100 * a:.1f}%" for a in ml["acceptance"])
    lines = [dens, f"acceptance rate per chain: {acc} (jscale {ml['jscale']:.4g})"]
    rhat, ess = summ["rhat"].to_numpy(float), summ["ess"].to_numpy(float)
    if not (np.isfinite(rhat).any() and np.isfinite(ess).any()):
        return lines
    i, j = int(np.nanargmax(rhat)), int(np.nanargmin(ess))
    worst = (f"max R-hat {rhat[i]:.3f} ({summ['parameter'].iloc[i]}), "
             f"min ESS {ess[j]:.0f} ({summ['parameter'].iloc[j]})")
    if rhat[i] > RHAT_MAX or ess[j] < ESS_MIN:
        lines.append(f"warning: the chains have not converged: {worst} (want R-hat < {RHAT_MAX}, "
                     f"ESS > {ESS_MIN}); run more draws (--draws) before using "
                     "the posterior")
    else:
        lines.append(f"convergence: {worst}")
    return lines


def _fingerprint(args, llk) -> str:
    """SHA-256 of what the posterior depends on: the model file, the estimation sample as filtered,
    the observables, sample options and the estimated parameters with their priors and bounds."""
    import hashlib
    h = hashlib.sha256()
    if args.model and Path(args.model).is_file():
        h.update(Path(args.model).read_bytes())
    h.update(np.ascontiguousarray(llk.y).tobytes())
    info = dict(observables=list(llk.observables), presample=llk.presample, lik_init=llk.lik_init,
                prefilter=int(llk.prefilter), loglinear=bool(llk.loglinear),
                params=[(p.name, p.prior.describe(), float(p.lower), float(p.upper))
                        for p in llk.space.params])
    h.update(json.dumps(info, sort_keys=True, default=str).encode())
    return h.hexdigest()


def run(args) -> int:
    from dsge_agents.cli.loglik import _load, make_likelihood, parse_window
    from dsge_agents.estimation import estimate, posterior_mode
    _check_options(args)
    window = parse_window(args.window)
    model = _load(args.model)
    if not model.estimated_params:
        raise DSGEError(f"{args.model}: no estimated parameters (estimated_params / estimation priors)")
    out = Path(args.out or f"estimate_{model.name}")
    _prepare_out(out, args)
    opts = model.estimation_options or {}
    llk = make_likelihood(model, args.data, window=window)
    if args.force and out.is_dir():
        _remove_outputs(out)
    out.mkdir(parents=True, exist_ok=True)
    mode_path = out / "mode.json"
    fingerprint = _fingerprint(args, llk)
    if args.resume and mode_path.exists():
        saved = json.loads(mode_path.read_text())
        if saved.get("names") != list(llk.space.names):
            raise DSGEError(f"--resume: {mode_path} is the mode of other estimated parameters "
                            f"({saved.get('names')}; now {list(llk.space.names)})")
        if saved.get("fingerprint", fingerprint) != fingerprint:
            raise DSGEError(f"--resume: the run in {out} was made with another model file, data, sample "
                            "or priors; start a new run (another --out, or --force)")
        mode = _mode_from_json(saved, llk.space)
    else:
        mode = posterior_mode(llk, optimizers=tuple(o.strip() for o in args.optimizers.split(",") if o.strip()),
                              restarts=args.restarts)
        with atomic_path(mode_path) as _tmp:
            _tmp.write_text(json.dumps(_strict(dict(_mode_to_json(mode), fingerprint=fingerprint)),
                                       indent=1, allow_nan=False))
    print(f"posterior mode: log posterior {mode.log_posterior:.6f}, "
          f"Laplace log marginal density {mode.log_marginal_laplace:.6f}")
    # Dynare: mh_replic=0 = no Metropolis-Hastings (it read as 20000 here: `0 or 20000`)
    mh_replic = opts.get("mh_replic")
    draws = args.draws if args.draws is not None else (20000 if mh_replic is None else int(mh_replic))
    chains = args.chains if args.chains is not None else int(opts.get("mh_nblocks", 2) or 2)
    method = "mode" if (args.mode_only or draws <= 0) else "mcmc"
    res = estimate(model, llk=llk, mode=mode, method=method, draws=draws, chains=chains,
                   jscale=args.jscale, seed=args.seed, checkpoint_dir=out / "checkpoints",
                   checkpoint_every=args.checkpoint_every, resume=args.resume,
                   progress=not args.no_progress, stop_after=args.stop_after)
    if res.chains is not None and not res.chains.complete:
        print(f"stopped after {res.chains.draws.shape[1]} of {draws} draws per chain; "
              f"continue with --resume --out {out}")
        return 0
    summ = res.summary()
    with atomic_path(out / "summary.csv") as _tmp:
        summ.to_csv(_tmp, index=False)
    ml = res.marginal_likelihood()
    with atomic_path(out / "marginal_likelihood.json") as _tmp:
        _tmp.write_text(json.dumps(_strict(ml), indent=1, allow_nan=False))
    if res.chains is not None:
        with atomic_path(out / "draws.parquet") as _tmp:
            res.posterior_draws().to_parquet(_tmp, index=False)
    if not args.no_figures:
        kinds = ["priors", "irf", "decomposition"] + (["traces"] if res.chains is not None else [])
        names = {"priors": "priors.png", "traces": "traces.png", "irf": "irf.png",
                 "decomposition": "shock_decomposition.png"}
        for k in kinds:
            fig = res.plot(k)
            write_figure(fig, out / names[k], dpi=90)
    import pandas as pd
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(summ.to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    for line in _mcmc_report(summ, ml):
        print(line)
    print(f"results written to {out}/")
    return 0
