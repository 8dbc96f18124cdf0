"""Policy what-if tools for the SLO policy rate (DESIGN §7; issue 6).

* :mod:`.rules` — rule objects (:class:`PolicyRule`, :class:`TaylorRule`, :class:`SLORule`)
  and the model transformation :func:`apply_rule` / :func:`apply_changes`;
* :mod:`.whatif` — :func:`whatif`: IRFs side by side, std, quadratic loss, welfare;
* :mod:`.transition` — :func:`transition`: permanent changes, first order and perfect foresight;
* :mod:`.determinacy` — :func:`determinacy_map`: BK classification over rule coefficients;
* :mod:`.osr` — :func:`optimal_rule`: optimal simple rule, as Dynare's ``osr``;
* :mod:`.replay` — :func:`replay`: history re-simulated with smoothed shocks under another rule;
* :mod:`.sweep` — :func:`sweep`: parallel grids on local processes or a Dask cluster.
"""
from __future__ import annotations

from .rules import PolicyRule, SLORule, TaylorRule, apply_changes, apply_rule, rule_of
from .sweep import make_grid, sweep
from .determinacy import DeterminacyMap, bk_classify, classify, determinacy_map
from .osr import OSRResult, optimal_rule
from .whatif import WhatIf, whatif
from .transition import Transition, transition
from .replay import Replay, replay

__all__ = [
    "PolicyRule", "SLORule", "TaylorRule", "apply_rule", "apply_changes", "rule_of",
    "sweep", "make_grid",
    "determinacy_map", "DeterminacyMap", "classify", "bk_classify",
    "optimal_rule", "OSRResult",
    "whatif", "WhatIf",
    "transition", "Transition",
    "replay", "Replay",
]
