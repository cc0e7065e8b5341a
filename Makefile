# Two commands on a fresh machine: `make demo` (runs the pipeline on the sample corpus) and `make test`.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LID    := models/lid.176.ftz
QUALITY := models/quality.bin
TESTDATA ?= ../shared/testdata

.PHONY: setup demo demo-mix test test-fast lint format bench bench-gpu cluster-up cluster-down clean

setup: $(STAMP) $(LID) $(QUALITY)

# torch first, from the local CPU wheel: a bare `torch` requirement would pull a multi-GB CUDA build
$(STAMP): requirements.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

$(LID): | $(STAMP)
	$(PY) -m quality_models.lid176 $@

# the default quality classifier, rebuilt from the test data (not committed: trained on third-party text);
# deterministic (one thread, fixed seed), ~1 min; without the test data it is skipped, and the stage stays off
$(QUALITY): quality_models/classifier.py quality_models/quality_data.py dataflow/stages/quality_model.py | $(STAMP)
	if [ -d $(TESTDATA) ]; then $(PY) -m quality_models.train --testdata $(TESTDATA) --link $@; \
	else echo "quality model not built: $(TESTDATA) missing (quality_model.enabled needs one)"; fi

demo: setup
	$(VENV)/bin/dataflow run -c configs/default.yaml
	$(VENV)/bin/dataflow report -c configs/default.yaml --format html -o data/demo/report.html
	@echo "HTML report: data/demo/report.html"

# a 9:1 ko:en training mix of the demo snapshot, in tokens of a tokenizer trained on it (docs/mixes.md)
demo-mix: demo
	test -f data/demo/tokenizer/tokenizer.json || $(PY) -m dataflow.mixes.tokens --data-root data/demo -o data/demo/tokenizer
	$(VENV)/bin/dataflow mix configs/mix-demo.yaml

test: setup
	PYSPARK_PYTHON=$(abspath $(PY)) HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q

test-fast: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q -m "not slow"

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: setup
	$(PY) bench/run_all.py

bench-gpu: setup
	$(PY) bench/bench_gpu_train.py

# a Spark standalone master and two workers on 127.0.0.1 (docs/engines.md); submit with --master it prints
cluster-up: setup
	PYSPARK_PYTHON=$(abspath $(PY)) $(PY) -m dataflow.engines.standalone up --root data/cluster

cluster-down: setup
	$(PY) -m dataflow.engines.standalone down --root data/cluster

clean:
	rm -rf data/demo bench/results
