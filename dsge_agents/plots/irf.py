"""Impulse-response grid: one row per variable, one column per shock (Agg, returned, never shown).

Renderings of the same grid:

* :func:`plot_irf_grid` / :func:`plot_irf_panels` draw one matplotlib ``Axes`` per panel (zoomable,
  restylable: ``fig.axes``);
* ``light=True`` lays the panels out by hand (:func:`_light_layout`: a few polylines for all curves,
  frames and tick marks, and the text labels) and returns them as figure-level artists: no
  ``Axes``/``Axis``/``Tick`` objects, several times cheaper to save;
* :func:`save_irf_png` writes that same hand layout straight to a PNG, with Pillow alone (matplotlib
  is not imported at all; its bundled DejaVu Sans font file is used) or with matplotlib's Agg renderer
  (no ``Figure``). The command line (``dsge-agents irf``) writes its PNG this way.

Inputs are plain data: a tidy frame (``plot_irf_grid``) or arrays (the others); pandas is imported
only to read a frame.
"""
from __future__ import annotations

import math

import numpy as np

from dsge_agents.errors import DSGEError

__all__ = ["plot_irf_grid", "plot_irf_panels", "save_irf_png"]

#: responses below this fraction of the variable's largest response across the shown shocks are
#: rounding noise (Dynare likewise does not plot responses below 1e-10); drawn as exact zeros
_NOISE = 1e-9


def plot_irf_grid(irf, variables=None, shocks=None, title: str | None = None,
                  width: float = 2.6, height: float = 1.7, color: str = "C0", figure_kw: dict | None = None,
                  light: bool = False):
    """Grid of impulse responses (rows: variables, columns: shocks) from a tidy frame.

    Parameters
    ----------
    irf : DataFrame
        Tidy IRFs with columns ``shock, variable, period, value`` (``Solution.irf()``).
    variables, shocks : list of str, optional
        Subset and order (default: order of first appearance in ``irf``).
    title : str, optional
        Figure title.
    width, height : float
        Size of one panel in inches.
    light : bool
        Draw panels as figure-level artists instead of Axes (fast; see the module docstring).

    Returns
    -------
    matplotlib.figure.Figure (never shown; the caller saves or displays it).
    """
    need = {"shock", "variable", "period", "value"}
    if not need.issubset(getattr(irf, "columns", ())):
        raise DSGEError(f"IRF frame must have columns {sorted(need)}, got {list(getattr(irf, 'columns', []))}")
    all_vars = list(dict.fromkeys(irf["variable"]))
    all_shocks = list(dict.fromkeys(irf["shock"]))
    periods = np.unique(irf["period"].to_numpy())
    # (shock, period, variable) array; combinations missing from the frame stay NaN (empty panels)
    arr = np.full((len(all_shocks), len(periods), len(all_vars)), np.nan)
    si = {s: k for k, s in enumerate(all_shocks)}
    vi = {v: k for k, v in enumerate(all_vars)}
    arr[irf["shock"].map(si).to_numpy(), np.searchsorted(periods, irf["period"].to_numpy()),
        irf["variable"].map(vi).to_numpy()] = irf["value"].to_numpy(dtype=float)
    return plot_irf_panels(periods, arr, all_shocks, all_vars, variables=variables, shocks=shocks, title=title,
                           width=width, height=height, color=color, figure_kw=figure_kw, light=light)


def plot_irf_panels(periods, responses, shock_names, var_names, variables=None, shocks=None,
                    title: str | None = None, width: float = 2.6, height: float = 1.7, color: str = "C0",
                    figure_kw: dict | None = None, light: bool = False):
    """Grid of impulse responses from arrays (what :meth:`Solution.plot_irf` calls; no pandas).

    Parameters
    ----------
    periods : array (P,)
        Horizontal axis (period 1 = impact).
    responses : array (n_shocks, P, n_vars)
        ``responses[k, t, j]`` = response of ``var_names[j]`` to ``shock_names[k]`` at ``periods[t]``
        (NaN = not available).
    variables, shocks : list of str, optional
        Panels to draw and their order (default: all).
    Other parameters as :func:`plot_irf_grid`.
    """
    x, panels, variables, shocks = _panels(periods, responses, shock_names, var_names, variables, shocks)
    if light:
        return _light_figure(_light_layout(x, panels, variables, shocks, title, width, height), color,
                             figure_kw or {})
    return _draw_axes(x, panels, variables, shocks, title, width, height, color, figure_kw or {})


