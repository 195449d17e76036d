#!/bin/sh
# Runs the PonitaAseMd sample: installs Debian's python3-ase when ASE is missing, then trains (or loads) a PONITA model
# and lets ASE drive NVE and NVT molecular dynamics with it through the i-PI socket.
#   samples/PonitaAseMd/run.sh [--model ponita.onnx] [--epochs 20] [--steps 1000] [--temperature 300]
set -e
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || PYTHON=python3
if ! "$PYTHON" -c "import ase" 2>/dev/null; then
    echo "ASE is missing: installing Debian's python3-ase"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-ase
    PYTHON=/usr/bin/python3
fi
cd "$(dirname "$0")/../.."
exec dotnet run -c Release --project samples/PonitaAseMd -- --python "$PYTHON" "$@"
