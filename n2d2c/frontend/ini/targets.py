"""``[<cell>.Target<suffix>]`` sections: what the network's outputs mean.

A target section (a section without ``Input=``) names the cell it reads (``[softmax.Target]``,
``[Conv__252:0.Target-Top5]``, ``[post.Transformation-thres.Target-face]``).
Each becomes a description in ``graph.metadata["targets"][<value name>]`` (a
list: a cell may have several targets), and its cell becomes a graph output:

    {"section": "softmax.Target", "type": "TargetScore", "cell": "softmax",
     "labels_mapping": "/abs/path/labels.dat" or None,
     "labels_mapping_exists": True, "top_n": 1,
     "properties": {"TopN": "5", ...}, "location": "file:line:col"}

``Type`` defaults to ``TargetScore`` (N2D2's classification target).  The
``LabelsMapping`` file is resolved with the INI path confinement; a missing file
is a warning (the labels are only needed to print results), a path outside the
allowed folders is an error.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...errors import InputError
from .props import LayerProps

if TYPE_CHECKING:
    from .network import NetworkBuilder

MARK = ".Target"


def target_cell(section: str) -> str | None:
    """The cell a target section reads, or None if ``section`` is not a target."""
    cell, mark, suffix = section.rpartition(MARK)
    if not mark or not cell or "." in suffix:
        return None
    return cell


def collect_targets(builder: "NetworkBuilder") -> dict[str, list[dict]]:
    doc = builder.doc
    targets: dict[str, list[dict]] = {}
    for section in doc:
        cell = target_cell(section.name)
        if cell is None or section.is_template_instance or "Input" in section.properties:
            continue
        value = builder.cells.get(cell)
        if value is None:
            raise InputError(f"target section [{section.name}] reads cell '{cell}', which the "
                             f"network does not have", location=section.location)
        props = LayerProps(doc, section.name, builder.resolver)
        properties = {k: props.text(k) for k in section.keys()}
        entry = {"section": section.name, "cell": cell,
                 "type": props.str("Type", "TargetScore"),
                 "labels_mapping": None, "labels_mapping_exists": None,
                 "top_n": props.positive("TopN", 1),
                 "properties": properties, "location": str(section.location)}
        if "LabelsMapping" in props:
            path = doc.resolve_file(props.owner["LabelsMapping"], "LabelsMapping",
                                    resolver=builder.resolver, must_exist=False)
            entry["labels_mapping"] = str(path)
            entry["labels_mapping_exists"] = path.is_file()
            if not path.is_file():
                builder.warn(props.where("LabelsMapping"),
                             f"[{section.name}]LabelsMapping: file '{path}' does not exist")
        for key in ("RP", "Anchor", "ROIsLabelTarget", "MaskLabelTarget"):
            if key in props:
                entry.setdefault("links", {})[key] = props.text(key)
        targets.setdefault(value.name, []).append(entry)
        builder.target_values.append(value)
    return targets

