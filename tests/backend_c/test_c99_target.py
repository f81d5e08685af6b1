"""The portable C99 target (``--backend c``), compiled with gcc -std=c99 -Werror and run.

Float networks are compared with onnxruntime, quantized ones with the integer
simulator bit for bit: the same model sets as the C++ backend's tests
(tests/backend_cpp/test_models.py, test_quantized.py), through the same
project driver, so the generic kernels every future target falls back to are
executed, not only compiled.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from backend_cpp.harness import assert_close, build_batches, require_compiler, run_ort, shared
from backend_cpp.test_models import CASES as FLOAT_CASES
from backend_cpp.test_quantized import CASES as INT_CASES
from backend_cpp.test_quantized import assert_matches_simulator, build_cases
from n2d2c.backends.c.project import compile_to_dir
from n2d2c.backends.c.testing import build, run
from n2d2c.backends.registry import get_backend

# The warnings the generated Makefile always enables, plus -Werror (testing.build).
C99_FLAGS = "-std=c99 -Wall -Wextra -pedantic"


@pytest.fixture(scope="module")
def float_outputs(tmp_path_factory):
    require_compiler("c")
    return shared(tmp_path_factory, "c99_models",
                  lambda root: build_batches(root, {n: [c] for n, c in FLOAT_CASES.items()},
                                             target="c"))


@pytest.mark.parametrize("name", sorted(FLOAT_CASES))
def test_c99_model_matches_onnxruntime(float_outputs, name):
    case = FLOAT_CASES[name]
    assert_close(case, float_outputs[name], run_ort(case.model, case.feeds))


@pytest.fixture(scope="module")
def integer_outputs(tmp_path_factory):
    require_compiler("c")
    return shared(tmp_path_factory, "c99_quantized", lambda root: build_cases(root, target="c"))


@pytest.mark.parametrize("case", INT_CASES, ids=[c.name for c in INT_CASES])
def test_c99_integer_code_matches_simulator_bit_for_bit(integer_outputs, case):
    assert_matches_simulator(case, integer_outputs[case.name])


def test_c99_project_testbench_passes_and_catches_stale_reads(tmp_path):
    """The exported stimuli/expected pass with a garbage-filled arena (0xFF: NaN floats);
    a corrupted expected output makes the testbench exit 1."""
    require_compiler("c")
    case = FLOAT_CASES["inception_like"]
    from backend_cpp.harness import import_case
    out = compile_to_dir(import_case(case), tmp_path / "incept", target="c")
    makefile = (out / "Makefile").read_text()
    assert C99_FLAGS in makefile
    build(out, opt="-O1")
    proc = run(out, ["-poison", "0xFF"])
    assert "3/3 outputs within tolerance: PASS" in proc.stdout, proc.stdout
    expected = out / "expected" / "sample_001.npy"
    bad = np.load(expected)
    bad.flat[0] += 1.0
    np.save(expected, bad)
    proc = run(out, [], check=False)
    assert proc.returncode == 1 and "FAIL" in proc.stdout, proc.stdout


def test_c99_network_is_strict_c99(tmp_path):
    """network.c and weights.c need no POSIX: they build with -std=c99 -pedantic and no
    feature macro (only the testbench, main.c, asks for POSIX)."""
    require_compiler("c")
    case = INT_CASES[0]
    out = compile_to_dir(case.graph, tmp_path / "q", target="c", stimuli=0)
    proc = subprocess.run(["cc", *C99_FLAGS.split(), "-Werror", "-fno-strict-aliasing", "-c",
                           "network.c", "weights.c"], cwd=out, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "_POSIX_C_SOURCE" not in (out / "network.c").read_text()


def test_two_networks_link_into_one_program(tmp_path):
    """Each network's weights are prefixed by its name, as its API is: two C networks
    (here the same model under two names) link into one firmware without a clash."""
    require_compiler("c")
    case = INT_CASES[0]
    objects = []
    for name in ("first", "second"):
        out = compile_to_dir(case.graph, tmp_path / name, target="c", name=name, stimuli=0)
        assert f"{name}_w_" in (out / "weights.h").read_text()
        for source in ("network.c", "weights.c"):
            obj = tmp_path / f"{name}_{source}.o"
            subprocess.run(["cc", "-c", str(out / source), "-o", str(obj)], check=True)
            objects.append(str(obj))
    main = tmp_path / "main.c"
    main.write_text("int main(void) { return 0; }\n")
    proc = subprocess.run(["cc", str(main), *objects, "-o", str(tmp_path / "both"), "-lm"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_c_backend_is_registered_with_its_options():
    backend = get_backend("c")
    assert backend.plans_memory
    assert backend.default_pipeline == get_backend("cpp").default_pipeline
    names = {o.name for o in backend.options}
    assert {"stimuli", "seed", "expected", "memory", "fuse"} <= names
    assert "parallel" not in names            # OpenMP is the cpp target's own option
    assert "parallel" in {o.name for o in get_backend("cpp").options}
