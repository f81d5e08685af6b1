"""ONNX conformance: onnx's own node test cases and shipped model folders through n2d2c.

Import -> verify -> simulate each in-scope case (tests/frontend_onnx/conformance.py) and
count the outcomes: passed, unsupported (a documented refusal), excluded (listed with a
reason), failed (anything else).  Prints the onnx version the cases come from.

    python benchmarks/conformance.py
    python benchmarks/conformance.py --list      # every case with its outcome
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import onnx  # noqa: E402

from common import markdown_table  # noqa: E402
from tests.frontend_onnx.conformance import (node_cases, run_model_dirs,  # noqa: E402
                                             run_node_cases)


def _row(title: str, report, seconds: float) -> list:
    c = report.counts()
    return [title, c["passed"], c["unsupported"], c["excluded"], c["failed"],
            len(report.outcomes), f"{seconds:.1f}"]


def measure():
    """(node report, model-folder report, their seconds, and the count of all node cases)."""
    start = time.perf_counter()
    cases = node_cases()
    nodes = run_node_cases(cases)
    node_s = time.perf_counter() - start
    start = time.perf_counter()
    models = run_model_dirs()
    return nodes, models, node_s, time.perf_counter() - start, len(cases)


def run() -> str:
    nodes, models, node_s, model_s, all_cases = measure()
    table = markdown_table(
        ["suite", "passed", "unsupported", "excluded", "failed", "in scope", "seconds"],
        [_row("node test cases", nodes, node_s), _row("model folders", models, model_s)])
    return (f"## ONNX conformance\n\nonnx {onnx.__version__}: its node test cases "
            f"({all_cases} generated, those whose op types n2d2c imports are in scope) and its "
            "model folders (pytorch-converted, pytorch-operator, simple), imported, verified "
            "and simulated against the stored outputs (`python benchmarks/conformance.py`).\n\n"
            + table + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true", help="print every case's outcome")
    args = parser.parse_args(argv)
    if args.list:
        nodes, models, *_ = measure()
        for report in (nodes, models):
            for case, outcome in report.outcomes.items():
                print(f"{outcome:12} {case} {report.failures.get(case, '')}")
    print(run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
