"""n2d2c.mk with the cpp backend: a host Make project builds, runs and stays up to date."""

from __future__ import annotations

import numpy as np

from support import require_tool

from .examples import EXAMPLES, copy_example, reference_output, run

MAKEFILE = """all: app
CXXFLAGS = -O0 -fopenmp
include $(shell n2d2c --cmake-dir)/n2d2c.mk
$(eval $(call n2d2c_add_model,lenet,model.onnx,cpp,))
app: main.cpp $(lenet_LIB) $(lenet_HDRS)
\t$(CXX) $(CXXFLAGS) $(lenet_CFLAGS) -o $@ main.cpp $(lenet_LIB)
"""


def test_make_fragment_cpp(tmp_path):
    require_tool("make", "g++", "n2d2c")
    folder = copy_example("cmake_app", tmp_path)  # its main.cpp and model
    assert (EXAMPLES / "cmake_app" / "main.cpp").exists()
    (folder / "Makefile").write_text(MAKEFILE)
    first = run(["make"], folder)
    assert "n2d2c compile model.onnx --backend cpp --name lenet" in first
    values = np.array(run([str(folder / "app")], folder).split(), np.float32)
    np.testing.assert_allclose(values, reference_output(folder / "model.onnx"), rtol=1e-4,
                               atol=1e-6)
    # Up to date. (Not `make -q`: the generated files sit behind empty recipes, which
    # Make counts as remade; only their unchanged times keep what follows from rebuilding.)
    idle = run(["make"], folder)
    assert "Nothing to be done" in idle and "n2d2c" not in idle
