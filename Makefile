# flawprobe: set-up, build, tests, benchmarks and the main job.
# Every target installs what it needs first; `make setup` is idempotent.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
VPY := $(VENV)/bin/python
TORCH_VERSION := 2.13.0
# Stamp files record a finished install, so reruns skip it.
TORCH_STAMP := $(VENV)/.torch-$(TORCH_VERSION)
BENCH_STAMP := $(VENV)/.bench-deps
BLAS_STAMP := /usr/lib/x86_64-linux-gnu/libopenblas.so

export LIBTORCH_USE_PYTORCH := 1
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
CARGO ?= cargo

.PHONY: setup build test bench reproduce data clean-venv openblas chromium

setup: $(TORCH_STAMP) openblas

openblas:
	@if [ ! -e $(BLAS_STAMP) ]; then \
		echo "installing Debian's OpenBLAS (libopenblas-dev)"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q libopenblas-dev; \
	fi

$(VPY):
	$(PYTHON) -m venv $(VENV)

$(TORCH_STAMP): | $(VPY)
	@echo "installing torch==$(TORCH_VERSION), pyarrow and duckdb into $(VENV) (about 4.7 GB the first time)"
	$(VPY) -m pip install -q --disable-pip-version-check "torch==$(TORCH_VERSION)" pyarrow duckdb numpy
	touch $@

$(BENCH_STAMP): $(TORCH_STAMP)
	$(VPY) -m pip install -q --disable-pip-version-check scikit-image opencv-python-headless scikit-learn pandas
	touch $@

build: setup
	$(CARGO) build --release --locked --workspace

# Debian's Chromium renders report.html in the report test, which skips
# (saying so) where it is missing.
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "installing Debian's chromium for the report rendering test"; \
		if [ "$$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium \
			|| echo "warning: chromium could not be installed; the report rendering test will skip"; \
	fi

test: build chromium
	$(CARGO) test --release --locked --workspace -- --test-threads=2

bench: build $(BENCH_STAMP)
	for script in bench/*.sh; do bash "$$script"; done

reproduce: build
	bash scripts/reproduce.sh

# Fetches the full Describable Textures Dataset (about 600 MB) into data/dtd.
# Nothing in the tests or CI runs this target.
DTD_URL := https://www.robots.ox.ac.uk/~vgg/data/dtd/download/dtd-r1.0.1.tar.gz
data:
	mkdir -p data
	curl -fL --retry 3 -o data/dtd-r1.0.1.tar.gz $(DTD_URL)
	tar -xzf data/dtd-r1.0.1.tar.gz -C data
	@echo "the full DTD is in data/dtd"

clean-venv:
	rm -rf $(VENV)
