"""The stimuli provider (``[sp]`` or ``[env]``): graph input and pre-processing.

The graph input is ``tensor<B x C x SizeY x SizeX>`` named after the section.
``B`` is 1 unless the caller asks for another batch (the file's ``BatchSize``
is a training setting; it is recorded).  ``C`` is ``NbChannels`` [1], or the
number of channels created by ``<sp>.ChannelTransformation*`` sections when
there are some (each one without a ``Channel=`` key creates a channel).
``Size=W H [C]`` is accepted for ``SizeX``/``SizeY``/``NbChannels``.

Transformations (``<sp>.Transformation*``, ``.OnTheFlyTransformation*``,
``.ChannelTransformation*``, ``.ChannelsTransformation*``, ...) are read in file
order.  Those whose ``ApplyTo`` excludes the test set (``LearnOnly``,
``ValidationOnly``, ``NoTest``) are training-only and ignored.  The others:

* ``RangeAffineTransformation`` becomes ops on the graph input
  (``(x <op1> v1) <op2> v2`` with Plus/Minus/Multiplies/Divides, one value or
  one per channel; ``Channel=k`` restricts it to channel k) -- when its values
  are constants and only geometric transformations follow it.  Geometric steps
  (rescale, pad/crop, slice, flip) commute with a per-pixel affine map, so the
  caller can apply them before the graph.
* everything else (``Rescale``, ``PadCrop``, ``SliceExtraction``, ``Flip``,
  ``ColorSpace``, ``ChannelExtraction``, ``Affine`` with matrix files,
  normalisations, values computed from the dataset such as
  ``[sp.StimuliData-x]_MeanData``...) is recorded in
  ``graph.metadata["preprocessing"]["external"]`` for the caller to apply before
  feeding the graph, in the listed order.  A range-affine step that precedes a
  non-geometric external step is recorded as external too, to keep the order.

``graph.metadata["preprocessing"]["input_range"]`` says what the graph input
expects: ``"raw"`` (the image's own values, e.g. 0..255, when an affine step
sets the range) or ``"unit"`` (N2D2's implicit conversion of 8-bit images to
[0, 1] when no step sets it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ...errors import InputError, N2D2CError
from ...ir import TensorType, Value
from ...ir import ops as O
from .props import LayerProps

if TYPE_CHECKING:
    from .network import NetworkBuilder

TRANSFORMATION_KINDS = ("Transformation", "OnTheFlyTransformation", "ChannelTransformation",
                        "ChannelOnTheFlyTransformation", "ChannelsTransformation",
                        "ChannelsOnTheFlyTransformation")
APPLY_TO = ("All", "LearnOnly", "ValidationOnly", "TestOnly", "NoLearn", "NoValidation",
            "NoTest")
AT_INFERENCE = ("All", "TestOnly", "NoLearn", "NoValidation")
GEOMETRIC = ("RescaleTransformation", "PadCropTransformation", "SliceExtractionTransformation",
             "FlipTransformation", "CentroidCropTransformation")
OPERATORS = ("Plus", "Minus", "Multiplies", "Divides")
_OP_CLASS = {"Plus": O.Add, "Minus": O.Sub, "Multiplies": O.Mul, "Divides": O.Div}
_NEUTRAL = {"Plus": 0.0, "Minus": 0.0, "Multiplies": 1.0, "Divides": 1.0}


@dataclass
class Step:
    section: str
    kind: str
    type: str
    properties: dict
    channel: int | None = None
    affine: list[tuple[str, list[float]]] = field(default_factory=list)
    reason: str = ""

    def describe(self) -> dict:
        out = {"section": self.section, "category": self.kind, "type": self.type,
               "properties": self.properties}
        if self.reason:
            out["reason"] = self.reason
        return out


def _kind(section: str, sp: str) -> str | None:
    rest = section[len(sp) + 1:]
    for kind in sorted(TRANSFORMATION_KINDS, key=len, reverse=True):
        if rest.startswith(kind):
            return kind
    return None


def _text(doc, section: str, key: str, resolver) -> str:
    try:
        value = doc.evaluate(section, key, resolver=resolver)
    except N2D2CError:
        return doc.value(section, key).text
    return value if isinstance(value, str) else repr(value)


def lower_stimuli(builder: "NetworkBuilder", batch_size: int,
                  input_size: tuple[int, int, int] | None = None) -> Value:
    doc = builder.doc
    sp = doc.stimuli_provider()
    if sp is None and input_size is None:
        input_size = builder.default_input_size
    if sp is None and input_size is None:
        readers = [s.name for s in doc if "Input" in s.properties
                   and doc.value(s.name, "Input").text.strip() in ("sp", "env")]
        also = f" ([{readers[0]}] reads Input={doc.value(readers[0], 'Input').text.strip()})" \
            if readers else ""
        raise InputError("the file has no stimuli provider section [sp] or [env] (SizeX, SizeY, "
                         f"NbChannels), so the network input size is unknown{also}",
                         location=str(doc.path),
                         hint="add the section, or give the size: --input-shape NxCxHxW on "
                              "the command line, input_shapes={'sp': (N, C, H, W)} in "
                              "n2d2c.load(), or feed data of that shape")
    builder.stimuli_name = sp or "sp"
    builder.input_size = input_size
    if sp is None:
        return _bare_input(builder, batch_size, input_size)
    props = LayerProps(doc, sp, builder.resolver)
    if input_size is not None:
        width, height, channels = input_size
    elif "Size" in props:
        size = props.list("Size", item=int)
        if not 1 <= len(size) <= 3 or any(v <= 0 for v in size):
            raise props.error("Size", f"expects 1 to 3 positive sizes (width height channels), "
                                      f"got {size}")
        size = size + [1] * (3 - len(size))
        width, height, channels = size
    else:
        width = props.positive("SizeX")
        height = props.positive("SizeY")
        channels = props.positive("NbChannels", 1)
    if not 1 <= batch_size <= 1 << 20:
        raise InputError(f"batch size must be between 1 and {1 << 20}, got {batch_size}")

    steps: list[Step] = []
    data_sections = []
    created_channels = 0
    for name in doc.subsections(sp):
        kind = _kind(name, sp)
        if kind is None:
            data_sections.append(name)
            continue
        tprops = LayerProps(doc, name, builder.resolver)
        if "Type" not in tprops:
            raise tprops.error(None, "a transformation needs Type=")
        ttype = tprops.str("Type")
        apply_to = tprops.choice("ApplyTo", APPLY_TO, "All")
        properties = {k: _text(doc, name, k, builder.resolver) for k in doc.section(name).keys()}
        step = Step(name, kind, ttype, properties)
        if kind.startswith("Channel") and not kind.startswith("Channels") \
                and "Channel" not in tprops:
            created_channels += 1
        if kind.startswith("Channel") and not kind.startswith("Channels") and "Channel" in tprops:
            step.channel = tprops.int("Channel")
        if apply_to not in AT_INFERENCE:
            step.reason = f"training only (ApplyTo={apply_to})"
            builder.preprocessing["ignored"].append(step.describe())
            continue
        if ttype == "RangeAffineTransformation":
            try:
                step.affine = _affine_values(tprops)
            except N2D2CError as err:
                if not getattr(err, "data_dependent", False):
                    raise
                step.reason = f"its values depend on the dataset ({err.message})"
        steps.append(step)
    if created_channels and input_size is None:
        channels = created_channels

    # Decide which steps run in the graph: a trailing run of constant affine
    # steps, only followed by geometric (commuting) steps.
    in_graph: list[Step] = []
    external: list[Step] = []
    for step in steps:
        if step.type == "RangeAffineTransformation" and step.affine:
            in_graph.append(step)
            continue
        if step.type not in GEOMETRIC:
            for moved in in_graph:
                moved.reason = (f"applied before [{step.section}] ({step.type}), which the "
                                "graph cannot run")
            external.extend(in_graph)
            in_graph = []
        external.append(step)

    graph = builder.graph
    x = graph.add_input(sp, TensorType((batch_size, channels, height, width)))
    for i, step in enumerate(in_graph):
        for j, (operator, values) in enumerate(step.affine):
            constant = _channel_constant(step, operator, values, channels, props)
            if constant is None:
                continue
            stem = f"{sp}/{step.section[len(sp) + 1:]}"
            c = graph.constant(constant, f"{stem}/value{j}")
            op = _OP_CLASS[operator](name=f"{stem}/{operator.lower()}")
            x = graph.add(op, [x, c], [op.name]).output
    any_affine = any(s.type in ("RangeAffineTransformation", "AffineTransformation")
                     for s in steps)
    builder.preprocessing.update(
        in_graph=[s.describe() for s in in_graph],
        external=[s.describe() for s in external],
        input_range="raw" if any_affine else "unit",
        data_sections=data_sections)
    builder.metadata["input"] = {
        "section": sp, "name": sp, "shape": [batch_size, channels, height, width],
        "batch_size_in_file": _text(doc, sp, "BatchSize", builder.resolver)
        if "BatchSize" in props else None,
        "properties": {k: _text(doc, sp, k, builder.resolver) for k in doc.section(sp).keys()},
    }
    return x


def _bare_input(builder: "NetworkBuilder", batch_size: int,
                input_size: tuple[int, int, int]) -> Value:
    """The graph input of a file without stimuli provider, from the caller's size."""
    width, height, channels = input_size
    if min(input_size) < 1:
        raise InputError(f"input_size must be positive (width, height, channels), got "
                         f"{input_size}")
    builder.preprocessing.update(input_range="unknown", data_sections=[])
    builder.warn(str(builder.doc.path), "no stimuli provider section: the input size "
                                        f"{width}x{height}x{channels} was given by the caller; "
                                        "transformations are ignored")
    builder.metadata["input"] = {"section": None, "name": "sp",
                                 "shape": [batch_size, channels, height, width],
                                 "batch_size_in_file": None, "properties": {}}
    return builder.graph.add_input("sp", TensorType((batch_size, channels, height, width)))


