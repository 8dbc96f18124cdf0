"""Exchange economies and Scarf's (1960) counterexample, through the same equilibrium API (DESIGN §5.1).

:class:`ExchangeEconomy` is a pure exchange economy given by its consumers' demand functions and
endowments; ``equilibrium(econ, method="tatonnement" | "newton")`` works on it exactly as on the
agent economy and returns an :class:`~dsge_agents.economy.equilibrium.EquilibriumResult`.

Scarf, H. (1960), "Some examples of global instability of the competitive equilibrium",
International Economic Review 1(3): three goods, consumer i owns one unit of good i and has utility
min(x_i, x_{i+1}) (indices mod 3). With income p_i, consumer i demands
x_i = x_{i+1} = p_i/(p_i + p_{i+1}). The unique normalised equilibrium is p ∝ (1, 1, 1). There the
Jacobian of z is (1/4)(C − Cᵀ) (C the cyclic shift), skew-symmetric with eigenvalues 0 and ±(√3/4)i
≈ ±0.433i, so ‖I + gJ‖₂ = √(1 + 3g²/16) > 1 for every step g > 0: the discrete tâtonnement spirals
outward (Σp² grows by g²‖z‖² per step, by Walras' law) until a price hits zero, while the
continuous-time tâtonnement ṗ = z(p) orbits forever, conserving Σp² (Walras) and Πp.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from dsge_agents.errors import EconomyError

__all__ = ["ExchangeEconomy", "scarf_economy", "scarf_orbit"]


class ExchangeEconomy:
    """Pure exchange economy: ``demands[i](p)`` returns consumer i's demand vector at prices p;
    ``endowments`` (n_consumers, n_goods). Excess demand z(p) = Σ_i (x_i(p) − e_i)."""

    def __init__(self, demands: list[Callable], endowments, goods=None, name: str = "exchange"):
        self.demands = list(demands)
        self.endowments = np.asarray(endowments, dtype=float)
        if self.endowments.shape[0] != len(self.demands):
            raise EconomyError(f"{len(self.demands)} demand functions but {self.endowments.shape[0]} endowments")
        self.n = self.endowments.shape[1]
        self.goods = list(goods) if goods is not None else [f"good{i + 1}" for i in range(self.n)]
        self.name = name

    def _check_prices(self, p0) -> np.ndarray:
        """A starting price vector: n finite, positive prices (demand p_i/(p_i + p_j) needs p > 0)."""
        try:
            p = np.asarray(p0, dtype=float)
        except (TypeError, ValueError):
            raise EconomyError(f"starting prices p0 must be numbers, got {p0!r}") from None
        if p.shape != (self.n,):
            raise EconomyError(f"starting prices p0 must be a vector of {self.n} prices (goods "
                               f"{', '.join(self.goods)}), got shape {p.shape}")
        if not np.all(np.isfinite(p) & (p > 0)):
            raise EconomyError(f"starting prices p0 must be finite and positive, got {p.tolist()}")
        return p

    def excess_demand(self, p) -> np.ndarray:
        p = np.asarray(p, dtype=float)
        return sum(d(p) for d in self.demands) - self.endowments.sum(axis=0)

    def walras_value(self, p) -> tuple[float, float]:
        """(⟨p, z(p)⟩, |⟨p,z⟩| / (1 + ‖p‖‖z‖)); zero because each consumer spends its income p·e_i."""
        z = self.excess_demand(p)
        v = float(np.dot(p, z))
        return v, abs(v) / (1 + np.linalg.norm(p) * np.linalg.norm(z))

    def jacobian(self, p, h: float = 1e-6) -> np.ndarray:
        """∂z/∂p by central differences (step h·max(1, |p_j|))."""
        p = np.asarray(p, dtype=float)
        J = np.empty((self.n, self.n))
        for j in range(self.n):
            e = np.zeros(self.n)
            e[j] = h * max(1.0, abs(p[j]))
            J[:, j] = (self.excess_demand(p + e) - self.excess_demand(p - e)) / (2 * e[j])
        return J

    # ------------------------------------------------------------------ solvers
    def newton(self, p0=None, tol: float = 1e-13, max_iter: int = 100):
        """Newton on z_{1..n−1}(p) = 0 with the last good as numeraire (p_n = 1), with backtracking on ‖z‖,
        from p0 (default (1, 2, …, n), away from any symmetric equilibrium).
        Returns (p normalised to Σp = n, iterations, ‖z‖)."""
        p0 = np.arange(1.0, self.n + 1.0) if p0 is None else self._check_prices(p0)
        p = p0 / p0[-1]
        it = 0
        z = self.excess_demand(p)
        for it in range(1, max_iter + 1):
            if np.max(np.abs(z[:-1])) <= tol:
                break
            J = self.jacobian(p)[:-1, :-1]
            try:
                d = np.linalg.solve(J, -z[:-1])
            except np.linalg.LinAlgError:
                break                           # singular reduced Jacobian: reported as not converged
            t, r0, accepted = 1.0, np.linalg.norm(z[:-1]), False
            while t > 1e-10:
                pn = p.copy()
                pn[:-1] += t * d
                if np.all(pn > 0):
                    zn = self.excess_demand(pn)
                    if np.linalg.norm(zn[:-1]) < (1 - 1e-4 * t) * r0:
                        accepted = True
                        break
                t *= 0.5
            if not accepted:                    # no descent step: stop (the caller reports max |z|)
                break
            p, z = pn, zn
        return p * self.n / p.sum(), it, float(np.max(np.abs(self.excess_demand(p))))

    def step_choice(self, p_star, max_halvings: int = 30):
        """G = g·I with g = 1/‖J‖ halved until ‖I + gJ_r‖₂ < 1 on the numeraire-reduced Jacobian J_r at
        p*. If an eigenvalue of J_r has Re ≥ 0, |1 + gλ| ≥ 1 for every g > 0: halving is stopped and
        the (≥ 1) modulus at the first step is reported. Returns (g, modulus, eigenvalues of J)."""
        J = self.jacobian(p_star)
        Jr = J[:-1, :-1]
        eig = np.linalg.eigvals(J)
        g = 1.0 / max(np.linalg.norm(Jr, 2), 1e-300)
        ev_r = np.linalg.eigvals(Jr)
        hopeless = np.max(ev_r.real) >= -1e-6 * max(np.max(np.abs(ev_r)), 1e-300)   # FD noise
        mod = float(np.linalg.norm(np.eye(self.n - 1) + g * Jr, 2))
        if not hopeless:
            for _ in range(max_halvings):
                if mod < 1:
                    break
                g *= 0.5
                mod = float(np.linalg.norm(np.eye(self.n - 1) + g * Jr, 2))
        return g, mod, eig

    def equilibrium_exchange(self, method="tatonnement", tol=1e-10, max_iter=None, p0=None, **kwargs):
        from .equilibrium import EquilibriumResult
        given = sorted(k for k, v in kwargs.items() if v is not None)
        if given:
            raise EconomyError(f"option(s) {', '.join(given)} not applicable to an exchange economy "
                               "(no time basis, no solver options)")
        t0 = time.perf_counter()
        p_star, n_it, zres = self.newton(p0 if method == "newton" else None)
        newton_ok = zres <= 1e-10
        g, mod, eig = self.step_choice(p_star)
        extra = {"jacobian_eigenvalues": [[float(e.real), float(e.imag)] for e in eig],
                 "newton_equilibrium": p_star.tolist()}
        if method == "newton":
            p = p_star
            conv, iters = newton_ok, n_it
            msg = f"Newton (numeraire {self.goods[-1]}): max |z| = {zres:.2e}"
            walras = self.walras_value(p)[1]
            hist = []
        elif method == "tatonnement":
            p = np.arange(1.0, self.n + 1.0) if p0 is None else self._check_prices(p0)
            walras, hist, conv, iters = 0.0, [], False, 0
            maxit = max_iter or 20_000
            reason = f"no convergence within {maxit} iterations"
            for iters in range(1, maxit + 1):
                z = self.excess_demand(p)
                walras = max(walras, self.walras_value(p)[1])
                rel = float(np.max(np.abs(z)) / max(np.max(self.endowments.sum(0)), 1e-300))
                hist.append(rel)
                if rel <= tol:
                    conv = True
                    break
                p = np.maximum(p + g * z, 0.0)
                if np.any(p <= 0):
                    reason = (f"a price hit zero at iteration {iters} "
                              f"(p = {np.array2string(p, precision=4)}): discrete tâtonnement diverged")
                    break
            msg = ("tâtonnement converged" if conv else
                   f"tâtonnement did NOT converge: {reason}; contraction modulus {mod:.4f} ≥ 1 for every "
                   f"step (Jacobian eigenvalues at the equilibrium "
                   + ", ".join(f"{e.real:+.3f}{e.imag:+.3f}i" for e in eig) + ")")
        else:
            raise EconomyError(f"method {method!r} is not available for exchange economies; "
                               "use 'tatonnement' or 'newton'")
        z = self.excess_demand(p)
        res = EquilibriumResult(
            method=method, converged=bool(conv), iterations=int(iters), message=msg, goods=self.goods,
            t=np.zeros(1), weights=np.ones(1), prices=np.asarray(p, float), walras_residual=float(walras),
            excess_demand_norm=float(np.max(np.abs(z)) / np.max(self.endowments.sum(0))),
            contraction_modulus=float(mod), step_sizes=np.full(self.n, g), history=hist,
            seconds=time.perf_counter() - t0, extra=extra)
        return res


def scarf_economy() -> ExchangeEconomy:
    """Scarf's three-good, three-consumer economy (module docstring)."""
    def make(i):
        def demand(p):
            j = (i + 1) % 3
            x = np.zeros(3)
            v = p[i] / (p[i] + p[j])
            x[i] = v
            x[j] = v
            return x
        return demand
    return ExchangeEconomy([make(i) for i in range(3)], np.eye(3), goods=["good1", "good2", "good3"],
                           name="Scarf (1960)")


def scarf_orbit(p0=(1.0, 2.0, 3.0), t_end: float = 50.0, rtol: float = 1e-11):
    """Continuous-time tâtonnement ṗ = z(p) for Scarf's economy (RK45, scipy). Returns
    (t, p (n_t, 3), relative drift of Σp², relative drift of Πp)."""
    from scipy.integrate import solve_ivp
    econ = scarf_economy()
    sol = solve_ivp(lambda _t, p: econ.excess_demand(p), (0.0, t_end), np.asarray(p0, float),
                    rtol=rtol, atol=1e-13, dense_output=False, max_step=0.1)
    P = sol.y.T
    s2 = (P ** 2).sum(1)
    pr = P.prod(1)
    return sol.t, P, float(np.max(np.abs(s2 / s2[0] - 1))), float(np.max(np.abs(pr / pr[0] - 1)))
