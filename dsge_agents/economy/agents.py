"""Agents as firms with queueing production sets (DESIGN §5.1).

Agent a's technology (fixed by its frozen model) at each time t is

    Y_a = {(s, −ℓ, −c) : 0 ≤ s < μ_a(t),  ℓ ≥ f_a(s),  c ≥ κ_a s},
    f_a(s) = τ_a s (1 + k_a ρ/(1−ρ)),   ρ = s/μ_a,   k_a = (c_a² + c_s²)/2,

the latency load of serving s requests per unit time (Little's law L = s·W with the
Kingman/Allen–Cunneen mean sojourn W = τ(1 + k ρ/(1−ρ))). f_a is convex with

    f_a'(s)  = τ_a (1 + k_a[(1−ρ)^{−2} − 1]),       f_a''(s) = 2 τ_a k_a (1−ρ)^{−3} / μ_a.

Profit at prices (p_a, p_ℓ, 1) is Π_a = p_a s − p_ℓ f_a(s) − κ_a s. Its maximiser has the
closed form (FOC p_a − κ_a = p_ℓ f_a'(s)): with r = (p_a − κ_a)/p_ℓ,
s = 0 if r ≤ τ_a, else ρ = 1 − (1 + (r/τ_a − 1)/k_a)^{−1/2}, s = μ_a ρ.

All kernels are vectorised NumPy functions of arrays broadcast over (nodes, agents).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from dsge_agents.errors import EconomyError

__all__ = ["Agent", "latency_load", "latency_load_d1", "latency_load_d2", "supply_utilization",
           "firm_supply", "firm_jacobian_weight"]


@dataclass
class Agent:
    """One agent (firm).

    Parameters
    ----------
    name, stage : identifiers; ``stage`` is the DAG stage the agent serves.
    service_time : τ_a, mean service time (seconds per request) at zero load.
    capacity : μ_a(t), max service rate (requests per second); a number or a callable of t.
    unit_cost : κ_a, money cost per request (API price, or marginal self-hosted cost).
    quality : q_a, expected quality of its answers (multiplied by θ in welfare).
    ca2, cs2 : squared coefficients of variation of arrivals and service (Kingman);
        k_a = (ca2 + cs2)/2 must be > 0.
    """

    name: str
    stage: str
    service_time: float
    capacity: float | Callable = 1.0
    unit_cost: float = 0.0
    quality: float = 1.0
    ca2: float = 1.0
    cs2: float = 1.0
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.name = str(self.name)
        where = f"agent {self.name!r}"
        for attr in ("service_time", "unit_cost", "quality", "ca2", "cs2"):
            v = getattr(self, attr)
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise EconomyError(f"{where}: {attr} must be a number, got {v!r}") from None
            if not math.isfinite(v):
                raise EconomyError(f"{where}: {attr} must be finite, got {v!r}")
            setattr(self, attr, v)
        if self.service_time <= 0:
            raise EconomyError(f"{where}: service_time τ must be > 0 (got {self.service_time}); "
                               "set the mean per-request service time in seconds")
        if self.unit_cost < 0:
            raise EconomyError(f"{where}: unit_cost κ must be ≥ 0 (got {self.unit_cost})")
        if self.ca2 < 0 or self.cs2 < 0 or self.k <= 0:
            raise EconomyError(f"{where}: Kingman variability k = (ca2+cs2)/2 must be > 0 "
                               f"(got ca2={self.ca2}, cs2={self.cs2})")
        if not callable(self.capacity):
            c = float(self.capacity)
            if not (math.isfinite(c) and c > 0):
                raise EconomyError(f"{where}: capacity μ must be > 0 requests per unit time (got {c})")
            self.capacity = c

    @property
    def k(self) -> float:
        return 0.5 * (self.ca2 + self.cs2)

    def capacity_at(self, t) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        if callable(self.capacity):
            mu = np.broadcast_to(np.asarray(self.capacity(t), dtype=float), t.shape).copy()
        else:
            mu = np.full(t.shape, self.capacity)
        if not np.all(np.isfinite(mu) & (mu > 0)):
            raise EconomyError(f"agent {self.name!r}: capacity μ(t) must be positive and finite at every node")
        return mu

    def latency_load(self, s, t=0.0):
        return latency_load(s, self.service_time, self.k, self.capacity_at(t))

    def supply(self, p_a, p_l, t=0.0):
        """Profit-maximising (s, ℓ, c, Π) at prices (p_a, p_ℓ) — closed form of the module docstring."""
        return firm_supply(p_a, p_l, self.service_time, self.k, self.capacity_at(t), self.unit_cost)

    def to_dict(self) -> dict:
        cap = self.capacity if not callable(self.capacity) else repr(self.capacity)
        return {"name": self.name, "stage": self.stage, "service_time": self.service_time, "capacity": cap,
                "unit_cost": self.unit_cost, "quality": self.quality, "ca2": self.ca2, "cs2": self.cs2}


def latency_load(s, tau, k, mu):
    """f(s) = τ s (1 + k ρ/(1−ρ)), ρ = s/μ; +inf for s ≥ μ."""
    s = np.asarray(s, dtype=float)
    rho = s / mu
    with np.errstate(divide="ignore", invalid="ignore"):
        out = tau * s * (1.0 + k * rho / (1.0 - rho))
    return np.where(rho < 1.0, out, np.inf)


def latency_load_d1(s, tau, k, mu):
    """f'(s) = τ (1 + k[(1−ρ)^{−2} − 1])."""
    rho = np.asarray(s, dtype=float) / mu
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rho < 1.0, tau * (1.0 + k * ((1.0 - rho) ** -2 - 1.0)), np.inf)


