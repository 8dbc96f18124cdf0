"""Where the benchmark scripts put their tables: ``benchmarks/results/<area>.md``.

``run_all.py --collect`` joins these files into ``benchmarks/results.md``. The scripts run as
``python benchmarks/bench_<area>.py``, so this folder is on their import path.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(text: str, area: str | None = None, *, path=None) -> Path:
    """Write ``text`` (newline-terminated) to ``results/<area>.md`` or ``path``; print where."""
    out = Path(path) if path is not None else RESULTS / f"{area}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return out


def run_isolated(module: str, call: str, env: dict | None = None) -> dict:
    """Evaluate ``call`` -- an expression over ``b``, the benchmark module ``module`` -- in a
    fresh Python process (its own imports, caches and peak memory) and return the JSON-able
    value it gives."""
    code = (f"import json, sys; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            f"import {module} as b; print(json.dumps({call}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])