def save_irf_png(path, periods, responses, shock_names, var_names, variables=None, shocks=None,
                 title: str | None = None, width: float = 2.6, height: float = 1.7, color: str = "C0",
                 dpi: float = 110, metadata: dict | None = None, renderer: str = "auto"):
    """Write the light IRF grid (see the module docstring) to the PNG file ``path``; no ``Figure``.

    Arguments as :func:`plot_irf_panels`; ``metadata`` are PNG text chunks (e.g. ``{"Software": ...}``).
    ``renderer``: ``"pillow"`` draws with Pillow alone (lines supersampled 3x for antialiasing, text with
    FreeType through ``ImageFont`` in matplotlib's DejaVu Sans): matplotlib is not even imported;
    ``"agg"`` uses matplotlib's ``RendererAgg``; ``"auto"`` (default) is Pillow when the font file and
    the colours resolve without matplotlib, else Agg. Returns the image size in pixels.
    """
    x, panels, variables, shocks = _panels(periods, responses, shock_names, var_names, variables, shocks)
    layout = _light_layout(x, panels, variables, shocks, title, width, height)
    if renderer not in ("auto", "pillow", "agg"):
        raise DSGEError(f"unknown renderer {renderer!r} (use 'auto', 'pillow' or 'agg')")
    if renderer != "agg":
        font = _dejavu_path()
        rgb = _rgb_nompl(color)
        if font is not None and rgb is not None:
            return _pillow_png(layout, rgb, font, path, dpi, metadata or {})
        if renderer == "pillow":
            raise DSGEError("the Pillow renderer needs matplotlib's DejaVu Sans font file and a colour given as "
                            "'C0'..'C9', '#rrggbb' or a grey level")
    return _light_png(layout, color, path, dpi, metadata or {})


def _panels(periods, responses, shock_names, var_names, variables, shocks):
    """Checked inputs and ``panels[i][j]``: the curve of variable i under shock j (None if missing),
    rounding noise zeroed."""
    shock_names, var_names = list(shock_names), list(var_names)
    variables = var_names if variables is None else ([variables] if isinstance(variables, str) else list(variables))
    shocks = shock_names if shocks is None else ([shocks] if isinstance(shocks, str) else list(shocks))
    for v in variables:
        if v not in var_names:
            raise DSGEError(f"unknown variable {v!r} in the IRFs (have {var_names})")
    for s in shocks:
        if s not in shock_names:
            raise DSGEError(f"unknown shock {s!r} in the IRFs (have {shock_names})")
    x = np.asarray(periods, dtype=float)
    resp = np.asarray(responses, dtype=float)
    if resp.shape != (len(shock_names), len(x), len(var_names)):
        raise DSGEError(f"responses have shape {resp.shape}, expected "
                        f"{(len(shock_names), len(x), len(var_names))} (shocks, periods, variables)")
    panels = []
    for v in variables:
        cols = [resp[shock_names.index(s), :, var_names.index(v)] for s in shocks]
        scale = max((float(np.nanmax(np.abs(y))) for y in cols if np.isfinite(y).any()), default=0.0)
        row = []
        for y in cols:
            if not np.isfinite(y).any():
                row.append(None)
                continue
            row.append(np.zeros_like(y) if np.nanmax(np.abs(y)) <= _NOISE * scale else y)
        panels.append(row)
    return x, panels, variables, shocks


# --------------------------------------------------------------------------- Axes rendering
def _draw_axes(x, panels, variables, shocks, title, width, height, color, figure_kw):
    from matplotlib.figure import Figure   # no pyplot: no global state, no GUI backend

    nr, nc = max(len(variables), 1), max(len(shocks), 1)
    W, H = width * nc + 0.9, height * nr + 0.9
    fig = Figure(figsize=(W, H), **figure_kw)
    # fixed margins in inches instead of tight_layout (which measures every tick label)
    fig.subplots_adjust(left=0.75 / W, right=1 - 0.15 / W, bottom=0.5 / H, top=1 - 0.55 / H,
                        wspace=0.35, hspace=0.3)
    axes = np.atleast_2d(fig.subplots(nr, nc, sharex=True, squeeze=False))
    for i, v in enumerate(variables):
        for j, s in enumerate(shocks):
            ax = axes[i, j]
            y = panels[i][j]
            if y is not None:
                ax.plot(x, y, color=color, lw=1.5)
                ax.set_ylim(*_ylim(y))
            # the zero line as plain data (axhline re-runs autoscaling)
            ax.plot([x[0], x[-1]], [0.0, 0.0], color="0.6", lw=0.7, zorder=1)
            ax.tick_params(labelsize=7)
            ax.locator_params(nbins=4)
            if i == 0:
                ax.set_title(s, fontsize=9)
            if j == 0:
                ax.set_ylabel(v, fontsize=9)
            if i == nr - 1:
                ax.set_xlabel("period", fontsize=8)
    if len(x):
        axes[0, 0].set_xlim(*_xlim(x))
    if title:
        fig.suptitle(title, fontsize=10, y=1 - 0.12 / H, va="top")
    return fig


