# The two commands of the quick start: `make demo` and `make test`. Both create .venv when it is missing.
# The interpreter .venv is made with (only when .venv is missing): the fastest CPython 3.11+ on the
# machine (.ci/pick_python.py). A distribution's build with PGO and LTO ran `make test` 1.15x faster
# here than a pyenv build without them. PYTHON=... overrides it.
PYTHON ?= $(shell python3 .ci/pick_python.py 2>/dev/null || command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
# Test processes: two per core. A third of the suite's time is waiting (for real servers, signals,
# windows, Chromium); a second process per core fills it (measured in docs/development.md).
TEST_WORKERS ?= $(shell $(PY) -c 'import os; print(2 * len(os.sched_getaffinity(0)))' 2>/dev/null || echo auto)
STAMP  := $(VENV)/.installed
# Python must cache bytecode here: the suite starts some 400 Python processes, and with
# PYTHONDONTWRITEBYTECODE set (as in some shells and images) each one compiles the package and pytest
# rewrites every test module again (make test took twice as long).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo demo-live test lint typecheck check bench clean browser fuzz image test-image crd-models

$(PY):
	$(PYTHON) -m venv $(VENV)

# Reinstall whenever pyproject.toml changes. The editable install is a plain path in a .pth file
# (compat mode): setuptools' default import hook cost every Python process 34 ms at start (51 against
# 17 ms for python -c pass), and the suite starts some 300 of them.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m paritycheck.samples demo

# The same session through `paritycheck proxy` in front of the legacy sample (docs/live-modes.md).
demo-live: $(STAMP)
	$(PY) -m paritycheck.samples demo-live

test: $(STAMP) browser crd-models
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=15

# The capture readers' property tests, the diff's deepdiff oracle and the diff's and normaliser's
# properties, and the lazy normalised walk against the whole one, with many random examples (the suite
# runs 60 to 100, derandomised).
FUZZ_EXAMPLES ?= 5000
fuzz: $(STAMP)
	PARITYCHECK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q -p no:randomly tests/capture/test_capture_fuzz.py tests/test_diff_oracle.py \
		tests/test_diff.py tests/test_normalise.py tests/test_normdiff.py

# Headless Chromium for the HTML report's browser tests (Debian's package; needs root or sudo).
browser:
	@sh .ci/ensure-chromium

# The Argo Rollouts schemas (npm) that tests/rollout/test_manifests.py checks docs/rollout.md against.
crd-models:
	@sh .ci/ensure-crd-models

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/hadolint Dockerfile

typecheck: $(STAMP)
	$(VENV)/bin/mypy

check: lint typecheck test

# The container image (docs/image.md): Debian's mmdebstrap makes the base, buildah builds ./Dockerfile.
image:
	bash deploy/build-image.sh

# The image's own tests (tests/image), in containers of what `make image` built (podman; CI runs them).
test-image: $(STAMP)
	PARITYCHECK_IMAGE_TEST=1 $(PY) -m pytest -q -p no:cacheprovider tests/image

bench: $(STAMP)
	$(PY) bench/replay.py

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
