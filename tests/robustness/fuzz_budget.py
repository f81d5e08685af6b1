"""Fuzz budget (not a conftest: test modules import it by name): N2D2C_FUZZ_CASES overrides the number of cases per harness."""

import os

FUZZ_CASES = int(os.environ.get("N2D2C_FUZZ_CASES", "2000"))
# A case that takes longer than this is a hang.
CASE_TIMEOUT_S = 10
