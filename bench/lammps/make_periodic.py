#!/usr/bin/env python3
"""Periodic training data from LAMMPS: strained crystal cells at finite temperature, with energies, forces and stress.

Each run builds a crystal (diamond silicon with Stillinger-Weber, or fcc copper with EAM), deforms its cell by a random
strain (each of the six components uniform in [-strain, strain]; a triclinic cell), draws a temperature uniform in
[tmin, tmax], equilibrates under a Langevin thermostat and stores frames at a fixed interval. Frames are written as
extended XYZ (ASE's convention, which MLExtensions' ExtendedXyz reads): Lattice (rows a, b, c in Å), pbc="T T T",
energy (eV), forces (eV/Å) and stress (9 values row-major, eV/Å³, ASE's sign: the negative of LAMMPS' virial pressure,
kinetic part excluded, as a potential's derivative under strain is), plus temperature (K, the thermostat's target).

    python3 make_periodic.py --frames 300 --seed 1 silicon-train.extxyz.gz
    python3 make_periodic.py --frames 100 --seed 2 silicon-test.extxyz.gz
    python3 make_periodic.py --check-stress --frames 20 /tmp/check.extxyz

Needs LAMMPS' serial binary `lmp` (Debian: apt-get install lammps; the potentials are in /usr/share/lammps/potentials)
and Python 3's standard library only. --check-stress compares every run's last stress with central differences of
the energy under a small strain, and the last frame's force on atom 1 with central differences of the energy under a
small move of that atom, and fails when they disagree. The forces are those of the potential alone: the thermostat's
drag and random kicks, which LAMMPS adds to the same force array, are left out.
"""
import argparse
import gzip
import os
import random
import shutil
import subprocess
import sys
import tempfile

BAR_IN_EV_PER_A3 = 1e5 / 1.602176634e-19 * 1e-30  # 1 bar = 1e5 Pa; 1 eV/Å³ = 1.602e-19 J / 1e-30 m³

