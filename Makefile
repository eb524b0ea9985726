# gongmu: `make quickstart` sets up and runs the quickstart; `make test` sets up and runs
# the tests. Both create .venv with the CPU build of torch where there is no GPU.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: setup quickstart test test-fast test-llamacpp clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml scripts/setup/install_torch.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	scripts/setup/install_torch.sh $(BIN)/python
	$(BIN)/python -m pip install --no-compile -e '.[dev]'
	# Byte-compiled once, here, on all cores: where PYTHONDONTWRITEBYTECODE is set (as on our
	# CI machines) every process would otherwise compile torch, transformers and peft from
	# source again (about 6 s each). A few files in them are for other Python versions and
	# do not compile; they are never imported, so compileall's status is not ours to act on.
	$(BIN)/python -m compileall -q -j 0 toolkit \
	  "$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" > /dev/null || true
	touch $@

# The report's PDF needs headless Chromium and a Korean font: installed where that can be
# done (root and apt-get); elsewhere report.pdf: auto writes report.html alone and says how.
quickstart: setup
	scripts/setup/install_browser.sh --optional
	$(BIN)/gongmu model tiny --corpus recipes/quickstart/documents --out runs/models/tiny-ko
	$(BIN)/gongmu run recipes/quickstart.yaml

test: setup
	scripts/setup/install_browser.sh
	$(BIN)/python -m pytest

# The inner loop: everything but the end-to-end and multi-process tests (marked slow).
test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not llamacpp" -q

# Opt-in: GGUF exports loaded by llama.cpp and compared with transformers. Builds
# llama-cpp-python from source the first time (about 10 minutes on 2 cores).
test-llamacpp: setup
	$(BIN)/python -c "import llama_cpp" 2>/dev/null || $(BIN)/python -m pip install llama-cpp-python
	$(BIN)/python -m pytest -m llamacpp -s tests/export/test_export.py

clean:
	rm -rf runs .pytest_cache
