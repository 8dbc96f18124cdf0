"""Random-walk Metropolis–Hastings with Dynare-style proposal, parallel chains, checkpoints.

Proposal (Dynare ``random_walk_metropolis_hastings``): x' = x + c·L ε, ε ~ N(0, I),
L L' = Σ the inverse Hessian of −log posterior at the mode, c = ``jscale``;
accept with probability min(1, p(x'|Y)/p(x|Y)) (Metropolis et al. 1953; Hastings
1970). Draws outside the prior support have zero posterior and are rejected.

* **Tuning** (optional): before sampling, rounds of short runs from the mode
  rescale c by Φ⁻¹(a*/2)/Φ⁻¹(â/2) (the optimal-scaling relation of Gelman,
  Roberts & Gilks 1996 for Gaussian random walks) until the acceptance rate â is
  within ``accept_band`` of the target a*.
* **Chains** start, like Dynare, from mode + 2c·L ε (overdispersed) and run in
  parallel processes (``concurrent.futures.ProcessPoolExecutor``; top-level worker
  functions, so the 'spawn' start method works too), with a tqdm progress bar.
* **Checkpoints**: every ``checkpoint_every`` draws each chain writes its draws,
  current point and the exact state of its own ``numpy.random.Generator``
  (PCG64, seeded by ``SeedSequence(seed).spawn``) to ``DIR/chain_<c>.npz``; a
  resumed run restores them and continues, which reproduces the uninterrupted run
  draw for draw (each draw consumes the generator in the same order).
"""
from __future__ import annotations

import json
import math
import os
import pickle
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import special

from dsge_agents.errors import DSGEError

__all__ = ["run_mh", "MHChains", "tune_jscale"]


def _proposal_chol(Sigma):
    S = 0.5 * (Sigma + Sigma.T)
    try:
        return np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        w, U = np.linalg.eigh(S)
        w = np.maximum(w, 1e-12 * max(w.max(), 1e-300))
        return U * np.sqrt(w)


def _mh_steps(llk, x, lp, L, jscale, rng, n, out_x, out_lp, out_acc, start):
    """n Metropolis steps from (x, lp); fills out_*[start:start+n]. Returns (x, lp)."""
    k = x.size
    for i in range(n):
        eps = rng.standard_normal(k)
        xp = x + jscale * (L @ eps)
        u = rng.random()
        lpp = llk.log_posterior(xp)
        acc = np.isfinite(lpp) and math.log(u) < lpp - lp
        if acc:
            x, lp = xp, lpp
        out_x[start + i] = x
        out_lp[start + i] = lp
        out_acc[start + i] = acc
    return x, lp


