"""Estimation: priors, Dynare-consistent likelihood, posterior mode, MCMC, decompositions."""
from dsge_agents.estimation.priors import Prior, make_prior  # noqa: F401
from dsge_agents.estimation.likelihood import (  # noqa: F401
    EstimatedParam, LogLikelihood, ParameterSpace, loglik, prepare_data,
)
