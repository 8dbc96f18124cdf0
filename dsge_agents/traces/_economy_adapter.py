"""Map an orchestrated-economy description (``kind: orchestrated_economy``) onto a simulator config.

Mapping (DESIGN §5.2 → the discrete-event twin):

* stages and DAG edges with their branch probabilities are copied (``end`` edges are the
  probability of leaving); the entry must be a single stage;
* each agent becomes an FCFS queue with exponential service of mean τ_a
  (``base_latency``): c_s = 1, as in the economy's Kingman factor k_a = (c_a² + c_s²)/2;
* servers c_a = ⌈μ_a τ_a⌉ with μ_a = ``capacity`` per period / ``period_seconds`` (the
  capacity in requests per second), so the queue's service capacity c_a/τ_a matches μ_a;
  without a capacity, c_a is sized for utilisation 0.7 at mean demand with equal shares;
* routing shares are equal within a stage (the economy's logit shares depend on prices;
  pass an :class:`~dsge_agents.traces.simulate.SLOChange` to change them);
* spend per successful call is the economy's unit cost κ_a ($/request; zero for self-hosted
  agents, whose GPUs are paid through capacity); provider ``api`` or ``self_hosted``.
"""

from __future__ import annotations

import math
from pathlib import Path

from dsge_agents.errors import EconomyError


def resolve_model_path(name) -> Path:
    """A YAML path, or a model name looked up in ``models/`` and the package's models."""
    p = Path(name)
    if p.exists():
        return p
    here = Path(__file__).resolve().parents[1]
    for cand in (
        here / "models" / f"{name}.yaml",
        here.parent / "models" / f"{name}.yaml",
        Path("models") / f"{name}.yaml",
    ):
        if cand.exists():
            return cand
    raise EconomyError(f"economy model {name!r} not found (give a YAML path or a name in models/)")


def config_from_economy(source, *, servers_scale: float = 1.0):
    from dsge_agents.economy.config import END, load_config
    from dsge_agents.traces.simulate import AgentSpec, SimulationConfig, StageSpec

    if isinstance(source, (str, Path)) and not Path(source).exists():
        source = resolve_model_path(source)
    cfg = load_config(source)
    entries = [s for s, p in cfg.entry.items() if p > 0]
    if len(entries) != 1:
        raise EconomyError(
            f"{cfg.source or cfg.name}: the trace simulator needs a single entry stage, got {cfg.entry}"
        )
    per = float(cfg.period_seconds)
    visits = cfg.visit_ratios
    stages = []
    for s in cfg.stages:
        ags = cfg.stage_agents(s)
        nxt = {e.dst: float(e.prob) for e in cfg.edges if e.src == s and e.dst != END}
        specs = []
        for a in ags:
            tau = float(a.base_latency)
            if a.capacity:
                mu = float(a.capacity) / per
            else:
                mu = cfg.demand_mean / per * visits[s] / len(ags) / 0.7
            c = max(1, int(math.ceil(mu * tau * servers_scale - 1e-9)))
            specs.append(
                AgentSpec(
                    name=a.name,
                    servers=c,
                    service="exponential",
                    mean_service_s=tau,
                    overhead_s=0.0,
                    share=1.0,
                    model=a.name,
                    provider="self_hosted" if a.self_hosted else "api",
                    cost_per_call=float(a.unit_cost),
                )
            )
        stages.append(StageSpec(s, specs, next=nxt))
    return SimulationConfig(stages=stages, entry=entries[0], name=cfg.name)
