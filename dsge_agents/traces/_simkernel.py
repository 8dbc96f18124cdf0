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


@njit(cache=True)
def _heap_push(ht, hs, hk, ha, n, t, seq, kind, a):
    i = n
    ht[i] = t
    hs[i] = seq
    hk[i] = kind
    ha[i] = a
    while i > 0:
        p = (i - 1) >> 1
        if ht[p] < ht[i] or (ht[p] == ht[i] and hs[p] < hs[i]):
            break
        ht[p], ht[i] = ht[i], ht[p]
        hs[p], hs[i] = hs[i], hs[p]
        hk[p], hk[i] = hk[i], hk[p]
        ha[p], ha[i] = ha[i], ha[p]
        i = p
    return n + 1


@njit(cache=True)
def _heap_pop(ht, hs, hk, ha, n):
    t, k, a = ht[0], hk[0], ha[0]
    n -= 1
    ht[0], hs[0], hk[0], ha[0] = ht[n], hs[n], hk[n], ha[n]
    i = 0
    while True:
        l = 2 * i + 1
        if l >= n:
            break
        c = l
        r = l + 1
        if r < n and (ht[r] < ht[l] or (ht[r] == ht[l] and hs[r] < hs[l])):
            c = r
        if ht[i] < ht[c] or (ht[i] == ht[c] and hs[i] < hs[c]):
            break
        ht[c], ht[i] = ht[i], ht[c]
        hs[c], hs[i] = hs[i], hs[c]
        hk[c], hk[i] = hk[i], hk[c]
        ha[c], ha[i] = ha[i], ha[c]
        i = c
    return t, k, a, n


@njit(cache=True)
def _grow_f(x, m):
    y = np.empty(m, x.dtype)
    y[:x.shape[0]] = x
    return y


