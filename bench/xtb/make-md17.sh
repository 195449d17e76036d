#!/usr/bin/env bash
# make-md17.sh - build an MD17-style data set (energies + forces along an MD trajectory)
# with GFN2-xTB: SMILES -> 3D (Open Babel) -> xtb optimisation -> xtb NVT MD ->
# GFN2-xTB single points (energy + gradient) on decorrelated frames -> one gzipped
# extended-XYZ file (ASE convention), energies in kcal/mol, forces in kcal/mol/A.
#
# Needs: bash, xtb (tested with 6.5.1), obabel (Open Babel 3), awk with the math functions
# (mawk, gawk, BSD/macOS awk; not a math-less busybox build), gzip.
# See README.md next to this script for the shipped data sets.
set -euo pipefail

PROG=$(basename "$0")

usage() {
  cat <<EOF
Usage: $PROG [options] SMILES NAME NFRAMES OUTPUT.extxyz.gz

Generates NFRAMES GFN2-xTB-labelled frames of an MD run of the molecule SMILES
and writes them to OUTPUT (gzipped extended XYZ; energy kcal/mol, forces kcal/mol/A).
NAME is only used in log messages and temporary file names.

Options (defaults in brackets):
  -T K     MD temperature in kelvin (of the internal degrees of freedom)   [500]
  -e PS    equilibration time in ps, discarded                            [5]
  -d FS    time between stored frames in fs                               [20]
  -t FS    MD time step in fs                                             [0.5]
  -s SEED  seed for the initial velocities (integer >= 1)                 [1]
  -a ACC   xtb --acc for the labelling single points (lower = tighter)    [0.01]
  -g XYZ   start from this geometry instead of Open Babel --gen3d
           (it is still optimised with xtb first)
  -G XYZ   save the xtb-optimised start geometry to this file
  -k       keep the temporary working directory (its path is printed)
  -h       this help

Example:
  $PROG CCO ethanol 600 ethanol-xtb.extxyz.gz
EOF
}

die() { echo "$PROG: error: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ----------------------------------------------------------------------------- options
TEMP=500; EQUIL_PS=5; DUMP_FS=20; STEP_FS=0.5; SEED=1; ACC=0.01
START_XYZ=""; SAVE_START=""; KEEP=0
while getopts "T:e:d:t:s:a:g:G:kh" opt; do
  case $opt in
    T) TEMP=$OPTARG ;;
    e) EQUIL_PS=$OPTARG ;;
    d) DUMP_FS=$OPTARG ;;
    t) STEP_FS=$OPTARG ;;
    s) SEED=$OPTARG ;;
    a) ACC=$OPTARG ;;
    g) START_XYZ=$OPTARG ;;
    G) SAVE_START=$OPTARG ;;
    k) KEEP=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -eq 4 ] || { usage >&2; exit 2; }
SMILES=$1; NAME=$2; NFRAMES=$3; OUTPUT=$4

isnum() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
[[ $NFRAMES =~ ^[1-9][0-9]*$ ]] || die "NFRAMES must be a positive integer (got '$NFRAMES')"
[[ $SEED =~ ^[1-9][0-9]*$ ]]    || die "seed must be a positive integer (got '$SEED')"
[[ $NAME =~ ^[A-Za-z0-9._-]+$ ]] || die "NAME may only contain letters, digits, '.', '_' and '-'"
for v in "$TEMP" "$EQUIL_PS" "$DUMP_FS" "$STEP_FS" "$ACC"; do
  isnum "$v" || die "not a non-negative number: '$v'"
done
# the dump interval must be a whole number of MD steps
awk -v d="$DUMP_FS" -v s="$STEP_FS" 'BEGIN { r = d / s; exit !(s > 0 && r >= 1 && r == int(r)) }' \
  || die "dump interval (-d $DUMP_FS fs) must be a positive multiple of the time step (-t $STEP_FS fs)"
[ -z "$START_XYZ" ] || [ -r "$START_XYZ" ] || die "cannot read start geometry '$START_XYZ'"
case $OUTPUT in *.gz) ;; *) die "OUTPUT should end in .gz (it is written gzipped)";; esac

