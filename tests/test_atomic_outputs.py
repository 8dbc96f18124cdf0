"""Output files are written atomically (dsge_agents/_fileio.py): an interrupted or failing writer
leaves neither a half-written file under the user's name nor a temporary file, and a file that was
there before (``--force``) survives intact."""
from __future__ import annotations

import os
import stat

import numpy as np
import pandas as pd
import pytest

from dsge_agents._fileio import PARTIAL, atomic_path, partial_name
from dsge_agents.cli.main import main


def _leftovers(d):
    return sorted(p.name for p in d.iterdir() if PARTIAL in p.name)


@pytest.mark.parametrize("name, suffix", [("irf.csv", ".csv"), ("fig", ""), ("run.v2.png", ".png"),
                                          (".hidden", ""), ("a.tar.gz", ".gz")])
def test_partial_name_keeps_the_suffix(tmp_path, name, suffix):
    p = tmp_path / name
    assert p.suffix == suffix
    t = partial_name(p)
    assert t.parent == tmp_path and t.suffix == suffix and t.name.startswith(".") and PARTIAL in t.name
    assert partial_name(p) != t  # unique per call


def test_success_replaces_and_keeps_mode(tmp_path):
    out = tmp_path / "out.txt"
    out.write_text("old")
    os.chmod(out, 0o640)
    with atomic_path(out) as tmp:
        assert tmp != out and not tmp.exists()
        tmp.write_text("new")
        assert out.read_text() == "old"  # the user's file is untouched until the writer returns
    assert out.read_text() == "new" and stat.S_IMODE(out.stat().st_mode) == 0o640
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("exc", [OSError("disk full"), KeyboardInterrupt()])
def test_failure_keeps_the_old_file_and_removes_the_partial_one(tmp_path, exc):
    out = tmp_path / "out.csv"
    out.write_text("old")
    with pytest.raises(type(exc)):
        with atomic_path(out) as tmp:
            tmp.write_text("half a fi")
            raise exc
    assert out.read_text() == "old" and _leftovers(tmp_path) == []
    new = tmp_path / "new.csv"
    with pytest.raises(OSError):
        with atomic_path(new) as tmp:
            tmp.write_text("half")
            raise OSError("boom")
    assert not new.exists() and _leftovers(tmp_path) == []


def test_symlink_target_is_followed(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with atomic_path(link) as tmp:
        tmp.write_text("new")
    assert link.is_symlink() and real.read_text() == "new"


def test_writer_that_writes_nothing(tmp_path):
    out = tmp_path / "out.csv"
    with atomic_path(out):
        pass
    assert not out.exists()


def test_cli_csv_interrupted_mid_write_keeps_users_file(models_dir, tmp_path, monkeypatch, capsys):
    """`irf --csv X --force` whose CSV writer dies half-way: X keeps its old bytes, no partial file."""
    nk3 = str(models_dir / "nk3.yaml")
    csv = tmp_path / "irf.csv"
    csv.write_text("my precious results\n")
    real = pd.DataFrame.to_csv

    def dying(self, path, *a, **k):
        real(self.head(3), path, *a, **k)  # something reaches the disk, then the writer fails
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", dying)
    assert main(["irf", nk3, "--periods", "4", "--csv", str(csv), "--force", "--no-plot"]) == 1
    assert "No space left" in capsys.readouterr().err
    assert csv.read_text() == "my precious results\n" and _leftovers(tmp_path) == []
    monkeypatch.setattr(pd.DataFrame, "to_csv", real)
    assert main(["irf", nk3, "--periods", "4", "--csv", str(csv), "--force", "--no-plot"]) == 0
    df = pd.read_csv(csv)
    rn = df[(df.shock == "e_r") & (df.variable == "rn")].sort_values("period").value.to_numpy()
    np.testing.assert_allclose(rn, 0.5 * 0.8 ** np.arange(4), rtol=1e-12)  # rn = 0.8 rn(-1) + e_r, std 0.5
    assert _leftovers(tmp_path) == []


def test_cli_figure_without_suffix_is_png(models_dir, tmp_path):
    """The temporary name keeps an empty suffix, so matplotlib still writes its default format."""
    fig = tmp_path / "figure"
    assert main(["irf", str(models_dir / "nk3.yaml"), "--periods", "4", "--plot", str(fig)]) == 0
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and _leftovers(tmp_path) == []


def test_span_writer_interrupted(tmp_path, monkeypatch):
    """A library writer (traces.writers) interrupted in the middle leaves nothing behind."""
    from dsge_agents.traces import writers
    from dsge_agents.traces.schema import CANONICAL_COLUMNS

    spans = pd.DataFrame({c: [None] for c in CANONICAL_COLUMNS})
    spans["trace_id"], spans["span_id"], spans["name"] = "t", "s", "chat"
    spans["start_ts"] = pd.Timestamp("2024-01-01", tz="UTC")
    spans["end_ts"] = pd.Timestamp("2024-01-01 00:00:01", tz="UTC")
    out = tmp_path / "spans.parquet"
    out.write_bytes(b"old")

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(writers, "_write_parquet", boom)
    with pytest.raises(KeyboardInterrupt):
        writers.write_canonical(spans, out, overwrite=True)
    assert out.read_bytes() == b"old" and _leftovers(tmp_path) == []
