"""OTLP/JSON reading: the Python walk over ``json.loads`` against DuckDB's JSON reader
(``dsge_agents.traces.readers.read_otlp_json(engine=...)``), on the simulator's spans written as
OTLP JSON lines (one request per trace, as collectors export them).

    python benchmarks/bench_otlp.py [--repeat 3] [--repeat-trace 8]

Each read runs in its own process (peak RSS per path); runs alternate. Both paths must return
the same frame (checked on row count, ids, tokens and cost). Writes ``benchmarks/results/otlp.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

from _results import run_isolated, write_result

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = Path(os.environ.get("DSGE_AGENTS_SHARED_DATA", REPO.parent / "shared" / "data"))
OUT_DIR = Path("/tmp/dsge_agents_bench")


def generate(path: Path, repeat: int) -> dict:
    sys.path.insert(0, str(REPO))
    from dsge_agents.traces.simulate import SimulationConfig, simulate
    from dsge_agents.traces.writers import write_otlp_json

    conv = DATA / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv"
    res = simulate(SimulationConfig.default(), conv, seed=3, repeat=repeat)
    t = time.perf_counter()
    write_otlp_json(res.spans, path, jsonl=True, overwrite=True)
    return {"spans": len(res.spans), "write_s": time.perf_counter() - t}


def work(path: str, engine: str) -> dict:
    sys.path.insert(0, str(REPO))
    from dsge_agents.traces.readers import read_otlp_json

    r0 = resource.getrusage(resource.RUSAGE_SELF)
    t = time.perf_counter()
    df = read_otlp_json(path, engine=engine)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    rss = next(int(x.split()[1]) / 1024 for x in Path("/proc/self/status").read_text().splitlines()
               if x.startswith("VmHWM:"))
    return {"seconds": wall, "cpu_s": cpu, "maxrss_mb": rss, "rows": len(df),
            "ids": hash(tuple(df["span_id"].astype(str))),
            "tokens": float(df["input_tokens"].sum() + df["output_tokens"].sum()),
            "cost": float(df["cost_usd"].sum())}


def run(path: Path, engine: str) -> dict:
    return run_isolated("bench_otlp", f"b.work({str(path)!r}, {engine!r})", env=dict(os.environ, PYTHONHASHSEED="0"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="alternating reads per path (median)")
    ap.add_argument("--repeat-trace", type=int, default=8, help="replays of the Azure conv trace (8: ~520 k spans)")
    args = ap.parse_args()
    path = OUT_DIR / f"otlp_conv_x{args.repeat_trace}.jsonl"
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    gen = None
    if not path.exists():
        gen = generate(path, args.repeat_trace)
        print(f"wrote {gen['spans']:,} spans as OTLP JSON lines in {gen['write_s']:.1f} s -> {path}", flush=True)
    runs: dict[str, list[dict]] = {"python": [], "duckdb": []}
    for _ in range(args.repeat):
        for engine in ("duckdb", "python"):
            r = run(path, engine)
            r["load1"] = os.getloadavg()[0]
            runs[engine].append(r)
            print(engine, json.dumps(r), flush=True)
    a, b = runs["python"][0], runs["duckdb"][0]
    for k in ("rows", "ids"):
        if a[k] != b[k]:
            raise SystemExit(f"the two paths disagree on {k}")
    for k in ("tokens", "cost"):
        if not np.isclose(a[k], b[k], rtol=1e-12):
            raise SystemExit(f"the two paths disagree on {k}: {a[k]} vs {b[k]}")

    def med(engine, key):
        return float(np.median([x[key] for x in runs[engine]]))

    mb = path.stat().st_size / 1e6
    rows = a["rows"]
    lines = [
        "## OTLP/JSON reading (`benchmarks/bench_otlp.py`)",
        "",
        f"{rows:,} simulated spans (Azure conv trace replayed {args.repeat_trace}×, 6-agent DAG) as OTLP JSON "
        f"lines ({mb:.0f} MB, one request per trace) read into the canonical table by `read_otlp_json`; "
        f"each read in its own process, {args.repeat} alternating runs per path, medians "
        f"({platform.machine()}, {os.cpu_count()} cores). Both paths returned the same rows, ids, token and "
        "cost totals.",
        "",
        "| path | wall s | spans/s | CPU s | peak RSS (MB) |",
        "|---|---:|---:|---:|---:|",
    ]
    for engine, label in (("python", "Python walk over `json.loads` (the reference)"),
                          ("duckdb", "DuckDB `read_json` + Arrow (`engine=\"duckdb\"`, default from 1 MB)")):
        lines.append(f"| {label} | {med(engine, 'seconds'):.1f} | {rows / med(engine, 'seconds') / 1e3:.0f} k | "
                     f"{med(engine, 'cpu_s'):.1f} | {med(engine, 'maxrss_mb'):.0f} |")
    lines += ["", f"Speed-up: **{med('python', 'seconds') / med('duckdb', 'seconds'):.1f}×** wall, "
                  f"{med('python', 'cpu_s') / med('duckdb', 'cpu_s'):.1f}× CPU; memory "
                  f"{med('python', 'maxrss_mb') / med('duckdb', 'maxrss_mb'):.1f}× less.", ""]
    text = "\n".join(lines)
    print(text)
    write_result(text, "otlp")
    return 0


if __name__ == "__main__":
    sys.exit(main())