# ----------------------------------------------------------------------------- tools
need() {
  command -v "$1" >/dev/null 2>&1 || die "'$1' not found in PATH. $2"
}
need xtb    "Install it, e.g. 'apt-get install xtb' (Debian/Ubuntu), 'conda install -c conda-forge xtb', or a release from https://github.com/grimme-lab/xtb/releases"
need obabel "Install Open Babel, e.g. 'apt-get install openbabel' or 'conda install -c conda-forge openbabel'"
need awk    "Install an awk with math functions, e.g. mawk or gawk."
need gzip   "Install gzip."

# One thread per xtb process: for molecules of this size threading only costs time
# (much more so on a busy machine) and a single thread keeps runs reproducible.
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 OMP_STACKSIZE=${OMP_STACKSIZE:-500M}
export LC_ALL=C   # '.' as decimal separator everywhere

XTB_VERSION=$(xtb --version 2>/dev/null | awk '/xtb version/ { print $4; exit }') || true
OB_VERSION=$(obabel -V 2>/dev/null | awk '{ print $3; exit }') || true
log "$NAME: xtb ${XTB_VERSION:-?}, Open Babel ${OB_VERSION:-?}; SMILES '$SMILES'"

# ----------------------------------------------------------------------------- work dir
WORK=$(mktemp -d "${TMPDIR:-/tmp}/make-md17.$NAME.XXXXXX")
XTB_PID=""
cleanup() {
  local rc=$?
  [ -n "$XTB_PID" ] && kill "$XTB_PID" 2>/dev/null || true
  if [ "$KEEP" = 1 ]; then
    log "working directory kept: $WORK"
  else
    rm -rf "$WORK"
    [ $rc -eq 0 ] || log "(rerun with -k to keep the working directory for inspection)"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
T_START=$(date +%s)
elapsed() { echo $(( $(date +%s) - T_START )); }

# ----------------------------------------------------------------------------- 1. 3D build
mkdir "$WORK/build"
if [ -n "$START_XYZ" ]; then
  cp "$START_XYZ" "$WORK/build/mol.xyz"
  log "1/5 start geometry from $START_XYZ"
else
  # Note: Open Babel's --gen3d is not deterministic (its conformer search is randomly
  # seeded); use -G to save the optimised start geometry and -g to reuse it.
  obabel -:"$SMILES" -h --gen3d -oxyz -O "$WORK/build/mol.xyz" >"$WORK/build/obabel.log" 2>&1 \
    || { cat "$WORK/build/obabel.log" >&2; die "obabel could not build '$SMILES'"; }
  [ -s "$WORK/build/mol.xyz" ] || { cat "$WORK/build/obabel.log" >&2; die "obabel could not read the SMILES '$SMILES'"; }
  log "1/5 3D geometry built with obabel --gen3d"
fi
NATOMS=$(awk 'NR == 1 { print $1; exit }' "$WORK/build/mol.xyz")
if ! [[ $NATOMS =~ ^[0-9]+$ ]] || [ "$NATOMS" -lt 3 ]; then
  [ -n "$START_XYZ" ] || cat "$WORK/build/obabel.log" >&2
  die "no usable start geometry (atom count '$NATOMS'; invalid SMILES or XYZ file? at least 3 atoms needed)"
fi
awk -v n="$NATOMS" 'NR > 2 && NR <= n + 2 && ($2 * $2 + $3 * $3 + $4 * $4) > 1e-6 { ok++ }
                    END { exit !(ok >= n - 1) }' "$WORK/build/mol.xyz" \
  || die "start geometry has (almost) all-zero coordinates: 3D generation failed"
# connectivity fingerprint of the requested molecule, to detect reactions along the MD
REF_CAN=$(obabel -ixyz "$WORK/build/mol.xyz" -ocan 2>/dev/null | awk '{ print $1; exit }')

# ----------------------------------------------------------------------------- 2. optimisation
mkdir "$WORK/opt"
cp "$WORK/build/mol.xyz" "$WORK/opt/mol.xyz"
( cd "$WORK/opt" && xtb mol.xyz --opt tight --gfn 2 >opt.out 2>&1 ) \
  || { tail -n 30 "$WORK/opt/opt.out" >&2; die "xtb optimisation failed"; }
grep -q "GEOMETRY OPTIMIZATION CONVERGED" "$WORK/opt/opt.out" \
  || die "xtb optimisation did not converge (see $WORK/opt/opt.out; run with -k to keep it)"
E_MIN=$(awk '/TOTAL ENERGY/ { e = $4 } END { print e }' "$WORK/opt/opt.out")
log "2/5 optimised with GFN2-xTB: E_min = $E_MIN Eh ($(elapsed) s)"
OPT_CAN=$(obabel -ixyz "$WORK/opt/xtbopt.xyz" -ocan 2>/dev/null | awk '{ print $1; exit }')
[ "$OPT_CAN" = "$REF_CAN" ] \
  || log "WARNING: connectivity changed during optimisation: '$REF_CAN' -> '$OPT_CAN'"
[ -z "$SAVE_START" ] || { cp "$WORK/opt/xtbopt.xyz" "$SAVE_START"; log "    optimised start geometry saved to $SAVE_START"; }

# ----------------------------------------------------------------------------- 3. MD
# Frames are dumped every DUMP_FS from t = 0; the first NEQ are the equilibration.
NEQ=$(awk -v e="$EQUIL_PS" -v d="$DUMP_FS" 'BEGIN { printf "%d", int(e * 1000 / d + 0.5) }')
NDUMP=$((NEQ + NFRAMES + 1))   # one spare frame against rounding of the step count
MD_PS=$(awk -v n="$NDUMP" -v d="$DUMP_FS" 'BEGIN { printf "%.6f", n * d / 1000 }')
# xtb's thermostat counts 3N degrees of freedom, but it removes overall translation and
# rotation every step, so only 3N-6 carry kinetic energy. Scale the bath temperature so
# that the internal degrees of freedom are at TEMP (non-linear molecules assumed).
XTB_TEMP=$(awk -v t="$TEMP" -v n="$NATOMS" 'BEGIN { printf "%.6f", t * (3 * n - 6) / (3 * n) }')

mkdir "$WORK/md"
# Deterministic Maxwell-Boltzmann initial velocities at 2*TEMP (half of the kinetic
# energy flows into the potential energy within a few fs), drawn with a portable
# Park-Miller generator so that every awk gives the same numbers; centre-of-mass motion
# removed. Written as xtb's 'mdrestart' file (coordinates in Bohr, velocities in a.u.).
awk -v seed="$SEED" -v T="$TEMP" -v n="$NATOMS" '
  function rnd() { state = (16807 * state) % 2147483647; return state / 2147483647 }
  function gauss(   u1, u2) { u1 = rnd(); while (u1 <= 0) u1 = rnd(); u2 = rnd()
                              return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2) }
  BEGIN {
    nt = split("H 1.00794 He 4.002602 Li 6.941 Be 9.012182 B 10.811 C 12.0107 N 14.0067 O 15.9994 F 18.9984032 Ne 20.1797 Na 22.98976928 Mg 24.305 Al 26.9815386 Si 28.0855 P 30.973762 S 32.065 Cl 35.453 Ar 39.948 K 39.0983 Ca 40.078 Br 79.904 I 126.90447 Se 78.96", t, " ")
    for (i = 1; i < nt; i += 2) mass[t[i]] = t[i + 1]
    state = seed % 2147483647; if (state == 0) state = 1
    for (i = 0; i < 20; i++) rnd()
    bohr = 0.529177210903; kB = 3.166811563e-6; amu = 1822.888486
  }
  NR > 2 && NR <= n + 2 {
    k++; s = toupper(substr($1, 1, 1)) tolower(substr($1, 2))
    if (!(s in mass)) { print "no mass for element " s > "/dev/stderr"; bad = 1; exit 1 }
    m[k] = mass[s] * amu; x[k] = $2 / bohr; y[k] = $3 / bohr; z[k] = $4 / bohr
  }
  END {
    if (bad || k != n) exit 1
    mt = 0; px = py = pz = 0
    for (i = 1; i <= n; i++) {
      sd = sqrt(kB * 2 * T / m[i])
      vx[i] = sd * gauss(); vy[i] = sd * gauss(); vz[i] = sd * gauss()
      px += m[i] * vx[i]; py += m[i] * vy[i]; pz += m[i] * vz[i]; mt += m[i]
    }
    ek = 0
    for (i = 1; i <= n; i++) {
      vx[i] -= px / mt; vy[i] -= py / mt; vz[i] -= pz / mt
      ek += 0.5 * m[i] * (vx[i] ^ 2 + vy[i] ^ 2 + vz[i] ^ 2)
    }
    f = sqrt(0.5 * (3 * n - 3) * kB * 2 * T / ek)   # exact 2*TEMP over 3N-3 d.o.f.
    print "  -1.0"
    for (i = 1; i <= n; i++)
      printf "%22.14E%22.14E%22.14E%22.14E%22.14E%22.14E\n", x[i], y[i], z[i], f * vx[i], f * vy[i], f * vz[i]
  }' "$WORK/opt/xtbopt.xyz" >"$WORK/md/mdrestart" || die "could not write initial velocities"

