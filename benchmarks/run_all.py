"""Run every benchmark and write their tables to RESULTS.md (`make bench`).

Each benchmark module exposes ``run() -> str`` returning a markdown section;
modules are run in the order below, in one process, on this machine.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import machine_description  # noqa: E402

BENCHMARKS = ["sim_vs_ort", "cpp_vs_ort", "quantized", "memory", "pass_scaling", "build_time",
              "fuzz", "conformance", "cortex_m", "dneuro", "scale_out"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", help="write the markdown report to this file")
    parser.add_argument("--only", action="append", help="run only these benchmarks")
    args = parser.parse_args()
    sections = [f"# Benchmark results\n\nDate: {datetime.date.today().isoformat()}  \n"
                f"Machine: {machine_description()}\n"]
    for name in args.only or BENCHMARKS:
        if not (HERE / f"{name}.py").exists():
            continue
        print(f"== {name}", flush=True)
        section = importlib.import_module(name).run()
        print(section, flush=True)
        sections.append(section)
    if args.write:
        Path(args.write).write_text("\n".join(sections))
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
