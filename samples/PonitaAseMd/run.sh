#!/bin/sh
# Runs the PonitaAseMd sample: installs Debian's python3-ase when ASE is missing, then trains (or loads) a PONITA model
# and lets ASE drive NVE and NVT molecular dynamics with it through the i-PI socket.
#   samples/PonitaAseMd/run.sh [--model ponita.onnx] [--epochs 20] [--orientations 16] [--steps 1000] [--temperature 300]
# With --silicon it trains on periodic silicon instead: it installs Debian's lammps when missing, generates 300 training
# and 100 test frames of 216-atom strained Stillinger-Weber cells at 600-1800 K (bench/lammps/make_periodic.py, cached
# in ~/.cache/mlextensions), trains 30 epochs in eV with stress, checks the lattice promises, times a ~10,000-atom cell
# and lets ASE run 500 fs of NVE at 1000 K (1 fs steps). Options given here come first, so they win.
set -e
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || PYTHON=python3
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
install() {
    echo "installing Debian's $*"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
if ! "$PYTHON" -c "import ase" 2>/dev/null; then
    install python3-ase
    PYTHON=/usr/bin/python3
fi
cd "$(dirname "$0")/../.."
case " $* " in
*" --silicon "*)
    command -v lmp >/dev/null 2>&1 || install lammps
    CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/mlextensions
    mkdir -p "$CACHE"
    [ -f "$CACHE/silicon-sw-train.extxyz.gz" ] || "$PYTHON" bench/lammps/make_periodic.py --frames 300 --seed 1 "$CACHE/silicon-sw-train.extxyz.gz"
    [ -f "$CACHE/silicon-sw-test.extxyz.gz" ] || "$PYTHON" bench/lammps/make_periodic.py --frames 100 --seed 2 "$CACHE/silicon-sw-test.extxyz.gz"
    exec dotnet run -c Release --project samples/PonitaAseMd -- --python "$PYTHON" "$@" \
        --data "$CACHE/silicon-sw-train.extxyz.gz" --test "$CACHE/silicon-sw-test.extxyz.gz" --unit eV \
        --epochs 30 --temperature 1000 --timestep 1 --steps 500 ;;
esac
exec dotnet run -c Release --project samples/PonitaAseMd -- --python "$PYTHON" "$@"
