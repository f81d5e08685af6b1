"""Run the fuzzing harnesses with a larger budget and report what they did.

Not a speed benchmark: it records in RESULTS.md how many mutated inputs went
through each input path, how long it took and what the outcomes were.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import markdown_table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
HARNESSES = {
    "ONNX protobuf (byte + structural mutations)": ("tests/robustness/test_fuzz_onnx.py",
                                                   "ONNX fuzz outcomes"),
    "N2D2 INI (line/token mutations, parse + lowering)": ("tests/robustness/test_fuzz_ini.py",
                                                         "INI fuzz outcomes"),
}


def run(cases: int = 5000) -> str:
    rows = []
    for label, (path, marker) in HARNESSES.items():
        env = dict(os.environ, N2D2C_FUZZ_CASES=str(cases))
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               path], cwd=REPO, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - t0
        match = re.search(rf"{marker}: (\{{.*\}})", proc.stdout)
        outcomes = match.group(1) if match else "(no tally)"
        # Hypothesis does not re-run a mutation it has already tried, so the number
        # executed can be below the budget: count what the tally saw.
        executed = sum(int(n) for n in re.findall(r": (\d+)", outcomes))
        verdict = "no crash, hang or stray file" if proc.returncode == 0 else "FAILURES (see log)"
        rows.append((label, f"{executed} of {cases}", f"{elapsed:.1f}", outcomes, verdict))
        print(f"  {label}: {verdict} in {elapsed:.1f} s", flush=True)
    return ("## Fuzzing\n\n"
            "Mutated inputs through each loader; a case fails on any exception other than a "
            "user-facing N2D2CError (internal errors included), a hang over 10 s, or a file "
            "written. CI runs 2,000 cases per harness; this run used more.\n\n"
            + markdown_table(["input path", "distinct cases run (budget)", "seconds", "outcomes",
                            "result"], rows))


if __name__ == "__main__":
    print(run())
