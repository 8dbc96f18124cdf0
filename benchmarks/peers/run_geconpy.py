"""gEconpy runner (executed by /work/peers/geconpy/bin/python; see _common.py for the protocol).

nk3: models/nk3.gcn (equilibrium conditions, ``linear = True``, analytic zero steady state).
Re-solve = ``model.solve_model(phi_pi=v, log_linearize=False, ...)``: steady state at θ, the
compiled Jacobians at θ, and gEconpy's default cycle-reduction solver; it returns T, R of
x_t = T x_{t-1} + R e_t, from which the check takes the unit-shock responses.

fs2000: models/fs2000.gcn (equilibrium conditions, analytic steady state), solved log-linearized
(gEconpy's default ``log_linearize=True``: every variable in log deviations, as our ``loglinear``).
Re-solve = ``model.solve_model(alp=v)``; first = import gEconpy + ``model_from_gcn`` + ``solve_model``.
"""
from __future__ import annotations

import os

import _common as C

HERE = os.path.dirname(os.path.abspath(__file__))
QUIET = {"verbose": False, "steady_state_kwargs": {"progressbar": False, "verbose": False}}


def _names(model):
    return [v.base_name for v in model.variables]


def resolve_nk3(args):
    import warnings
    warnings.simplefilter("ignore")
    import logging
    logging.disable(logging.WARNING)
    from gEconpy import model_from_gcn
    model = model_from_gcn(os.path.join(HERE, "models", "nk3.gcn"), verbose=False)
    names = _names(model)
    rows = [names.index(v) for v in C.NK3_VARS]
    shocks = [s.base_name for s in model.shocks]
    cols = [shocks.index(s) for s in C.NK3_SHOCKS]
    values = (C.NK3_CALIB["phi_pi"], C.NK3_CHANGE["phi_pi"])

    def resolve(v):
        return model.solve_model(log_linearize=False, phi_pi=v, **QUIET)

    check = {}
    for key, v in zip(("calib", "changed"), values):
        T, R = resolve(v)
        check[key] = C.irf_from_state_space(T, R[:, cols], rows)
    wall, cpu, n = C.per_call(C.alternating(resolve, *values), args.target_s, args.repeats)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n, "state_order": names,
            "what": "model.solve_model(phi_pi=v, log_linearize=False) (ss + Jacobians + cycle reduction)"}


def _fs2000_irf(model, T, R):
    names = _names(model)
    shocks = [s.base_name for s in model.shocks]
    rows = [names.index(v) for v in C.FS_VARS]
    cols = [shocks.index(s) for s in C.FS_SHOCKS]
    return C.irf_from_state_space(T, R[:, cols], rows)


def resolve_fs2000(args):
    import warnings
    warnings.simplefilter("ignore")
    import logging
    logging.disable(logging.WARNING)
    from gEconpy import model_from_gcn
    model = model_from_gcn(os.path.join(HERE, "models", "fs2000.gcn"), verbose=False)
    values = (C.FS_CALIB["alp"], C.FS_CHANGE["alp"])

    def resolve(v):
        return model.solve_model(alp=v, **QUIET)

    check = {}
    for key, v in zip(("calib", "changed"), values):
        check[key] = _fs2000_irf(model, *resolve(v))
    wall, cpu, n = C.per_call(C.alternating(resolve, *values), args.target_s, args.repeats)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n, "state_order": _names(model),
            "what": "model.solve_model(alp=v) (analytic ss + log-linear Jacobians + cycle reduction)"}


def first_fs2000(args):
    import time
    t0 = time.perf_counter()
    import warnings
    warnings.simplefilter("ignore")
    import logging
    logging.disable(logging.WARNING)
    from gEconpy import model_from_gcn
    t1 = time.perf_counter()
    model = model_from_gcn(os.path.join(HERE, "models", "fs2000.gcn"), verbose=False)
    T, R = model.solve_model(**QUIET)
    t2 = time.perf_counter()
    return {"import_s": t1 - t0, "first_solve_s": t2 - t1, "since_start_s": t2 - C.T_START,
            "check": {"calib": _fs2000_irf(model, T, R)},
            "what": "import gEconpy; model_from_gcn('fs2000.gcn'); solve_model()"}


if __name__ == "__main__":
    C.run({("resolve", "nk3"): resolve_nk3, ("resolve", "fs2000"): resolve_fs2000,
           ("first", "fs2000"): first_fs2000}, ("gEconpy", "numba", "pytensor"))
