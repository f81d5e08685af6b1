"""``Type=ONNX``: an ONNX model embedded in the INI network.

Options (N2D2's "ONNX INI section type"):

* ``File``: the model, opened with the INI path confinement (relative to the
  INI file's folder, or inside an ``allow_dirs`` folder).  A missing file is an
  InputError naming the file and the section.
* ``Ignore``: space-separated ONNX nodes, named by their node name or their
  first output (``MobilenetV1/Predictions/Softmax:0``), removed from the model:
  whatever read their first output reads their first input instead.
* ``IgnoreInputSize=1``: the model's declared input size is replaced by the
  stimuli provider's (else a different fixed size is a shape error).
* ``Transpose=1`` (swap the first two dimensions of the whole graph): refused.
* ``ONNX_init`` and training options of ``[<section>:<cell>]`` sections are
  recorded only.

The section's single input (the concatenation of ``Input=``) feeds the model's
single graph input.  Like N2D2, every ONNX tensor keeps its name, so later
sections may read ``Input=<tensor>`` and targets may attach to
``[<tensor>.Target]``; such tensors are added to the model's outputs before
import.  ``Input=<onnx section>,<tensor>`` (MobileNet_v1_ONNX_transfer.ini)
names the section as the scope of the tensor and reads the tensor only.
The section's own value is the model's first output.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto

from ....errors import InputError, N2D2CError, UnsupportedError
from ....ir import Value
from ..context import LayerContext
from . import layer


def _uses_external_data(model: onnx.ModelProto) -> bool:
    return any(t.data_location == TensorProto.EXTERNAL for t in model.graph.initializer)


@layer("ONNX", activation=False)
def onnx_cell(ctx: LayerContext) -> Value:
    props = ctx.props
    builder = ctx.builder
    if "File" not in props:
        raise props.error(None, "needs File= (the ONNX model to embed)")
    path = builder.doc.resolve_file(props.owner["File"], "File", resolver=props.resolver)
    raw = props.str("File")
    where = props.where("File")
    if props.bool("Transpose", False):
        raise props.unsupported("Transpose", "transposing the first two dimensions of an "
                                             "embedded ONNX graph is not supported")
    ignore = props.list("Ignore", item=str, default=[])
    ignore_size = props.bool("IgnoreInputSize", False)
    ctx.info.update(file=str(path), ignore=ignore, ignore_input_size=ignore_size)
    if "ONNX_init" in props:
        ctx.info["onnx_init"] = props.text("ONNX_init")

    def fail(err: N2D2CError) -> N2D2CError:
        return type(err)(f"[{ctx.name}] embedded ONNX model '{raw}': {err.message}",
                         location=where, hint=err.hint)

    try:
        model = onnx.load_model(str(path), load_external_data=False)
    except Exception as exc:  # protobuf DecodeError and friends
        raise InputError(f"[{ctx.name}]File: '{raw}' is not a readable ONNX model ({exc})",
                         location=where) from None
    g = model.graph
    initializers = {t.name for t in g.initializer}
    graph_inputs = [vi for vi in g.input if vi.name not in initializers]
    if len(graph_inputs) != 1:
        raise props.unsupported("File", f"the embedded model has {len(graph_inputs)} inputs; "
                                        "n2d2c binds exactly one to the section's Input")
    x = ctx.concat_inputs(four_d=False)
    modified = False

    for name in ignore:
        node = next((n for n in g.node if n.name == name), None) or \
            next((n for n in g.node if n.output and n.output[0] == name), None)
        if node is None:
            raise props.error("Ignore", f"the model '{raw}' has no node or tensor named {name!r}")
        if not node.input:
            raise props.error("Ignore", f"node {name!r} has no input to pass through")
        old, new = node.output[0], node.input[0]
        g.node.remove(node)
        for other in g.node:
            for i, value in enumerate(other.input):
                if value == old:
                    other.input[i] = new
        for out in g.output:
            if out.name == old:
                out.name = new
        modified = True
    produced = {out for node in g.node for out in node.output if out}
    present = {vi.name for vi in g.output}
    wanted = [n for n in builder.external_names if n in produced and n not in present]
    if wanted:
        # The ONNX checker wants a type and a shape on graph outputs: take them
        # from ONNX shape inference.
        try:
            inferred = onnx.shape_inference.infer_shapes(model)
        except Exception:  # inference failures leave the tensors without value_info
            inferred = model
        infos = {vi.name: vi for vi in inferred.graph.value_info}
        for name in wanted:
            info = infos.get(name)
            if info is None or not info.type.tensor_type.HasField("shape"):
                raise props.unsupported("Input", f"cannot read tensor {name!r} of the embedded "
                                                 f"model '{raw}': ONNX shape inference does not "
                                                 "give its shape")
            g.output.append(info)
        modified = True
    if ignore_size:
        dims = graph_inputs[0].type.tensor_type.shape.dim
        for i, d in enumerate(dims):
            d.Clear()
            d.dim_param = f"n2d2c_dim{i}"
        modified = True
    if modified and _uses_external_data(model):
        raise UnsupportedError(f"[{ctx.name}] embedded ONNX model '{raw}' keeps its weights in "
                               "external data files; n2d2c cannot apply Ignore, IgnoreInputSize "
                               "or read inner tensors of such a model", location=where)

    from ...onnx import load_onnx  # the ONNX frontend; imported only when needed

    shapes = {graph_inputs[0].name: tuple(x.shape)}
    try:
        sub = load_onnx(model if modified else path, input_shapes=shapes,
                        allow_dirs=builder.allow_dirs)
    except N2D2CError as err:
        raise fail(err) from None
    return splice(ctx, sub, x)


def splice(ctx: LayerContext, sub, x: Value) -> Value:
    """Copy the ops of ``sub`` into the network graph, its input bound to ``x``."""
    graph = ctx.graph
    mapping = {id(sub.inputs[0]): x}
    for op in list(sub.ops):
        old_outputs = list(op.outputs)
        inputs = [mapping[id(v)] for v in op.inputs]
        graph.add(op, inputs, [v.name for v in old_outputs], types=[v.type for v in old_outputs])
        for old, new in zip(old_outputs, op.outputs):
            mapping[id(old)] = new
    outputs = [mapping[id(v)] for v in sub.outputs]
    for original, new in zip(sub.outputs, outputs):
        ctx.builder.register_inner(original.name, new, ctx.name)
    ctx.info["outputs"] = [v.name for v in sub.outputs]
    ctx.info["keep_names"] = True
    return outputs[0]