def tune_jscale(llk, x_mode, Sigma, jscale=0.8, target=0.30, band=0.05, rounds=8,
                draws_per_round=400, seed=0):
    """Rescale jscale toward the target acceptance rate (see module doc). Returns (jscale, log)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0].generate_state(1)[0] + 7919)
    L = _proposal_chol(Sigma)
    x = np.asarray(x_mode, dtype=float)
    lp = llk.log_posterior(x)
    log = []
    zt = special.ndtri(target / 2)
    for r in range(rounds):
        bx = np.empty((draws_per_round, x.size))
        blp = np.empty(draws_per_round)
        bacc = np.zeros(draws_per_round, dtype=bool)
        x, lp = _mh_steps(llk, x, lp, L, jscale, rng, draws_per_round, bx, blp, bacc, 0)
        a = float(bacc.mean())
        log.append(dict(round=r, jscale=jscale, acceptance=a))
        if abs(a - target) <= band:
            break
        a = min(max(a, 0.01), 0.95)
        jscale = float(jscale * zt / special.ndtri(a / 2))
    return jscale, log


# ----------------------------------------------------------------------------- checkpoints
def _save_ckpt(path: Path, draws, lp, acc, i, x, xlp, rng, meta):
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, draws=draws[:i], logpost=lp[:i], accepted=acc[:i], x=x, xlp=np.array(xlp),
             i=np.array(i), rng=np.array(json.dumps(rng.bit_generator.state)),
             meta=np.array(json.dumps(meta)))
    os.replace(tmp, path)


def _load_ckpt(path: Path):
    with np.load(path, allow_pickle=False) as z:
        d = {k: z[k] for k in z.files}
    return d


_SHARED: dict = {}   # parent's LogLikelihood, inherited by forked workers (no recompilation)


def _chain_worker(args):
    """Run (or resume) one chain; top-level so that any start method can pickle it."""
    (llk_bytes, c, x0, L, jscale, ndraws, seed_seq_state, ckpt_dir, ckpt_every, stop_after,
     meta, queue) = args
    llk = pickle.loads(llk_bytes) if llk_bytes is not None else _SHARED["llk"]
    k = len(x0)
    draws = np.empty((ndraws, k))
    lps = np.empty(ndraws)
    acc = np.zeros(ndraws, dtype=bool)
    path = Path(ckpt_dir) / f"chain_{c}.npz" if ckpt_dir else None
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(**seed_seq_state)))
    i = 0
    if path is not None and path.exists():
        d = _load_ckpt(path)
        saved_meta = json.loads(str(d["meta"]))
        if saved_meta != meta:
            raise DSGEError(f"checkpoint {path} was written by a different run configuration "
                            f"({saved_meta} vs {meta})")
        i = int(d["i"])
        draws[:i], lps[:i], acc[:i] = d["draws"], d["logpost"], d["accepted"]
        x, lp = d["x"].astype(float), float(d["xlp"])
        rng.bit_generator.state = json.loads(str(d["rng"]))
    else:
        # overdispersed start (Dynare: mode + 2·jscale·L ε), retried until finite
        for _ in range(1000):
            x = x0 + 2.0 * jscale * (L @ rng.standard_normal(k))
            lp = llk.log_posterior(x)
            if np.isfinite(lp):
                break
        else:
            x = np.array(x0, dtype=float)
            lp = llk.log_posterior(x)
    limit = ndraws if stop_after is None else min(ndraws, int(stop_after))
    block = ckpt_every if (path is not None and ckpt_every) else 200   # also the progress step
    while i < limit:
        n = min(block, limit - i)
        x, lp = _mh_steps(llk, x, lp, L, jscale, rng, n, draws, lps, acc, i)
        i += n
        if path is not None:
            _save_ckpt(path, draws, lps, acc, i, x, lp, rng, meta)
        if queue is not None:
            queue.put(n)
    return c, draws[:i], lps[:i], acc[:i], i == ndraws


@dataclass
class MHChains:
    """Raw output of :func:`run_mh`: draws (chains, n, k) in the original parameterization."""

    names: list
    draws: np.ndarray
    logpost: np.ndarray
    accepted: np.ndarray
    jscale: float
    proposal_cov: np.ndarray
    complete: bool
    tuning: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def acceptance(self) -> np.ndarray:
        return self.accepted.mean(axis=1)


def run_mh(llk, x_mode, Sigma, draws=20000, chains=2, jscale=None, seed=0, tune=None,
           target_accept=0.30, checkpoint_dir=None, checkpoint_every=1000, resume=False,
           progress=True, stop_after=None, processes=None, mp_context=None) -> MHChains:
    """Random-walk MH chains (see module doc).

    Parameters
    ----------
    llk : LogLikelihood (picklable; rebuilt in each worker).
    x_mode, Sigma : centre and covariance of the proposal (mode, inverse Hessian).
    jscale : scale c; ``None`` → tuned from 0.8 (``tune`` defaults to ``jscale is None``).
    checkpoint_dir : write/resume ``chain_<c>.npz`` there every ``checkpoint_every`` draws.
    resume : continue from existing checkpoints (otherwise they must not exist).
    stop_after : stop every chain after this many draws (simulates an interruption).
    processes : worker processes (default min(chains, os.cpu_count())); 1 = in-process.
    """
    t0 = time.perf_counter()
    if int(chains) < 1 or int(draws) < 0 or int(checkpoint_every) < 0:
        raise DSGEError(f"run_mh: chains ≥ 1, draws ≥ 0 and checkpoint_every ≥ 0 needed; got "
                        f"chains={chains}, draws={draws}, checkpoint_every={checkpoint_every}")
    if jscale is not None and not (np.isfinite(jscale) and jscale > 0):
        raise DSGEError(f"run_mh: jscale must be positive, got {jscale}")
    x_mode = np.asarray(x_mode, dtype=float)
    Sigma = np.asarray(Sigma, dtype=float)
    L = _proposal_chol(Sigma)
    tune = (jscale is None) if tune is None else tune
    tuning = []
    ckpt = Path(checkpoint_dir) if checkpoint_dir else None
    run_meta_path = ckpt / "run.json" if ckpt else None
    if ckpt is not None:
        ckpt.mkdir(parents=True, exist_ok=True)
        if run_meta_path.exists() and not resume:
            raise DSGEError(f"{ckpt} already holds MCMC checkpoints; pass resume=True to continue "
                            "them or use another directory")
    if ckpt is not None and resume and run_meta_path.exists():
        info = json.loads(run_meta_path.read_text())
        jscale, tuning = info["jscale"], info["tuning"]
        if info["draws"] != draws or info["chains"] != chains or info["seed"] != seed:
            raise DSGEError(f"resume: checkpoint run had draws={info['draws']}, chains={info['chains']}, "
                            f"seed={info['seed']}; got draws={draws}, chains={chains}, seed={seed}")
    else:
        j0 = 0.8 if jscale is None else float(jscale)
        if tune:
            jscale, tuning = tune_jscale(llk, x_mode, Sigma, j0, target_accept, seed=seed)
        else:
            jscale = j0
        if ckpt is not None:
            run_meta_path.write_text(json.dumps(dict(jscale=jscale, tuning=tuning, draws=draws,
                                                     chains=chains, seed=seed)))
    seqs = np.random.SeedSequence(seed).spawn(chains)
    meta = dict(draws=int(draws), chains=int(chains), seed=int(seed), jscale=float(jscale))
    nproc = min(chains, os.cpu_count() or 1) if processes is None else int(processes)
    bar = None
    # draws already in the checkpoints of a resumed run (the bar starts there)
    done = [0] * chains
    if ckpt is not None and resume:
        for c in range(chains):
            f = ckpt / f"chain_{c}.npz"
            if f.exists():
                with np.load(f, allow_pickle=False) as z:
                    done[c] = int(z["i"])
    if progress:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=draws * chains, initial=sum(done), desc="MH", unit="draw")
        except ImportError:   # pragma: no cover
            bar = None
    results = {}
    import multiprocessing as mp
    ctx = mp.get_context(mp_context) if mp_context else mp.get_context()
    if nproc <= 1 or ctx.get_start_method() == "fork":
        _SHARED["llk"] = llk
        llk_bytes = None
    else:
        llk_bytes = pickle.dumps(llk)
    if nproc <= 1:
        for c in range(chains):
            args = (llk_bytes, c, x_mode, L, jscale, draws, _seq_state(seqs[c]),
                    str(ckpt) if ckpt else None, checkpoint_every, stop_after, meta, None)
            r = _chain_worker(args)
            results[c] = r
            if bar is not None:
                bar.update(len(r[2]) - done[c])
    else:
        manager = ctx.Manager()
        queue = manager.Queue() if bar is not None else None
        with ProcessPoolExecutor(max_workers=nproc, mp_context=ctx) as ex:
            futs = [ex.submit(_chain_worker, (llk_bytes, c, x_mode, L, jscale, draws,
                                              _seq_state(seqs[c]), str(ckpt) if ckpt else None,
                                              checkpoint_every, stop_after, meta, queue))
                    for c in range(chains)]
            while not all(f.done() for f in futs):
                if queue is not None:
                    try:
                        bar.update(queue.get(timeout=0.2))
                    except Exception:   # noqa: BLE001 - queue.Empty
                        pass
                else:
                    time.sleep(0.1)
            for f in futs:
                r = f.result()
                results[r[0]] = r
        manager.shutdown()
    if bar is not None:
        bar.close()
    n_done = min(len(results[c][2]) for c in range(chains))
    D = np.stack([results[c][1][:n_done] for c in range(chains)])
    LP = np.stack([results[c][2][:n_done] for c in range(chains)])
    A = np.stack([results[c][3][:n_done] for c in range(chains)])
    complete = all(results[c][4] for c in range(chains))
    return MHChains(list(llk.space.names), D, LP, A, float(jscale), Sigma, complete, tuning,
                    time.perf_counter() - t0)


def _seq_state(seq: np.random.SeedSequence) -> dict:
    return dict(entropy=seq.entropy, spawn_key=tuple(seq.spawn_key), pool_size=seq.pool_size)
