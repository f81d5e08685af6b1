"""The C-family emitter: renders a lowered Program as C (this class) or a dialect (subclasses).

A target subclasses ``CEmitter`` and overrides only what differs, in the way
tinygrad's C-style renderers do:

* spelling (``spelling.py`` + the macros of ``spelling.j2``): ``restrict``,
  ``const_int``, ``align``, ``parallel_for``, activations, scalar functions,
  the requantize function;
* where kernels come from: ``template_dirs`` is searched first to last, so a
  target's ``<kernel>.j2`` shadows the generic one and the rest fall back
  (each directory is also reachable as ``<dir name>/<template>``, so a target's
  file template can ``{% extends "generic/files/network.c.j2" %}``);
* how a kernel is prepared (``prepare.py``): ``prepare_<kernel>(call, layer)``
  returns the template name and its context (loop nests, tables, weights in the
  layout that template wants); a target overrides the method next to its template;
* how its kernels walk memory: ``MEMORY_TRAITS`` (template -> trait, see
  ``kernel_memory``);
* which files make the project: ``file_templates``.

This module holds what every target shares: symbols and constants, pointers into
the planned arena, memory planning of the prepared calls, and rendering.  Every
kernel template defines ``body(k)`` (the statements of one call) and may define
``support()`` (file-scope helpers emitted once per output when the kernel is used).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import ClassVar

import jinja2
import numpy as np

from ...errors import InternalError
from ...ir.names import unique_name
from . import io_types
from .buffers import ArenaPlacement, BufferPlan, BufferRequest, make_plan
from .context import ConstArray, Ctx, Operand, Pointer
from .formatting import c_const_definition, c_float, reindent
from .kernel_memory import NONE, KernelMemory
from .kernels import KERNELS
from .prepare import GenericKernels
from .program import KernelCall, Layer, Program, c_identifier
from .program_verify import verify_program
from .spelling import CSpelling
from .views import Storage, View

GENERIC_TEMPLATES = Path(__file__).parent / "templates" / "generic"


class CEmitter(CSpelling, GenericKernels):
    target: ClassVar[str] = "c"
    template_dirs: ClassVar[tuple[Path, ...]] = (GENERIC_TEMPLATES,)
    # output file -> template that renders it
    file_templates: ClassVar[dict[str, str]] = {
        "network.h": "files/network.h.j2",
        "network.c": "files/network.c.j2",
        "weights.h": "files/weights.h.j2",
        "weights.c": "files/weights.c.j2",
        "n2d2c_support.h": "files/support.h.j2",
        "main.c": "files/main.c.j2",
        "Makefile": "files/Makefile.j2",
    }
    # files whose layout comes from brace depth (templates need not indent kernels)
    reindented_files: ClassVar[tuple[str, ...]] = ("network.c",)
    language: ClassVar[str] = "c"
    # The generated Makefile's default compiler and the flags it always passes.
    compiler: ClassVar[str] = "cc"
    compiler_flags: ClassVar[tuple[str, ...]] = ("-std=c99", "-Wall", "-Wextra", "-pedantic")
    # below this many multiply-adds (or elements), a loop is not worth parallelising
    parallel_threshold: ClassVar[int] = 1 << 18

    def __init__(self, program: Program, *, plan: BufferPlan | str | None = None):
        self.program = program
        self.plan = make_plan(plan, self.alignment)
        self.consts: list[ConstArray] = []
        self._const_symbols: dict[str, str] = {}
        self._symbols: set[str] = set()
        self._supports: list[str] = []
        self.placement: ArenaPlacement | None = None
        self.requests: list[BufferRequest] = []
        self.layer_code: list[tuple[Layer, str]] = []
        self._scratch: list[tuple[int, Storage]] = []   # (id of the kernel call, storage)
        self._decls: dict[str, list[str]] = {}
        # Set by prepare_all: per layer, the (template, context) of each of its calls.
        self.prepared: list[tuple[Layer, list[tuple[str, Ctx]]]] | None = None
        # Bytes per activation element when planning for reports only (None: real sizes).
        self.memory_itemsize: int | None = None
        self._current_call: KernelCall | None = None
        self._aliased = False   # the call being rendered reads and writes overlapping bytes

    # -- templates ---------------------------------------------------------------
    @functools.cached_property
    def env(self) -> jinja2.Environment:
        env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(
                [jinja2.FileSystemLoader(str(d)) for d in self.template_dirs]
                + [jinja2.PrefixLoader({d.name: jinja2.FileSystemLoader(str(d))
                                        for d in self.template_dirs})]),
            undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
            trim_blocks=True, lstrip_blocks=True, autoescape=False)
        env.globals["e"] = self
        env.filters["cfloat"] = c_float
        return env

    def template(self, name: str) -> jinja2.Template:
        return self.env.get_template(name)

    def kernel_template(self, kernel: str) -> jinja2.Template:
        return self.template(f"{kernel}.j2")

    # -- symbols and memory ------------------------------------------------------------
    def symbol(self, base: str) -> str:
        return unique_name(c_identifier(base), self._symbols)

    def add_const(self, base: str, data: np.ndarray, comment: str = "",
                  ctype: str | None = None) -> str:
        """Emit ``data`` as a const array in the weights file; returns its symbol, named
        like the API (``api_name``: prefixed by the network in C, where two networks of
        one firmware would otherwise both define ``w_conv1``)."""
        symbol = self.symbol(self.api_name(base))
        data = np.ascontiguousarray(data)
        if ctype is None:
            ctype = self.ctype(data.dtype.name if data.dtype.kind in "iu" else "float32")
        self.consts.append(ConstArray(symbol, data, ctype, comment))
        return symbol

    def const_symbol(self, storage_name: str) -> str:
        """Symbol of a data constant of the program (emitted on first use)."""
        if storage_name not in self._const_symbols:
            data = self.program.consts[storage_name]
            self._const_symbols[storage_name] = self.add_const(
                storage_name, data, f"shape {list(data.shape)}", self.ctype(data.dtype.name))
        return self._const_symbols[storage_name]

    def arena_offset(self, view: View) -> int:
        """Offset of a view's first element, in elements of the arena's declared type."""
        if self.placement is None:
            raise InternalError("arena offsets are known only once memory is planned")
        if view.storage.name not in self.placement.regions:
            raise InternalError(f"buffer '{view.storage.name}' has no region in the arena")
        region = self.placement.region(view.storage.name)
        if self.byte_arena:
            return region.offset + view.offset * view.storage.itemsize
        return region.offset // 4 + view.offset

    def pointer(self, view: View) -> Pointer:
        """The address of a view's first element (rendered once the arena is planned)."""
        if view.storage.kind == "const":
            self.const_symbol(view.storage.name)     # emit the constant now, in use order
        return Pointer(self, view)

    def scratch(self, layer: Layer, name: str, size: int, dtype: str = "float32") -> View:
        """A temporary arena buffer of ``size`` elements, live only while the kernel call
        being prepared runs (planned into the arena like every other buffer)."""
        storage = Storage("arena", f"{layer.name}__{name}", int(size), dtype=dtype)
        self._scratch.append((id(self._current_call), storage))
        return View.dense(storage, (int(size),))

    def pointer_expr(self, view: View) -> str:
        st = view.storage
        if st.kind == "arena" and st.name in self.placement.external:
            base = self.external_symbol(st.name)
            return base if view.offset == 0 else f"{base} + {view.offset}"
        if st.kind == "arena":
            if self.byte_arena:
                return self.cast_ptr(self.ctype(st.dtype), f"arena + {self.arena_offset(view)}")
            return f"arena + {self.arena_offset(view)}"
        if st.kind == "const":
            base = self.const_symbol(st.name)
        elif st.kind in ("input", "output"):
            base = io_types.io_pointer(self, st)
        else:
            raise InternalError(f"unknown storage {st}")
        return base if view.offset == 0 else f"{base} + {view.offset}"

    def operand(self, name: str, view: View) -> Operand:
        return Operand(name, self.pointer(view), view)

    def const_data(self, view: View) -> np.ndarray | None:
        """The logical array behind a view of a constant (strides applied), else None."""
        if view.storage.kind != "const":
            return None
        flat = self.program.consts[view.storage.name].ravel()
        idx = np.full(view.shape, view.offset, dtype=np.int64)
        for axis, stride in enumerate(view.strides):
            shape = [1] * view.rank
            shape[axis] = view.shape[axis]
            idx = idx + (np.arange(view.shape[axis]) * stride).reshape(shape)
        return flat[idx]

    # -- layers ------------------------------------------------------------------------
    def api_name(self, name: str) -> str:
        """A function of the generated API: prefixed by the network's name in C."""
        return f"{self.c_name}_{name}"

    def comment(self, layer: Layer) -> str:
        return f"{layer.name}: {layer.comment}".replace("\n", " ")

    def const_definition(self, const: ConstArray) -> str:
        """A constant array's definition (weights file): its bytes in string literals, in a
        union with the typed array, and the pointer the kernels read (see formatting.py)."""
        storage = f"{const.symbol}_bytes"
        while storage in self._symbols:  # file-local, but must not shadow another constant
            storage += "_"
        return c_const_definition(const.symbol, storage, const.ctype, const.data, self.align(),
                                  rows=self.language == "c")

    def layer_symbol(self, layer: Layer) -> str:
        return f"layer_{layer.name}" if layer.kind == "op" else layer.name

    def layer_params(self, layer: Layer) -> str:
        if layer.kind == "load":
            return f"const {self.api_element}* const* inputs"
        if layer.kind == "store":
            return f"{self.api_element}* const* outputs"
        return "void"

    @property
    def api_element(self) -> str:
        """What run()'s pointer arrays point to: float, or void with typed inputs/outputs."""
        return io_types.api_element(self)

    def io_ctype(self, value) -> str:
        """The C element type of a graph input or output."""
        return self.ctype(io_types.storage_dtype_name(io_types.io_dtype(value)))

    def io_comment(self, value) -> str:
        return io_types.describe_io(self, value)

    @property
    def half_helpers(self) -> str:
        """The float16 conversion functions, when the network stores float16 at all."""
        return io_types.HALF_HELPERS if io_types.uses_float16(self.program) else ""

    def npy_descr(self, value) -> str:
        return io_types.NPY_DESCR[io_types.io_dtype(value)]

    def io_itemsize(self, value) -> int:
        return value.type.dtype.itemsize

    def io_to_double(self, value, x: str) -> str:
        return io_types.to_double(value, x)

    def layer_args(self, layer: Layer) -> str:
        return {"load": "inputs", "store": "outputs"}.get(layer.kind, "")

    def plan_memory(self) -> ArenaPlacement:
        """Describe every arena buffer (lifetime in kernel-call steps, sharing its kernels
        allow: see memory.py), place them with the plan and validate the placement."""
        from .memory import ProblemBuilder

        if self.prepared is None:
            self.prepare_all()
        self.requests = ProblemBuilder(self, self.memory_itemsize).requests()
        placement = self.plan.place(self.requests)
        placement.check(self.requests)
        # The placed program's invariant: every buffer a call touches has its region.
        verify_program(self.program, placement, itemsize=self.memory_itemsize)
        return placement

    # Template -> how its kernel walks memory (kernel_memory.KernelMemory), or a function
    # of the prepared (call, ctx) giving it.  The generic templates are named like their
    # kernels and take the trait the kernel table declares (kernels.py); a target adds its
    # own templates.  Absent templates share nothing.
    MEMORY_TRAITS: ClassVar[dict[str, object]] = {
        name: spec.generic_memory() for name, spec in KERNELS.items() if spec.memory != "none"}

    def kernel_memory(self, call: KernelCall, template: str, ctx: Ctx) -> KernelMemory:
        """How a prepared call walks memory, from the class's ``MEMORY_TRAITS``."""
        trait = self.MEMORY_TRAITS.get(template, NONE)
        return trait(call, ctx) if callable(trait) else trait

    def prepare_call(self, layer: Layer, call: KernelCall) -> tuple[str, Ctx]:
        prepare = getattr(self, f"prepare_{call.kernel}", None)
        if prepare is None:
            raise InternalError(f"target '{self.target}' has no kernel '{call.kernel}'")
        self._current_call = call
        try:
            return prepare(call, layer)
        finally:
            self._current_call = None

    def prepare_all(self) -> None:
        """Prepare every kernel call (kernel choice, constants, scratch buffers)."""
        self.prepared = [(layer, [self.prepare_call(layer, call) for call in layer.calls])
                         for layer in self.program.layers]

    def call_aliases(self, call: KernelCall) -> bool:
        """Does the plan make bytes this call writes (its outputs, its scratch) share memory
        with other bytes it reads (its inputs, its scratch)?"""
        regions = self.placement.regions
        scratch = [st.name for cid, st in self._scratch if cid == id(call)]
        reads = [v.storage.name for v in call.reads.values() if v is not None] + scratch
        writes = [v.storage.name for v in call.writes.values()] + scratch
        spans = {n: regions[n] for n in set(reads + writes) if n in regions}
        for w in writes:
            for r in reads:
                if w != r and w in spans and r in spans and spans[w].nbytes and spans[r].nbytes \
                        and spans[w].offset < spans[r].end and spans[r].offset < spans[w].end:
                    return True
        return False

    def render_call(self, layer: Layer, template_name: str, ctx: Ctx) -> str:
        module = self.kernel_template(template_name).module
        if hasattr(module, "support") and template_name not in self._supports:
            self._supports.append(template_name)
        if hasattr(module, "decls"):
            self._decls.setdefault(layer.name, []).append(str(module.decls(ctx)))
        if ctx.get("requant_decl"):
            # The requantize function of a rescale or of a fused epilogue (see requantizer).
            self._decls.setdefault(layer.name, []).append(ctx.requant_decl)
        return str(module.body(ctx))

    def render_layers(self) -> None:
        """Prepare every kernel call, place the buffers (scratch included), then render.

        A call whose buffers the plan overlaps renders with ``ctx.aliased`` set (templates
        then keep the access order the planner relied on) and without ``restrict``."""
        if self.prepared is None:
            self.prepare_all()
        if self.placement is None:
            self.placement = self.plan_memory()
        self.layer_code = []
        for layer, calls in self.prepared:
            parts = []
            for call, (name, ctx) in zip(layer.calls, calls):
                self._aliased = self.call_aliases(call)
                if self._aliased and not self.kernel_memory(call, name, ctx).may_alias:
                    raise InternalError(f"{layer.name}: the buffer plan overlaps the operands "
                                        f"of kernel '{name}', whose access order allows no "
                                        "sharing")
                ctx["aliased"] = self._aliased
                try:
                    parts.append(f"{{\n{self.render_call(layer, name, ctx)}\n}}")
                finally:
                    self._aliased = False
            self.layer_code.append((layer, "\n".join(parts)))

    def decls(self, layer: Layer) -> str:
        """File-scope declarations a layer's kernels need (e.g. compile-time shape structs)."""
        return "\n".join(self._decls.get(layer.name, []))

    def support_code(self) -> str:
        return "\n".join(str(self.kernel_template(name).module.support())
                         for name in self._supports)

    @property
    def code_layers(self) -> list[tuple[Layer, str]]:
        """Layers that have code (aliases such as Reshape have none)."""
        return [(layer, code) for layer, code in self.layer_code if code]

    def plan_description(self) -> str:
        """How the plan was made, for the generated code's header comment."""
        plan = self.placement.plan if self.placement is not None else None
        if plan is None:
            return ""
        return (f": strategy {plan.strategy}, lower bound {plan.lower_bound} bytes"
                + (" (reached)" if plan.arena_size <= plan.lower_bound else ""))

    def arena_elements(self) -> int:
        return -(-self.arena_bytes_declared // np.dtype(np.float32).itemsize)

    def render_files(self) -> dict[str, str]:
        """Every generated file: name -> text."""
        self.render_layers()
        files = {}
        # Weights last: rendering the network registers the constants it uses.
        names = sorted(self.file_templates, key=lambda n: n.startswith("weights"))
        for out_name in names:
            text = self.template(self.file_templates[out_name]).render(p=self.program)
            files[out_name] = reindent(text) if out_name in self.reindented_files else text
        return dict(sorted(files.items()))


__all__ = ["CEmitter", "ConstArray", "Ctx", "GENERIC_TEMPLATES", "Operand", "Pointer"]
