"""``dsge-agents equilibrium [MODEL] [--json PATH] [--method M] [--K N] [--basis legendre|pwc]``.

Computes the static functional general equilibrium of an orchestrated economy (DESIGN §5.1) and
every check of the theory: Walras' law at the solution and at random prices, the contraction
modulus and measured tâtonnement rate, the first and second welfare gaps against the conic planner
(polished by Newton on its KKT system), and optionally the K-convergence of p*_K.

MODEL: an ``orchestrated_economy`` YAML (default: the bundled default model), a static-economy
spec YAML (keys of ``StaticEconomy.from_spec``), ``example`` (the plan → act → verify example with
time-varying demand) or ``scarf`` (Scarf's 1960 exchange economy).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import add_force, guard_outputs, write_figure
from dsge_agents.errors import EconomyError


def register(subparsers) -> None:
    p = subparsers.add_parser("equilibrium", help="static functional general equilibrium and theorem checks",
                              description=__doc__.split("\n\n")[1])
    p.add_argument("model", nargs="?", default=None,
                   help="orchestrated-economy YAML, static spec YAML, 'example' or 'scarf' (default: the "
                        "bundled default model)")
    p.add_argument("--json", dest="json_path", default=None, help="write the result and checks as JSON")
    p.add_argument("--method", default="tatonnement", choices=["tatonnement", "newton", "planner"],
                   help="solver (default tatonnement)")
    p.add_argument("--K", type=int, default=None,
                   help="basis size (default: the spec file's K, else 8)")
    p.add_argument("--basis", default=None, choices=["legendre", "pwc"],
                   help="basis of V_K (default: the spec file's basis, else legendre)")
    p.add_argument("--T", type=float, default=None,
                   help="horizon (default: a spec file's horizon; for an orchestrated-economy YAML 1, in its "
                        "periods: minutes for the bundled economy)")
    p.add_argument("--tol", type=float, default=1e-10, help="relative excess-demand tolerance (default 1e-10)")
    p.add_argument("--k-convergence", action="store_true", help="also run the K = 4..64 convergence study")
    p.add_argument("--plot", default=None, help="write the price figure to this file")
    add_force(p)
    p.set_defaults(func=run)


def load_economy(model, K=None, basis=None, T=None):
    """Resolve MODEL to a StaticEconomy or ExchangeEconomy (see module docstring)."""
    from dsge_agents.economy.examples import example_economy
    from dsge_agents.economy.scarf import scarf_economy
    from dsge_agents.economy.static import StaticEconomy
    K_opt, basis_opt = K, basis
    K = 8 if K is None else K
    basis = basis or "legendre"
    if model is not None and str(model).lower() == "scarf":
        given = [o for o, v in (("--K", K_opt), ("--basis", basis_opt), ("--T", T)) if v is not None]
        if given:
            raise EconomyError(f"option(s) {', '.join(given)} not applicable to 'scarf' (an exchange economy of "
                               "three goods, without a time basis)")
        return scarf_economy()
    if model is not None and str(model).lower() == "example":
        return example_economy(K=K, basis=basis, **({} if T is None else {"horizon": T}))
    if model is None or str(model) in ("orchestrated_default", "default"):
        path = _default_path()
        if path is None:
            return example_economy(K=K, basis=basis)
    else:
        path = Path(model)
        if not path.exists():
            raise EconomyError(f"{model}: no such model file (or use 'example' / 'scarf')")
        if path.is_dir():
            raise EconomyError(f"{model}: is a directory, not a model file")
        if path.suffix.lower() == ".mod":
            raise EconomyError(f"{model}: a Dynare .mod model is not an economy; 'equilibrium' reads an "
                               "orchestrated-economy YAML, a static-economy spec YAML, 'example' or 'scarf'")
    from dsge_agents.economy.static import read_yaml_document
    doc = read_yaml_document(path)
    if not isinstance(doc, dict):
        raise EconomyError(f"{path}: expected a mapping at the top level")
    if doc.get("kind") == "orchestrated_economy":
        from dsge_agents.economy.config import to_static_economy
        return to_static_economy(str(path), K=K, basis=basis, T=1.0 if T is None else T)
    if doc.get("kind") in (None, "static_economy") and "agents" in doc and "stages" in doc:
        from dsge_agents.economy.static import load_spec
        doc = load_spec(path)               # the same mapping, with the line/column of every key
        # the file's K / basis / horizon hold unless the option is given (then the option wins)
        if K_opt is not None or "K" not in doc:
            doc["K"] = K
        if basis_opt is not None or "basis" not in doc:
            doc["basis"] = basis
        if T is not None:
            doc.pop("T", None)
            doc["horizon"] = T
        return StaticEconomy.from_spec(doc, source=str(path))
    raise EconomyError(f"{path}: not an economy model (expected kind: orchestrated_economy, or a static "
                       "spec with stages and agents)")


def _default_path():
    """The bundled default economy (package data)."""
    from dsge_agents.api import DEFAULT_MODEL, bundled_model_path
    p = bundled_model_path(DEFAULT_MODEL)
    return p if p.is_file() else None


def checks(economy, result, k_convergence: bool = False, n_random: int = 200, seed: int = 0) -> dict:
    """All numbers of DESIGN §5.1 for a solved StaticEconomy."""
    from dsge_agents.economy.planner import solve_planner
    from dsge_agents.economy.welfare import (allocation_gap, first_welfare_gap, k_convergence as kconv,
                                             second_welfare_gap)
    eco = result._economy
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(n_random):
        p = result.prices * np.exp(rng.normal(0, 0.5, result.prices.shape)) + rng.normal(0, 0.01, result.prices.shape)
        pl = np.maximum(result.latency_price * np.exp(rng.normal(0, 1.0, result.latency_price.shape)),
                        max(eco.eta, 1e-12))
        worst = max(worst, eco.walras_value(p, pl)[1])
    pr = solve_planner(eco)
    out = {"walras_identity_random_max": worst, "walras_random_prices": n_random,
           "first_welfare_gap": first_welfare_gap(eco, result=result, planner=pr),
           "second_welfare_gap": second_welfare_gap(eco, planner=pr),
           "allocation_gap": allocation_gap(eco, result=result, planner=pr),
           "planner": {"objective": pr.objective, "kkt_residual": pr.kkt_residual,
                       "conic_price_error": pr.conic_price_error, "newton_steps": pr.iterations,
                       "message": pr.message},
           "latency_price_gap_vs_planner": float(np.max(np.abs(result.latency_price - pr.pl) / pr.pl))}
    if k_convergence:
        out["k_convergence"] = {b: kconv(eco, basis=b) for b in ("legendre", "pwc")}
    return out


def run(args) -> int:
    guard_outputs(args, {"--plot": args.plot, "--json": args.json_path})
    if args.k_convergence and args.model is not None and str(args.model).lower() == "scarf":
        raise EconomyError("option(s) --k-convergence not applicable to 'scarf' (an exchange economy without a "
                           "time basis)")
    from dsge_agents.economy.equilibrium import equilibrium
    eco = load_economy(args.model, K=args.K, basis=args.basis, T=args.T)
    res = equilibrium(eco, method=args.method, tol=args.tol)
    print(res.summary())
    d = res.to_dict()
    if hasattr(eco, "basis"):
        ch = checks(eco, res, k_convergence=args.k_convergence)
        d.update(ch)
        print("Checks")
        print(f"  Walras' law at {ch['walras_random_prices']} random prices: max |<p,z>|/(1+|p||z|) = "
              f"{ch['walras_identity_random_max']:.3e}")
        print(f"  first welfare theorem: welfare gap {ch['first_welfare_gap']:.3e}, allocation gap "
              f"{ch['allocation_gap']:.3e}, latency-price gap {ch['latency_price_gap_vs_planner']:.3e}")
        print(f"  second welfare theorem: decentralisation gap {ch['second_welfare_gap']:.3e}")
        print(f"  planner: {ch['planner']['message']}")
        if res.method == "tatonnement":
            ok = res.measured_rate <= res.contraction_modulus + 1e-6 if np.isfinite(res.measured_rate) else None
            print(f"  tâtonnement: measured rate {res.measured_rate:.6f} vs modulus {res.contraction_modulus:.6f}"
                  + ("" if ok is None else (" (≤ modulus)" if ok else " (ABOVE the modulus)")))
        if args.k_convergence:
            for b, kc in ch["k_convergence"].items():
                errs = ", ".join(f"K={k}: {e:.2e}" for k, e in zip(kc["Ks"], kc["errors"]))
                print(f"  K-convergence ({b}): {errs}; spectral rate {kc['spectral_rate']:.3f}, "
                      f"algebraic order {kc['algebraic_order']:.2f}")
    else:
        d["first_welfare_gap"] = None
        d["second_welfare_gap"] = None
    if args.plot:
        fig = res.plot()
        write_figure(fig, args.plot, dpi=120)
        print(f"wrote {args.plot}")
    if args.json_path:
        from dsge_agents.economy.equilibrium import json_safe
        text = json.dumps(json_safe(d), indent=1, allow_nan=False)   # NaN/inf -> null (valid JSON)
        with atomic_path(args.json_path) as _tmp:
            _tmp.write_text(text, encoding="utf-8")
        print(f"wrote {args.json_path}")
    return 0 if res.converged else 1
