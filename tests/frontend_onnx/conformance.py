"""ONNX's own operator tests, run through n2d2c (import -> verify -> simulate).

The node test cases are generated from the installed onnx package
(``onnx.backend.test.case.node``).  A case is *in scope* when all its op types
are in SUPPORTED_OPS.  Each in-scope case ends as one of:

  passed       imported, verified, and (with the simulator) matches the
               expected outputs within RTOL/ATOL
  unsupported  import raised UnsupportedError for a documented reason
               (see ``unsupported_reason``): that is the contract, not a failure
  excluded     listed in EXCLUDED with the reason
  failed       anything else (including an UnsupportedError without reason)

Run ``python -m tests.frontend_onnx.conformance`` for the full listing.
"""

from __future__ import annotations

import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

from n2d2c.errors import UnsupportedError
from n2d2c.frontend.onnx import CONSTANT_ONLY_OPS, SUPPORTED_OPS, load_onnx
from n2d2c.frontend.onnx.loader import MIN_OPSET, default_opset

from .harness import (ATOL, RTOL, bake_static_inputs, check_outputs, has_non_float_io,
                      refused_io_type, static_graph_inputs)

# Case name -> why it is not run.  Keep short; every entry needs a reason.
EXCLUDED = {
    "test_resize_downsample_scales_linear_align_corners":
        "ONNX's reference maps align_corners with the fractional resized length "
        "(in*scale - 1); onnxruntime and n2d2c use the integer output size. With "
        "output width 1 the two differ (3.14 vs 4); n2d2c agrees with onnxruntime.",
    "test_maxunpool_export_with_output_shape":
        "ONNX's reference scatters the indices into the inferred 4x4 output and then pads "
        "it to output_shape 5x5; onnxruntime (like PyTorch's max_unpool2d) reads them as "
        "flat positions in the output_shape tensor, which is what MaxPool's Indices are "
        "when output_shape is the pooled input's shape. n2d2c agrees with onnxruntime.",
}

# Case name -> (rtol, atol, reason) where the default tolerance is too tight.
TOLERANCES = {
    "test_averagepool_2d_ceil_last_window_starts_on_pad":
        (1e-4, 1e-4, "the expected outputs are written with 4 decimals in the case"),
}

# Features n2d2c refuses on purpose; an UnsupportedError is expected for
# matching cases (the node must still fail cleanly).
UNSUPPORTED_FEATURES = {
    r"cubic": "Resize mode cubic",
    r"tf_crop_and_resize": "Resize coordinate mode tf_crop_and_resize",
    r"antialias": "antialiased Resize",
    r"(?i)(pool|conv|convtranspose)_?3d": "3-D convolution and pooling",
    r"training": "training-mode Dropout/BatchNormalization",
    r"wrap_pad": "Pad mode wrap",
}


# How n2d2c words the refusal of an integer or boolean tensor at an op that computes
# float32 only (frontend/onnx/io_types.py, context.py).
_FLOAT_ONLY = re.compile(r"element type \w+ at run time|a tensor of element type \w+, at run time")


def unsupported_reason(name: str, model: onnx.ModelProto, message: str = "") -> str | None:
    """Why an UnsupportedError (saying ``message``) is acceptable for this case, or None."""
    for pattern, reason in UNSUPPORTED_FEATURES.items():
        if re.search(pattern, name):
            return reason
    refused = refused_io_type(model)
    if refused is not None:
        return f"graph input or output of type {refused}"
    if (default_opset(model) or MIN_OPSET) < MIN_OPSET:
        return f"ONNX opset below {MIN_OPSET}"
    if uses_float64(model):
        return "float64 tensors inside the graph (n2d2c computes floats in float32)"
    if has_non_float_io(model) and _FLOAT_ONLY.search(message):
        return "an integer or boolean tensor at an op n2d2c computes in float32 only"
    # Constant, Shape and Size always fold; the others need constant inputs.
    used = {n.op_type for n in model.graph.node} & set(CONSTANT_ONLY_OPS) - {
        "Constant", "Shape", "Size"}
    if used:
        return f"{', '.join(sorted(used))} on a run-time tensor (constant-only ops)"
    return None


def uses_float64(model: onnx.ModelProto) -> bool:
    """A Cast/CastLike to double, or a double constant: n2d2c refuses float64."""
    double = onnx.TensorProto.DOUBLE
    if any(t.data_type == double for t in model.graph.initializer):
        return True
    for node in model.graph.node:
        for attr in node.attribute:
            if (attr.name == "to" and attr.i == double) or (attr.t.data_type == double):
                return True
    return False