# --------------------------------------------------------------------------- light rendering
_TICK_FS = 7           # tick label font size (points)
_CHAR_W = 0.62 / 72    # width of one tick-label character per point of font size (inches), DejaVu Sans
_TICK_LEN = 0.045      # tick mark length (inches)


def _light_layout(x, panels, variables, shocks, title, width, height):
    """The grid laid out by hand, in inches from the lower-left corner.

    Returns ``(W, H, lines, texts)``: figure size; ``lines`` maps a style (``"zero"``, ``"curve"``,
    ``"frame"``, ``"mark"``) to a list of polylines ``(xs, ys)``; ``texts`` is a list of
    ``(x, y, text, size_pt, ha, va, rotation)``.
    """
    nr, nc = max(len(variables), 1), max(len(shocks), 1)
    xlo, xhi = _xlim(x) if len(x) else (0.0, 1.0)
    xticks = [t for t in _nice_ticks(xlo, xhi, 4, integer=True) if xlo <= t <= xhi]
    # y ticks and their labels first: the label widths size the margins
    yinfo = [[_yticks(panels[i][j]) for j in range(len(shocks))] for i in range(len(variables))]
    lab_w = max((len(s) for row in yinfo for (_, _, labs, _) in row for s in labs), default=1)
    lab_in = lab_w * _CHAR_W * _TICK_FS + _TICK_LEN + 0.06          # tick labels + mark + pad
    # overall size as the Axes rendering (``width`` x ``height`` per cell incl. gaps + 0.9 in margins)
    W, H = width * nc + 0.9, height * nr + 0.9
    # a scale factor ('1e-4') above a first-row panel lifts every column header of that row clear of it,
    # and the top margin grows so the headers stay below the title (the lifted header of one column
    # used to run into the title while the others sat lower)
    lifted = any(yinfo[0][j][3] for j in range(len(yinfo[0]))) if yinfo else False
    top, bottom, right = (0.7 if lifted else 0.55), 0.5, 0.15
    left = max(0.75, lab_in + 9 / 72 + 0.12)                         # tick labels + the variable name
    gap = max(0.25 * width, lab_in + 0.12)
    pw = max((W - left - right - (nc - 1) * gap) / nc, 0.5)
    W = left + nc * pw + (nc - 1) * gap + right
    ph = (H - top - bottom) / (nr + 0.3 * (nr - 1))
    vgap = 0.3 * ph
    curves, frames, marks, zeros = [], [], [], []
    texts = []   # (x_in, y_in, s, size, ha, va, rotation)

    def add(store, xs, ys):
        store.append((np.asarray(xs, float), np.asarray(ys, float)))

    for i in range(nr):
        y0 = bottom + (nr - 1 - i) * (ph + vgap)                # panel's lower edge (inches)
        for j in range(nc):
            x0 = left + j * (pw + gap)
            add(frames, [x0, x0 + pw, x0 + pw, x0, x0], [y0, y0, y0 + ph, y0 + ph, y0])

            def px(v):
                return x0 + (np.asarray(v, float) - xlo) / (xhi - xlo) * pw

            if i >= len(variables) or j >= len(shocks):
                continue
            (ylo, yhi), ticks, labels, offset = yinfo[i][j]

            def py(v):
                return y0 + (np.asarray(v, float) - ylo) / (yhi - ylo) * ph

            if ylo <= 0.0 <= yhi:
                add(zeros, px([xlo, xhi]), py([0.0, 0.0]))
            y = panels[i][j]
            if y is not None:
                add(curves, px(x), py(y))
            for t, s in zip(ticks, labels):
                yy = float(py(t))
                add(marks, [x0 - _TICK_LEN, x0], [yy, yy])
                texts.append((x0 - _TICK_LEN - 0.03, yy, s, _TICK_FS, "right", "center", 0))
            if offset:
                texts.append((x0, y0 + ph + 0.03, offset, _TICK_FS, "left", "bottom", 0))
            for t in xticks:
                xx = float(px(t))
                add(marks, [xx, xx], [y0, y0 - _TICK_LEN])
                if i == nr - 1:
                    texts.append((xx, y0 - _TICK_LEN - 0.03, _fmt(t, 0), _TICK_FS, "center", "top", 0))
            if i == 0:
                texts.append((x0 + pw / 2, y0 + ph + (0.2 if lifted else 0.06), shocks[j], 9,
                              "center", "bottom", 0))
            if j == 0:
                texts.append((x0 - lab_in - 0.04, y0 + ph / 2, variables[i], 9, "right", "center", 90))
            if i == nr - 1:
                texts.append((x0 + pw / 2, y0 - 0.3, "period", 8, "center", "top", 0))

    if title:
        texts.append((W / 2, H - 0.12, title, 10, "center", "top", 0))
    return W, H, {"zero": zeros, "curve": curves, "frame": frames, "mark": marks}, texts


