# bayescale: every step a fresh machine needs lives here.
#   make demo   - create .venv, install, fit the bundled Chinchilla data, print a budget report
#   make test   - create .venv, install, run the test suite (slow and e2e tests excluded)
#   make bench-nutpie - the same law in PyMC, sampled by nutpie and PyMC's NUTS, beside
#                 bayescale (own venv .venv-bench, so .venv and make test are unaffected)
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

# Python >= 3.12 is required (current jax and arviz 1.x). Try the usual names first, then
# interpreters installed by pyenv (whose shims fail when no version is selected).
PYTHON ?= $(shell for c in python3.13 python3.12 python3 python \
	$$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.1[2-9]*/bin/python3 2>/dev/null | sort -rV); do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then \
	    echo $$c; break; fi; done)

.PHONY: demo test test-slow test-e2e lint format bench bench-nutpie bench-cli extrapolation planning notebooks calibrate clean venv sampler

venv: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then \
	  echo "error: bayescale needs Python >= 3.12 (jax and arviz 1.x require it); none was found." >&2; \
	  echo "       Install one (e.g. 'pyenv install 3.12') or run: make PYTHON=/path/to/python3.12 test" >&2; \
	  exit 1; fi
	@echo "Using $(PYTHON) ($$($(PYTHON) --version 2>&1)) for $(VENV)"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/bayescale demo

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

# notebooks executed end to end and the benchmark quick mode (CI runs these after make test)
test-e2e: $(STAMP)
	$(PY) -m pytest -q -m e2e

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(STAMP)
	$(PY) benchmarks/run.py

# wall time of --help and bad input (issue 14: answered before JAX loads, <= 0.8 s)
bench-cli: $(STAMP)
	$(PY) benchmarks/cli_startup.py

# bayescale beside nutpie and PyMC (the `bench` extra: pymc, nutpie) in a venv of its own;
# the script says so and exits 0 when they cannot be installed or imported
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "error: bayescale needs Python >= 3.12" >&2; exit 1; fi
	@test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -e . \
	  && { $(BENCH_VENV)/bin/python -m pip install --quiet -e '.[bench]' \
	       || echo "bench-nutpie: pymc/nutpie could not be installed; the comparison will be skipped" >&2; }
	@touch $(BENCH_STAMP)

bench-nutpie: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/nutpie_compare.py $(NUTPIE_ARGS)

# issue 25's protocol: multi-step hold-outs of the shared sweeps, writes
# benchmarks/EXTRAPOLATION.md (about 25-60 min on 2 cores; reads ../shared, or
# EXTRAPOLATION_ARGS='--shared PATH'). The reach and the law's form error (both scaled by each
# sweep's own m) are searched with the other seven constants held at the values their own
# search chose (benchmarks/EXTRAPOLATION-form.md, benchmarks/EXTRAPOLATION-own-reach.md).
TRANSFER_HOLD := s_level s_tilt mean spread memory misfit growth
extrapolation: $(STAMP)
	$(PY) benchmarks/transfer_fits.py $(EXTRAPOLATION_ARGS)
	$(PY) benchmarks/transfer.py --hold $(TRANSFER_HOLD)

# issue 13: run planning — speed, calibration on synthetic data, real sweeps; writes
# benchmarks/PLANNING.md (reads ../shared, or PLANNING_ARGS='--shared PATH')
planning: $(STAMP)
	$(PY) benchmarks/planning.py $(PLANNING_ARGS)

# issue 24: does the default fit pass its own sampling diagnostics on real sweeps and on
# ladder / over-training grid designs; writes benchmarks/SAMPLER.md (about 30 min on 2 cores;
# reads ../shared, or SAMPLER_ARGS='--shared PATH'; SAMPLER_ARGS=--quick for a short run)
sampler: $(STAMP)
	$(PY) benchmarks/sampler.py $(SAMPLER_ARGS)

# simulation-based calibration, >= 200 simulated fits per run (about 15 min per run on 2 cores)
calibrate: $(STAMP)
	$(PY) benchmarks/calibrate.py $(CALIBRATE_ARGS)

notebooks: $(STAMP)
	$(PY) notebooks/build.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) build dist *.egg-info .pytest_cache .ruff_cache .hypothesis

# Wheels the offline GPU machine lacks (its image has jax 0.11.2 + CUDA 13, numpyro 0.21,
# numpy, pandas, scipy, matplotlib, xarray, h5py, tqdm; no arviz, no h5netcdf, no network):
# downloaded here into .whl/ (ignored), carried there, installed by benchmarks/gpu.sh.
# Versions as in .venv, which the tests pass with; all are pure-Python wheels. lazy-loader and
# typing-extensions (arviz-base needs them) may be in the image: gpu.sh installs only what is not.
GPU_WHEELS := arviz==1.3.0 arviz-base==1.3.1 arviz-stats==1.3.3 arviz-plots==1.3.2 \
	xarray-einstats==0.11.0 h5netcdf==1.8.3 lazy-loader==0.6 typing-extensions==4.16.0
WHEEL_PY ?= python3
.PHONY: gpu-wheels
gpu-wheels:
	rm -rf .whl && mkdir -p .whl
	$(WHEEL_PY) -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
	  --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
	  --platform manylinux2014_x86_64 -d .whl $(GPU_WHEELS)
	@ls .whl && du -sh .whl
