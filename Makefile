# Two commands do everything on a fresh machine: `make lab` opens the lessons, `make test` runs the tests.
# Both create .venv and install the project with the tested versions (constraints.txt) when needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# One thread per worker: two workers on two cores, and small models run no faster on more threads. A character
# that a figure's font lacks is an error under the tests (gan_lessons/i18n.py).
PYTEST := GAN_LESSONS_FAST=1 GAN_LESSONS_STRICT_GLYPHS=1 MPLBACKEND=Agg OMP_NUM_THREADS=1 $(BIN)/python -m pytest
# A fresh random token for each `make lab`; JupyterLab refuses requests without it.
LAB_TOKEN ?= $(shell $(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(24))')
LAB_ARGS  ?=
# The kernels train on one torch thread: with another program busy on one of two cores, torch's two threads train
# 2.6 times slower than one thread on a quiet machine, one thread 1.05 times (`make bench`: dcgan_mnist.busy_core_slowdown).
LAB_THREADS ?= 1
# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab lab-zh test test-gpu clean html bench slides

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable ".[dev]"
	touch $(STAMP)

# JupyterLab for a classroom without internet (jupyter/README.md): no news, no update checks, no PyPI search.
OFFLINE := $(VENV)/etc/jupyter/jupyter_lab_config.json $(VENV)/share/jupyter/lab/settings/overrides.json
$(VENV)/etc/jupyter/jupyter_lab_config.json: jupyter/jupyter_lab_config.json $(STAMP)
	mkdir -p $(@D) && cp $< $@
$(VENV)/share/jupyter/lab/settings/overrides.json: jupyter/overrides.json $(STAMP)
	mkdir -p $(@D) && cp $< $@

# The first lesson to open: `make lab-zh` opens the Chinese edition (notebooks/zh/, 中文版).
LAB_START ?= notebooks/00_start_here.ipynb
lab: $(STAMP) $(OFFLINE)
	OMP_NUM_THREADS=$(LAB_THREADS) $(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --IdentityProvider.token=$(LAB_TOKEN) \
		--ServerApp.root_dir=. $(ROOT_FLAG) $(LAB_ARGS) $(LAB_START)

lab-zh:
	$(MAKE) lab LAB_START=notebooks/zh/00_start_here.ipynb

# Unit tests, every notebook under nbval in fast mode, and the live lab in a real browser (headless Chromium,
# installed by scripts/ensure_browser.sh when missing); two workers, one notebook per worker; the 30 slowest tests
# are listed at the end.
test: $(STAMP) $(OFFLINE)
	bash scripts/ensure_browser.sh
	$(PYTEST) -n 2 --dist loadfile --durations=30 --nbval-lax --nbval-current-env --nbval-cell-timeout=600 tests notebooks

# The same notebooks in full mode on a CUDA GPU: fails when none is found. CI has no GPU and never runs it.
test-gpu: $(STAMP)
	$(BIN)/python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else "no CUDA GPU found: make test-gpu needs one")'
	MPLBACKEND=Agg $(BIN)/python -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=1800 notebooks

clean:
	rm -rf $(VENV) runs .pytest_cache test-artifacts
	find . -name __pycache__ -prune -exec rm -rf {} +

# Speed of the live lab (steps/s, frames/s, slider latency): prints a table and merges benchmarks/results.json.
bench: $(STAMP)
	$(BIN)/python -m benchmarks

# Every lesson executed in full mode (not fast: minutes per lesson on a CPU) and written as HTML with its pictures
# into build/html/ and, the Chinese edition, build/html/zh/, for reading without Jupyter. The pictures need
# matplotlib's inline backend: leave MPLBACKEND unset.
html: $(STAMP)
	mkdir -p build/html/zh
	env -u MPLBACKEND GAN_LESSONS_FAST=0 $(BIN)/jupyter nbconvert --to html --execute \
		--ExecutePreprocessor.timeout=3600 --output-dir build/html notebooks/*.ipynb
	env -u MPLBACKEND GAN_LESSONS_FAST=0 $(BIN)/jupyter nbconvert --to html --execute \
		--ExecutePreprocessor.timeout=3600 --output-dir build/html/zh notebooks/zh/*.ipynb

# Every lesson executed in full mode and written as a reveal.js deck into build/slides/ (one page per lesson, its
# slides as the cells' metadata says, reveal.js and MathJax copied beside them), the Chinese ones in build/slides/zh/:
# decks open offline from the file system. Live widgets cannot run there; the lab shows its still picture.
slides: $(STAMP)
	env -u MPLBACKEND GAN_LESSONS_FAST=0 $(BIN)/python -m gan_lessons.decks notebooks/*.ipynb --out build/slides
	env -u MPLBACKEND GAN_LESSONS_FAST=0 $(BIN)/python -m gan_lessons.decks notebooks/zh/*.ipynb --out build/slides/zh
