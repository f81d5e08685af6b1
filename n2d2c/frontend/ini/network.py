"""Lowering an N2D2 INI network to an IR graph: ``load_ini_network``.

The builder

1. refuses spiking / STDP networks (``DefaultModel``/``Model`` = ``Spike*`` or
   ``Transcode*``, ``EnableStdp``, spike coding of the stimuli);
2. makes the graph input from the stimuli provider and the pre-processing
   that can run in the graph (``stimuli.py``);
3. orders the layer sections (those with ``Input=``) so that every section
   comes after its inputs (file order otherwise), and lowers each one with the
   module registered for its ``Type`` (``layers/``), then its activation;
4. turns ``*.Target*`` sections into ``graph.metadata["targets"]``;
5. makes the graph outputs: every cell nothing reads, and every cell with a
   target, in network order.

Derived values (``[conv1]_OutputsWidth``, ``_OutputsHeight``, ``_NbOutputs``)
are answered by ``resolver`` from the cells built so far, so values such as
``PoolDims=[conv5]_OutputsWidth [conv5]_OutputsHeight`` or
``$([sec]NbOutputs * 4)`` work.  Values computed from the dataset
(``[sp]_EpochSize``, ``[sp.StimuliData-x]_MeanData``...) cannot be known and
raise ``DataDependentValue`` when read (only training settings and
pre-processing use them; pre-processing then stays outside the graph).

Sections without ``Input=`` are configuration (``ConfigSection`` targets, base
sections such as ``[conv_def]``, database, transformations) and are only
recorded in ``graph.metadata``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

from ...errors import InputError, SourceLocation, UnsupportedError, VerificationError
from ...ir import Graph, Value, verify
from ...ir import ops as O
from . import load_ini
from .activations import lower_activation
from .context import LayerContext, nchw
from .document import IniDocument
from .layers import KNOWN_UNSUPPORTED, accepted_types, load_layers
from .limits import IniLimits
from .parameters import DEFAULT_MAX_PARAM_BYTES, ParameterStore
from .props import LayerProps
from .stimuli import lower_stimuli
from .targets import collect_targets, target_cell

SPIKING_MODELS = ("Spike", "Transcode")
INIT_MODES = ("fillers", "zeros")
#: property prefixes that only matter for training; recorded, never lowered
TRAINING_PREFIXES = ("Solvers.", "WeightsSolver.", "BiasSolver.", "ScaleSolver.",
                     "WeightsFiller", "BiasFiller", "QAct", "QWeight", "Quantizer",
                     "ActivationFunction.Quantization", "ActivationFunction.MovingAverage",
                     "ActivationFunction.MA_Window", "ActivationFunction.Log2Rounding",
                     "Activation.Quantizer", "BackPropagate", "DropConnect",
                     "MovingAverageMomentum", "WithLoss")
#: layer keys that never need a warning when unread
QUIET_KEYS = ("Input", "Type", "ConfigSection", "Model", "DataType", "NbOutputs",
              "ActivationFunction", "Mapping")


#: derived values N2D2 computes from the dataset (epoch size, data statistics)
DATA_DEPENDENT = ("_EpochSize", "_MeanData", "_StdDevData", "_MinData", "_MaxData")


class DataDependentValue(InputError):
    """A derived value that N2D2 computes from the dataset (epoch size, mean image...)."""

    data_dependent = True


def load_ini_network(path: str | os.PathLike, *, allow_dirs: Sequence[str | os.PathLike] = (),
                     env: Mapping[str, str] | None = None, params=None, seed: int = 0,
                     batch_size: int = 1, init: str = "fillers", limits: IniLimits | None = None,
                     max_param_bytes: int = DEFAULT_MAX_PARAM_BYTES,
                     input_size: tuple[int, int, int] | None = None,
                     default_input_size: tuple[int, int, int] | None = None) -> Graph:
    """Lower the N2D2 network described by the INI file ``path`` to a verified graph.

    ``params``: trained values (a folder of N2D2 ``.syntxt`` files, an ``.npz``
    file or a mapping; see ``parameters.py``); without it, the layers' fillers
    draw them from a generator seeded with ``seed`` (``init="zeros"`` gives zeros,
    for shape-only uses).  ``batch_size`` is the graph input's batch (the file's
    ``BatchSize`` is a training setting).  ``env`` supplies ``${VAR}`` values
    (default: the environment); files named by the INI file must be inside its
    folder or ``allow_dirs``.  ``input_size=(width, height, channels)`` replaces
    the stimuli provider's size (and stands in for a missing ``[sp]`` section);
    ``default_input_size`` only stands in for a missing section (the size of the
    data the caller will feed).
    """
    if init not in INIT_MODES:
        raise InputError(f"init must be one of {', '.join(INIT_MODES)}, got {init!r}")
    allow = [Path(d) for d in allow_dirs]
    doc = load_ini(path, env=env, allow_dirs=allow, limits=limits)
    builder = NetworkBuilder(doc, allow_dirs=allow, params=params, seed=seed, init=init,
                             max_param_bytes=max_param_bytes)
    builder.default_input_size = default_input_size
    return builder.build(batch_size, input_size)


def check_not_spiking(doc: IniDocument) -> None:
    """UnsupportedError (at the deciding line) for spiking / STDP networks."""
    def refuse(location: SourceLocation, why: str):
        raise UnsupportedError(
            f"spiking networks are not supported: {why}; n2d2c compiles frame-based "
            "networks (DefaultModel=Frame or Frame_CUDA)", location=location)

    if doc.has("", "DefaultModel"):
        model = doc.get_str("", "DefaultModel").strip()
        if model.startswith(SPIKING_MODELS):
            refuse(doc.value("", "DefaultModel").location,
                   f"DefaultModel={model} runs N2D2's spiking (event-based) simulation")
    for section in doc:
        if "Model" in section.properties and "Input" in section.properties:
            model = doc.get_str(section.name, "Model").strip()
            if model.startswith(SPIKING_MODELS):
                refuse(section.properties["Model"].location,
                       f"[{section.name}]Model={model} is a spiking cell model")
        if "EnableStdp" in section.properties:
            refuse(section.properties["EnableStdp"].location,
                   f"[{section.name}] configures STDP learning (EnableStdp)")
    sp = doc.stimuli_provider()
    if sp is not None:
        props = LayerProps(doc, sp, None)
        if "StimulusType" in props:
            refuse(props.where("StimulusType"),
                   f"[{sp}] codes its stimuli as spike trains (StimulusType)")


class NetworkBuilder:
    """State of one lowering: the graph, the cells built so far, the metadata."""

    def __init__(self, doc: IniDocument, *, allow_dirs: Sequence[Path], params, seed: int,
                 init: str, max_param_bytes: int) -> None:
        self.doc = doc
        self.allow_dirs = list(allow_dirs)
        self.seed = int(seed)
        self.init = init
        self.max_param_bytes = int(max_param_bytes)
        self.graph = Graph(_graph_name(doc.path))
        self.cells: dict[str, Value] = {}
        self.stimuli_name = ""
        self.input_size: tuple[int, int, int] | None = None
        self.default_input_size: tuple[int, int, int] | None = None
        self.store: ParameterStore | None = None
        self._params = params
        self.metadata: dict = {}
        self.preprocessing: dict = {"in_graph": [], "external": [], "ignored": []}
        self.warnings: list[str] = []
        self.layers: dict[str, dict] = {}
        self.external_names: list[str] = []
        self.inner_owner: dict[str, str] = {}
        self.target_values: list[Value] = []
        self.default_model = doc.get_str("", "DefaultModel").strip() \
            if doc.has("", "DefaultModel") else None

    # -- derived values ------------------------------------------------------------------

    def resolver(self, section: str, prop: str):
        if self.input_size is not None and section in ("sp", "env") and section not in self.doc:
            size = dict(zip(("SizeX", "SizeY", "NbChannels"), self.input_size))
            if prop in size:
                return size[prop]
        value = self.cells.get(section)
        if value is not None:
            n, c, h, w = nchw(value)
            derived = {"_OutputsWidth": w, "_OutputsHeight": h, "_NbOutputs": c,
                       "NbOutputs": c, "_NbChannels": c, "_OutputsSize": c * h * w}
            if prop in derived:
                return derived[prop]
        if prop in ("_OutputsWidth", "_OutputsHeight", "_NbOutputs", "NbOutputs") and \
                section in self.doc and section not in self.cells:
            raise InputError(f"[{section}]{prop} is read before layer [{section}] is built; "
                             "only layers that come earlier in the network have known sizes")
        if prop in DATA_DEPENDENT or prop.startswith("_GlobalValue") or ".StimuliData" in section:
            raise DataDependentValue(f"[{section}]{prop} is computed by N2D2 from the dataset "
                                     "and is not known when compiling")
        return None

    def warn(self, location: SourceLocation | str | None, message: str) -> None:
        self.warnings.append(f"{location}: {message}" if location else message)

    def register_inner(self, name: str, value: Value, section: str) -> None:
        """A tensor made inside an embedded ONNX section, readable by its ONNX name."""
        self.cells.setdefault(name, value)
        self.inner_owner.setdefault(name, section)

    # -- the build ---------------------------------------------------------------------------

    def build(self, batch_size: int, input_size: tuple[int, int, int] | None = None) -> Graph:
        doc = self.doc
        check_not_spiking(doc)
        load_layers()
        sp_value = lower_stimuli(self, batch_size, tuple(input_size) if input_size else None)
        self.cells[self.stimuli_name] = sp_value
        self.store = ParameterStore.open(self._params, doc.path, self.allow_dirs,
                                         self.max_param_bytes)

        order, inputs = self._order()
        consumed: set[int] = set()
        for name in order:
            for src in self._lower(name, inputs[name]):
                consumed.add(id(self.cells[src]))
        if not order:
            raise InputError("the file describes no layer (no section has Input=)",
                             location=str(doc.path))

        targets = collect_targets(self)
        outputs = [self.cells[name] for name in order if id(self.cells[name]) not in consumed]
        for value in self.target_values:
            outputs.append(value)
        seen: set[int] = set()
        graph = self.graph
        graph.outputs = [v for v in outputs if not (id(v) in seen or seen.add(id(v)))]
        if not graph.outputs:
            raise InputError("the network has no output", location=str(doc.path))

        if self.store is not None and self.store.arrays is not None:
            unused = sorted(set(self.store.arrays) - self.store.used)
            if unused:
                self.warn(None, f"{self.store.description}: unused arrays {', '.join(unused)}")
        self.metadata.update({
            "source_format": "n2d2-ini", "source": str(doc.path),
            "default_model": self.default_model,
            "preprocessing": self.preprocessing,
            "database": self._database(),
            "targets": targets,
            "layers": self.layers,
            "parameters": self.store.description if self.store else
            f"untrained ({self.init}, seed {self.seed})",
            "warnings": self.warnings + [f"{loc}: {msg}" for loc, msg in doc.warnings],
        })
        graph.metadata.update(self.metadata)
        verify(graph)
        return graph

    def _order(self) -> tuple[list[str], dict[str, list[str]]]:
        """Layer sections in an order where inputs come first, and their inputs."""
        doc = self.doc
        sp = self.stimuli_name
        layers = [s.name for s in doc if "Input" in s.properties and s.name != sp
                  and not s.is_template_instance]
        layer_set = set(layers)
        onnx_sections = [n for n in layers if doc.has(n, "Type")
                         and doc.get_str(n, "Type", resolver=self.resolver).strip() == "ONNX"]
        inputs: dict[str, list[str]] = {}
        deps: dict[str, set[str]] = {}
        external: list[str] = []
        for name in layers:
            names = [n.strip() for n in doc.get_list(name, "Input", resolver=self.resolver)
                     if n.strip()]
            if not names:
                raise InputError(f"[{name}]Input is empty", location=doc.value(name, "Input")
                                 .location)
            inputs[name] = names
            deps[name] = set()
            for n in names:
                if n in layer_set:
                    deps[name].add(n)
                elif n in (sp, "sp", "env"):
                    continue
                elif onnx_sections:
                    deps[name].update(s for s in onnx_sections if s != name)
                    external.append(n)
                else:
                    raise InputError(
                        f"[{name}]Input names '{n}', which is neither a layer section of the "
                        f"file nor the stimuli provider [{sp}]",
                        location=doc.value(name, "Input").location)
        for section in doc:
            cell = target_cell(section.name) if "Input" not in section.properties else None
            if cell is not None and cell not in layer_set and cell != sp:
                external.append(cell)
        self.external_names = list(dict.fromkeys(external))
        # Kahn's algorithm, taking ready sections in file order.
        order: list[str] = []
        done: set[str] = set()
        pending = list(layers)
        while pending:
            ready = [n for n in pending if deps[n] <= done]
            if not ready:
                cycle = ", ".join(f"[{n}]" for n in pending[:6])
                raise InputError(f"the sections {cycle} read each other's outputs in a cycle",
                                 location=doc.value(pending[0], "Input").location)
            first = ready[0]
            order.append(first)
            done.add(first)
            pending.remove(first)
        return order, inputs

    def _lower(self, name: str, input_names: list[str]) -> list[str]:
        """Lower one layer section; returns the cells it reads."""
        doc = self.doc
        props = LayerProps(doc, name, self.resolver, self.default_model)
        if "Type" not in props:
            raise props.error(None, "has Input= but no Type= (the layer type)")
        type_name = props.str("Type")
        layers = load_layers()
        spec = layers.get(type_name)
        if spec is None:
            if type_name in KNOWN_UNSUPPORTED:
                raise props.unsupported("Type", f"layer type {type_name} is not supported: "
                                                f"{KNOWN_UNSUPPORTED[type_name]}")
            raise props.error("Type", f"unknown layer type {type_name!r}; accepted types: "
                                      f"{', '.join(accepted_types())}")
        names = self._resolve_inputs(name, input_names)
        values = [self.cells[n] for n in names]
        ctx = LayerContext(self, name, type_name, props, names, values,
                           info={"type": type_name, "inputs": names,
                                 "location": str(props.location)})
        value = spec.lower(ctx)
        if spec.activation:
            value = lower_activation(ctx, value)
        keep_names = ctx.info.get("keep_names", False)
        if not keep_names and any(value is v for v in self.cells.values()):
            value = ctx.emit(O.Identity(), [value], "identity")
        if not keep_names:
            try:
                self.graph.rename(value, name)
            except VerificationError:
                self.warn(props.location, f"[{name}]: the value keeps the name "
                                          f"'{value.name}' ('{name}' is taken)")
            ctx.check_nb_outputs(nchw(value)[1])
        self.cells[name] = value
        n, c, h, w = nchw(value)
        ctx.info.update(shape=list(value.shape), value=value.name, outputs_width=w,
                        outputs_height=h, nb_outputs=c)
        training = {k: props.raw(k) for k in props.keys() if k.startswith(TRAINING_PREFIXES)}
        if training:
            ctx.info["training"] = training
        if props.config_names:
            ctx.info["config_sections"] = props.config_names
        own = doc.section(name).keys()
        unread = [k for k in own if k not in props.read and not k.startswith(TRAINING_PREFIXES)
                  and not k.startswith(QUIET_KEYS) and not k.startswith("$")]
        if unread:
            self.warn(props.location, f"[{name}] ({type_name}): n2d2c does not use "
                                      f"{', '.join(unread)}")
        self.layers[name] = ctx.info
        return names

    def _resolve_inputs(self, name: str, input_names: list[str]) -> list[str]:
        doc = self.doc
        sp = self.stimuli_name
        resolved = []
        for n in input_names:
            if n not in self.cells and n in ("sp", "env") and sp in self.cells:
                n = sp
            if n not in self.cells:
                raise InputError(f"[{name}]Input names '{n}', which no section nor embedded "
                                 f"ONNX model of the network produces",
                                 location=doc.value(name, "Input").location)
            resolved.append(n)
        # "Input=<onnx section>,<tensor of that section>": the section is a scope.
        scoped = {self.inner_owner[n] for n in resolved if n in self.inner_owner}
        trimmed = [n for n in resolved if n not in scoped or n in self.inner_owner]
        return trimmed or resolved

    def _database(self) -> dict | None:
        doc = self.doc
        if "database" not in doc:
            return None
        out = {}
        for name in ["database"] + doc.subsections("database"):
            section = doc.section(name)
            props = LayerProps(doc, name, self.resolver)
            out[name] = {k: props.text(k) for k in section.keys()}
        return out


def _graph_name(path: Path) -> str:
    stem = "".join(ch if ch.isalnum() or ch in "_." else "_" for ch in path.stem)
    return stem or "main"
