"""Kalman filter, smoothers and simulation smoother (Numba kernels).

See :mod:`dsge_agents.filtering.kalman` for the state-space convention::

    s_t = T s_{t-1} + R u_t,  u_t ~ N(0, Q);   y_t = d + Z s_t + e_t,  e_t ~ N(0, H)
"""
from dsge_agents.filtering.kalman import (  # noqa: F401
    FilterError, FilterResult, LoglikResult, SmootherResult, initial_conditions, kalman_filter,
    kalman_loglik, kalman_smoother, lyapunov, simulation_smoother,
)

__all__ = ["FilterError", "FilterResult", "LoglikResult", "SmootherResult", "initial_conditions",
           "kalman_filter", "kalman_loglik", "kalman_smoother", "lyapunov", "simulation_smoother"]
