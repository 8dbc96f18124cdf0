"""``dsge-agents determinacy [MODEL] --grid NAME=START:STOP:N [--grid ...]``: determinacy map."""
from __future__ import annotations

from dsge_agents._fileio import atomic_path
from dsge_agents.cli._common import add_force, guard_outputs
from dsge_agents.cli.whatif import add_model_argument, load_model_arg, save_figure
from dsge_agents.errors import PolicyError


def run(args) -> int:
    guard_outputs(args, {"--csv": args.csv, "--plot": args.plot})
    from dsge_agents.policy.determinacy import determinacy_map
    from dsge_agents.policy.sweep import MAX_AXIS_POINTS, parse_grid_spec
    if not args.grid:
        raise PolicyError("empty grid: give --grid NAME=START:STOP:N")
    grid = {}
    for g in args.grid:
        name, vals = parse_grid_spec(g)
        if name in grid:
            raise PolicyError(f"grid parameter {name!r} given twice")
        grid[name] = vals
    total = 1
    for vals in grid.values():
        total *= len(vals)
    if total > MAX_AXIS_POINTS:
        raise PolicyError(f"the grid has {total:,} points (more than {MAX_AXIS_POINTS:,}); use coarser axes or "
                          "the Python API (dsge_agents.policy.determinacy_map) for a deliberate large sweep")
    if args.plot and len(grid) > 2:   # refuse before computing the map
        raise PolicyError(f"--plot draws maps over one or two parameters; {len(grid)} grids given "
                          "(write the map with --csv instead)")
    model = load_model_arg(args.model)
    if args.scheduler:
        executor = args.scheduler
    elif args.workers == 0:
        executor = "serial"
    else:
        executor = args.workers
    dm = determinacy_map(model, grid, executor=executor, form=args.form, progress=not args.quiet)
    print(dm.summary())
    if len(dm.parameters) == 1:
        b = dm.boundaries()
        if len(b):
            print(b.to_string(index=False))
    if args.csv:
        with atomic_path(args.csv) as _tmp:
            dm.table().to_csv(_tmp, index=False)
        print(f"wrote {args.csv}")
    if args.plot:
        save_figure(dm.plot(), args.plot)
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "determinacy", help="determinacy / stability map over rule coefficients",
        description="Classify each grid point of one or two rule coefficients as determinate, "
                    "indeterminate or unstable (Blanchard-Kahn counts).")
    add_model_argument(p)
    p.add_argument("--grid", action="append", metavar="NAME=START:STOP:N",
                   help="grid axis (repeatable; N points, both ends included)")
    p.add_argument("--form", choices=["current", "expected", "integral"],
                   help="SLO rule form to map (orchestrated economy)")
    p.add_argument("--csv", metavar="PATH", help="write one row per point: grid parameters, status")
    p.add_argument("--plot", metavar="PATH", help="write the region figure")
    p.add_argument("--scheduler", metavar="ADDR", help="Dask scheduler address (default: local processes)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: all cores; 0 = in-process)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_force(p)
    p.set_defaults(func=run)
