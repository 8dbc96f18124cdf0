"""Where the benchmark scripts put their tables: ``benchmarks/results/<area>.md``.

``run_all.py --collect`` joins these files into ``benchmarks/results.md``. The scripts run as
``python benchmarks/bench_<area>.py``, so this folder is on their import path.
"""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_result(text: str, area: str | None = None, *, path=None) -> Path:
    """Write ``text`` (newline-terminated) to ``results/<area>.md`` or ``path``; print where."""
    out = Path(path) if path is not None else RESULTS / f"{area}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    print(f"wrote {out}")
    return out
