PYTHON ?= python3
PYTEST_WORKERS ?= 2

.PHONY: install demo test bench clean

install:
	$(PYTHON) -m pip install -q -e '.[test]'

demo: install
	$(PYTHON) examples/demo.py

test:
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) -q

bench:
	$(PYTHON) benchmarks/run_all.py --write benchmarks/RESULTS.md

clean:
	rm -rf build dist *.egg-info .pytest_cache benchmarks/_work