#: line styles of the light layout: (colour, width in points); "curve" takes the caller's colour
_STYLES = {"zero": ("0.6", 0.7), "curve": (None, 1.5), "frame": ("black", 0.8), "mark": ("black", 0.8)}


def _light_figure(layout, color, figure_kw):
    """The light layout as a Figure: one NaN-separated Line2D per style, Text artists."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    W, H, lines, texts = layout
    fig = Figure(figsize=(W, H), **figure_kw)
    for style, pieces in lines.items():
        if not pieces:
            continue
        c, lw = _STYLES[style]
        xs = np.concatenate([np.append(a, np.nan) for a, _ in pieces]) / W
        ys = np.concatenate([np.append(b, np.nan) for _, b in pieces]) / H
        fig.add_artist(Line2D(xs, ys, transform=fig.transFigure, color=c or color, lw=lw))
    for xi, yi, s, size, ha, va, rot in texts:
        fig.text(xi / W, yi / H, s, fontsize=size, ha=ha, va=va, rotation=rot)
    return fig


def _light_png(layout, color, path, dpi, metadata):
    """Render the light layout with Agg (no Figure) and write it as PNG with Pillow.

    Text placement follows matplotlib's ``Text``: the bounding box of width w, height h and descent d
    (``get_text_width_height_descent``) is aligned by ``ha``/``va`` at the anchor (for rotation 90 the
    box is turned: its width is h and its height w), and the renderer is given the start of the baseline.
    """
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.colors import to_rgba
    from matplotlib.font_manager import FontProperties
    from matplotlib.path import Path
    from matplotlib.transforms import IdentityTransform
    from PIL import Image, PngImagePlugin

    W, H, lines, texts = layout
    r = RendererAgg(W * dpi, H * dpi, dpi)                 # as FigureCanvasAgg: float size, int buffer
    wpx, hpx = int(W * dpi), int(H * dpi)
    ident = IdentityTransform()
    gc = r.new_gc()
    gc.set_linewidth(0)
    r.draw_path(gc, Path([(0, 0), (wpx, 0), (wpx, hpx), (0, hpx), (0, 0)]), ident, (1.0, 1.0, 1.0, 1.0))
    gc.set_capstyle("projecting")
    gc.set_joinstyle("round")
    for style, pieces in lines.items():
        c, lw = _STYLES[style]
        gc.set_foreground(to_rgba(c or color))
        gc.set_linewidth(lw)
        for xs, ys in pieces:
            r.draw_path(gc, Path(np.column_stack([xs * dpi, ys * dpi])), ident)
    gc.set_foreground((0.0, 0.0, 0.0, 1.0))
    props, metrics = {}, {}
    for xi, yi, s, size, ha, va, rot in texts:
        if size not in props:
            prop = FontProperties(size=size)
            props[size] = (prop, r.get_text_width_height_descent("lp", prop, False))
        prop, (_, h_lp, d_lp) = props[size]
        key = (s, size)
        if key not in metrics:                        # tick labels repeat ("0", "20", ...)
            metrics[key] = r.get_text_width_height_descent(s, prop, False)
        w, h, d = metrics[key]
        h, d = max(h, h_lp), max(d, d_lp)             # line metrics at least those of "lp", as Text does
        X, Y = xi * dpi, yi * dpi                      # anchor, y upwards
        if rot == 0:
            bx = X - {"left": 0.0, "center": w / 2, "right": w}[ha]
            bottom = Y - {"bottom": 0.0, "center": h / 2, "top": h}[va]
            base = (bx, bottom + d)
        else:                                          # 90 degrees: text runs upwards, ascent to the left
            right = X + {"left": h, "center": h / 2, "right": 0.0}[ha]
            y0 = Y - {"bottom": 0.0, "center": w / 2, "top": w}[va]
            base = (right - d, y0)
        r.draw_text(gc, base[0], r.height - base[1], s, prop, rot)   # the renderer's y runs downwards
    gc.restore()
    info = PngImagePlugin.PngInfo()
    for k, v in metadata.items():
        info.add_text(str(k), str(v))
    img = Image.frombuffer("RGBA", (wpx, hpx), r.buffer_rgba(), "raw", "RGBA", 0, 1)
    # zlib level 1: half the encoding time of the default 6 for a ~20 % larger file
    img.save(path, format="png", pnginfo=info, dpi=(dpi, dpi), compress_level=1)
    return wpx, hpx


#: matplotlib's default colour cycle ("tab10"), so "C0".."C9" resolve without importing matplotlib
_TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf"]
_NAMED = {"black": (0, 0, 0), "white": (255, 255, 255)}


def _rgb_nompl(c):
    """``(r, g, b)`` 0-255 of "Cn", "#rrggbb", a grey level "0.6" or black/white; None otherwise."""
    c = str(c).strip()
    if c in _NAMED:
        return _NAMED[c]
    if len(c) == 2 and c[0] == "C" and c[1].isdigit():
        c = _TAB10[int(c[1])]
    if len(c) == 7 and c[0] == "#":
        try:
            return tuple(int(c[k:k + 2], 16) for k in (1, 3, 5))
        except ValueError:
            return None
    try:
        g = float(c)
    except ValueError:
        return None
    return (round(255 * g),) * 3 if 0.0 <= g <= 1.0 else None


def _dejavu_path():
    """matplotlib's bundled DejaVu Sans (the font of its default style), located without importing it."""
    import importlib.util
    import os
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or spec.origin is None:
        return None
    p = os.path.join(os.path.dirname(spec.origin), "mpl-data", "fonts", "ttf", "DejaVuSans.ttf")
    return p if os.path.isfile(p) else None