cp "$WORK/opt/xtbopt.xyz" "$WORK/md/start.xyz"
cat >"$WORK/md/md.inp" <<EOF
\$md
   temp=$XTB_TEMP
   time=$MD_PS
   step=$STEP_FS
   dump=$DUMP_FS
   shake=0
   hmass=0
   nvt=true
   sccacc=1.0
   restart=true
\$end
EOF
log "3/5 MD: Berendsen NVT at $TEMP K (xtb bath $XTB_TEMP K), dt = $STEP_FS fs, $MD_PS ps," \
    "frame every $DUMP_FS fs, first $EQUIL_PS ps ($NEQ frames) discarded, seed $SEED"
( cd "$WORK/md" && exec xtb start.xyz --md --gfn 2 --input md.inp >md.out 2>&1 ) &
XTB_PID=$!
last=0
while kill -0 "$XTB_PID" 2>/dev/null; do
  sleep 2
  now=$(date +%s)
  if [ $((now - last)) -ge 30 ]; then
    last=$now
    nd=$(awk -v n="$NATOMS" 'END { printf "%d", NR / (n + 2) }' "$WORK/md/xtb.trj" 2>/dev/null || echo 0)
    log "    MD: $nd / $NDUMP frames ($(elapsed) s)"
  fi
done
wait "$XTB_PID" || { XTB_PID=""; tail -n 30 "$WORK/md/md.out" >&2; die "xtb MD failed"; }
XTB_PID=""
[ -f "$WORK/md/xtbmdok" ] && ! grep -q "MD is unstable" "$WORK/md/md.out" \
  || { tail -n 30 "$WORK/md/md.out" >&2; die "xtb MD did not finish normally"; }
