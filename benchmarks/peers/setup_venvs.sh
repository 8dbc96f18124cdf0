#!/usr/bin/env bash
# Recreate the peer virtual environments used by benchmarks/bench_peers.py.
#
# Every peer lives in its own venv under $PEERS_DIR (default /work/peers), so that nothing in
# the environment of dsge_agents changes (gEconpy, for one, would downgrade Numba).
#
#   bash benchmarks/peers/setup_venvs.sh            # all peers
#   bash benchmarks/peers/setup_venvs.sh pydsge     # only the named ones
#
# A failed install is reported and the script goes on with the next peer; the log of each
# install is $PEERS_DIR/<name>.install.log.
set -u
PEERS_DIR="${PEERS_DIR:-/work/peers}"
mkdir -p "$PEERS_DIR"

# name | python interpreter | distribution | pip requirement(s)
# (gEconpy >= 2.3 declares Requires-Python >= 3.12; the others run on the 3.11 of dsge_agents;
#  linearsolve declares no dependencies, so its imports are listed by hand)
SPECS=(
  "linearsolve|python3.11|linearsolve|linearsolve numpy scipy pandas statsmodels"
  "pydsge|python3.11|pydsge|pydsge"
  "irispie|python3.12|irispie|irispie"   # 0.68 needs documark, Requires-Python >= 3.12
  "symbolicdsge2|python3.11|SymbolicDSGE|--pre SymbolicDSGE"
  "symbolicdsge14|python3.11|SymbolicDSGE|SymbolicDSGE==1.4.3"
  "geconpy|python3.12|gEconpy|gEconpy"
)

find_python() {   # a real interpreter of that version (pyenv's shims refuse versions not selected)
  local want="$1" v="${1#python}" cand
  for cand in "$HOME"/.pyenv/versions/"$v".*/bin/python "/usr/bin/$want" "/usr/local/bin/$want"; do
    [ -x "$cand" ] && "$cand" -c "import venv" 2>/dev/null && { echo "$cand"; return; }
  done
  cand="$(command -v "$want")" && "$cand" -c "import venv" 2>/dev/null && { echo "$cand"; return; }
  return 1
}

selected=("$@")
rc=0
for spec in "${SPECS[@]}"; do
  IFS='|' read -r name py dist req <<<"$spec"
  if [ ${#selected[@]} -gt 0 ] && [[ ! " ${selected[*]} " =~ " $name " ]]; then continue; fi
  log="$PEERS_DIR/$name.install.log"
  pyexe="$(find_python "$py")" || { echo "[$name] no $py interpreter found" | tee "$log"; rc=1; continue; }
  echo "[$name] $pyexe -m venv $PEERS_DIR/$name; pip install $req"
  rm -rf "${PEERS_DIR:?}/$name"
  "$pyexe" -m venv "$PEERS_DIR/$name" >"$log" 2>&1 &&
    "$PEERS_DIR/$name/bin/python" -m pip install -q --upgrade pip >>"$log" 2>&1
  # shellcheck disable=SC2086
  if "$PEERS_DIR/$name/bin/python" -m pip install $req >>"$log" 2>&1; then
    echo "[$name] ok: $dist $("$PEERS_DIR/$name/bin/python" -c "import importlib.metadata as m; print(m.version('$dist'))")"
  else
    echo "[$name] FAILED (see $log):"; tail -5 "$log"; rc=1
  fi
done
exit $rc
