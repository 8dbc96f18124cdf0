#!/usr/bin/env bash
# Blanchard-Kahn counts of the default agent economy with strong retry feedback and sluggish routing
# (demand.retry_feedback: 2.0, routing.omega: 0.9; current-latency rule, slo_rho 0.5), from Dynare 5.3,
# at slo_phi_latency = 0, 2, 10, 50: the demand-latency retry loop is explosive for some rule coefficients
# (a retry storm), so DESIGN §5.2's determinacy facts need a damped retry loop.
# Model: `dsge-agents export` of models/orchestrated_default.yaml with those two settings changed; for each
# value Dynare's `resol` (qz_criterium 1 + 1e-6) gives info (0 = unique stable solution, 3 = no stable
# solution, 4 = indeterminacy) and the eigenvalues, of which the explosive ones are counted.
# Writes orchestrated_storm.json.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
SCRATCH="${DYNARE_SCRATCH:-/tmp/dynare_runs}"
DYNARE_MATLAB="${DYNARE_MATLAB:-/usr/lib/dynare/matlab}"
dir="$SCRATCH/orchestrated_storm"; rm -rf "$dir"; mkdir -p "$dir"
sed -e 's/^\(  retry_feedback:\) 0.0 /\1 2.0 /' -e 's/^\(  omega:\) 0.5 /\1 0.9 /' \
    "$REPO/models/orchestrated_default.yaml" > "$dir/storm.yaml"
grep -q "retry_feedback: 2.0" "$dir/storm.yaml" && grep -q "omega: 0.9" "$dir/storm.yaml"
( cd "$REPO" && python -m dsge_agents export "$dir/storm.yaml" -o "$dir/storm.mod" --force )
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
a = open(f"{d}/storm.mod").read()
text = a[:a.index("steady;")] + """steady;
options_.qz_criterium = 1 + 1e-6;
oo_.dr = set_state_space(oo_.dr, M_, options_);
out = struct();
vals = [0 2 10 50];
out.slo_phi_latency = vals; out.slo_rho = 0.5; out.retry_xi = 2.0; out.omega = 0.9;
out.info = zeros(size(vals)); out.n_explosive = zeros(size(vals)); out.n_forward = zeros(size(vals));
for j = 1:numel(vals)
  set_param_value('slo_phi_latency', vals(j));
  [dr, info] = resol(0, M_, options_, oo_);
  out.info(j) = info(1);
  out.n_explosive(j) = sum(abs(dr.eigval) > options_.qz_criterium);
  out.n_forward(j) = M_.nsfwrd;
end
write_json('orchestrated_storm.json', out);
"""
open(f"{d}/orchestrated_storm.mod", "w").write(text)
PY
( cd "$dir" && octave --no-gui --no-window-system --eval \
    "addpath('$DYNARE_MATLAB'); addpath('$HERE/octave'); dynare orchestrated_storm noclearall nograph" \
    > "$dir/octave.log" 2>&1 ) || { echo "Dynare failed, log: $dir/octave.log"; tail -30 "$dir/octave.log"; exit 1; }
cp "$dir/orchestrated_storm.json" "$HERE/"
echo "done orchestrated_storm -> orchestrated_storm.json"
