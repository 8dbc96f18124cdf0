"""Trace formats: writing and reading the simulator's spans in every format the readers accept.

    python benchmarks/bench_formats.py [--repeat 3] [--spans 200000]

The spans come from the simulator (6-agent DAG driven by the Azure conversation trace, replayed
until there are enough of them); each format is written by ``dsge_agents.traces.writers`` and
read back by ``read_spans`` (format detection included), each step in its own process (median
of ``--repeat`` runs; the load average is recorded). Every read must give back the rows, span
ids and token / cost totals written. The OTLP read uses the default engine (see
``bench_otlp.py`` for the Python walk beside it). Writes ``benchmarks/results/formats.md``.
"""
from __future__ import annotations

import argparse
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
OUT_DIR = Path("/tmp/dsge_agents_bench/formats")

#: (label, file name, writer, writer keywords)
FORMATS = [
    ("canonical Parquet", "spans.parquet", "write_canonical", {}),
    ("canonical CSV", "spans.csv", "write_canonical", {}),
    ("OTLP/JSON lines", "otlp.jsonl", "write_otlp_json", {"jsonl": True}),
    ("Langfuse CSV", "langfuse.csv", "write_langfuse", {}),
    ("Langfuse JSONL (ms)", "langfuse.jsonl", "write_langfuse", {"time_unit": "ms"}),
    ("Langfuse Parquet", "langfuse.parquet", "write_langfuse", {}),
    ("Phoenix Parquet", "phoenix.parquet", "write_phoenix", {}),
    ("LangSmith JSONL", "langsmith.jsonl", "write_langsmith", {}),
]


def generate(n: int) -> Path:
    sys.path.insert(0, str(REPO))
    from dsge_agents.traces.simulate import SimulationConfig, simulate

    conv = DATA / "azure_llm_2023" / "AzureLLMInferenceTrace_conv.csv"
    repeat = max(1, int(np.ceil(n / 65_000)))  # ~65 k spans per replay of the conv trace
    spans = simulate(SimulationConfig.default(), conv, seed=5, repeat=repeat).spans
    path = OUT_DIR / f"source_{n}.parquet"
    spans.iloc[:n].reset_index(drop=True).to_parquet(path, index=False)
    return path


def _usage() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return time.perf_counter(), r.ru_utime + r.ru_stime


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _totals(df) -> dict:
    return {"rows": int(len(df)), "ids": sorted(df["span_id"].astype(str))[:: max(1, len(df) // 1000)],
            "tokens": float(df["input_tokens"].sum() + df["output_tokens"].sum()),
            "cost": float(df["cost_usd"].sum())}


def work_write(source: str, writer: str, dst: str, kw: dict) -> dict:
    sys.path.insert(0, str(REPO))
    import pandas as pd
    from dsge_agents.traces import writers

    spans = pd.read_parquet(source)
    t, c = _usage()
    getattr(writers, writer)(spans, dst, overwrite=True, **kw)
    t1, c1 = _usage()
    return {"seconds": t1 - t, "cpu_s": c1 - c, "maxrss_mb": _peak_mb(), **_totals(spans)}


def work_read(path: str) -> dict:
    sys.path.insert(0, str(REPO))
    from dsge_agents.traces.readers import read_spans

    t, c = _usage()
    df = read_spans(path)
    t1, c1 = _usage()
    return {"seconds": t1 - t, "cpu_s": c1 - c, "maxrss_mb": _peak_mb(), "format": df.attrs["formats"][0],
            **_totals(df)}


def run(call: str) -> dict:
    return run_isolated("bench_formats", call)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3, help="runs per step (median)")
    ap.add_argument("--spans", type=int, default=200_000, help="spans written and read per format")
    args = ap.parse_args()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    source = OUT_DIR / f"source_{args.spans}.parquet"
    if not source.exists():
        source = generate(args.spans)
    res: dict[str, dict[str, list]] = {}
    loads = []
    for label, name, writer, kw in FORMATS:
        dst = OUT_DIR / name
        res[label] = {"write": [], "read": []}
        for _ in range(args.repeat):
            loads.append(os.getloadavg()[0])
            res[label]["write"].append(run(f"b.work_write({str(source)!r}, {writer!r}, {str(dst)!r}, {kw!r})"))
            loads.append(os.getloadavg()[0])
            res[label]["read"].append(run(f"b.work_read({str(dst)!r})"))
        w, r = res[label]["write"][0], res[label]["read"][0]
        for k in ("rows", "ids"):
            if w[k] != r[k]:
                raise SystemExit(f"{label}: read back differs from what was written ({k})")
        for k in ("tokens", "cost"):
            if not np.isclose(w[k], r[k], rtol=1e-9):
                raise SystemExit(f"{label}: read back differs from what was written ({k}: {w[k]} vs {r[k]})")
        med = {s: {k: float(np.median([x[k] for x in res[label][s]])) for k in ("seconds", "cpu_s", "maxrss_mb")}
               for s in ("write", "read")}
        res[label]["med"] = med
        res[label]["mb"] = dst.stat().st_size / 1e6
        print(f"{label:22s} write {med['write']['seconds']:6.2f} s  read {med['read']['seconds']:6.2f} s "
              f"({r['format']}, {res[label]['mb']:.0f} MB)", flush=True)

    n = res[FORMATS[0][0]]["write"][0]["rows"]
    lines = [
        "## Trace formats (`benchmarks/bench_formats.py`)",
        "",
        f"{n:,} simulated spans (6-agent DAG, Azure conv trace replayed) written by `traces.writers` and read "
        f"back by `read_spans` (format detected); each step in its own process, medians of {args.repeat} runs "
        f"({platform.machine()}, {os.cpu_count()} cores, 1-min load average {min(loads):.1f}–{max(loads):.1f}). "
        "Every read returned the rows, span ids and token / cost totals written.",
        "",
        "| format | file MB | write s | write spans/s | read s | read spans/s | read CPU s | read peak RSS (MB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, *_ in FORMATS:
        m = res[label]["med"]
        lines.append(
            f"| {label} | {res[label]['mb']:.0f} | {m['write']['seconds']:.2f} | "
            f"{n / m['write']['seconds'] / 1e3:.0f} k | {m['read']['seconds']:.2f} | "
            f"{n / m['read']['seconds'] / 1e3:.0f} k | {m['read']['cpu_s']:.2f} | {m['read']['maxrss_mb']:.0f} |")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    write_result(text, "formats")
    return 0


if __name__ == "__main__":
    sys.exit(main())
