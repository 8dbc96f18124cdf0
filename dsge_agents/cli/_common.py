"""Helpers shared by the subcommands: loading MODEL and the output-file policy."""
from __future__ import annotations

import numpy as np

from pathlib import Path

from dsge_agents._fileio import atomic_path
from dsge_agents.errors import DSGEError


class OutputPathError(DSGEError):
    """An output path cannot be used: a directory, a missing folder, an input file, two outputs
    naming one file, a wrong suffix."""


class OutputExistsError(OutputPathError):
    """An output file exists and ``--force`` was not given."""


def load_model(source=None):
    """Load the model a command names: a file, a bundled model name, or (``None``) the bundled default.

    Goes through :func:`dsge_agents.api.load_model`, which also understands Dynare
    ``.mod`` files and orchestrated-economy YAML. An orchestrated-economy file (the default
    model is one) is built once and then read back from the model cache (:func:`_economy_cached`).
    """
    from dsge_agents import api
    if source is None:
        path = api.bundled_model_path(api.DEFAULT_MODEL)
        m = _economy_cached(path) if path.is_file() else None
        return m if m is not None else api.default_model()
    p = Path(source)
    m = _economy_cached(p) if p.is_file() else None
    return m if m is not None else api.load_model(source)


def _economy_cached(path: Path):
    """``api.load_model(path)`` for an orchestrated-economy YAML through the on-disk model cache
    (:mod:`dsge_agents.model.cache`); ``None`` for any other file.

    Building the default economy imports the economy layer with SciPy's optimizers and runs its
    calibration: ~0.5 s of a command's start-up, for a model that only changes when its file or our
    code changes. The key covers the file's bytes and path, the model layer's code (``key_for_file``)
    and the source of the economy layer and of ``api.py``; a stale or unreadable entry is rebuilt.
    """
    from dsge_agents import api
    from dsge_agents.model import cache
    if path.suffix.lower() not in (".yaml", ".yml"):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    key = cache.key_for_file(path, text=data + b"\0orchestrated_economy\0" + _economy_code_version().encode())
    m = cache.get(key)
    if m is None:
        import yaml
        try:
            doc = yaml.safe_load(data)
        except yaml.YAMLError:
            return None          # the loader reports it with line numbers
        if not (isinstance(doc, dict) and doc.get("kind") == "orchestrated_economy"):
            return None
        m = api.load_model(path)
        try:
            unchanged = path.read_bytes() == data
        except OSError:
            unchanged = False
        if unchanged:           # edited while it was built: the entry would not match its key
            cache.put(key, m)
    return api.Model.wrap(m)


def _economy_code_version() -> str:
    """Hash of the sources that turn an economy YAML into a model (economy layer, api)."""
    import hashlib
    import dsge_agents
    root = Path(dsge_agents.__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted((root / "economy").glob("*.py")) + [root / "api.py"]:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:20]


def one_shot(model):
    """The same model, for a command that evaluates its compiled functions once (``irf``).

    Its ``compiled`` is the model layer's vectorized NumPy code path (``compile_model(model,
    large=True)``, docs/ARCHITECTURE.md), which needs no Numba: importing Numba and loading the first
    cached Numba function cost a fresh process ~0.7 s on an idle machine, far more than one evaluation
    of the steady state and Jacobian in NumPy (~1 ms). Same class, same attributes otherwise; results
    agree with the Numba path to rounding (the model layer's tests check the two paths against each
    other).
    """
    from dsge_agents import api

    class _OneShot(type(model) if isinstance(model, api.Model) else api.Model):
        @property
        def compiled(self):
            cm = self.__dict__.get("_one_shot_compiled")
            if cm is None:
                from dsge_agents.model.compiled import compile_model
                cm = self.__dict__["_one_shot_compiled"] = compile_model(self, large=True)
            return cm

    m = _OneShot.__new__(_OneShot)
    m.__dict__.update(model.__dict__)
    return m


def check_output(path, force: bool) -> Path:
    """Refuse to overwrite an existing user-named output file unless ``force`` (a directory
    never), and name a missing parent directory."""
    p = Path(path)
    if p.is_dir():
        raise OutputPathError(f"{p} is a directory; name an output file")
    if p.exists() and not force:
        raise OutputExistsError(f"{p} exists; use --force to overwrite it")
    if p.parent and not p.parent.exists():
        raise OutputPathError(f"directory {p.parent} does not exist")
    return p