def latency_load_d2(s, tau, k, mu):
    """f''(s) = 2 τ k (1−ρ)^{−3} / μ."""
    rho = np.asarray(s, dtype=float) / mu
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rho < 1.0, 2.0 * tau * k * (1.0 - rho) ** -3 / mu, np.inf)


def supply_utilization(r, tau, k):
    """ρ(r) solving f'(μρ) = r (FOC of profit maximisation): 0 if r ≤ τ, else
    1 − (1 + (r/τ − 1)/k)^{−1/2}. Also the water-filling map of the min-latency problem."""
    r = np.asarray(r, dtype=float)
    z = np.maximum(r / tau - 1.0, 0.0)
    return 1.0 - 1.0 / np.sqrt(1.0 + z / k)


def firm_supply(p_a, p_l, tau, k, mu, kappa):
    """Closed-form profit maximisation of agent(s) at prices (p_a, p_ℓ > 0).

    Returns (s, ℓ, c, Π) with s = μ ρ(r), r = (p_a − κ)/p_ℓ, ℓ = f(s), c = κ s and
    Π = (p_a − κ) s − p_ℓ ℓ ≥ 0 (0 ∈ Y_a).
    """
    p_a = np.asarray(p_a, dtype=float)
    p_l = np.asarray(p_l, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        r = (p_a - kappa) / p_l
        rho = supply_utilization(r, tau, k)
        s = mu * rho
        ell = tau * s * (1.0 + k * rho / (1.0 - rho))
        c = kappa * s
        profit = (p_a - kappa) * s - p_l * ell
    return s, ell, c, profit


def firm_jacobian_weight(s, p_l, tau, k, mu):
    """g = 1/(p_ℓ f''(s)) for active firms (s > 0), 0 otherwise: the firm's netput
    Jacobian in (p_a, p_ℓ) is g [1, −r]ᵀ[1, −r] (supply) — DESIGN §5.1."""
    s = np.asarray(s, dtype=float)
    d2 = latency_load_d2(s, tau, k, mu)
    return np.where(s > 0, 1.0 / (p_l * d2), 0.0)
