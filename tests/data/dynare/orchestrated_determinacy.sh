#!/usr/bin/env bash
# Blanchard-Kahn counts of the default agent economy with the EXPECTED-latency SLO rule and no
# smoothing (form: expected, slo_rho: 0), from Dynare 5.3, at slo_phi_latency values around the
# determinacy boundary (~12.85) and on either side of it. Model: `dsge-agents export` of
# models/orchestrated_default.yaml with those two settings changed. For each value Dynare's
# `resol` (qz_criterium 1 + 1e-6) gives info (0 = unique stable solution, 4 = indeterminacy) and
# the eigenvalues, of which the explosive ones are counted.
# Writes orchestrated_determinacy.json.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
SCRATCH="${DYNARE_SCRATCH:-/tmp/dynare_runs}"
DYNARE_MATLAB="${DYNARE_MATLAB:-/usr/lib/dynare/matlab}"
dir="$SCRATCH/orchestrated_determinacy"; rm -rf "$dir"; mkdir -p "$dir"
sed -e 's/^\(  form:\) current /\1 expected/' -e 's/^\(  slo_rho:\) 0.5 /\1 0.0 /' \
    "$REPO/models/orchestrated_default.yaml" > "$dir/odexp.yaml"
grep -q "form: expected" "$dir/odexp.yaml" && grep -q "slo_rho: 0.0" "$dir/odexp.yaml"
( cd "$REPO" && python -m dsge_agents export "$dir/odexp.yaml" -o "$dir/odexp.mod" --force )
python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
a = open(f"{d}/odexp.mod").read()
text = a[:a.index("steady;")] + """steady;
options_.qz_criterium = 1 + 1e-6;
oo_.dr = set_state_space(oo_.dr, M_, options_);
out = struct();
vals = [5 12.8 12.84 12.85 12.86 12.87 12.9 20];
out.slo_phi_latency = vals;
out.info = zeros(size(vals)); out.n_explosive = zeros(size(vals)); out.n_forward = zeros(size(vals));
for j = 1:numel(vals)
  set_param_value('slo_phi_latency', vals(j));
  [dr, info] = resol(0, M_, options_, oo_);
  out.info(j) = info(1);
  out.n_explosive(j) = sum(abs(dr.eigval) > options_.qz_criterium);
  out.n_forward(j) = M_.nsfwrd;
end
write_json('orchestrated_determinacy.json', out);
"""
open(f"{d}/orchestrated_determinacy.mod", "w").write(text)
PY
( cd "$dir" && octave --no-gui --no-window-system --eval \
    "addpath('$DYNARE_MATLAB'); addpath('$HERE/octave'); dynare orchestrated_determinacy noclearall nograph" \
    > "$dir/octave.log" 2>&1 ) || { echo "Dynare failed, log: $dir/octave.log"; tail -30 "$dir/octave.log"; exit 1; }
cp "$dir/orchestrated_determinacy.json" "$HERE/"
echo "done orchestrated_determinacy -> orchestrated_determinacy.json"
