#!/usr/bin/env bash
# Check that `dsge-agents export` produces .mod files that Dynare 5.3 runs and that give the
# same first-order solution and IRFs as our reference runs.  Writes export_check.json and
# keeps the exported files in exported/.
#   tests/data/dynare/export_check.sh [name=model_path:reference_json ...]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
SHARED="$(cd "$REPO/../shared" && pwd)"
SCRATCH="${DYNARE_SCRATCH:-/tmp/dynare_runs}"
DYNARE_MATLAB="${DYNARE_MATLAB:-/usr/lib/dynare/matlab}"
cases=("$@")
[ ${#cases[@]} -eq 0 ] && cases=(nk3=models/nk3.yaml:nk3.json rbc=models/rbc.yaml:rbc.json fs2000=models/fs2000.mod:fs2000_solution.json sw2007=dsge_agents/models/sw2007.mod:sw2007_solution.json)
mkdir -p "$HERE/exported"
summary="$SCRATCH/export_summary.txt"; : > "$summary"
for c in "${cases[@]}"; do
  name="${c%%=*}"; rest="${c#*=}"; model="${rest%%:*}"; ref="${rest#*:}"
  dir="$SCRATCH/export_$name"; rm -rf "$dir"; mkdir -p "$dir/repo/models"; ln -s "$SHARED" "$dir/shared"
  exp="$HERE/exported/${name}_exported.mod"
  ( cd "$REPO" && python -m dsge_agents.cli.main export "$model" --to mod -o "$exp" --force )
  # the exported estimation(...) statement is left out of the run: this script compares solutions
  { grep -v '^estimation(' "$exp"; echo; echo "write_json('${name}_exported.json', solution_struct(M_, oo_, options_));"; } > "$dir/repo/models/${name}_exported.mod"
  rc=0
  ( cd "$dir/repo/models" && octave --no-gui --no-window-system --eval \
      "addpath('$DYNARE_MATLAB'); addpath('$HERE/octave'); dynare ${name}_exported noclearall nograph" \
      > "$dir/octave.log" 2>&1 ) || rc=$?
  echo "$name|$model|$ref|$rc|$dir/repo/models/${name}_exported.json|$dir/octave.log" >> "$summary"
done
python3 - "$summary" "$HERE" <<'PY'
import json, sys, os, subprocess, datetime
summary, here = sys.argv[1:]
out = {"command": "tests/data/dynare/export_check.sh", "date": datetime.datetime.utcnow().isoformat() + "Z",
       "git_commit": subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True).stdout.strip(),
       "models": {}}
for line in open(summary):
    name, model, ref, rc, res, log = line.strip().split("|")
    r = {"source": model, "exported_file": f"tests/data/dynare/exported/{name}_exported.mod",
         "reference": f"tests/data/dynare/{ref}", "dynare_exit_code": int(rc)}
    if os.path.exists(res):
        a, b = json.load(open(res)), json.load(open(os.path.join(here, ref)))
        r["runs"] = True
        common = sorted(set(a["irfs"]) & set(b["irfs"]))
        r["irfs_compared"] = len(common)
        r["irfs_missing_in_export"] = sorted(set(b["irfs"]) - set(a["irfs"]))
        r["max_abs_irf_diff"] = max(max(abs(x - y) for x, y in zip(a["irfs"][k], b["irfs"][k])) for k in common)
        for g in ("ghx", "ghu"):
            same_labels = a[g]["rows"] == b[g]["rows"] and a[g]["cols"] == b[g]["cols"]
            r[g + "_same_labels"] = same_labels
            if same_labels:
                r["max_abs_" + g + "_diff"] = max(abs(x - y) for ra, rb in zip(a[g]["values"], b[g]["values"]) for x, y in zip(ra, rb))
        r["max_abs_steady_state_diff"] = max(abs(a["steady_state"][k] - b["steady_state"][k]) for k in b["steady_state"])
        r["same_irfs_1e-8"] = r["max_abs_irf_diff"] <= 1e-8 and not r["irfs_missing_in_export"]
    else:
        r["runs"] = False
        r["log_tail"] = open(log).read()[-2000:]
    out["models"][name] = r
json.dump(out, open(os.path.join(here, "export_check.json"), "w"), indent=1)
for k, v in out["models"].items():
    print(k, {x: v[x] for x in v if x.startswith(("runs", "max_abs", "same", "irfs_"))})
PY
