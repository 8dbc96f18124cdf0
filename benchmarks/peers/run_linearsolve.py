"""linearsolve runner (executed by /work/peers/linearsolve/bin/python; see _common.py for the protocol).

nk3 in linearsolve's form (Klein's method on E_t[A x_{t+1}] = B x_t): the state vector holds the
exogenous states first, and shocks enter the exogenous states one period ahead. Our rendition:

  states   v  (monetary shock, v_{t+1} = e_i,t+1),  rn (natural rate, rn_{t+1} = rho_r rn_t + e_r,t+1),
           il (lagged policy rate, il_{t+1} = i_t)
  controls x, pi, i
  x_t  = E x_{t+1} - sigma (i_t - E pi_{t+1} - rn_t)
  pi_t = beta E pi_{t+1} + kappa x_t
  i_t  = rho_i il_t + (1 - rho_i)(phi_pi pi_t + phi_x x_t) + v_t

linearsolve differentiates the equations numerically at every ``approximate_and_solve`` call; the
steady state of this linear model is zero at every parameter value.
"""
from __future__ import annotations

import _common as C


def _nk3_model():
    import numpy as np
    import pandas as pd
    import linearsolve as ls

    def equations(fwd, cur, p):
        return np.array([
            fwd.v,                                             # v_{t+1} = 0 (+ shock)
            fwd.rn - p.rho_r * cur.rn,                         # rn_{t+1} = rho_r rn_t (+ shock)
            fwd.il - cur.i,                                    # il_{t+1} = i_t
            cur.x - fwd.x + p.sigma * (cur.i - fwd.pi - cur.rn),
            cur.pi - p.beta * fwd.pi - p.kappa * cur.x,
            cur.i - p.rho_i * cur.il - (1 - p.rho_i) * (p.phi_pi * cur.pi + p.phi_x * cur.x) - cur.v,
        ])

    m = ls.model(equations=equations, variables=["v", "rn", "il", "x", "pi", "i"], n_states=3,
                 n_exo_states=2, parameters=pd.Series(C.NK3_CALIB))
    m.set_ss(np.zeros(6))
    return m, pd


def _nk3_irf(m):
    """Unit-shock responses of x, pi, i, rn from linearsolve's s_{t+1} = P s_t + eps, u_t = F s_t."""
    import numpy as np
    F, P = np.asarray(m.f), np.asarray(m.p)
    out = []
    for j in range(2):                  # e_i enters v, e_r enters rn
        s = np.zeros(3)
        s[j] = 1.0
        path = []
        for _ in range(C.HORIZON):
            u = F @ s
            path.append([float(u[0]), float(u[1]), float(u[2]), float(s[1])])
            s = P @ s
        out.append(path)
    return out


def resolve_nk3(args):
    import warnings
    warnings.simplefilter("ignore")
    m, pd = _nk3_model()
    pts = (pd.Series(C.NK3_CALIB), pd.Series(C.changed(C.NK3_CALIB, C.NK3_CHANGE)))

    def resolve(p):
        m.parameters = p                                       # new parameter values
        m.approximate_and_solve(log_linear=False, eigenvalue_warnings=False)
        return m

    check = {}
    for key, p in zip(("calib", "changed"), pts):
        resolve(p)
        check[key] = _nk3_irf(m)
    wall, cpu, n = C.per_call(C.alternating(resolve, *pts), args.target_s, args.repeats)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n,
            "what": "m.parameters = θ; m.approximate_and_solve() (numerical linearization + Klein)"}


if __name__ == "__main__":
    C.run({("resolve", "nk3"): resolve_nk3}, ("linearsolve", "pandas"))
