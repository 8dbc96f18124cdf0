"""Layering (DESIGN §2, docs/ARCHITECTURE.md): lower layers never import higher ones.

Static check of every ``import`` statement (including imports inside functions).
``plots`` is a leaf: it may import only ``errors``.
"""
from __future__ import annotations

import re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "dsge_agents"
ORDER = ["errors", "model", "linear", "filtering", "economy", "traces", "datasets", "estimation",
         "policy", "api", "cli"]
RANK = {n: i for i, n in enumerate(ORDER)}
IMPORT = re.compile(r"^\s*(?:from|import)\s+(?:dsge_agents\.|\.\.?)(\w+)")


def _violations():
    out = []
    for p in sorted(PKG.rglob("*.py")):
        parts = p.relative_to(PKG).parts
        layer = parts[0].removesuffix(".py")
        if layer == "__init__":
            continue
        for ln, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
            m = IMPORT.match(line)
            if not m:
                continue
            tgt = m.group(1)
            if tgt == layer or tgt not in RANK and tgt != "plots":
                continue
            if layer == "plots":
                if tgt != "errors":
                    out.append(f"{p.relative_to(PKG)}:{ln}: plots must stay a leaf, imports {tgt}")
                continue
            if tgt == "plots":
                continue
            if layer in RANK and RANK[tgt] > RANK[layer]:
                out.append(f"{p.relative_to(PKG)}:{ln}: {layer} imports higher layer {tgt}")
    return out


def test_no_upward_imports():
    assert _violations() == []


def test_checker_detects_a_violation(tmp_path, monkeypatch):
    """The checker itself can fail: a fake model module importing policy is reported."""
    fake = tmp_path / "dsge_agents"
    (fake / "model").mkdir(parents=True)
    (fake / "model" / "bad.py").write_text("def f():\n    from dsge_agents.policy import whatif\n")
    monkeypatch.setattr(__import__(__name__), "PKG", fake)
    assert any("model imports higher layer policy" in v for v in _violations())