@njit(cache=True)
def simulate_kernel(arr_t, in_tok, out_tok, stage_ptr, stage_agents, edge_ptr, edge_to, edge_cum,
                    servers, prefill, decode, overhead, in_scale, out_scale, svc_kind, svc_mean,
                    ep_t, ep_share, ep_timeout, cap_t, cap_agent, cap_delta,
                    rl_agent, rl_start, rl_end, rl_limit,
                    max_retries, backoff_base, backoff_mult, backoff_jitter, seed, max_visits):
    """Run the simulation; returns span arrays and per-request outcome arrays.

    Times are seconds from an arbitrary origin. Service time of a call to agent a with
    request tokens (i, o): kind 0: overhead_a + i·in_scale_a/prefill_a + o·out_scale_a/decode_a
    (TTFT = wait + overhead + prefill part); kind 1: exponential with mean svc_mean_a.
    """
    np.random.seed(seed)
    n_req = arr_t.shape[0]
    n_ag = servers.shape[0]
    # --- heap
    hcap = n_req + cap_t.shape[0] + 1024
    ht = np.empty(hcap, np.float64)
    hs = np.empty(hcap, np.int64)
    hk = np.empty(hcap, np.int64)
    ha = np.empty(hcap, np.int64)
    hn = 0
    seq = 0
    # --- spans
    scap = max(16, 3 * n_req)
    sp_req = np.empty(scap, np.int64)
    sp_agent = np.empty(scap, np.int64)
    sp_stage = np.empty(scap, np.int64)
    sp_start = np.empty(scap, np.float64)
    sp_svc = np.empty(scap, np.float64)
    sp_end = np.empty(scap, np.float64)
    sp_ttft = np.empty(scap, np.float64)
    sp_in = np.empty(scap, np.int64)
    sp_out = np.empty(scap, np.int64)
    sp_err = np.empty(scap, np.int64)      # 0 ok, 1 rate limited, 2 timeout
    sp_state = np.empty(scap, np.int64)    # 0 waiting, 1 in service, 2 done, 3 abandoned
    q_next = np.empty(scap, np.int64)
    ns = 0
    # --- requests
    req_attempt = np.zeros(n_req, np.int64)
    req_visits = np.zeros(n_req, np.int64)
    req_end = np.full(n_req, np.nan)
    req_failed = np.zeros(n_req, np.int64)
    # --- agents
    busy = np.zeros(n_ag, np.int64)
    cap = servers.copy()
    q_head = np.full(n_ag, -1, np.int64)
    q_tail = np.full(n_ag, -1, np.int64)
    n_rl = rl_agent.shape[0]
    rl_sec = np.full(n_rl, -1, np.int64)
    rl_cnt = np.zeros(n_rl, np.int64)
    n_ep = ep_t.shape[0]

    for r in range(n_req):
        hn = _heap_push(ht, hs, hk, ha, hn, arr_t[r], seq, 0, r * 65536 + 0)
        seq += 1
    for j in range(cap_t.shape[0]):
        if hn >= hcap:
            hcap *= 2
            ht = _grow_f(ht, hcap); hs = _grow_f(hs, hcap); hk = _grow_f(hk, hcap); ha = _grow_f(ha, hcap)
        hn = _heap_push(ht, hs, hk, ha, hn, cap_t[j], seq, 2, j)
        seq += 1

    while hn > 0:
        t, kind, a, hn = _heap_pop(ht, hs, hk, ha, hn)
        # ensure room for up to 3 pushes and one new span
        if hn + 4 >= hcap:
            hcap *= 2
            ht = _grow_f(ht, hcap); hs = _grow_f(hs, hcap); hk = _grow_f(hk, hcap); ha = _grow_f(ha, hcap)
        if ns + 2 >= scap:
            scap *= 2
            sp_req = _grow_f(sp_req, scap); sp_agent = _grow_f(sp_agent, scap); sp_stage = _grow_f(sp_stage, scap)
            sp_start = _grow_f(sp_start, scap); sp_svc = _grow_f(sp_svc, scap); sp_end = _grow_f(sp_end, scap)
            sp_ttft = _grow_f(sp_ttft, scap); sp_in = _grow_f(sp_in, scap); sp_out = _grow_f(sp_out, scap)
            sp_err = _grow_f(sp_err, scap); sp_state = _grow_f(sp_state, scap); q_next = _grow_f(q_next, scap)
        dispatch_agent = -1
        if kind == 0:  # arrival of request r at stage st
            r = a // 65536
            st = a % 65536
            # epoch
            e = 0
            while e + 1 < n_ep and ep_t[e + 1] <= t:
                e += 1
            lo, hi = stage_ptr[st], stage_ptr[st + 1]
            tot = 0.0
            for k in range(lo, hi):
                tot += ep_share[e, stage_agents[k]]
            ag = stage_agents[lo]
            if hi - lo > 1:
                u = np.random.random()
                if tot > 0:
                    acc = 0.0
                    for k in range(lo, hi):
                        acc += ep_share[e, stage_agents[k]] / tot
                        if u < acc:
                            ag = stage_agents[k]
                            break
                        ag = stage_agents[k]
                else:
                    ag = stage_agents[lo + min(int(u * (hi - lo)), hi - lo - 1)]
            s = ns
            ns += 1
            sp_req[s] = r
            sp_agent[s] = ag
            sp_stage[s] = st
            sp_start[s] = t
            sp_svc[s] = np.nan
            sp_end[s] = np.nan
            sp_ttft[s] = np.nan
            sp_in[s] = int(round(in_tok[r] * in_scale[ag]))
            sp_out[s] = int(round(out_tok[r] * out_scale[ag]))
            sp_err[s] = 0
            q_next[s] = -1
            limited = False
            for w in range(n_rl):
                if rl_agent[w] == ag and rl_start[w] <= t and t < rl_end[w]:
                    sec = int(np.floor(t))
                    if rl_sec[w] != sec:
                        rl_sec[w] = sec
                        rl_cnt[w] = 0
                    if rl_cnt[w] >= rl_limit[w]:
                        limited = True
                    else:
                        rl_cnt[w] += 1
            if limited:
                sp_end[s] = t
                sp_state[s] = 2
                sp_err[s] = 1
                sp_out[s] = 0
                fail = True
            else:
                fail = False
                sp_state[s] = 0
                if q_tail[ag] < 0:
                    q_head[ag] = s
                else:
                    q_next[q_tail[ag]] = s
                q_tail[ag] = s
                dispatch_agent = ag
                to = ep_timeout[e]
                if np.isfinite(to):
                    hn = _heap_push(ht, hs, hk, ha, hn, t + to, seq, 3, s)
                    seq += 1
            if fail:
                req_attempt[r] += 1
                if req_attempt[r] <= max_retries:
                    back = backoff_base * backoff_mult ** (req_attempt[r] - 1) * (1.0 + backoff_jitter * np.random.random())
                    hn = _heap_push(ht, hs, hk, ha, hn, t + back, seq, 0, r * 65536 + st)
                    seq += 1
                else:
                    req_failed[r] = 1
                    req_end[r] = t
        elif kind == 1:  # service completion of span a
            s = a
            ag = sp_agent[s]
            busy[ag] -= 1
            sp_end[s] = t
            sp_state[s] = 2
            r = sp_req[s]
            req_attempt[r] = 0
            req_visits[r] += 1
            st = sp_stage[s]
            nxt = -1
            lo, hi = edge_ptr[st], edge_ptr[st + 1]
            if hi > lo and req_visits[r] < max_visits:
                u = np.random.random()
                for k in range(lo, hi):
                    if u < edge_cum[k]:
                        nxt = edge_to[k]
                        break
            if nxt >= 0:
                hn = _heap_push(ht, hs, hk, ha, hn, t, seq, 0, r * 65536 + nxt)
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
            if sp_state[s] == 0:
                sp_state[s] = 3
                sp_end[s] = t
                sp_err[s] = 2
                sp_out[s] = 0
                r = sp_req[s]
                st = sp_stage[s]
                req_attempt[r] += 1
                if req_attempt[r] <= max_retries:
                    back = backoff_base * backoff_mult ** (req_attempt[r] - 1) * (1.0 + backoff_jitter * np.random.random())
                    hn = _heap_push(ht, hs, hk, ha, hn, t + back, seq, 0, r * 65536 + st)
                    seq += 1
                else:
                    req_failed[r] = 1
                    req_end[r] = t
        # start service while servers are free
        if dispatch_agent >= 0:
            ag = dispatch_agent
            while busy[ag] < cap[ag] and q_head[ag] >= 0:
                s = q_head[ag]
                q_head[ag] = q_next[s]
                if q_head[ag] < 0:
                    q_tail[ag] = -1
                if sp_state[s] != 0:
                    continue  # abandoned while waiting
                if hn + 2 >= hcap:
                    hcap *= 2
                    ht = _grow_f(ht, hcap); hs = _grow_f(hs, hcap); hk = _grow_f(hk, hcap); ha = _grow_f(ha, hcap)
                busy[ag] += 1
                sp_state[s] = 1
                sp_svc[s] = t
                if svc_kind[ag] == 1:
                    svc = -svc_mean[ag] * np.log(1.0 - np.random.random())
                    sp_ttft[s] = t - sp_start[s]
                else:
                    pre = overhead[ag] + sp_in[s] / prefill[ag]
                    svc = pre + sp_out[s] / decode[ag]
                    sp_ttft[s] = t - sp_start[s] + pre
                hn = _heap_push(ht, hs, hk, ha, hn, t + svc, seq, 1, s)
                seq += 1
    return (sp_req[:ns], sp_agent[:ns], sp_stage[:ns], sp_start[:ns], sp_svc[:ns], sp_end[:ns], sp_ttft[:ns],
            sp_in[:ns], sp_out[:ns], sp_err[:ns], req_end, req_failed)