grep -q "RESTART" "$WORK/md/md.out" || die "xtb ignored the initial velocities (no RESTART in md.out)"
NDONE=$(awk -v n="$NATOMS" 'END { printf "%d", NR / (n + 2) }' "$WORK/md/xtb.trj")
[ "$NDONE" -ge $((NEQ + NFRAMES)) ] || die "MD produced only $NDONE frames, need $((NEQ + NFRAMES))"
T_AVG=$(awk '/^ *T  *:/ { printf "%.0f", $3 }' "$WORK/md/md.out")
log "    MD done: $NDONE frames, <T>(xtb, 3N d.o.f., incl. equilibration) = ${T_AVG:-?} K ($(elapsed) s)"

# keep frames NEQ .. NEQ+NFRAMES-1 (0-based), as plain XYZ with the symbols capitalised
awk -v n="$NATOMS" -v first="$NEQ" -v nf="$NFRAMES" -v dt="$DUMP_FS" '
  { f = int((NR - 1) / (n + 2)); l = (NR - 1) % (n + 2) }
  f < first { next }
  f >= first + nf { exit }
  l == 0 { print n; next }
  l == 1 { print "frame " f - first + 1 " t_fs=" f * dt; next }
  { print toupper(substr($1, 1, 1)) tolower(substr($1, 2)), $2, $3, $4 }
' "$WORK/md/xtb.trj" >"$WORK/frames.xyz"

NCHANGED=$(obabel -ixyz "$WORK/frames.xyz" -ocan 2>/dev/null | awk -v ref="$OPT_CAN" '$1 != ref { c++ } END { print c + 0 }')
if [ "$NCHANGED" -gt 0 ]; then
  log "WARNING: $NCHANGED of $NFRAMES frames have a different bond graph than the start ($OPT_CAN)" \
      "by Open Babel's distance-based perception (stretched bonds or a reaction)"
