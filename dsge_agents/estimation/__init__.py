"""Estimation: priors, Dynare-consistent likelihood, posterior mode, MCMC, decompositions."""
from dsge_agents.estimation.priors import Prior, make_prior  # noqa: F401
from dsge_agents.estimation.likelihood import (  # noqa: F401
    EstimatedParam, LogLikelihood, ParameterSpace, loglik, prepare_data,
)
from dsge_agents.estimation.mode import HessianWarning, ModeResult, hessian, posterior_mode  # noqa: F401
from dsge_agents.estimation.mcmc import MHChains, run_mh, tune_jscale  # noqa: F401
from dsge_agents.estimation.results import SUMMARY_COLUMNS, EstimationResult, estimate  # noqa: F401
from dsge_agents.estimation.decomposition import Smoothed, irf_at, largest_shocks, shock_decomposition, smooth  # noqa: F401
from dsge_agents.estimation.diagnostics import (  # noqa: F401
    ess_bulk, ess_tail, hpd_interval, modified_harmonic_mean, rank_rhat, split_rhat,
)
