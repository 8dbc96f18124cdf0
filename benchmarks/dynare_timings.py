"""Dynare 5.3 / Octave reference timings on this machine (the peer numbers other benchmarks cite).

Usage::

    python benchmarks/dynare_timings.py          # table from tests/data/dynare/timings.json (+ fs2000_mh.json)
    python benchmarks/dynare_timings.py --run    # first re-measure with Dynare (needs dynare + octave):
                                                 #   tests/data/dynare/run_dynare.sh timings
    python benchmarks/dynare_timings.py --write  # also write benchmarks/results/dynare.md

The measurements themselves are made inside Octave (tic/toc and cputime around loops of Dynare's
own functions, see tests/data/dynare/tails/timings.tail and nk3_timing.mod); this script only
runs them and formats the table. Wall times depend on the load of the machine: the JSON records
the load average, and CPU times are given next to wall times.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE.parent / "tests" / "data" / "dynare"

ROWS = [
    ("fs2000 `dynare_resolve` (restrict, as in the likelihood)", "fs2000_timing_dynare_resolve_restrict_s",
     "fs2000_cpu_dynare_resolve_restrict_s"),
    ("fs2000 `dynare_resolve` (full)", "fs2000_timing_dynare_resolve_full_s", "fs2000_cpu_dynare_resolve_full_s"),
    ("fs2000 log-likelihood `dsge_likelihood` (default riccati_tol)", "fs2000_timing_dsge_likelihood_default_s",
     "fs2000_cpu_dsge_likelihood_default_s"),
    ("fs2000 log-likelihood `dsge_likelihood` (exact filter)", "fs2000_timing_dsge_likelihood_exact_s",
     "fs2000_cpu_dsge_likelihood_exact_s"),
    ("nk3 whole `stoch_simul` (solution, IRFs, moments)", "nk3_stoch_simul_s", "nk3_stoch_simul_cpu_s"),
]


def table() -> str:
    t = json.loads((DATA / "timings.json").read_text())
    lines = [
        "## Dynare 5.3 under Octave 7.3 (benchmarks/dynare_timings.py)\n",
        f"Measured {t.get('date', '?')}; load average at the end {t['machine'].get('loadavg_at_end')}; "
        "mean over repeated calls after a warm-up.\n",
        "| operation | wall ms | CPU ms |",
        "|---|---:|---:|",
    ]
    for label, wall, cpu in ROWS:
        if wall in t:
            lines.append(f"| {label} | {1e3 * t[wall]:.3f} | {1e3 * t.get(cpu, float('nan')):.3f} |")
    runs = t.get("nk3_whole_dynare_command_s")
    if runs:
        lines.append(f"| nk3 whole `dynare nk3` command (fresh Octave, median of {len(runs)}) | "
                     f"{1e3 * sorted(runs)[len(runs) // 2]:.0f} | |")
    mh_path = DATA / "fs2000_mh.json"
    if mh_path.exists():
        mh = json.loads(mh_path.read_text())
        m = mh.get("mh", {})
        run = mh.get("run", {})
        lines.append(f"| fs2000 estimation: mode + MH 2 x {m.get('mh_replic')} draws + posterior analysis "
                     f"(chains in parallel processes: {m.get('chains_in_parallel_processes')}) | "
                     f"{1e3 * run.get('wall_seconds_whole_estimation', float('nan')):.0f} | "
                     f"{1e3 * sum(run.get('cpu_seconds_per_chain', [])):.0f} (both chains) |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", action="store_true", help="re-measure with Dynare first")
    ap.add_argument("--write", action="store_true", help="write benchmarks/results/dynare.md")
    args = ap.parse_args()
    if args.run:
        subprocess.run([str(DATA / "run_dynare.sh"), "timings"], check=True)
    text = table()
    print(text)
    if args.write:
        (HERE / "results").mkdir(exist_ok=True)
        (HERE / "results" / "dynare.md").write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
