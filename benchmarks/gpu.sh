#!/usr/bin/env bash
# bayescale on the borrowed GPU machine (offline; its image has jax 0.11.2 + CUDA plugin,
# numpyro, numpy, pandas, scipy, matplotlib, xarray, h5py, tqdm, but no arviz, h5netcdf).
#
#   1. here, where PyPI is reachable:   make gpu-wheels        (arviz & co. into .whl/, ~2 MB)
#   2. device tool:  run(carry=[".whl"], command="bash benchmarks/gpu.sh", timeout_s=600)
#
# Installs the carried wheels the environment lacks into /tmp (never over jax/numpyro/numpy),
# imports bayescale from this working tree (no build, no .venv), checks that JAX sees a GPU,
# then runs benchmarks/gpu.py "$@" (--sets N, --budget-s S, default 1000 and 480 s) which
# writes benchmarks/RESULTS-gpu.md; copied with the log into $OUT when $OUT is set.
# Rehearsal on a CPU-only JAX: PY=/path/to/python bash benchmarks/gpu.sh --allow-cpu --sets 20
# (writes benchmarks/RESULTS-gpu-rehearsal-cpu.md instead). See benchmarks/GPU.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
SITE=${BAYESCALE_GPU_SITE:-/tmp/bayescale-gpu-site}
allow_cpu=0
out_arg=
prev=
for a in "$@"; do
  case "$a" in --allow-cpu) allow_cpu=1 ;; --out=*) out_arg=${a#--out=} ;; esac
  if [ "$prev" = --out ]; then out_arg=$a; fi
  prev=$a
done

command -v "$PY" >/dev/null || { echo "gpu.sh: no Python at '$PY' (set PY)" >&2; exit 2; }
export PYTHONPATH="$PWD:$SITE${PYTHONPATH:+:$PYTHONPATH}"
export BAYESCALE_HOST_DEVICES=0  # leave XLA's devices alone (host devices are for CPU chains)

# (i) the carried wheels whose distributions are not installed (arviz, h5netcdf, ...)
missing=$("$PY" - <<'EOF'
import glob, importlib.metadata as md, re
for whl in sorted(glob.glob(".whl/*.whl")):
    name = re.sub(r"[-_.]+", "-", whl.split("/")[-1].split("-")[0]).lower()
    try:
        md.version(name)
    except md.PackageNotFoundError:
        print(whl)
EOF
)
if ! "$PY" -c 'import arviz_base, arviz_stats' 2>/dev/null && [ -z "$missing" ]; then
  echo "gpu.sh: arviz is not importable and .whl/ holds no wheel for it: run 'make gpu-wheels'" \
       "where PyPI is reachable and carry .whl" >&2
  exit 2
fi
if [ -n "$missing" ]; then
  echo "gpu.sh: installing into $SITE:" $missing
  # shellcheck disable=SC2086
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --disable-pip-version-check --target "$SITE" $missing || {
    echo "gpu.sh: pip failed; unpacking the (pure-Python) wheels into $SITE instead" >&2
    for w in $missing; do "$PY" -m zipfile -e "$w" "$SITE"; done; }
fi

# (ii)-(iii) bayescale from this tree, and a GPU
"$PY" -c 'import bayescale, os, sys; sys.exit(not bayescale.__file__.startswith(os.getcwd()))' || {
  echo "gpu.sh: bayescale does not import from $PWD" >&2; exit 2; }
err=$(mktemp)
backend=$("$PY" -c 'import jax; print(jax.default_backend())' 2>"$err") || {
  echo "gpu.sh: JAX does not start:" >&2; tail -5 "$err" >&2; exit 2; }
if [ "$backend" = cpu ]; then
  if [ "$allow_cpu" = 0 ]; then
    echo "gpu.sh: JAX sees no GPU (backend cpu); --allow-cpu runs the CPU rehearsal" >&2
    tail -5 "$err" >&2
    exit 1
  fi
  results=benchmarks/RESULTS-gpu-rehearsal-cpu.md
else
  results=benchmarks/RESULTS-gpu.md
fi
rm -f "$err"
results=${out_arg:-$results}
echo "gpu.sh: backend $backend, report to $results"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version \
  --format=csv,noheader || true

# (iv) the benchmark; its report (rewritten after every step) goes to $OUT even if it fails
log=/dev/null
if [ -n "${OUT:-}" ]; then log="$OUT/gpu.log"; fi
rc=0
"$PY" benchmarks/gpu.py --out "$results" "$@" 2>&1 | tee "$log" || rc=$?
if [ -n "${OUT:-}" ] && [ -f "$results" ]; then cp "$results" "$OUT"/; fi
exit "$rc"