def check_distinct(outputs: dict, inputs) -> None:
    """Outputs (option -> path; None skipped) must differ from each other and from every input,
    whatever ``--force`` says: one file cannot hold two results, and an input is never
    overwritten. Paths are compared resolved (``./a.csv`` is ``a.csv``)."""
    import os

    def same(a: Path, b: Path) -> bool:  # also through a hard link
        return a == b or (a.exists() and b.exists() and os.path.samefile(a, b))

    seen: list[tuple[Path, str]] = []
    ins = [Path(t).resolve() for t in inputs]
    for opt, path in outputs.items():
        if path is None:
            continue
        r = Path(path).resolve()
        if any(same(r, i) for i in ins):
            raise OutputPathError(f"{opt} {path} is an input file; name another file "
                                    "(inputs are never overwritten, also not with --force)")
        for q, other in seen:
            if same(r, q):
                raise OutputPathError(f"{opt} and {other} name the same file {path}; give each its own")
        seen.append((r, opt))


def model_inputs(model) -> list:
    """The model argument as an input file for :func:`check_distinct` (none for a bundled name)."""
    return [model] if model and Path(model).is_file() else []


def check_figure_format(opt: str, path) -> None:
    """A figure path must end in a format matplotlib writes (no suffix = PNG); checked before any
    work, so a typo does not cost the computation (and leave the other outputs half written)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix in ("", "png"):
        return
    from matplotlib.backend_bases import FigureCanvasBase
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix not in formats:
        raise DSGEError(f"{opt} {path}: figure format {suffix!r} is not supported; use one of "
                        f"{', '.join(sorted(formats))}")


def write_figure(fig, path, dpi: int) -> Path:
    """Save ``fig`` to exactly ``path``, atomically (:func:`dsge_agents._fileio.atomic_path`), in the
    format its suffix names -- PNG without one (matplotlib would otherwise append ``.png`` to a
    name without a suffix and write another file than the one named)."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".") or "png"
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format=fmt)
    return path


def guard_outputs(args, outputs: dict) -> dict:
    """Before any work: the outputs (option -> path or None) differ from each other and from the
    model file, and none exists unless ``--force`` (:func:`check_distinct`, :func:`check_output`);
    a ``--plot`` path has a figure format (:func:`check_figure_format`).
    Returns option -> Path (None where not given)."""
    check_distinct(outputs, model_inputs(getattr(args, "model", None)))
    for opt, path in outputs.items():
        if path and opt == "--plot":
            check_figure_format(opt, path)
    return {opt: check_output(path, getattr(args, "force", False)) if path else None
            for opt, path in outputs.items()}


def add_force(p) -> None:
    """The ``--force`` option of a command that writes files."""
    p.add_argument("--force", action="store_true", help="overwrite existing output files")


#: stoch_simul options that change Dynare's printed numbers but that solve/irf/moments do not apply
_NOT_APPLIED = {
    "periods": "the moments are theoretical, not those of a simulation",
    "simul_replic": "the moments are theoretical, not those of a simulation",
}