fi

# ----------------------------------------------------------------------------- 4. labels
# Each single point runs in a fresh directory (no xtbrestart reuse: a frame's label does
# not depend on the previous frame) and its gradient file is parsed. That file holds the
# coordinates (Bohr) and the gradient (Eh/Bohr) in input order; the coordinates are
# checked against the frame to make sure the atom order is the one we write.
HARTREE=627.509474      # kcal/mol
BOHR=0.529177210903     # Angstrom
single_point() {  # $1 = xyz file; leaves $WORK/sp/{gradient,sp.out}
  rm -rf "$WORK/sp"; mkdir "$WORK/sp"
  cp "$1" "$WORK/sp/frame.xyz"
  ( cd "$WORK/sp" && xtb frame.xyz --grad --gfn 2 --acc "$ACC" --norestart >sp.out 2>&1 ) \
    || { tail -n 30 "$WORK/sp/sp.out" >&2; return 1; }
  [ -f "$WORK/sp/gradient" ] || { echo "no gradient file written" >&2; return 1; }
}
# prints the extended-XYZ block for $WORK/sp (uses $WORK/sp/frame.xyz for symbols/positions)
to_extxyz() {
  awk -v n="$NATOMS" -v H="$HARTREE" -v B="$BOHR" '
    FILENAME ~ /sp[.]out$/ { if ($0 ~ /TOTAL ENERGY/) etot = $4; next }
    FILENAME ~ /frame[.]xyz$/ { if (FNR > 2 && FNR <= n + 2) { k++; s[k] = $1; x[k] = $2; y[k] = $3; z[k] = $4 }; next }
    # gradient file: $grad / cycle line / n coordinate lines / n gradient lines / $end
    /cycle/ { for (i = 1; i <= NF; i++) if ($i == "energy") e = $(i + 2); gsub(/[dD]/, "e", e); ng = -1; nc = 0; next }
    /^\$/ { next }
    ng < 0 && nc < n { nc++; for (i = 1; i <= 3; i++) { v = $i; gsub(/[dD]/, "e", v); c[nc, i] = v + 0 }; if (nc == n) ng = 0; next }
    ng >= 0 && ng < n { ng++; for (i = 1; i <= 3; i++) { v = $i; gsub(/[dD]/, "e", v); g[ng, i] = v + 0 }; next }
    END {
      if (k != n || nc != n || ng != n) { print "parse error: atoms " k ", coords " nc ", grads " ng > "/dev/stderr"; exit 1 }
      if (etot == "" || (e - etot) ^ 2 > 1e-14) { print "energy mismatch: gradient file " e ", stdout " etot > "/dev/stderr"; exit 1 }
      for (j = 1; j <= n; j++) {
        d = (c[j, 1] * B - x[j]) ^ 2 + (c[j, 2] * B - y[j]) ^ 2 + (c[j, 3] * B - z[j]) ^ 2
        if (d > 1e-10) { print "atom " j ": gradient-file coordinates differ from the frame" > "/dev/stderr"; exit 1 }
      }
      F = H / B
      print n
      printf "Properties=species:S:1:pos:R:3:forces:R:3 energy=%.6f pbc=\"F F F\"\n", etot * H
      for (j = 1; j <= n; j++)
        printf "%s %.8f %.8f %.8f %.6f %.6f %.6f\n", s[j], x[j], y[j], z[j], -g[j, 1] * F, -g[j, 2] * F, -g[j, 3] * F
    }' "$WORK/sp/sp.out" "$WORK/sp/frame.xyz" "$WORK/sp/gradient"
}

log "4/5 GFN2-xTB energies and gradients for $NFRAMES frames (--acc $ACC)"
: >"$WORK/out.extxyz"
T_LAB=$(date +%s)
mkdir "$WORK/frames"
awk -v n="$NATOMS" -v dir="$WORK/frames" '
  (NR - 1) % (n + 2) == 0 { if (f) close(f); f = sprintf("%s/%06d.xyz", dir, (NR - 1) / (n + 2) + 1) }
  { print > f }' "$WORK/frames.xyz"
