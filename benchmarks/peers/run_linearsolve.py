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

fs2000 in linearsolve's form (same equations as models/fs2000.mod, ``del`` spelt ``delta``):
  exogenous states  ea (= e_a, ea_{t+1} = 0 + shock), lm (= log m, AR(1) + shock)
  endogenous states kl = k_{t-1} (capital that produces at t), yl = y_{t-1}, Pl = P_{t-1}, ml = m_{t-1}
  controls          m, P, c, e, W, R, k, d, n, l, gy_obs, gp_obs, y, dA, and z = P/(c(+1) P(+1) m),
                    which carries the Euler equation's two-period lead (z = bet z(+1) (...)).
linearsolve cannot log-linearize a variable whose steady state is zero (ea), so the model is
linearized in levels and the level responses are divided by the steady state (log deviations,
exact at first order). Re-solve = new parameters, ``compute_ss`` (linearsolve's root finder,
started from the previous steady state) and ``approximate_and_solve``.
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


FS_STATES = ["ea", "lm", "kl", "yl", "Pl", "ml"]
FS_CONTROLS = ["m", "P", "c", "e", "W", "R", "k", "d", "n", "l", "gy_obs", "gp_obs", "y", "dA", "z"]
FS_GUESS = {"ea": 0.0, "lm": 0.01, "kl": 6.0, "yl": 0.6, "Pl": 2.0, "ml": 1.0, "m": 1.0, "P": 2.0, "c": 0.5,
            "e": 1.0, "W": 5.0, "R": 1.0, "k": 6.0, "d": 1.0, "n": 0.2, "l": 1.0, "gy_obs": 1.0, "gp_obs": 1.0,
            "y": 0.6, "dA": 1.0, "z": 1.0}


def _fs_params(p):
    return {("delta" if k == "del" else k): v for k, v in p.items()}


def _fs2000_model():
    import numpy as np
    import pandas as pd
    import linearsolve as ls

    def equations(fwd, cur, p):
        bet, alp, gam, rho, psi, delta, mst = p.bet, p.alp, p.gam, p.rho, p.psi, p.delta, p.mst
        return np.array([
            fwd.ea,
            fwd.lm - rho * cur.lm - (1 - rho) * np.log(mst),
            fwd.kl - cur.k,
            fwd.yl - cur.y,
            fwd.Pl - cur.P,
            fwd.ml - cur.m,
            cur.m - np.exp(cur.lm),
            cur.dA - np.exp(gam + cur.ea),
            cur.z - cur.P / (fwd.c * fwd.P * cur.m),
            cur.z - bet * fwd.z * (alp * cur.k ** (alp - 1) * fwd.n ** (1 - alp) * np.exp(-alp * (gam + np.log(fwd.e)))
                                   + (1 - delta) * np.exp(-(gam + np.log(fwd.e)))),
            cur.W - cur.l / cur.n,
            (psi / (1 - psi)) * cur.c * cur.P / (1 - cur.n) - cur.l / cur.n,
            cur.R * cur.W - (1 - alp) * cur.P * np.exp(-alp * (gam + cur.ea)) * cur.kl ** alp * cur.n ** (-alp),
            1 / (cur.c * cur.P) - bet * (1 - alp) * cur.P * np.exp(-alp * (gam + cur.ea)) * cur.kl ** alp
            * cur.n ** (1 - alp) / (cur.m * cur.l * fwd.c * fwd.P),
            cur.c + cur.k - cur.y - (1 - delta) * np.exp(-(gam + cur.ea)) * cur.kl,
            cur.m - cur.P * cur.c,
            cur.l - cur.m + 1 - cur.d,
            cur.e - np.exp(cur.ea),
            cur.y - np.exp(-alp * (gam + cur.ea)) * cur.kl ** alp * cur.n ** (1 - alp),
            cur.gy_obs - cur.dA * cur.y / cur.yl,
            cur.gp_obs - cur.ml * cur.P / (cur.Pl * cur.dA),
        ])

    names = FS_STATES + FS_CONTROLS
    m = ls.model(equations=equations, variables=names, n_states=len(FS_STATES), n_exo_states=2,
                 parameters=pd.Series(_fs_params(C.FS_CALIB)))
    return m, pd, names


def _fs_irf(m):
    import numpy as np
    F, P = np.asarray(m.f), np.asarray(m.p)
    ss = np.asarray(m.ss, dtype=float)
    nc = len(FS_STATES)
    rows = [FS_CONTROLS.index(v) for v in C.FS_VARS]
    out = []
    for j in range(2):                  # e_a enters ea, e_m enters lm
        s = np.zeros(nc)
        s[j] = 1.0
        path = []
        for _ in range(C.HORIZON):
            u = F @ s
            path.append([float(u[r] / ss[nc + r]) for r in rows])
            s = P @ s
        out.append(path)
    return out


def _fs_solve(m, p, guess):
    m.parameters = p
    m.compute_ss(guess)
    m.approximate_and_solve(log_linear=False, eigenvalue_warnings=False)
    return m


def resolve_fs2000(args):
    import warnings
    warnings.simplefilter("ignore")
    m, pd, names = _fs2000_model()
    pts = (pd.Series(_fs_params(C.FS_CALIB)), pd.Series(_fs_params(C.changed(C.FS_CALIB, C.FS_CHANGE))))
    guess = [FS_GUESS[v] for v in names]
    check = {}
    for key, p in zip(("calib", "changed"), pts):
        check[key] = _fs_irf(_fs_solve(m, p, guess))

    def resolve(p):
        return _fs_solve(m, p, m.ss)         # starts from the previous steady state
    wall, cpu, n = C.per_call(C.alternating(resolve, *pts), args.target_s, args.repeats)
    return {"check": check, "resolve_s": wall, "resolve_cpu_s": cpu, "calls": n,
            "what": "m.parameters = θ; m.compute_ss(previous ss); m.approximate_and_solve() (levels)"}


def first_fs2000(args):
    import time
    t0 = time.perf_counter()
    import warnings
    warnings.simplefilter("ignore")
    import linearsolve  # noqa: F401
    t1 = time.perf_counter()
    m, pd, names = _fs2000_model()
    _fs_solve(m, pd.Series(_fs_params(C.FS_CALIB)), [FS_GUESS[v] for v in names])
    t2 = time.perf_counter()
    return {"import_s": t1 - t0, "first_solve_s": t2 - t1, "since_start_s": t2 - C.T_START,
            "check": {"calib": _fs_irf(m)},
            "what": "import linearsolve; model(...); compute_ss(initval); approximate_and_solve()"}


if __name__ == "__main__":
    C.run({("resolve", "nk3"): resolve_nk3, ("resolve", "fs2000"): resolve_fs2000,
           ("first", "fs2000"): first_fs2000}, ("linearsolve", "pandas"))
