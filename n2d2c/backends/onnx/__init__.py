"""The ``onnx`` backend: write an IR graph back as an ONNX model (``model.onnx``).

    n2d2c compile model.onnx --backend onnx -o out/         # -> out/model.onnx, out/README.txt
    n2d2c compile model.onnx --backend onnx -o out/ --calib-data calib.npz -X onnx_format=qop
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
    integer operators, with option ``qop_requant``: ``exact`` (default,
    ``qop.py``; ConvInteger/MatMulInteger and requantization in int64/double ONNX
    arithmetic, bit-exact with the simulator) or ``qlinear`` (``qop_qlinear.py``;
    QLinearConv, QLinearMatMul, com.microsoft QLinearAdd,
    QuantizeLinear/DequantizeLinear).

Options (``OPTIONS``; ``n2d2c.compile`` keywords or ``-X KEY=VALUE`` on the command
line, ``-`` or ``_`` in keys, listed by ``n2d2c backends``): ``onnx_format`` ("qdq" |
"qop"), ``qop_requant`` ("exact" | "qlinear"); both are ignored for a float graph.  The
model uses opset 21 (IR version 10; com.microsoft 1 for QLinearAdd) and passes
``onnx.checker``; the same graph and options always give the same bytes.  The
qdq and qlinear forms may be one step off the simulator per requantization
(README.txt lists why); qop/exact is bit-exact.
"""

from __future__ import annotations

from pathlib import Path

import onnx

from ...ir import Graph
from ...version import __version__
from ..registry import Backend, BackendOption, CompileOptions, register_backend
from .lowering import OPSET, Exporter, index_values

FORMATS = ("qdq", "qop")
REQUANT_MODES = ("exact", "qlinear")
OPTIONS = (
    BackendOption("onnx_format", "qdq", "form of a quantized graph: qdq (float ops between "
                  "Quantize/DequantizeLinear) or qop (integer operators)", choices=FORMATS),
    BackendOption("qop_requant", "exact", "requantization of the qop form: exact (bit-exact "
                  "int64/double arithmetic) or qlinear (QLinearConv/MatMul/Add)",
                  choices=REQUANT_MODES),
)
MODEL_FILE = "model.onnx"


def is_quantized(graph: Graph) -> bool:
    indices = index_values(graph)  # i64 unpooling indices are not quantized values
    return any(v.type.dtype.is_integer and id(v) not in indices for v in graph.values())


def make_exporter(graph: Graph, *, onnx_format: str = "qdq", qop_requant: str = "exact",
                  name: str = "network") -> Exporter:
    options = BACKEND.resolve_options({"onnx_format": onnx_format, "qop_requant": qop_requant})
    if not is_quantized(graph):
        return Exporter(graph, name)
    # (imported here: a float export needs no quantization code)
    if options["onnx_format"] == "qdq":
        from .qdq import QdqExporter
        return QdqExporter(graph, name)
    if options["qop_requant"] == "qlinear":
        from .qop_qlinear import QlinearExporter
        return QlinearExporter(graph, name)
    from .qop import QopExporter
    return QopExporter(graph, name)


def export_model(graph: Graph, *, onnx_format: str = "qdq", qop_requant: str = "exact",
                 name: str = "network") -> onnx.ModelProto:
    """``graph`` as a checked ONNX model (see the module doc for the options)."""
    return make_exporter(graph, onnx_format=onnx_format, qop_requant=qop_requant,
                         name=name).export()


def emit(graph: Graph, out_dir: Path, options: CompileOptions) -> None:
    """Write ``model.onnx`` and ``README.txt`` into ``out_dir`` (made atomic by the caller)."""
    opts = BACKEND.resolve_options(options.extra)
    exporter = make_exporter(graph, onnx_format=opts["onnx_format"],
                             qop_requant=opts["qop_requant"], name=options.name)
    model = exporter.export()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MODEL_FILE).write_bytes(model.SerializeToString(deterministic=True))
    (out_dir / "README.txt").write_text(readme(graph, model, exporter), encoding="utf-8",
                                        newline="\n")


ROUNDING_NOTES = [
    "Not exactly expressible, so each requantization may be one step off the",
    "simulator (`n2d2c run` on the quantized IR), and such steps can grow through",
    "later layers:",
    "  * QuantizeLinear / QLinear* divide or multiply in float32 and round half to",
    "    even; quant.py computes exactly and rounds half away from zero (quantize,",
    "    floating-point rescale, integer average pooling) or half up (fixed-point",
    "    and shift modes). Average pooling and shift-mode rescales whose results",
    "    cannot be negative get a slightly smaller output scale so that exact ties",
    "    round as in quant.py; signed shift-mode results keep ONNX's tie rule (an",
    "    add rescaled by a shift of 1 has half of its sums on a tie).",
    "  * Scales are float32 (double in the IR): values within about 1e-7 (relative)",
    "    of a tie may round the other way.",
    "  * A QDQ float op sums dequantized products in float32 (exact integers in the",
    "    IR); runtimes that fuse DQ-op-Q into integer kernels accumulate exactly.",
    "Use onnx_format=qop (qop_requant=exact) for a bit-exact model.",
]


def readme(graph: Graph, model: onnx.ModelProto, exporter: Exporter) -> str:
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
            "biases int32.",
            "",
            "Scales: activations keep the scales of n2d2c.quantization.value_scales; a",
            "layer's weight and bias scales are corrected so that s_x * s_w / s_out equals",
            "its rescale's effective factor (fixed-point m / 2**p, shifts, folded factors).",
            "",
        ] + ROUNDING_NOTES
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
                "accumulator's only reader is a rescale to the same 8-bit type; other",
                "rescales are DequantizeLinear -> QuantizeLinear; quantize / dequantize are",
                "QuantizeLinear / DequantizeLinear; clamps (ReLU, ReLU6) are integer",
                "Clip/Max/Min; everything else uses the exact integer ops of",
                "qop_requant=exact. Scales as in the QDQ form (effective factors).",
                "",
            ] + ROUNDING_NOTES
    if quant:
        lines += ["", "Quantization: " + ", ".join(f"{k}={v}" for k, v in sorted(quant.items()))]
    if exporter.notes:
        lines += ["", "Notes:"] + [f"  * {n}" for n in exporter.notes]
    lines += ["", "Inputs: " + ", ".join(f"{v.name} {v.type}" for v in graph.inputs),
              "Outputs: " + ", ".join(f"{v.name} {v.type}" for v in graph.outputs),
              f"Nodes: {len(model.graph.node)} ({ops})", ""]
    return "\n".join(lines)


BACKEND = register_backend(Backend(
    name="onnx",
    description="ONNX model (float, or quantized as QDQ or integer operators)",
    default_pipeline="",
    emit=emit,
    options=OPTIONS,
))

__all__ = ["BACKEND", "FORMATS", "OPTIONS", "REQUANT_MODES", "emit", "export_model",
           "is_quantized", "make_exporter"]