SYSTEMS = {
    # name: (lattice, constant in Å, element, mass, pair_style, potential file, default replicate)
    "si-sw": ("diamond", 5.431, "Si", 28.0855, "sw", "Si.sw", 3),
    "cu-eam": ("fcc", 3.615, "Cu", 63.546, "eam", "Cu_u3.eam", 3),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("output", help="extended XYZ file to write (gzipped when it ends in .gz)")
    p.add_argument("--system", choices=sorted(SYSTEMS), default="si-sw", help="crystal and potential (default si-sw)")
    p.add_argument("--frames", type=int, default=300, help="frames in all (default 300)")
    p.add_argument("--frames-per-run", type=int, default=10, help="frames kept from each strained cell (default 10)")
    p.add_argument("--replicate", type=int, default=None, help="unit cells along each lattice vector (default 3: 216 Si or 108 Cu atoms)")
    p.add_argument("--tmin", type=float, default=600.0, help="lowest temperature in K (default 600)")
    p.add_argument("--tmax", type=float, default=1800.0, help="highest temperature in K (default 1800)")
    p.add_argument("--strain", type=float, default=0.03, help="largest strain component (default 0.03)")
    p.add_argument("--equilibrate-fs", type=float, default=2000.0, help="thermostatted time before the first frame (default 2000)")
    p.add_argument("--interval-fs", type=float, default=100.0, help="time between kept frames (default 100)")
    p.add_argument("--timestep-fs", type=float, default=1.0, help="MD time step (default 1)")
    p.add_argument("--seed", type=int, default=1, help="seed of the strains, temperatures and velocities (default 1)")
    p.add_argument("--lmp", default=os.environ.get("LMP", "lmp"), help="LAMMPS binary (default lmp, or $LMP)")
    p.add_argument("--potentials", default="/usr/share/lammps/potentials", help="folder of the potential files")
    p.add_argument("--check-stress", action="store_true", help="check each run's last stress and one force against finite differences")
    a = p.parse_args()
    if a.frames < 1 or a.frames_per_run < 1:
        p.error("--frames and --frames-per-run must be at least 1")
    if not 0 < a.tmin <= a.tmax:
        p.error("need 0 < --tmin <= --tmax")
    if not 0 <= a.strain < 0.5:
        p.error("--strain must be in [0, 0.5)")
    if shutil.which(a.lmp) is None:
        p.error(f"LAMMPS binary '{a.lmp}' not found (Debian: apt-get install lammps)")
    return a


def strained_box(length, strain, rng):
    """LAMMPS' triclinic box (lx, ly, lz, xy, xz, yz) of a cube of side `length` under a random strain."""
    e = [rng.uniform(-strain, strain) for _ in range(6)]
    return (length * (1 + e[0]), length * (1 + e[1]), length * (1 + e[2]), length * e[3], length * e[4], length * e[5])


def run_input(a, system, box, temperature, seed, frames, workdir, check):
    lattice, constant, element, mass, pair_style, potential, default_rep = system
    rep = a.replicate or default_rep
    lx, ly, lz, xy, xz, yz = box
    equilibrate = max(1, round(a.equilibrate_fs / a.timestep_fs))
    interval = max(1, round(a.interval_fs / a.timestep_fs))
    vir = " ".join(f"c_vir[{k}]" for k in range(1, 7))
    fmt = " ".join(f"$(c_vir[{k}]:%.10g)" for k in range(1, 7))
    lines = [
        "units metal", "atom_style atomic", "boundary p p p", "atom_modify map array",
        f"lattice {lattice} {constant}",
        f"region box prism 0 {rep} 0 {rep} 0 {rep} 0 0 0 units lattice",
        "create_box 1 box", "create_atoms 1 box", f"mass 1 {mass}",
        f"pair_style {pair_style}",
        f"pair_coeff * * {os.path.join(a.potentials, potential)}" + (f" {element}" if pair_style != "eam" else ""),
        f"change_box all x final 0 {lx!r} y final 0 {ly!r} z final 0 {lz!r} xy final {xy!r} xz final {xz!r} yz final {yz!r} remap units box",
        "neighbor 1.0 bin", f"timestep {a.timestep_fs / 1000!r}",
        "compute vir all pressure NULL virial",
        f"thermo_style custom step temp pe {vir}", "thermo_modify format float %.10g", f"thermo {interval}",
        f"velocity all create {temperature!r} {seed} mom yes rot no dist gaussian",
        "fix nve all nve", f"fix bath all langevin {temperature!r} {temperature!r} 0.1 {seed + 1} zero yes",
        f"run {equilibrate}",
        f"label frames", f"variable i loop {frames}",
        f"run {interval}",
        # The thermostat adds its drag and random kicks to the force array at every step (about 2 eV/Å RMS at
        # 1000 K with a 0.1 ps damping: as large as the potential's forces), so the forces are re-evaluated
        # without it before they are written; it then resumes with a fresh random stream.
        "unfix bath", "run 0 post no",
        f'print "FRAME $i $(pe:%.12g) {fmt}"',
        f"write_dump all custom {workdir}/frame.$i.dump id type x y z fx fy fz modify sort id format float %.10g",
        f"fix bath all langevin {temperature!r} {temperature!r} 0.1 $(v_i*7919+{seed + 1}:%.0f) zero yes",
        "next i", "jump SELF frames",
    ]
    if check:
        # Atom 1 moved by ±d along x: its force is −ΔE/2d.
        d = 1e-4
        lines += ["group probe id 1"]
        for sign in (1, -1):
            lines += [f"displace_atoms probe move {sign * d!r} 0 0 units box", "run 0 post no",
                      f'print "MOVED {sign} $(pe:%.12g)"', f"displace_atoms probe move {-sign * d!r} 0 0 units box"]
        # xx strain: x -> (1 + d) x moves lx and the tilts of b and c along x.
        d = 1e-4
        for sign in (1, -1):
            f = 1 + sign * d
            lines += [f"change_box all x final 0 {lx * f!r} xy final {xy * f!r} xz final {xz * f!r} remap units box",
                      "run 0", f'print "STRAINED {sign} $(pe:%.12g)"',
                      f"change_box all x final 0 {lx!r} xy final {xy!r} xz final {xz!r} remap units box"]
    return "\n".join(lines) + "\n"


def read_dump(path):
    with open(path) as f:
        rows = f.read().split("ITEM: ATOMS")[1].strip().splitlines()[1:]
    atoms = []
    for row in rows:
        v = row.split()
        atoms.append(([float(x) for x in v[2:5]], [float(x) for x in v[5:8]]))
    return atoms


def main():
    a = parse_args()
    system = SYSTEMS[a.system]
    element = system[2]
    rep = a.replicate or system[6]
    rng = random.Random(a.seed)
    frames_out, worst_check = [], 0.0
    with tempfile.TemporaryDirectory(prefix="make-periodic-") as workdir:
        run = 0
        while len(frames_out) < a.frames:
            run += 1
            count = min(a.frames_per_run, a.frames - len(frames_out))
            box = strained_box(rep * system[1], a.strain, rng)
            temperature = rng.uniform(a.tmin, a.tmax)
            seed = rng.randrange(1, 900_000_000)
            inp = os.path.join(workdir, "in.run")
            with open(inp, "w") as f:
                f.write(run_input(a, system, box, temperature, seed, count, workdir, a.check_stress))
            out = subprocess.run([a.lmp, "-in", inp, "-log", "none", "-nocite"],
                                 cwd=workdir, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"LAMMPS failed in run {run}:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
            printed = [line.split() for line in out.stdout.splitlines() if line.startswith(("FRAME ", "STRAINED ", "MOVED "))]
            lx, ly, lz, xy, xz, yz = box
            volume = lx * ly * lz
            last_stress = None
            for v in printed:
                if v[0] != "FRAME":
                    continue
                i, energy = int(v[1]), float(v[2])
                pxx, pyy, pzz, pxy, pxz, pyz = (float(x) for x in v[3:9])
                s = [-p * BAR_IN_EV_PER_A3 for p in (pxx, pxy, pxz, pxy, pyy, pyz, pxz, pyz, pzz)]
                last_stress = s
                atoms = read_dump(os.path.join(workdir, f"frame.{i}.dump"))
                frames_out.append((box, energy, s, temperature, atoms))
            if sum(v[0] == "FRAME" for v in printed) < count:
                sys.exit(f"LAMMPS printed {len(printed)} of {count} frames in run {run}:\n{out.stdout[-3000:]}")
            if a.check_stress:
                e = {int(v[1]): float(v[2]) for v in printed if v[0] == "STRAINED"}
                fd = (e[1] - e[-1]) / (2e-4 * volume)
                deviation = abs(fd - last_stress[0]) / max(abs(last_stress[0]), 1e-4)
                worst_check = max(worst_check, deviation)
                moved = {int(v[1]): float(v[2]) for v in printed if v[0] == "MOVED"}
                force_fd = -(moved[1] - moved[-1]) / 2e-4
                force = frames_out[-1][4][0][1][0]
                force_deviation = abs(force_fd - force) / max(abs(force), 1e-2)
                worst_check = max(worst_check, deviation, force_deviation)
                print(f"run {run}: T {temperature:.0f} K, stress xx {last_stress[0]:.6f} eV/Å³, finite difference {fd:.6f} "
                      f"(relative deviation {deviation:.1e}); force x on atom 1 {force:.6f} eV/Å, finite difference {force_fd:.6f} "
                      f"(relative deviation {force_deviation:.1e})", file=sys.stderr)
    opener = gzip.open if a.output.endswith(".gz") else open
    with opener(a.output, "wt") as f:
        for box, energy, s, temperature, atoms in frames_out:
            lx, ly, lz, xy, xz, yz = box
            lattice = f"{lx!r} 0 0 {xy!r} {ly!r} 0 {xz!r} {yz!r} {lz!r}"
            f.write(f"{len(atoms)}\n")
            f.write(f'Lattice="{lattice}" Properties=species:S:1:pos:R:3:forces:R:3 energy={energy!r} '
                    f'stress="{" ".join(f"{x:.10g}" for x in s)}" temperature={temperature:.1f} pbc="T T T"\n')
            for pos, force in atoms:
                f.write(f"{element} {pos[0]:.8f} {pos[1]:.8f} {pos[2]:.8f} {force[0]:.8f} {force[1]:.8f} {force[2]:.8f}\n")
    print(f"wrote {len(frames_out)} frames of {len(frames_out[0][4])} {element} atoms ({a.system}) to {a.output}", file=sys.stderr)
    if a.check_stress and worst_check > 1e-3:
        sys.exit(f"stress or force check failed: relative deviation {worst_check:.1e} > 1e-3")


if __name__ == "__main__":
    main()
