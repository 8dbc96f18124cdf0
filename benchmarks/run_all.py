"""Run every benchmark script and collect their tables into benchmarks/results.md.

Usage::

    python benchmarks/run_all.py            # run all bench_*.py, then collect
    python benchmarks/run_all.py --collect  # only collect benchmarks/results/*.md

Each ``bench_<area>.py`` prints its table and writes ``benchmarks/results/<area>.md``;
peers are measured in the same run where an issue names one. ``bench_peers.py`` runs the Python
DSGE peers from their own virtual environments (create them once with
``bash benchmarks/peers/setup_venvs.sh``; a missing one is reported as not installed).
"""
from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def collect() -> Path:
    parts = [
        "# Benchmarks\n",
        f"Collected {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{platform.machine()} / Python {platform.python_version()} "
        "(2 cores, 24 GiB). Regenerate with `python benchmarks/run_all.py`; each section comes from "
        "the script named in its heading.\n",
    ]
    for md in sorted((HERE / "results").glob("*.md")):
        parts.append(md.read_text(encoding="utf-8").strip() + "\n")
    out = HERE / "results.md"
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--collect", action="store_true", help="only collect existing result files")
    args = ap.parse_args()
    rc = 0
    if not args.collect:
        for script in sorted(HERE.glob("bench_*.py")):
            print(f"== {script.name}", flush=True)
            r = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
            rc = rc or r.returncode
    print(f"wrote {collect()}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