def _numbers(value, what: str, source) -> list[float]:
    """The numbers of a stoch_simul vector option: ``4``, ``[1 4 10]``, ``[1, 4]``, ``1:4``, ``[1:4 8]``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [float(value)]
    out = []
    for part in str(value).strip().strip("[]()").replace(",", " ").split():
        try:
            if ":" in part:
                ends = [float(x) for x in part.split(":")]
                if len(ends) == 2:
                    a, b, step = ends[0], ends[1], 1.0
                elif len(ends) == 3:
                    a, step, b = ends
                else:
                    raise ValueError(part)
                if step == 0:
                    raise ValueError(part)
                n = int(np.floor((b - a) / step + 1e-10)) + 1
                out += [a + k * step for k in range(max(n, 0))]
            else:
                out.append(float(part))
        except ValueError:
            raise DSGEError(f"{source}: stoch_simul option {what}={value}: not a list of numbers") from None
    return out


def _given(value) -> bool:
    """A stoch_simul flag or option is set (present, and not 0 / false)."""
    return value not in (None, 0, False, "0")


def qz_option(ss_opts: dict) -> dict:
    """Keyword arguments for ``linear.solve`` from :func:`stoch_simul_options`: the file's
    ``qz_criterium`` when it sets one, else none (the solver's default)."""
    return {"qz_criterium": ss_opts["qz_criterium"]} if "qz_criterium" in ss_opts else {}


def stoch_simul_options(model, command: str) -> dict:
    """The options of the model file's ``stoch_simul(...)`` statements that the ``irf``/``moments``/``solve``
    commands follow, as Dynare does: ``qz_criterium``, ``irf`` (periods), ``ar`` (autocorrelation
    lags), ``irf_shocks``, ``relative_irf``, ``hp_filter``, ``bandpass_filter`` (``bandpass``: the two
    periods), ``conditional_variance_decomposition`` (``cvd``: horizons) and the variable list
    (``varlist``, of the last statement). As in Dynare, which writes each statement's options into
    ``options_`` and never resets them, an option given in an earlier ``stoch_simul`` still holds in
    a later one unless that one sets it again (tests/data/dynare/qa_outputs_persist.json). Options
    that change Dynare's numbers but are not applied here (``periods``, ``simul_replic``,
    ``one_sided_hp_filter``) get a note on stderr, so that a difference from Dynare's output is never silent."""
    import sys
    cmds = [o for c, o in (getattr(model, "commands", None) or []) if c == "stoch_simul"]
    if not cmds:
        return {}
    source = getattr(model, "source", None) or "the model file"
    opts = {}
    for o in cmds:
        opts.update({k: v for k, v in o.items() if k != "varlist"})
    out = {}
    for key in ("qz_criterium", "irf", "ar"):
        v = opts.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[key] = v
    if cmds[-1].get("varlist"):
        out["varlist"] = list(cmds[-1]["varlist"])
    shocks = opts.get("irf_shocks")
    if isinstance(shocks, str):
        out["irf_shocks"] = shocks.strip("()[] ").replace(",", " ").split()
    if _given(opts.get("relative_irf")):
        out["relative_irf"] = True
    if _given(opts.get("nocorr")):
        out["nocorr"] = True
    hp = opts.get("hp_filter")
    if _given(hp):
        if not isinstance(hp, (int, float)) or isinstance(hp, bool) or not hp > 0:
            raise DSGEError(f"{source}: stoch_simul option hp_filter={hp}: expected a positive number")
        out["hp_filter"] = float(hp)
    bp = opts.get("bandpass_filter")
    if _given(bp):
        if bp is True:   # Dynare's default band: periods 6 to 32
            bp = "[6 32]"
        nums = _numbers(bp, "bandpass_filter", source)
        if len(nums) != 2:
            raise DSGEError(f"{source}: stoch_simul option bandpass_filter={bp}: expected [low high]")
        out["bandpass"] = tuple(nums)
        out.pop("hp_filter", None)    # Dynare: with both, the band-pass filter is the one applied
    cvd = opts.get("conditional_variance_decomposition")
    if cvd is not None and cvd is not False:
        hs = _numbers(cvd, "conditional_variance_decomposition", source)
        if not hs or any(h < 1 or not float(h).is_integer() for h in hs):
            raise DSGEError(f"{source}: stoch_simul option conditional_variance_decomposition={cvd}: the periods "
                            "must be integers of at least 1 (Dynare stops too)")
        out["cvd"] = [int(h) for h in hs]
    if command == "moments" and _given(opts.get("one_sided_hp_filter")):
        raise DSGEError(f"{source}: stoch_simul option one_sided_hp_filter: theoretical moments cannot be "
                        "one-sided-HP filtered (Dynare 5.3 stops with the same verdict; it needs simulated moments)")
    relevant = {"moments": ("periods", "simul_replic")}.get(command, ())
    for key in relevant:
        v = opts.get(key)
        if _given(v):
            print(f"note: stoch_simul option {key}={v} of {source} "
                  f"is not applied: {_NOT_APPLIED[key]}", file=sys.stderr)
    return out
