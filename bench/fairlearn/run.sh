#!/usr/bin/env bash
# Side-by-side of our FairnessMitigator and Fairlearn 0.12's ThresholdOptimizer on the same scores, held-out rows.
#   bench/fairlearn/run.sh [--out DIR] [--splits 30] [--datasets adult,wvs,titanic] [--models lr[,hgb]]
#                          [--variants unconstrained,global,...] [--force] [--no-build] [--jobs 2]
# Steps: study.py (splits, base-model scores, Fairlearn's decisions; splits whose files are current are reused, so a
# rerun only redoes our side), the bench mode --fairlearn-study (our decisions), compare.py (one evaluator, the
# markdown table, written to DIR/results.md). See README.md. Not part of CI.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/out" splits=30 datasets=adult,wvs,titanic models=lr variants="" force="" build=1 jobs=2
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --splits) splits=$2; shift 2 ;;
    --datasets) datasets=$2; shift 2 ;;
    --models) models=$2; shift 2 ;;
    --variants) variants=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --force) force=--force; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n 2,7p "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Debian's python with Debian's scikit-learn, pandas and scipy (a pyenv or venv python on PATH would not see them).
py=${PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import sklearn, pandas, scipy' 2>/dev/null; then
  echo "Installing python3-sklearn python3-pandas python3-scipy (apt)..."
  sudo_=""; [[ $(id -u) -ne 0 ]] && sudo_=sudo
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq python3-sklearn python3-pandas python3-scipy
fi

export FAIRLEARN_PATH=${FAIRLEARN_PATH:-/work/.cache/fairlearn-0.12}
if [[ ! -f "$FAIRLEARN_PATH/fairlearn/__init__.py" ]]; then
  cat >&2 <<EOF
run.sh: no Fairlearn source at FAIRLEARN_PATH=$FAIRLEARN_PATH (expected $FAIRLEARN_PATH/fairlearn/__init__.py).
Fairlearn 0.12 is not packaged for Debian and must stay outside this project. Get its source, e.g.
  git clone --bare https://github.com/fairlearn/fairlearn /tmp/fairlearn.git
  mkdir -p $FAIRLEARN_PATH && git -C /tmp/fairlearn.git archive release/v0.12.0 fairlearn | tar -x -C $FAIRLEARN_PATH
  git -C /tmp/fairlearn.git rev-parse release/v0.12.0 > $FAIRLEARN_PATH/COMMIT
(see bench/fairlearn/README.md), or set FAIRLEARN_PATH.
EOF
  exit 1
fi

mkdir -p "$out"
start=$(date +%s)
echo "== study.py: splits, scores, Fairlearn (output: $out)"
"$py" "$here/study.py" --out "$out" --datasets "$datasets" --models "$models" --splits "$splits" --jobs "$jobs" $force

echo "== our mitigator (bench --fairlearn-study)"
dll="$root/bench/MLExtensions.Bench/bin/Release/net10.0/MLExtensions.Bench.dll"
if [[ $build -eq 1 ]]; then
  if ! log=$(dotnet build -c Release "$root/bench/MLExtensions.Bench" -v q -nologo 2>&1); then
    echo "$log" | tail -30 >&2; echo "run.sh: the bench build failed" >&2; exit 1
  fi
fi
[[ -f "$dll" ]] || { echo "run.sh: $dll is missing; build failed?" >&2; exit 1; }
folders=$("$py" -c "import json,sys; print(','.join(json.load(open(sys.argv[1]))['folders']))" "$out/study.json")
dotnet "$dll" --fairlearn-study "$out" --datasets "$folders" --splits "$splits" ${variants:+--variants "$variants"}

echo "== compare.py"
"$py" "$here/compare.py" "$out"
echo "run.sh: done in $(( $(date +%s) - start )) s; tables in $out/results.md, per-split metrics in $out/metrics.csv"
