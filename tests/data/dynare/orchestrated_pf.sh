#!/usr/bin/env bash
# Perfect-foresight transition of the default agent economy after a permanent cut of the SLO target
# W* from 30 s to 28 s, computed by Dynare 5.3 (perfect_foresight_setup / perfect_foresight_solver).
# The model part is `dsge-agents export models/orchestrated_default.yaml`; the parameters that the
# new target moves (slo_target_latency and the derived slo_rate_bar, slo_cost_bar) and the new steady
# state are taken from the export of the same file with W* = 28 (the builder derives them); Dynare's
# `steady` re-solves both steady states from those values and its residual check must pass.
# Writes orchestrated_default_pf.json: paths (periods 0..81) of the variables listed in KEEP.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
SCRATCH="${DYNARE_SCRATCH:-/tmp/dynare_runs}"
DYNARE_MATLAB="${DYNARE_MATLAB:-/usr/lib/dynare/matlab}"
dir="$SCRATCH/orchestrated_default_pf"; rm -rf "$dir"; mkdir -p "$dir"
sed 's/^\(  slo_target_latency:\) 30.0 /\1 28.0 /' "$REPO/models/orchestrated_default.yaml" > "$dir/od28.yaml"
grep -q "slo_target_latency: 28.0" "$dir/od28.yaml"
( cd "$REPO" && python -m dsge_agents export models/orchestrated_default.yaml -o "$dir/od30.mod" --force \
             && python -m dsge_agents export "$dir/od28.yaml" -o "$dir/od28.mod" --force )
python3 - "$dir" <<'PY'
import re, sys
d = sys.argv[1]
a, b = open(f"{d}/od30.mod").read(), open(f"{d}/od28.mod").read()
def ss_block(t):
    i = t.index("steady_state_model;") + len("steady_state_model;")
    return t[i:t.index("end;", i)]
head = a[:a.index("steady_state_model;")]
newp = "".join(l + "\n" for l in b.splitlines()
               if re.match(r"(slo_target_latency|slo_rate_bar|slo_cost_bar) =", l))
keep = ("latency cost quality net_value slo_rate spend plan_api_share act_llama_share "
        "act_llama_provisioned act_llama_invest act_llama_tobin_q verify_llama_util").split()
idx = "[" + " ".join(f"strmatch('{v}', M_.endo_names, 'exact')" for v in keep) + "]"
text = (head + "initval;" + ss_block(a) + "end;\nsteady(tolf=1e-13);\nold_ss = oo_.steady_state;\n"
        + newp + "endval;" + ss_block(b) + "end;\nsteady(tolf=1e-13);\n"
        "perfect_foresight_setup(periods=80);\nperfect_foresight_solver(tolf=1e-12);\n"
        f"keep = {idx};\n"
        "out = struct();\nout.change = struct('slo_target_latency', [30, 28]);\nout.periods = 80;\n"
        "out.variables = M_.endo_names(keep)';\nout.old_steady_state = old_ss(keep)';\n"
        "out.new_steady_state = oo_.steady_state(keep)';\n"
        "out.endo_simul = struct('json_matrix_', oo_.endo_simul(keep, :));\n"
        "write_json('orchestrated_default_pf.json', out);\n")
open(f"{d}/orchestrated_default_pf.mod", "w").write(text)
PY
( cd "$dir" && octave --no-gui --no-window-system --eval \
    "addpath('$DYNARE_MATLAB'); addpath('$HERE/octave'); dynare orchestrated_default_pf noclearall nograph" \
    > "$dir/octave.log" 2>&1 ) || { echo "Dynare failed, log: $dir/octave.log"; tail -30 "$dir/octave.log"; exit 1; }
grep -q "Perfect foresight solution found" "$dir/octave.log"
cp "$dir/orchestrated_default_pf.json" "$HERE/"
echo "done orchestrated_default_pf -> orchestrated_default_pf.json (log: $dir/octave.log)"