for ((i = 1; i <= NFRAMES; i++)); do
  single_point "$(printf '%s/frames/%06d.xyz' "$WORK" "$i")" || die "single point of frame $i failed"
  to_extxyz >>"$WORK/out.extxyz" || die "could not read the xtb result of frame $i"
  if [ $((i % 100)) -eq 0 ] || [ "$i" -eq "$NFRAMES" ]; then
    dt=$(( $(date +%s) - T_LAB ))
    log "    $i / $NFRAMES frames labelled (${dt} s, ETA $(( dt * (NFRAMES - i) / i )) s)"
  fi
done

# ----------------------------------------------------------------------------- 5. checks + output
# Finite-difference check on the first frame: F = -dE/dx by central differences with
# h = 1e-3 A and h/2 (and their Richardson extrapolation, which removes the O(h^2) error),
# for x of atom 1, y of the first hydrogen and z of the last atom.
log "5/5 checks"
fd_energy() {  # $1 atom, $2 dim (1..3), $3 displacement in A -> prints E in Eh
  awk -v n="$NATOMS" -v a="$1" -v d="$2" -v h="$3" '
    NR > n + 2 { exit }
    NR == a + 2 { $(d + 1) = sprintf("%.10f", $(d + 1) + h) }
    { print }' "$WORK/frames/000001.xyz" >"$WORK/fd.xyz"
  single_point "$WORK/fd.xyz" || die "finite-difference single point failed"
  awk '/TOTAL ENERGY/ { print $4 }' "$WORK/sp/sp.out"
}
HROW=$(awk -v n="$NATOMS" 'NR > 2 && NR <= n + 2 && toupper($1) == "H" { print NR - 2; exit }' "$WORK/frames/000001.xyz")
for spec in "1 1" "${HROW:-2} 2" "$NATOMS 3"; do
  set -- $spec
  e1p=$(fd_energy "$1" "$2" 0.001);  e1m=$(fd_energy "$1" "$2" -0.001)
  e2p=$(fd_energy "$1" "$2" 0.0005); e2m=$(fd_energy "$1" "$2" -0.0005)
  awk -v a="$1" -v d="$2" -v H="$HARTREE" -v e1p="$e1p" -v e1m="$e1m" -v e2p="$e2p" -v e2m="$e2m" '
    NR == a + 2 { f = $(d + 4); fd1 = -(e1p - e1m) * H / 0.002; fd2 = -(e2p - e2m) * H / 0.001; fr = (4 * fd2 - fd1) / 3
                  printf "    FD check frame 1, atom %d (%s) %s: analytic %.6f; central FD h=1e-3 A %.6f (diff %.1e), Richardson %.6f (diff %.1e) kcal/mol/A\n",
                         a, $1, substr("xyz", d, 1), f, fd1, fd1 - f, fr, fr - f > "/dev/stderr"; exit }
    ' "$WORK/out.extxyz"
done

# statistics
awk '
  /^Properties=/ { for (i = 1; i <= NF; i++) if ($i ~ /^energy=/) { e = substr($i, 8) + 0 }
                   ne++; se += e; se2 += e * e; if (ne == 1 || e < emin) emin = e; if (ne == 1 || e > emax) emax = e; next }
  NF == 7 { for (i = 5; i <= 7; i++) { nf++; sf2 += $i * $i; if ($i * $i > fmax2) fmax2 = $i * $i } }
  END {
    m = se / ne; sd = sqrt((se2 / ne - m * m) * ne / (ne - 1 > 0 ? ne - 1 : 1))
    printf "    %d frames: energy mean %.3f kcal/mol, std %.3f, range [%.3f, %.3f] (span %.3f); force RMS %.3f kcal/mol/A, max |F_i| %.3f\n",
           ne, m, sd, emin, emax, emax - emin, sqrt(sf2 / nf), sqrt(fmax2) > "/dev/stderr"
  }' "$WORK/out.extxyz"

mkdir -p "$(dirname "$OUTPUT")"
gzip -9 -n -c "$WORK/out.extxyz" >"$WORK/out.extxyz.gz"
mv -f "$WORK/out.extxyz.gz" "$OUTPUT"
log "wrote $OUTPUT ($(wc -c <"$OUTPUT") bytes, $NFRAMES frames x $NATOMS atoms) in $(elapsed) s"
