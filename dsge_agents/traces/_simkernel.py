"""Numba event loop of the trace simulator (see :mod:`dsge_agents.traces.simulate`).

Discrete-event simulation (next-event time advance; Law, *Simulation Modeling and
Analysis*, ch. 1) of a network of FCFS multi-server queues, one per agent. The event
list is a binary min-heap keyed by (time, sequence number), so simultaneous events
are processed in the order they were scheduled and runs are reproducible.

Events: 0 request arrives at a stage (choose agent by routing shares, rate-limit
check, join queue), 1 service completion, 2 capacity change (outage start/end),
3 queueing timeout of a call. Failed calls (rate-limited or timed out) are retried
after exponential backoff base·mult^k·(1 + jitter·U) up to ``max_retries`` times.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# span record layout: float fields F_* in sf[:, k], integer fields I_* in si[:, k]
F_START, F_SVC, F_END, F_TTFT = 0, 1, 2, 3
I_REQ, I_AGENT, I_STAGE, I_IN, I_OUT, I_ERR, I_STATE, I_QNEXT = 0, 1, 2, 3, 4, 5, 6, 7


@njit(cache=True)
def _push(ht, hp, n, t, payload):
    """Binary-heap insert keyed by (time, payload order of insertion via hp[:, 0] = sequence)."""
    i = n
    ht[i] = t
    hp[i, 0] = payload[0]
    hp[i, 1] = payload[1]
    hp[i, 2] = payload[2]
    while i > 0:
        p = (i - 1) >> 1
        if ht[p] < ht[i] or (ht[p] == ht[i] and hp[p, 0] < hp[i, 0]):
            break
        tt = ht[p]
        ht[p] = ht[i]
        ht[i] = tt
        for k in range(3):
            x = hp[p, k]
            hp[p, k] = hp[i, k]
            hp[i, k] = x
        i = p
    return n + 1


@njit(cache=True)
def _pop(ht, hp, n):
    """Remove the heap minimum; returns (time, kind, arg, new size)."""
    t, kind, a = ht[0], hp[0, 1], hp[0, 2]
    n -= 1
    ht[0] = ht[n]
    for k in range(3):
        hp[0, k] = hp[n, k]
    i = 0
    while True:
        l = 2 * i + 1
        if l >= n:
            break
        c = l
        r = l + 1
        if r < n and (ht[r] < ht[l] or (ht[r] == ht[l] and hp[r, 0] < hp[l, 0])):
            c = r
        if ht[i] < ht[c] or (ht[i] == ht[c] and hp[i, 0] < hp[c, 0]):
            break
        tt = ht[c]
        ht[c] = ht[i]
        ht[i] = tt
        for k in range(3):
            x = hp[c, k]
            hp[c, k] = hp[i, k]
            hp[i, k] = x
        i = c
    return t, kind, a, n


@njit(cache=True)
def simulate_kernel(
    arr_t,
    in_tok,
    out_tok,
    stage_ptr,
    stage_agents,
    edge_ptr,
    edge_to,
    edge_cum,
    servers,
    prefill,
    decode,
    overhead,
    in_scale,
    out_scale,
    svc_kind,
    svc_mean,
    ep_t,
    ep_share,
    ep_timeout,
    cap_t,
    cap_agent,
    cap_delta,
    rl_agent,
    rl_start,
    rl_end,
    rl_limit,
    rl_offset_ns,
    max_retries,
    backoff_base,
    backoff_mult,
    backoff_jitter,
    seed,
    max_visits,
    scap,
):
    """Run the simulation; returns span arrays, per-request outcome arrays and an overflow flag.

    ``scap`` is the number of span slots. The event list never holds more than
    2·n_req + n_capacity_events + scap entries (initial arrivals; one pending arrival or
    departure per request; at most one timeout per span), so it is allocated once. If the
    spans outgrow ``scap`` the run stops with ``overflow = True`` and the caller reruns
    with more room (the run is deterministic given the seed). Growing arrays inside the
    loop is avoided on purpose: it multiplies Numba's compile time.

    Times are seconds from an arbitrary origin. Service time of a call to agent a with
    request tokens (i, o): kind 0: overhead_a + i·in_scale_a/prefill_a + o·out_scale_a/decode_a
    (TTFT = wait + overhead + prefill part); kind 1: exponential with mean svc_mean_a.
    Rate limits count calls per calendar second: ``rl_offset_ns`` is the origin's offset (ns)
    from the start of its second.
    """
    np.random.seed(seed)
    n_req = arr_t.shape[0]
    n_ag = servers.shape[0]
    scap = max(16, scap)
    hcap = 2 * n_req + cap_t.shape[0] + scap + 16
    ht = np.empty(hcap, np.float64)
    hp = np.empty((hcap, 3), np.int64)  # sequence, kind, argument
    pl = np.empty(3, np.int64)
    hn = 0
    seq = 0
    overflow = False
    sf = np.empty((scap, 4), np.float64)
    si = np.empty((scap, 8), np.int64)
    ns = 0
    req_attempt = np.zeros(n_req, np.int64)
    req_visits = np.zeros(n_req, np.int64)
    req_end = np.full(n_req, np.nan)
    req_failed = np.zeros(n_req, np.int64)
    busy = np.zeros(n_ag, np.int64)
    cap = servers.copy()
    q_head = np.full(n_ag, -1, np.int64)
    q_tail = np.full(n_ag, -1, np.int64)
    n_rl = rl_agent.shape[0]
    rl_sec = np.full(n_rl, -1, np.int64)
    rl_cnt = np.zeros(n_rl, np.int64)
    n_ep = ep_t.shape[0]

    # capacity changes first: with the lowest sequence numbers they win every tie, so a call
    # arriving exactly at an outage's start waits and one arriving at its end is served
    for j in range(cap_t.shape[0]):
        pl[0] = seq
        pl[1] = 2
        pl[2] = j
        hn = _push(ht, hp, hn, cap_t[j], pl)
        seq += 1
    for r in range(n_req):
        pl[0] = seq
        pl[1] = 0
        pl[2] = r * 65536
        hn = _push(ht, hp, hn, arr_t[r], pl)
        seq += 1

    while hn > 0:
        t, kind, a, hn = _pop(ht, hp, hn)
        if ns + 2 >= scap:  # out of span slots: the caller reruns with more room
            overflow = True
            break
        dispatch_agent = -1
        retry_req = -1
        retry_stage = -1
        if kind == 0:  # request a//65536 arrives at stage a%65536
            r = a // 65536
            st = a % 65536
            e = 0
            while e + 1 < n_ep and ep_t[e + 1] <= t:
                e += 1
            lo = stage_ptr[st]
            hi = stage_ptr[st + 1]
            ag = stage_agents[lo]
            if hi - lo > 1:
                tot = 0.0
                for k in range(lo, hi):
                    tot += ep_share[e, stage_agents[k]]
                u = np.random.random()
                if tot > 0:
                    acc = 0.0
                    for k in range(lo, hi):
                        ag = stage_agents[k]
                        acc += ep_share[e, ag] / tot
                        if u < acc:
                            break
                else:
                    ag = stage_agents[lo + min(int(u * (hi - lo)), hi - lo - 1)]
            s = ns
            ns += 1
            sf[s, F_START] = t
            sf[s, F_SVC] = np.nan
            sf[s, F_END] = np.nan
            sf[s, F_TTFT] = np.nan
            si[s, I_REQ] = r
            si[s, I_AGENT] = ag
            si[s, I_STAGE] = st
            si[s, I_IN] = int(np.round(in_tok[r] * in_scale[ag]))
            si[s, I_OUT] = int(np.round(out_tok[r] * out_scale[ag]))
            si[s, I_ERR] = 0
            si[s, I_QNEXT] = -1
            limited = False
            for w in range(n_rl):
                if rl_agent[w] == ag and rl_start[w] <= t and t < rl_end[w]:
                    # calendar second of the call's start timestamp origin + round(t·10⁶) µs
                    # (the span table's rounding); rl_offset_ns = origin's nanoseconds into its second
                    us = np.round(t * 1e6)
                    if us < 9.0e15:
                        sec = (rl_offset_ns + np.int64(us) * 1000) // 1000000000
                    else:  # past the timestamp range (refused when the spans are built)
                        sec = np.int64(np.floor(t))
                    if rl_sec[w] != sec:
                        rl_sec[w] = sec
                        rl_cnt[w] = 0
                    if rl_cnt[w] >= rl_limit[w]:
                        limited = True
                    else:
                        rl_cnt[w] += 1
            if limited:
                sf[s, F_END] = t
                si[s, I_STATE] = 2
                si[s, I_ERR] = 1
                si[s, I_OUT] = 0
                retry_req = r
                retry_stage = st
            else:
                si[s, I_STATE] = 0
                if q_tail[ag] < 0:
                    q_head[ag] = s
                else:
                    si[q_tail[ag], I_QNEXT] = s
                q_tail[ag] = s
                dispatch_agent = ag
                to = ep_timeout[e]
                if np.isfinite(to):
                    pl[0] = seq
                    pl[1] = 3
                    pl[2] = s
                    hn = _push(ht, hp, hn, t + to, pl)
                    seq += 1
        elif kind == 1:  # service completion of span a
            s = a
            ag = si[s, I_AGENT]
            busy[ag] -= 1
            sf[s, F_END] = t
            si[s, I_STATE] = 2
            r = si[s, I_REQ]
            req_attempt[r] = 0
            req_visits[r] += 1
            st = si[s, I_STAGE]
            nxt = -1
            lo = edge_ptr[st]
            hi = edge_ptr[st + 1]
            if hi > lo and req_visits[r] < max_visits:
                u = np.random.random()
                for k in range(lo, hi):
                    if u < edge_cum[k]:
                        nxt = edge_to[k]
                        break
            if nxt >= 0:
                pl[0] = seq
                pl[1] = 0
                pl[2] = r * 65536 + nxt
                hn = _push(ht, hp, hn, t, pl)
                seq += 1
            else:
                req_end[r] = t
            dispatch_agent = ag
        elif kind == 2:  # capacity change
            ag = cap_agent[a]
            cap[ag] += cap_delta[a]
            dispatch_agent = ag
        else:  # queueing timeout of span a
            s = a
            if si[s, I_STATE] == 0:
                si[s, I_STATE] = 3
                sf[s, F_END] = t
                si[s, I_ERR] = 2
                si[s, I_OUT] = 0
                retry_req = si[s, I_REQ]
                retry_stage = si[s, I_STAGE]
        if retry_req >= 0:  # failed call: back off and retry, or give up
            r = retry_req
            req_attempt[r] += 1
            if req_attempt[r] <= max_retries:
                back = (
                    backoff_base
                    * backoff_mult ** (req_attempt[r] - 1)
                    * (1.0 + backoff_jitter * np.random.random())
                )
                pl[0] = seq
                pl[1] = 0
                pl[2] = r * 65536 + retry_stage
                hn = _push(ht, hp, hn, t + back, pl)
                seq += 1
            else:
                req_failed[r] = 1
                req_end[r] = t
        if dispatch_agent >= 0:  # start service while servers are free (FCFS)
            ag = dispatch_agent
            while busy[ag] < cap[ag] and q_head[ag] >= 0:
                s = q_head[ag]
                q_head[ag] = si[s, I_QNEXT]
                if q_head[ag] < 0:
                    q_tail[ag] = -1
                if si[s, I_STATE] != 0:
                    continue  # abandoned while waiting
                busy[ag] += 1
                si[s, I_STATE] = 1
                sf[s, F_SVC] = t
                if svc_kind[ag] == 1:
                    svc = -svc_mean[ag] * np.log(1.0 - np.random.random())
                    sf[s, F_TTFT] = t - sf[s, F_START]
                else:
                    pre = overhead[ag] + si[s, I_IN] / prefill[ag]
                    svc = pre + si[s, I_OUT] / decode[ag]
                    sf[s, F_TTFT] = t - sf[s, F_START] + pre
                pl[0] = seq
                pl[1] = 1
                pl[2] = s
                hn = _push(ht, hp, hn, t + svc, pl)
                seq += 1
    return (
        si[:ns, I_REQ].copy(),
        si[:ns, I_AGENT].copy(),
        si[:ns, I_STAGE].copy(),
        sf[:ns, F_START].copy(),
        sf[:ns, F_SVC].copy(),
        sf[:ns, F_END].copy(),
        sf[:ns, F_TTFT].copy(),
        si[:ns, I_IN].copy(),
        si[:ns, I_OUT].copy(),
        si[:ns, I_ERR].copy(),
        req_end,
        req_failed,
        overflow,
    )
