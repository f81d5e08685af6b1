"""Build and run a generated C++ project from Python: the C layer's helpers (c/testing.py)."""

from ..c.testing import bench, build, build_and_run, compiler, manifest, run, run_inputs

__all__ = ["bench", "build", "build_and_run", "compiler", "manifest", "run", "run_inputs"]
