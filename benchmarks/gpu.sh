#!/usr/bin/env bash
# Run the benchmark suite on an accelerator (GPU/TPU) and record it apart from the CPU run:
#   benchmarks/gpu.sh [run.py options, e.g. --quick or --only kernel,classic]
# writes benchmarks/RESULTS-gpu.md and benchmarks/RESULTS-gpu.json.
#
# Needs a JAX with accelerator support in the environment, e.g.
#   .venv/bin/pip install -U "jax[cuda12]"
# The NumPy and scipy baselines still run on the host CPU; NUTS chains run vectorised on the
# device (chain_method "auto"). Not run in this repository's CI (no accelerator there).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}

if ! "$PY" -c 'import jax, sys; sys.exit(jax.default_backend() == "cpu")' 2>/dev/null; then
  echo "gpu.sh: JAX sees no accelerator (backend cpu); install jax[cuda12] or jax[tpu]" >&2
  exit 1
fi
# Leave XLA's device setup alone: the host-device split only matters for CPU chains.
export BAYESCALE_HOST_DEVICES=0
label=$("$PY" -c 'import jax; d = jax.devices()[0]; print(f"{d.platform.upper()}: {d.device_kind}")')
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
exec "$PY" benchmarks/run.py --label "$label" --out benchmarks/RESULTS-gpu.md \
  --json benchmarks/RESULTS-gpu.json "$@"
