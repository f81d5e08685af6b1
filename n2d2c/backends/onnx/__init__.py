"""The ``onnx`` backend: write an IR graph back as an ONNX model (``model.onnx``).

    n2d2c compile model.onnx --backend onnx -o out/         # -> out/model.onnx, out/README.txt
    n2d2c.compile(qgraph, "out/", backend="onnx", onnx_format="qop")
    from n2d2c.backends.onnx import export_model
    model = export_model(qgraph, onnx_format="qdq")          # an onnx.ModelProto

A float graph becomes a plain float model: every IR op maps to its ONNX op, and
a fused ``activation`` of conv/gemm/add becomes a following Relu/Clip/LeakyRelu.
A quantized graph (quantize / rescale / integer layers / dequantize, see
n2d2c/ir/ops/quant.py) is written in one of two forms, option ``onnx_format``:

``qdq`` (default)
    float ops between QuantizeLinear/DequantizeLinear pairs; int8 weights with
    per-axis DequantizeLinear where the quantizer chose per-channel scales
    (``qdq.py``).
``qop``
    integer operators (``qop.py``), with option ``qop_requant``: ``exact``
    (default; ConvInteger/MatMulInteger and requantization in int64/double ONNX
    arithmetic, bit-exact with the simulator) or ``qlinear`` (QLinearConv,
    QLinearMatMul, com.microsoft QLinearAdd, QuantizeLinear/DequantizeLinear).

Options (``CompileOptions.extra`` / ``n2d2c.compile`` keywords): ``onnx_format``
("qdq" | "qop"), ``qop_requant`` ("exact" | "qlinear").  The model uses opset
21 (IR version 10) and is checked with ``onnx.checker``; the same graph and
options always give the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from ...errors import UsageError
from ...ir import Graph
from ..registry import Backend, CompileOptions, register_backend
from .lowering import OPSET, Exporter
from .qdq import QdqExporter
from .qop import QopExporter

FORMATS = ("qdq", "qop")
REQUANT_MODES = ("exact", "qlinear")
OPTION_DEFAULTS = {"onnx_format": "qdq", "qop_requant": "exact"}
MODEL_FILE = "model.onnx"


def _choice(value, allowed, what: str) -> str:
    text = str(value).strip().lower().replace("_", "-")
    if text not in allowed:
        raise UsageError(f"unknown {what} {value!r}; expected one of {', '.join(allowed)}")
    return text


def is_quantized(graph: Graph) -> bool:
    return any(v.type.dtype.is_integer for v in graph.values())


def make_exporter(graph: Graph, *, onnx_format: str = "qdq", qop_requant: str = "exact",
                  name: str = "network") -> Exporter:
    fmt = _choice(onnx_format, FORMATS, "onnx_format")
    requant = _choice(qop_requant, REQUANT_MODES, "qop_requant")
    if not is_quantized(graph):
        return Exporter(graph, name)
    if fmt == "qdq":
        return QdqExporter(graph, name)
    return QopExporter(graph, name, requant)


def export_model(graph: Graph, *, onnx_format: str = "qdq", qop_requant: str = "exact",
                 name: str = "network") -> onnx.ModelProto:
    """``graph`` as a checked ONNX model (see the module doc for the options)."""
    return make_exporter(graph, onnx_format=onnx_format, qop_requant=qop_requant,
                         name=name).export()


def emit(graph: Graph, out_dir: Path, options: CompileOptions) -> None:
    """Write ``model.onnx`` and ``README.txt`` into ``out_dir`` (made atomic by the caller)."""
    unknown = sorted(set(options.extra) - set(OPTION_DEFAULTS))
    if unknown:
        raise UsageError(f"unknown option(s) for backend onnx: {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(OPTION_DEFAULTS))}")
    opts = {**OPTION_DEFAULTS, **options.extra}
    exporter = make_exporter(graph, onnx_format=opts["onnx_format"],
                             qop_requant=opts["qop_requant"], name=options.name)
    model = exporter.export()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_FILE).write_bytes(model.SerializeToString(deterministic=True))
    (out_dir / "README.txt").write_text(readme(graph, model, exporter), encoding="utf-8",
                                        newline="\n")


def readme(graph: Graph, model: onnx.ModelProto, exporter: Exporter) -> str:
    from ... import __version__
    counts: dict[str, int] = {}
    for node in model.graph.node:
        key = f"{node.domain}.{node.op_type}" if node.domain else node.op_type
        counts[key] = counts.get(key, 0) + 1
    ops = ", ".join(f"{k} x{v}" for k, v in sorted(counts.items()))
    lines = [
        f"{MODEL_FILE}: the n2d2c IR graph @{graph.name} exported as ONNX by n2d2c {__version__}",
        f"(backend onnx, opset {OPSET}, IR version {model.ir_version}).",
        "",
    ]
    quant = graph.metadata.get("quantization") if isinstance(graph.metadata, dict) else None
    if exporter.form == "float":
        lines += ["Form: float. Every IR op is mapped to the ONNX op of the same meaning; fused",
                  "activations (conv/gemm/add) are separate Relu/Clip/LeakyRelu nodes."]
    elif exporter.form == "qdq":
        lines += [
            "Form: QDQ (onnx_format=qdq). Float ops between QuantizeLinear/DequantizeLinear;",
            "the integer tensors carry the IR value names. Weights are int8/int16",
            "initializers read through DequantizeLinear (per axis for per-channel scales),",
            "biases int32. Scales are the real scales of n2d2c.quantization.value_scales.",
            "",
            "Not exactly expressible, so outputs may differ from `n2d2c run` on the",
            "quantized IR by one quantization step:",
            "  * QuantizeLinear divides in float32 and rounds half to even; quant.py",
            "    rounds half away from zero (quantize, floating-point rescale, integer",
            "    average pooling) or half up (fixed-point and shift rescale modes).",
            "  * A fixed-point rescale multiplies by m / 2**p; QDQ quantizes the float",
            "    accumulator at the output scale, i.e. by the exact ratio of the scales.",
            "    Shift modes (powers of two) and their folded factors are represented.",
            "  * The accumulator is a float32 sum of dequantized products here (exact",
            "    int32 in the IR); runtimes that fuse DQ-op-Q into integer kernels",
            "    requantize with their own rounding.",
        ]
    else:
        requant = getattr(exporter, "requant", "exact")
        lines += [f"Form: integer operators (onnx_format=qop, qop_requant={requant})."]
        if requant == "exact":
            lines += [
                "ConvInteger/MatMulInteger accumulate in int32 (16-bit operands split into",
                "bytes and recombined in int64); quantize, rescale (all five modes),",
                "dequantize and integer average pooling are spelled with int64/double ONNX",
                "arithmetic that reproduces n2d2c/ir/ops/quant.py bit for bit.",
            ]
        else:
            lines += [
                "QLinearConv / QLinearMatMul / com.microsoft QLinearAdd where the",
                "accumulator feeds one rescale to 8 bits; other rescales are",
                "DequantizeLinear -> QuantizeLinear; clamps (ReLU, ReLU6) are integer Clip/Max/Min.",
                "These requantize in float32 with round-half-to-even, so outputs may differ",
                "from the simulator by one quantization step near ties (fixed-point",
                "multipliers become the ratio of the real scales).",
            ]
    if quant:
        lines += ["", "Quantization: " + ", ".join(f"{k}={v}" for k, v in sorted(quant.items()))]
    if exporter.notes:
        lines += ["", "Notes:"] + [f"  * {n}" for n in exporter.notes]
    lines += ["", f"Inputs: " + ", ".join(f"{v.name} {v.type}" for v in graph.inputs),
              "Outputs: " + ", ".join(f"{v.name} {v.type}" for v in graph.outputs),
              f"Nodes: {len(model.graph.node)} ({ops})", ""]
    return "\n".join(lines)


BACKEND = register_backend(Backend(
    name="onnx",
    description="ONNX model (float, or quantized as QDQ or integer operators)",
    default_pipeline="",
    emit=emit,
))

__all__ = ["BACKEND", "FORMATS", "OPTION_DEFAULTS", "REQUANT_MODES", "emit", "export_model",
           "is_quantized", "make_exporter"]
