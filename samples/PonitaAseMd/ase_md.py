"""ASE runs molecular dynamics; the forces come over the i-PI socket from a PONITA model served by PonitaPotential.ServeIpi.

Started by the PonitaAseMd sample (Program.cs), which serves the model on the same socket. Alone:
    python3 ase_md.py --socket ponita --start start.json [--steps 1000] [--temperature 300] [--timestep 0.5]
then, in .NET, potential.ServeIpi("unix:ponita", types). Needs ASE (Debian: apt-get install python3-ase).
"""
import argparse
import json

import numpy as np
from ase import Atoms, units
from ase.calculators.socketio import SocketIOCalculator
from ase.md.langevin import Langevin
from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation
from ase.md.verlet import VelocityVerlet

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--socket", default="ponita", help="UNIX socket name: ASE listens on /tmp/ipi_NAME")
parser.add_argument("--start", required=True,
                    help="JSON with 'numbers' (atomic numbers), 'positions' (3N, Å) and optionally 'cell' (9, rows a b c in Å)")
parser.add_argument("--steps", type=int, default=1000, help="steps of each run (NVE, then NVT)")
parser.add_argument("--temperature", type=float, default=300.0, help="K, for the initial velocities and the thermostat")
parser.add_argument("--timestep", type=float, default=0.5, help="fs")
args = parser.parse_args()

with open(args.start) as f:
    start = json.load(f)
cell = start.get("cell") or []
periodic = len(cell) == 9
atoms = Atoms(numbers=start["numbers"], positions=np.reshape(start["positions"], (-1, 3)),
              cell=np.reshape(cell, (3, 3)) if periodic else None, pbc=periodic)
n = len(atoms)

# ASE's server listens on /tmp/ipi_<socket>; the .NET client connects to "unix:<socket>".
with SocketIOCalculator(unixsocket=args.socket, timeout=120) as calc:
    atoms.calc = calc
    print(f"first-energy-eV {atoms.get_potential_energy():.12e}", flush=True)

    rng = np.random.default_rng(1)
    MaxwellBoltzmannDistribution(atoms, temperature_K=args.temperature, rng=rng)
    Stationary(atoms)
    if not periodic:  # a crystal has no rotation to remove
        ZeroRotation(atoms)

    # NVE: the total energy of a conservative model stays put, up to the integrator's error.
    nve = VelocityVerlet(atoms, args.timestep * units.fs)
    totals, temperatures = [], []
    nve.attach(lambda: (totals.append(atoms.get_total_energy()), temperatures.append(atoms.get_temperature())), interval=10)
    nve.run(args.steps)
    times = np.arange(len(totals)) * 10 * args.timestep / 1000  # ps
    drift = np.polyfit(times, totals, 1)[0] / n * 1000
    print(f"ASE NVE: {args.steps} steps of {args.timestep} fs, mean temperature {np.mean(temperatures):.0f} K, "
          f"total-energy drift {drift:.3f} meV/atom/ps, total energy within {1000 * (max(totals) - min(totals)):.2f} meV", flush=True)

    # NVT: Langevin thermostat at the asked temperature.
    nvt = Langevin(atoms, args.timestep * units.fs, temperature_K=args.temperature, friction=0.01 / units.fs, rng=rng)
    temperatures = []
    nvt.attach(lambda: temperatures.append(atoms.get_temperature()), interval=10)
    nvt.run(args.steps)
    half = len(temperatures) // 2
    print(f"ASE NVT (Langevin, {args.temperature:.0f} K): mean temperature over the second half {np.mean(temperatures[half:]):.0f} K", flush=True)
# Leaving the with-block sends EXIT: ServeIpi returns.