def as_array(item) -> np.ndarray:
    """Data sets hold arrays, or TensorProtos where numpy has no dtype (float16 bit
    patterns of the Cast cases ...)."""
    return numpy_helper.to_array(item) if isinstance(item, onnx.TensorProto) else item


@dataclass
class Report:
    outcomes: dict[str, str] = field(default_factory=dict)   # case -> outcome
    failures: dict[str, str] = field(default_factory=dict)   # case -> message

    def add(self, name: str, outcome: str, message: str = "") -> None:
        self.outcomes[name] = outcome
        if outcome == "failed":
            self.failures[name] = message

    def counts(self) -> Counter:
        return Counter(self.outcomes.values())

    def summary(self, title: str) -> str:
        c = self.counts()
        total = len(self.outcomes)
        return (f"{title}: {c['passed']}/{total} passed, {c['unsupported']} unsupported, "
                f"{c['excluded']} excluded, {c['failed']} failed")


def run_case(report: Report, name: str, model: onnx.ModelProto, inputs, outputs,
             *, bake: bool = True, model_path: str | None = None) -> None:
    if name in EXCLUDED:
        report.add(name, "excluded")
        return
    if bake:
        model, feeds = bake_static_inputs(model, inputs)
    else:
        init = {t.name for t in model.graph.initializer}
        names = [vi.name for vi in model.graph.input if vi.name not in init]
        feeds = dict(zip(names, inputs))
    try:
        graph = load_onnx(model_path or model)
    except UnsupportedError as exc:
        reason = unsupported_reason(name, model, exc.message)
        if reason is None:
            report.add(name, "failed", f"unexpected UnsupportedError: {exc.message}")
        else:
            report.add(name, "unsupported", reason)
        return
    except Exception as exc:  # any other error is a failure to report, not a crash
        report.add(name, "failed", f"{type(exc).__name__}: {exc}")
        return
    rtol, atol, _ = TOLERANCES.get(name, (RTOL, ATOL, ""))
    try:
        problem = check_outputs(graph, feeds, outputs, rtol=rtol, atol=atol)
    except Exception as exc:
        problem = f"simulation raised {type(exc).__name__}: {exc}"
    report.add(name, "failed" if problem else "passed", problem or "")


def in_scope(model: onnx.ModelProto) -> bool:
    return {n.op_type for n in model.graph.node} <= set(SUPPORTED_OPS)


def node_cases() -> list:
    from onnx.backend.test.case.node import collect_testcases
    with warnings.catch_warnings():  # the generators cast with overflow on purpose
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return collect_testcases()


def run_node_cases(cases) -> Report:
    report = Report()
    for case in cases:
        if in_scope(case.model):
            inputs, outputs = case.data_sets[0]
            run_case(report, case.name, case.model, [as_array(x) for x in inputs],
                     [as_array(y) for y in outputs])
    return report


DATA_DIR = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data"


def _read_tensor(path: Path) -> np.ndarray:
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def run_model_dirs(kinds=("pytorch-converted", "pytorch-operator", "simple")) -> Report:
    """The small real models shipped with onnx (opset 6-9 PyTorch exports and others),
    each with one stored input/output set."""
    report = Report()
    for kind in kinds:
        for folder in sorted((DATA_DIR / kind).glob("*")):
            model_path = folder / "model.onnx"
            model = onnx.load(model_path)
            if not in_scope(model):
                continue
            data = folder / "test_data_set_0"
            inputs = [_read_tensor(p) for p in sorted(data.glob("input_*.pb"))]
            outputs = [_read_tensor(p) for p in sorted(data.glob("output_*.pb"))]
            # Read from the file (external data) unless a shape-like input is fed at run time.
            bake = bool(static_graph_inputs(model))
            run_case(report, f"{kind}/{folder.name}", model, inputs, outputs, bake=bake,
                     model_path=None if bake else str(model_path))
    return report


if __name__ == "__main__":
    for title, rep in (("ONNX node tests", run_node_cases(node_cases())),
                       ("ONNX model folders", run_model_dirs())):
        for case, outcome in rep.outcomes.items():
            print(f"{outcome:12} {case} {rep.failures.get(case, '')}")
        print(rep.summary(title))
