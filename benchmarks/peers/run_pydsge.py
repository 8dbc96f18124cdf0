"""pydsge runner (executed by /work/peers/pydsge/bin/python; see _common.py for the protocol).

Model: models/nk3_pydsge.yaml (nk3; the Taylor rule gives a notional rate, pydsge's single constraint
sets i to it with a bound far away). Re-solve = ``mod.set_par(name, value)``, which evaluates the compiled model matrices at the
new parameters and runs pydsge's Klein solver plus its constraint preprocessing; timed with the
default preprocessing horizons and with ``l_max=0, k_max=0`` (no constraint regimes: the cheapest
call that still gives the linear solution).

fs2000: models/fs2000_pydsge.yaml (the nonlinear equations, R as the constrained variable) is given
to pydsge and its error is reported: pydsge takes linear models only.
"""
from __future__ import annotations

import os

import _common as C

HERE = os.path.dirname(os.path.abspath(__file__))


def fs2000(args):
    """pydsge is given models/fs2000_pydsge.yaml; whatever it does is reported (it reads linear models
    only: the parser fixes the steady state at 0 and differentiates each equation at 0)."""
    import warnings
    warnings.simplefilter("ignore")
    from pydsge import DSGE
    mod = DSGE.read(os.path.join(HERE, "models", "fs2000_pydsge.yaml"), nocache=True)
    mod.gen_sys(verbose=False)
    raise RuntimeError("pydsge accepted the nonlinear fs2000; no check written for its output")


def _irf(mod):
    out = []
    for s in C.NK3_SHOCKS:
        X, _, _ = mod.irfs((s, 1.0, 0), T=C.HORIZON, linear=True, verbose=False)
        out.append([[float(X[v].iloc[t]) for v in C.NK3_VARS] for t in range(C.HORIZON)])
    return out


def resolve_nk3(args):
    import warnings
    warnings.simplefilter("ignore")
    from pydsge import DSGE
    mod = DSGE.read(os.path.join(HERE, "models", "nk3_pydsge.yaml"), nocache=True)
    mod.gen_sys(verbose=False)                      # calibration of the file
    values = (C.NK3_CALIB["phi_pi"], C.NK3_CHANGE["phi_pi"])
    out = {"check": {}}
    for key, v in zip(("calib", "changed"), values):
        mod.set_par("phi_pi", v, verbose=False)
        out["check"][key] = _irf(mod)

    def resolve(v):
        return mod.set_par("phi_pi", v, verbose=False)
    wall, cpu, n = C.per_call(C.alternating(resolve, *values), args.target_s, args.repeats)

    def resolve_lin(v):
        return mod.set_par("phi_pi", v, verbose=False, l_max=0, k_max=0)
    wall0, cpu0, n0 = C.per_call(C.alternating(resolve_lin, *values), args.target_s, args.repeats)
    # check again after the no-OBC re-solves: same linear solution
    resolve_lin(values[1])
    out["check_lk0"] = _irf(mod)
    out.update({"resolve_s": wall0, "resolve_cpu_s": cpu0, "calls": n0,
                "what": "mod.set_par('phi_pi', v, l_max=0, k_max=0) (matrices at θ + Klein, no OBC regimes)",
                "variants": {"set_par default (l_max=3, k_max=17 OBC preprocessing)":
                             {"resolve_s": wall, "resolve_cpu_s": cpu}}})
    return out


if __name__ == "__main__":
    C.run({("resolve", "nk3"): resolve_nk3, ("resolve", "fs2000"): fs2000, ("first", "fs2000"): fs2000},
          ("pydsge",))