def _affine_values(props: LayerProps) -> list[tuple[str, list[float]]]:
    steps = [(props.choice("FirstOperator", OPERATORS), props.list("FirstValue", item=float))]
    if "SecondOperator" in props or "SecondValue" in props:
        steps.append((props.choice("SecondOperator", OPERATORS, "Plus"),
                      props.list("SecondValue", item=float, default=[0.0])))
    for key, (operator, values) in zip(("FirstValue", "SecondValue"), steps):
        if not values:
            raise props.error(key, "needs at least one value")
        if operator == "Divides" and any(v == 0 for v in values):
            raise props.error(key, "divides by zero")
    return steps


def _channel_constant(step: Step, operator: str, values: list[float], channels: int,
                      props: LayerProps) -> np.ndarray | None:
    neutral = _NEUTRAL[operator]
    if step.channel is not None:
        if not 0 <= step.channel < channels:
            raise InputError(f"[{step.section}]Channel: {step.channel} is not a channel of the "
                             f"{channels}-channel input")
        if len(values) != 1:
            raise InputError(f"[{step.section}]: a per-channel transformation takes one value, "
                             f"got {len(values)}")
        vector = np.full(channels, neutral, np.float32)
        vector[step.channel] = values[0]
    elif len(values) == 1:
        if values[0] == neutral:
            return None
        return np.array(values[0], np.float32)
    elif len(values) == channels:
        vector = np.array(values, np.float32)
    else:
        raise InputError(f"[{step.section}]: {len(values)} values for a {channels}-channel input "
                         "(give one value, or one per channel)")
    if (vector == neutral).all():
        return None
    return vector.reshape(1, channels, 1, 1)
