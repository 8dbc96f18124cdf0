"""IRF grid figures (dsge_agents.plots.irf): Axes and light renderings, ticks, and the CLI table."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dsge_agents.errors import DSGEError
from dsge_agents.plots import irf as P


def _ar1_arrays(P_=12):
    """Two shocks, three variables with known responses: a rho^t, a tiny-noise row and a zero row."""
    t = np.arange(P_)
    arr = np.zeros((2, P_, 3))
    arr[0, :, 0] = 0.5 * 0.8 ** t            # x <- e1
    arr[1, :, 0] = -2e-6 * 0.5 ** t          # x <- e2 (needs a 1e-6 offset)
    arr[0, :, 1] = 3.0 * 0.9 ** t            # y <- e1
    arr[1, :, 1] = 1e-12 * 0.9 ** t          # y <- e2: rounding noise relative to 3.0 -> drawn as zero
    return np.arange(1, P_ + 1), arr, ["e1", "e2"], ["x", "y", "z"]


def _frame(x, arr, shocks, variables):
    ns, T, nv = arr.shape
    return pd.DataFrame({"shock": np.repeat(np.array(shocks, dtype=object), nv * T),
                         "variable": np.tile(np.repeat(np.array(variables, dtype=object), T), ns),
                         "period": np.tile(x, ns * nv), "value": arr.transpose(0, 2, 1).reshape(-1)})


def test_nice_ticks_are_round_and_cover_the_range():
    assert P._nice_ticks(-0.17, 41.17, 4, integer=True) == [0, 20, 40]        # at most 4 intervals
    assert P._nice_ticks(0.5, 12.5, 4, integer=True) == [5, 10]
    t = P._nice_ticks(-0.0123, 0.0871, 4)
    steps = np.diff(t)
    assert np.allclose(steps, steps[0]) and steps[0] in (0.02, 0.025)   # 0.0994 / 4 -> 0.025
    assert t[0] >= -0.0123 - 1e-12 and t[-1] <= 0.0871 + 1e-12 and len(t) >= 3
    assert 0.0 in t                                            # zero is exactly a tick (no -0.0)


def test_tick_labels_share_a_power_of_ten():
    (lo, hi), ticks, labels, offset = P._yticks(np.array([4.1e-6, 2e-6, 0.0]))
    assert offset == "1e-6"
    assert [float(s.replace("\u2212", "-")) * 1e-6 for s in labels] == pytest.approx(ticks)
    (_, _), ticks, labels, offset = P._yticks(np.array([-0.0075, 0.0]))
    assert offset == "" and labels[-1] == "0" and all("." in s for s in labels if s != "0")
    # a zero curve: one tick at 0
    assert P._yticks(np.zeros(5))[1:] == ([0.0], ["0"], "")


def test_axes_rendering_from_frame_and_arrays_agree():
    x, arr, shocks, variables = _ar1_arrays()
    f1 = P.plot_irf_grid(_frame(x, arr, shocks, variables), variables=["x", "y"], title="t")
    f2 = P.plot_irf_panels(x, arr, shocks, variables, variables=["x", "y"], title="t")
    assert len(f1.axes) == len(f2.axes) == 4
    for a, b in zip(f1.axes, f2.axes):
        np.testing.assert_array_equal(a.lines[0].get_ydata(), b.lines[0].get_ydata())
    # (y, e2) is rounding noise next to y's response to e1: drawn as exact zeros
    assert not np.any(f2.axes[3].lines[0].get_ydata())
    assert [a.get_title() for a in f2.axes[:2]] == shocks


def _polylines(line):
    """Pieces of a NaN-separated polyline."""
    xs, ys = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
    out, start = [], 0
    for c in list(np.flatnonzero(np.isnan(xs))) + [len(xs)]:
        if c > start:
            out.append((xs[start:c], ys[start:c]))
        start = c + 1
    return out


def _num(s):
    return float(s.replace("\u2212", "-"))


def test_light_rendering_maps_values_through_its_tick_labels():
    """Independent check of the hand-made coordinates: in each panel the y positions of the tick labels are
    linear in their values, and the curve's points sit where that linear map puts the data; the curve lies
    inside its frame; periods are equally spaced."""
    x, arr, shocks, variables = _ar1_arrays()
    fig = P.plot_irf_panels(x, arr, shocks, variables, variables=["x", "y"], light=True, title="t")
    assert fig.axes == []
    names = {t.get_text() for t in fig.texts}
    assert {"x", "y", "e1", "e2", "t", "period", "1e-6"} <= names
    curves = _polylines([ln for ln in fig.artists if ln.get_linewidth() == 1.5][0])
    frames = _polylines([ln for ln in fig.artists if ln.get_linewidth() == 0.8][0])
    assert len(curves) == 4 and len(frames) == 4
    ticklabels = [(t.get_position(), _num(t.get_text())) for t in fig.texts
                  if t.get_horizontalalignment() == "right" and t.get_rotation() == 0]
    for (xs, ys), (i, j) in zip(curves, [(0, 0), (0, 1), (1, 0), (1, 1)]):
        truth = arr[j, :, i] if (i, j) != (1, 1) else np.zeros(len(x))
        fx, fy = [(a, b) for a, b in frames if a.min() <= xs.min() and xs.max() <= a.max()
                  and b.min() <= ys.min() and ys.max() <= b.max()][0]
        assert len(fx) == 5 and fx.min() < xs.min() and xs.max() < fx.max()
        labs = [(py, v) for (px, py), v in ticklabels if fx.min() - 0.1 < px < fx.min()
                and fy.min() - 1e-9 <= py <= fy.max() + 1e-9]
        pos = np.array([p for p, _ in labs])
        vals = np.array([v for _, v in labs]) * (1e-6 if (i, j) == (0, 1) else 1.0)
        if len(vals) >= 2:
            a, b = np.polyfit(vals, pos, 1)
            np.testing.assert_allclose(a * vals + b, pos, atol=1e-9)
            np.testing.assert_allclose(ys, a * truth + b, atol=1e-9)
            assert len(vals) >= 3
        else:                      # the zero panel: its only tick "0" is at the curve's height
            assert vals.tolist() == [0.0] and np.allclose(ys, pos[0])
        assert np.allclose(np.diff(xs), np.diff(xs)[0])


def test_light_png_and_errors(tmp_path):
    x, arr, shocks, variables = _ar1_arrays()
    fig = P.plot_irf_panels(x, arr, shocks, variables, light=True)
    out = tmp_path / "f.png"
    fig.savefig(out, dpi=60)
    assert out.read_bytes().startswith(b"\x89PNG") and out.stat().st_size > 1000
    with pytest.raises(DSGEError, match="unknown variable"):
        P.plot_irf_panels(x, arr, shocks, variables, variables=["nope"], light=True)
    with pytest.raises(DSGEError, match="unknown shock"):
        P.plot_irf_grid(_frame(x, arr, shocks, variables), shocks=["nope"])
    with pytest.raises(DSGEError, match="shape"):
        P.plot_irf_panels(x, arr[:, :5], shocks, variables)
    with pytest.raises(DSGEError, match="columns"):
        P.plot_irf_grid(pd.DataFrame({"a": [1]}))


def test_cli_impact_table_and_unknown_variable(models_dir, tmp_path, capsys, monkeypatch):
    from dsge_agents.cli.main import main
    from dsge_agents.linear import solve
    from dsge_agents.api import load_model
    monkeypatch.chdir(tmp_path)
    nk3 = str(models_dir / "nk3.yaml")
    assert main(["irf", nk3, "--periods", "3", "--no-plot", "--var", "rn", "x"]) == 0
    out = capsys.readouterr().out.splitlines()
    head = out.index(next(s for s in out if s.startswith("variable")))
    assert out[head].split() == ["variable", "e_i", "e_r"]
    rows = {s.split()[0]: [float(v) for v in s.split()[1:]] for s in out[head + 1:head + 3]}
    assert list(rows) == ["x", "rn"]          # declaration order
    ref = solve(load_model(nk3)).irf(periods=1)
    for v, vals in rows.items():
        for s, val in zip(["e_i", "e_r"], vals):
            r = ref[(ref.variable == v) & (ref.shock == s)].value.item()
            assert val == pytest.approx(r, rel=1e-4, abs=1e-12)
    assert rows["rn"][1] == pytest.approx(0.5)      # rn is AR(1) with impact sd 0.5 (nk3.yaml)
    assert not list(tmp_path.iterdir())             # --no-plot: no file written
    assert main(["irf", nk3, "--no-plot", "--var", "nope"]) == 1
    assert "unknown variable" in capsys.readouterr().err


@pytest.mark.parametrize("renderer", ["pillow", "agg"])
def test_save_irf_png_matches_the_figure_rendering(tmp_path, renderer):
    """The Figure-free PNG writers place lines and text as matplotlib does for the same light layout
    (rendered through Figure/Text/savefig, an independent placement path): same size, the curves' ink
    in the same place, every text within a pixel; and the PNG carries the text chunk it was given."""
    from PIL import Image
    from scipy import ndimage
    x, arr, shocks, variables = _ar1_arrays()
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    size = P.save_irf_png(a, x, arr, shocks, variables, variables=["x", "y"], title="t: irf", dpi=80,
                          metadata={"Software": "probe-mark"}, renderer=renderer)
    P.plot_irf_panels(x, arr, shocks, variables, variables=["x", "y"], title="t: irf", light=True).savefig(b, dpi=80)
    ia, ib = Image.open(a), Image.open(b)
    assert ia.size == ib.size == size
    assert ia.info.get("Software") == "probe-mark"
    A = 255 - np.asarray(ia.convert("L"), float)            # ink
    B = 255 - np.asarray(ib.convert("L"), float)
    assert (A > 128).mean() > 0.005                         # something is drawn
    assert np.abs(A - B).mean() < 6.0
    # the blue curves: in every pixel column of each panel row band, the ink-weighted height of the curve
    # agrees within a pixel (a flipped or shifted axis moves it by many), and they span the same columns
    blue = [np.clip(c[..., 2] - c[..., 0], 0, None) for c in
            (np.asarray(im.convert("RGB"), float) for im in (ia, ib))]
    rows = np.arange(A.shape[0])[:, None]
    lab_b, nb = ndimage.label(ndimage.binary_dilation(blue[1] > 30, iterations=2))
    assert nb >= 4
    for k in range(1, nb + 1):
        m = lab_b == k
        wa, wb = blue[0] * m, blue[1] * m
        cols = np.flatnonzero((wa.sum(0) > 100) & (wb.sum(0) > 100))
        ya = (wa * rows).sum(0)[cols] / wa.sum(0)[cols]
        yb = (wb * rows).sum(0)[cols] / wb.sum(0)[cols]
        assert len(cols) > 50 and np.max(np.abs(ya - yb)) < 1.0
        assert abs(np.flatnonzero(wa.sum(0) > 100).min() - np.flatnonzero(wb.sum(0) > 100).min()) <= 2
    # every text blob of the matplotlib rendering (glyph groups; frames and curves are the big blobs)
    # has its ink centroid within a pixel in ours (a 2-pixel shift of any text fails this)
    lab, n = ndimage.label(ndimage.binary_dilation(B > 100, iterations=2))
    dist = []
    for k in range(1, n + 1):
        m = lab == k
        if m.sum() <= 1500:
            dist.append(np.hypot(*np.subtract(ndimage.center_of_mass(A * m), ndimage.center_of_mass(B * m))))
    assert len(dist) >= 6 and max(dist) < 1.0
    with pytest.raises(DSGEError, match="unknown shock"):
        P.save_irf_png(tmp_path / "c.png", x, arr, shocks, variables, shocks=["nope"], renderer=renderer)


def test_light_layout_column_headers_clear_of_title_and_aligned():
    """A first-row panel with a scale factor ('1e-4') lifted only its own column header, into the
    title line (fs2000: 'e_m' overlapped '... (log deviations)'). Text boxes are taken as 1.2 x the
    font size tall (DejaVu Sans ascent + descent is 1.16 em)."""
    from dsge_agents.plots.irf import _light_layout
    x = np.arange(1, 41)
    big, small = -0.001 * 0.9 ** x, -4e-4 * 0.8 ** x      # the second needs a 1e-4 factor
    panels = [[big, small], [big, big]]
    W, H, lines, texts = _light_layout(x, panels, ["y", "c"], ["e_a", "e_m"], "a long title (log deviations)",
                                       2.6, 1.7)
    title = [t for t in texts if t[2].startswith("a long title")][0]
    heads = [t for t in texts if t[2] in ("e_a", "e_m")]
    assert len(heads) == 2 and heads[0][1] == heads[1][1]            # one baseline for the row
    title_bottom = title[1] - 1.2 * title[3] / 72                    # va="top"
    head_top = max(h[1] + 1.2 * h[3] / 72 for h in heads)            # va="bottom"
    assert head_top <= title_bottom
    scale = [t for t in texts if "e-4" in t[2] or "1e-4" in t[2]]
    assert scale and all(s[1] + 1.2 * s[3] / 72 <= heads[0][1] for s in scale)
