#!/usr/bin/env bash
# Which names can Dynare 5.3 take? For each NAME: an AR(1) model with NAME as a second variable,
# and one with NAME as its parameter; prints "var NAME rc=..." / "param NAME rc=..." (0 = Dynare
# ran).  Results: reserved_names.txt (test_model_export_names.py encodes them).
#   tests/data/dynare/reserved_names.sh end if for function var model i e inf nan ... > reserved_names.txt
set -u
SCRATCH="${DYNARE_SCRATCH:-/tmp/dynare_runs}/reserved_names"
DYNARE_MATLAB="${DYNARE_MATLAB:-/usr/lib/dynare/matlab}"
mkdir -p "$SCRATCH"; cd "$SCRATCH"
for n in "$@"; do
  d=v_$n; rm -rf "$d"; mkdir -p "$d"; cat > "$d/m_v.mod" <<EOM
var y $n; varexo u; parameters rho;
rho = 0.9;
model; y = rho*y(-1) + u; $n = 2*y; end;
steady_state_model; y = 0; $n = 0; end;
shocks; var u; stderr 0.1; end;
stoch_simul(order=1, irf=3, nograph);
EOM
  ( cd "$d" && timeout 120 octave --no-gui --no-window-system --eval "addpath('$DYNARE_MATLAB'); dynare m_v noclearall nograph" > log 2>&1; echo "var $n rc=$?" )
  d=p_$n; rm -rf "$d"; mkdir -p "$d"; cat > "$d/m_p.mod" <<EOM
var y; varexo u; parameters $n;
$n = 0.9;
model; y = $n*y(-1) + u; end;
steady_state_model; y = 0; end;
shocks; var u; stderr 0.1; end;
stoch_simul(order=1, irf=3, nograph);
EOM
  ( cd "$d" && timeout 120 octave --no-gui --no-window-system --eval "addpath('$DYNARE_MATLAB'); dynare m_p noclearall nograph" > log 2>&1; echo "param $n rc=$?" )
done
