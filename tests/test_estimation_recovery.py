"""Parameter recovery on the default agent economy (simulated data, posterior mode ± 1.645 s.e.)."""
from __future__ import annotations

import numpy as np
import pytest

from dsge_agents.estimation.recovery import (DEFAULT_ECONOMY_OBSERVABLES, DEFAULT_ECONOMY_PRIORS,
                                             parameter_recovery, with_estimation)


@pytest.fixture(scope="module")
def economy():
    import dsge_agents as da
    return with_estimation(da.default_model(), DEFAULT_ECONOMY_OBSERVABLES, DEFAULT_ECONOMY_PRIORS)


def test_recovery_two_data_sets(economy):
    r = parameter_recovery(economy, n_sets=2, n_periods=200, seed=1)
    z = np.abs(r.modes - r.truth) / r.stds
    assert np.all(z < 4.0), r.coverage()
    assert np.all(r.stds > 0)


@pytest.mark.slow
def test_recovery_coverage_50_sets(economy):
    r = parameter_recovery(economy, n_sets=50, n_periods=200, seed=0)
    cov = r.coverage()
    assert ((cov.coverage_90 >= 0.80) & (cov.coverage_90 <= 0.97)).all(), cov