_SUPER = 3   # line supersampling factor of the Pillow renderer
#: DejaVu Sans typographic ascender / descender (OS/2 sTypoAscender 1556, sTypoDescender -492 of 2048
#: units per em): matplotlib's minimum line box, used to place text as its Text does
_TYPO_ASC, _TYPO_DESC = 1556 / 2048, 492 / 2048


def _pillow_png(layout, rgb, font_path, path, dpi, metadata):
    """Render the light layout with Pillow only and write it as PNG.

    Lines are drawn at ``_SUPER`` times the resolution and box-filtered down (antialiasing); text is drawn
    at the final resolution with FreeType, its baseline placed from ``ha``/``va`` as matplotlib's Text
    places it; 90-degree labels are drawn horizontally and turned by an exact transpose.
    """
    from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

    W, H, lines, texts = layout
    wpx, hpx = int(W * dpi), int(H * dpi)
    S = _SUPER
    img = Image.new("RGB", (wpx * S, hpx * S), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    k = dpi / 72 * S                                           # points -> supersampled pixels
    for style, pieces in lines.items():
        c, lw = _STYLES[style]
        fill = rgb if c is None else _rgb_nompl(c)
        wid = max(1, round(lw * k))
        for xs, ys in pieces:
            pts = np.column_stack([xs * dpi * S, (H - ys) * dpi * S])
            ok = np.isfinite(pts).all(axis=1)
            # runs of finite points (a missing value breaks the line, as in matplotlib)
            for run in np.split(pts, np.flatnonzero(~ok)):
                run = run[np.isfinite(run).all(axis=1)]
                if len(run) >= 2:
                    draw.line([tuple(q) for q in run.tolist()], fill=fill, width=wid, joint="curve")
    img = img.reduce(S)
    draw = ImageDraw.Draw(img)
    fonts = {}
    hanchor = {"left": "l", "center": "m", "right": "r"}
    for xi, yi, s, size, ha, va, rot in texts:
        px = size * dpi / 72
        font = fonts.get(size)
        if font is None:
            font = fonts[size] = ImageFont.truetype(font_path, px)
        X, Y = xi * dpi, (H - yi) * dpi                       # anchor in pixels, y downwards
        # the line box as matplotlib's Text: ink ascent / descent, at least the font's typographic ones
        left, top, right, bottom = font.getbbox(s, anchor="ls")
        a, d = max(-top, _TYPO_ASC * px), max(bottom, _TYPO_DESC * px)
        if rot == 0:
            base = Y + {"top": a, "center": (a - d) / 2, "bottom": -d, "baseline": 0.0}[va]
            draw.text((X, base), s, fill=(0, 0, 0), font=font, anchor=hanchor[ha] + "s")
            continue
        # rotated by 90 degrees: drawn horizontally into a mask of the line box, turned by an exact
        # transpose (ascent to the left), pasted; ha / va refer to the turned box (matplotlib's default)
        mask = Image.new("L", (max(right - left, 1), max(round(a + d), 1)))
        ImageDraw.Draw(mask).text((-left, round(a)), s, fill=255, font=font, anchor="ls")
        mask = mask.transpose(Image.Transpose.ROTATE_90)
        w, h = mask.size
        x0 = X - {"left": 0.0, "center": w / 2, "right": w}[ha]
        y0 = Y - {"top": 0.0, "center": h / 2, "bottom": h}[va]
        img.paste((0, 0, 0), (round(x0), round(y0)), mask)
    info = PngImagePlugin.PngInfo()
    for key, v in metadata.items():
        info.add_text(str(key), str(v))
    # zlib level 1: half the encoding time of the default 6 for a ~20 % larger file
    img.save(path, format="png", pnginfo=info, dpi=(dpi, dpi), compress_level=1)
    return wpx, hpx


# --------------------------------------------------------------------------- scales and ticks
def _xlim(x):
    lo, hi = float(np.min(x)), float(np.max(x))
    m = 0.03 * (hi - lo) if hi > lo else 0.5
    return lo - m, hi + m


def _ylim(y):
    """Range of a curve with the zero line included and a 6 % margin (a flat zero curve: ±1)."""
    y = y[np.isfinite(y)]
    lo, hi = min(float(y.min(initial=0.0)), 0.0), max(float(y.max(initial=0.0)), 0.0)
    if hi <= lo:
        return -1.0, 1.0
    pad = 0.06 * (hi - lo)
    return lo - pad, hi + pad


def _nice_ticks(lo: float, hi: float, nbins: int, integer: bool = False) -> list[float]:
    """At most ``nbins + 1`` round tick values covering [lo, hi]: step 1, 2, 2.5 or 5 × 10^k (Heckbert 1990)."""
    span = hi - lo
    if not span > 0:
        return [lo]
    raw = span / nbins
    mag = 10.0 ** math.floor(math.log10(raw))
    steps = (1.0, 2.0, 5.0, 10.0) if integer else (1.0, 2.0, 2.5, 5.0, 10.0)
    step = next(s * mag for s in steps if s * mag >= raw * (1 - 1e-12))
    if integer:
        step = max(step, 1.0)
    first = math.ceil(lo / step - 1e-9) * step
    out, k = [], 0
    while first + k * step <= hi + 1e-9 * step:
        t = first + k * step
        out.append(0.0 if abs(t) < 1e-9 * step else t)
        k += 1
    return out


def _fmt(t: float, decimals: int) -> str:
    s = f"{t:.{decimals}f}"
    return "0" if float(s) == 0 else s.replace("-", "\u2212")


def _yticks(y):
    """``((lo, hi), ticks, labels, offset)`` of one panel; labels share a power of ten shown as
    ``offset`` (e.g. ``1e-6``) when the values are below 1e-3 or above 1e4 in magnitude."""
    lo, hi = _ylim(y) if y is not None else (-1.0, 1.0)
    if y is not None and not np.any(y):
        return (lo, hi), [0.0], ["0"], ""
    ticks = _nice_ticks(lo, hi, 4)
    big = max(abs(t) for t in ticks) or 1.0
    e = math.floor(math.log10(big))
    scale, offset = (10.0 ** e, f"1e{e}") if (e < -3 or e > 4) else (1.0, "")
    scaled = [t / scale for t in ticks]
    step = (scaled[1] - scaled[0]) if len(scaled) > 1 else 1.0
    decimals = 0
    while decimals < 8 and any(abs(round(s, decimals) - s) > 1e-6 * step for s in scaled):
        decimals += 1
    return (lo, hi), ticks, [_fmt(s, decimals) for s in scaled], offset
