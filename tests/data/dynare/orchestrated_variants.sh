#!/usr/bin/env bash
# Variants of the agent economy (tests/data/dynare/orchestrated_variants/*.yaml: the other SLO rule forms,
# retry feedback xi > 0, routing smoothing omega = 0 and 0.8, a one-agent economy, a 4-stage DAG with a
# zero-probability edge, cost shocks entering without persistence, a missing capacity shock) exported with
# `dsge-agents export`, run in Dynare 5.3 (stoch_simul(order=1, irf=40) as exported), and stored as
# orchestrated_variants_<name>.json: Dynare's steady state, decision rules (ghx, ghu), eigenvalue moduli,
# theoretical moments (std, autocorrelations 1..5, variance decomposition) and the IRFs of the aggregate
# variables (the full IRF table is implied by ghx/ghu and kept out to keep the files small).
#   tests/data/dynare/orchestrated_variants.sh [NAME ...]     (default: every YAML in orchestrated_variants/)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
SCRATCH="${DYNARE_SCRATCH:-/tmp/dynare_runs}"
DYNARE_MATLAB="${DYNARE_MATLAB:-/usr/lib/dynare/matlab}"
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$HERE"/orchestrated_variants/*.yaml; do names+=("$(basename "$f" .yaml)"); done
fi
for name in "${names[@]}"; do
  dir="$SCRATCH/orchestrated_variants/$name"; rm -rf "$dir"; mkdir -p "$dir"
  ( cd "$REPO" && python -m dsge_agents export "tests/data/dynare/orchestrated_variants/$name.yaml" \
      -o "$dir/$name.mod" --force )
  echo "write_json('${name}_dynare.json', solution_struct(M_, oo_, options_));" >> "$dir/$name.mod"
  ( cd "$dir" && octave --no-gui --no-window-system --eval \
      "addpath('$DYNARE_MATLAB'); addpath('$HERE/octave'); dynare $name noclearall nograph" > "$dir/octave.log" 2>&1 ) \
    || { echo "Dynare failed, log: $dir/octave.log"; tail -30 "$dir/octave.log"; exit 1; }
  python3 - "$dir/${name}_dynare.json" "$HERE/orchestrated_variants_$name.json" "$name" "$REPO" <<'PY'
import json, subprocess, sys
src, dst, name, repo = sys.argv[1:]
d = json.load(open(src))
agg = ["demand", "latency", "cost", "quality", "net_value", "slo_rate", "spend"]
m = d["moments"]
out = {
    "model": name, "dynare_version": d["dynare_version"],
    "command": f"tests/data/dynare/orchestrated_variants.sh {name}",
    "source": f"tests/data/dynare/orchestrated_variants/{name}.yaml",
    "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip(),
    "variables": d["variables"], "shocks": d["shocks"], "parameters": d["parameters"],
    "shock_stderr": d["shock_stderr"], "steady_state": d["steady_state"], "ghx": d["ghx"], "ghu": d["ghu"],
    "eigenvalue_moduli": d["eigenvalue_moduli"], "npred": d["npred"], "nboth": d["nboth"], "nfwrd": d["nfwrd"],
    "irf_periods": d["irf_periods"],
    "irfs": {k: v for k, v in d["irfs"].items() if any(k.startswith(a + "_eps_") for a in agg)},
    "moments": {"variables": m["variables"], "std": m["std"], "autocorr": m["autocorr"],
                "variance_decomposition_percent": m["variance_decomposition_percent"]},
}
json.dump(out, open(dst, "w"), separators=(",", ":"))
print(name, "variables", len(out["variables"]), "irfs kept", len(out["irfs"]))
PY
done
