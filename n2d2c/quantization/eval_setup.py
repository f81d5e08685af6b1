"""What an evaluation scores: the target (an INI ``[<cell>.Target]`` section or a graph
output), the outputs to run (the target's and its MaskLabelTarget's), and the Evaluator
with its labels mapping, label names and loss.  Shared by ``n2d2c eval`` and
``n2d2c.evaluate``."""

from __future__ import annotations

from ..errors import UsageError
from ..ir import Graph
from ..runtime.targets import Target
from .evaluation import Evaluator, output_activation


def _entries(graph: Graph) -> tuple[list[tuple[int, dict]], list[str]]:
    """([(output index, target section)] in the INI's order, output names)."""
    sections = getattr(graph, "metadata", {}).get("targets", {})
    names = [v.name for v in graph.outputs]
    return [(names.index(value), entry) for value, items in sections.items()
            if value in names for entry in items], names


def select_target(graph: Graph, name: str | None = None) -> tuple[list[int], Target]:
    """([output index, MaskLabelTarget output index if it masks], Target): the target
    section or graph output ``name``, else the first target section, else output 0."""
    entries, names = _entries(graph)
    if name:
        for index, entry in entries:
            if name in (entry["section"], entry["cell"], names[index]):
                target, chosen = Target.from_section(entry), index
                break
        else:
            if name not in names:
                raise UsageError(f"target {name}: no such output or target",
                                 hint="known: " + ", ".join(
                                     [e["section"] for _, e in entries] + names))
            target, chosen = Target(name=name), names.index(name)
    elif entries:
        chosen, entry = entries[0]
        target = Target.from_section(entry)
    else:
        target, chosen = Target(name=f"{names[0]}.Target"), 0
    return [chosen] + _mask_index(target, entries, names), target


def _mask_index(target: Target, entries, names) -> list[int]:
    """[the output index of the target's MaskLabelTarget] when it masks, else []."""
    if target.masked_label < 0:
        return []
    wanted = target.mask_label_target
    for index, entry in entries:
        if wanted in (entry["section"], entry["cell"]):
            return [index]
    if wanted in names:
        return [names.index(wanted)]
    raise UsageError(f"[{target.name}]MaskLabelTarget={wanted!r}: no such target or output",
                     hint="known: " + ", ".join([e["section"] for _, e in entries] + names))


def make_evaluator(graph: Graph, index: int, target: Target, *, loss: str | None = None,
                   labels_mapping=None, label_names=None) -> Evaluator:
    """The Evaluator of output ``index``; refuses what cannot work before any run."""
    from ..runtime.losses import get_loss
    from ..runtime.targets import LabelsMapping, read_label_names
    if target.top_n < 1:
        raise UsageError(f"TopN={target.top_n}: must be at least 1")
    mapping_path = labels_mapping or target.labels_mapping
    mapping = LabelsMapping.read(mapping_path) if mapping_path else None
    if isinstance(label_names, (str, bytes)) or hasattr(label_names, "__fspath__"):
        label_names = read_label_names(label_names)
    shape = graph.outputs[index].shape
    outputs = shape[1] if len(shape) >= 2 else 1
    chosen_loss = get_loss(loss) if loss else None
    if outputs > 1 and target.top_n > outputs:
        raise UsageError(f"[{target.name}]TopN={target.top_n} exceeds the {outputs} outputs")
    if chosen_loss is not None and chosen_loss.kind.reads == "gaussian":
        raise UsageError(f"loss '{chosen_loss.name}' compares two distributions; it does not "
                         f"score a network's output against labels")
    return Evaluator(target, outputs=outputs, activation=output_activation(graph, index),
                     loss=chosen_loss, mapping=mapping,
                     label_names=list(label_names) if label_names is not None else None)
