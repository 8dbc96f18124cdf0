#!/usr/bin/env bash
# Export the default orchestrated agent economy (models/orchestrated_default.yaml) to a Dynare
# .mod, run it in Dynare 5.3 and store Dynare's solution and IRFs as
# orchestrated_default_irfs.json (same layout as nk3.json).  The exported file is kept in
# exported/orchestrated_default_exported.mod.
# Export route: `dsge-agents export` when it accepts the file, else the Python API
# (dsge_agents.api.load_model(path).to_mod(out)); the route used is recorded in the JSON.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
SCRATCH="${DYNARE_SCRATCH:-/tmp/dynare_runs}"
DYNARE_MATLAB="${DYNARE_MATLAB:-/usr/lib/dynare/matlab}"
name=orchestrated_default
exp="$HERE/exported/${name}_exported.mod"
mkdir -p "$HERE/exported"
route="cli: python -m dsge_agents.cli.main export models/$name.yaml --to mod -o $exp"
if ! ( cd "$REPO" && python -m dsge_agents.cli.main export "models/$name.yaml" --to mod -o "$exp" --force ); then
  route="api: dsge_agents.api.load_model('models/$name.yaml').to_mod(out)"
  ( cd "$REPO" && python -c "import sys, dsge_agents.api as da; da.load_model('models/$name.yaml').to_mod(sys.argv[1])" "$exp" )
fi
dir="$SCRATCH/$name"; rm -rf "$dir"; mkdir -p "$dir"
{ cat "$exp"; echo; echo "write_json('${name}_irfs.json', solution_struct(M_, oo_, options_));"; } > "$dir/${name}_exported.mod"
( cd "$dir" && octave --no-gui --no-window-system --eval \
    "addpath('$DYNARE_MATLAB'); addpath('$HERE/octave'); dynare ${name}_exported noclearall nograph" > "$dir/octave.log" 2>&1 ) \
  || { echo "Dynare failed, log: $dir/octave.log"; tail -30 "$dir/octave.log"; exit 1; }
python3 - "$dir/${name}_irfs.json" "$HERE/${name}_irfs.json" "$route" "$REPO" <<'PY'
import json, sys, subprocess
src, dst, route, repo = sys.argv[1:]
d = json.load(open(src))
d["export_route"] = route
d["command"] = "tests/data/dynare/orchestrated_irfs.sh"
d["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
json.dump(d, open(dst, "w"), separators=(",", ":"))
print("variables", len(d["variables"]), "shocks", len(d["shocks"]), "irfs", len(d.get("irfs", {})))
PY
# for information: the package's own IRFs of the same model against Dynare's
( cd "$REPO" && python - "$HERE/${name}_irfs.json" <<'PY'
import json, sys
import numpy as np
import dsge_agents.api as da
path = sys.argv[1]
d = json.load(open(path))
df = da.load_model("models/orchestrated_default.yaml").irf(periods=40)
worst_abs, worst_rel = (0.0, None), (0.0, None)
for (s, v), g in df.groupby(["shock", "variable"]):
    a = np.array(d["irfs"][f"{v}_{s}"]); b = g.sort_values("period")["value"].to_numpy()
    scale = max(np.max(np.abs(np.array(d["irfs"][f"{v}_{t}"]))) for t in d["shocks"])
    err = float(np.max(np.abs(a - b)))
    if err > worst_abs[0]: worst_abs = (err, f"{v}_{s}")
    if scale > 0 and err / scale > worst_rel[0]: worst_rel = (err / scale, f"{v}_{s}")
d["package_vs_dynare"] = {"max_abs_irf_diff": worst_abs[0], "at": worst_abs[1],
                          "max_irf_diff_relative_to_variable_scale": worst_rel[0], "at_rel": worst_rel[1],
                          "note": "dsge_agents.api.load_model(...).irf(periods=40) at the time of the run"}
json.dump(d, open(path, "w"), separators=(",", ":"))
print(d["package_vs_dynare"])
PY
)
