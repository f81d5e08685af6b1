"""The invariants of a lowered Program, checked after lowering and after buffer placement.

A Program (program.py) is valid when:

* layers have unique names and a kind (load, op, store);
* every kernel call matches its entry of the kernel table (kernels.py): the kernel
  exists, its read and write roles and its parameters are the declared ones, and the
  kernel's own invariants hold (shapes, weights given once);
* every view a call (or ``value_views``) names is a View of a registered storage: the
  arena buffer of that name in ``program.arena``, a const whose data in
  ``program.consts`` has the storage's size and element type, or the input/output
  pointer of that index and value; calls write only arena buffers and outputs;
* every view stays inside its storage: the lowest and highest element it reaches,
  ``offset + sum((d - 1) * stride)`` over negative and positive strides, lie in
  ``[0, size)`` (an empty view reaches none);

and, once buffers are placed (``ArenaPlacement``), every arena buffer a call reads or
writes has a region (or external memory) of at least its size in bytes.

Emitters rely on these instead of re-checking them.  Every problem found is reported
at once, each naming its layer, call and storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterator

from ...errors import InternalError
from .kernels import call_problems
from .program_text import format_view
from .views import ITEMSIZE, View

if TYPE_CHECKING:  # pragma: no cover
    from .buffers import ArenaPlacement
    from .program import KernelCall, Layer, Program

LAYER_KINDS = ("load", "op", "store")
WRITABLE = ("arena", "output")
READABLE = ("arena", "const", "input")


def verify_program(program: "Program", placement: "ArenaPlacement | None" = None, *,
                   itemsize: int | None = None) -> None:
    """Raise InternalError listing every broken invariant (see the module docstring).

    ``itemsize`` is the element size the placement was planned with when it is not the
    storages' own (``CEmitter.memory_itemsize``, for memory reports)."""
    problems = program_problems(program)
    if placement is not None:
        problems += placement_problems(program, placement, itemsize=itemsize)
    if problems:
        raise InternalError(f"lowered program @{program.name} breaks {len(problems)} "
                            "invariant(s):\n  " + "\n  ".join(problems))


def program_problems(program: "Program") -> list[str]:
    problems = _registry_problems(program)
    seen: set[str] = set()
    for layer in program.layers:
        if layer.name in seen:
            problems.append(f"layer {layer.name}: name used by an earlier layer")
        seen.add(layer.name)
        if layer.kind not in LAYER_KINDS:
            problems.append(f"layer {layer.name}: kind {layer.kind!r} is not one of "
                            f"{list(LAYER_KINDS)}")
        for index, call in enumerate(layer.calls):
            where = _where(layer, index, call)
            problems += [f"{where}: {p}" for p in call_problems(call)]
            for what, views, allowed in (("read", call.reads, READABLE),
                                         ("write", call.writes, WRITABLE)):
                for role, view in views.items():
                    problems += [f"{where}: {what} '{role}': {p}"
                                 for p in _view_problems(program, view, allowed)]
    for name, view in program.value_views.items():
        problems += [f"value %{name}: {p}"
                     for p in _view_problems(program, view, READABLE + WRITABLE)]
    return problems


def placement_problems(program: "Program", placement: "ArenaPlacement", *,
                       itemsize: int | None = None) -> list[str]:
    """Arena buffers that calls use but the placement gives no (or too little) memory."""
    problems = []
    for storage, where in _used_arena_storages(program):
        nbytes = storage.size * (itemsize or storage.itemsize)
        if storage.name in placement.external:
            given, what = placement.external[storage.name], "external memory"
        elif storage.name in placement.regions:
            given, what = placement.regions[storage.name].nbytes, "region"
        else:
            problems.append(f"{where}: arena buffer %{storage.name} has no region in the "
                            "placement")
            continue
        if given < nbytes:
            problems.append(f"{where}: arena buffer %{storage.name} needs {nbytes} bytes, "
                            f"its {what} has {given}")
    return problems


def _where(layer: "Layer", index: int, call: "KernelCall") -> str:
    return f"layer {layer.name}, call {index} ({call.kernel})"


def _used_arena_storages(program: "Program") -> Iterator[tuple[object, str]]:
    """Each arena storage a call reads or writes, with the first call that does."""
    seen = set()
    for layer in program.layers:
        for index, call in enumerate(layer.calls):
            for view in (*call.reads.values(), *call.writes.values()):
                storage = getattr(view, "storage", None)
                if storage is not None and storage.kind == "arena" and storage.name not in seen:
                    seen.add(storage.name)
                    yield storage, _where(layer, index, call)


def _registry_problems(program: "Program") -> list[str]:
    problems = []
    for name, storage in program.arena.items():
        if storage.name != name or storage.kind != "arena":
            problems.append(f"arena entry '{name}' holds {storage!r}")
        if storage.dtype not in ITEMSIZE:
            problems.append(f"arena buffer %{name}: element type {storage.dtype!r}")
    for name, data in program.consts.items():
        if data.dtype.name not in ITEMSIZE:
            problems.append(f"const ${name}: element type {data.dtype.name!r}")
    return problems


def _view_problems(program: "Program", view: View, allowed: tuple[str, ...]) -> list[str]:
    if not isinstance(view, View):
        return [f"{view!r} is not a View"]
    problems = []
    storage = view.storage
    if storage.kind not in allowed:
        problems.append(f"{format_view(view)}: storage kind '{storage.kind}' (accepted here: "
                        f"{', '.join(allowed)})")
    registered = _registered(program, storage)
    if registered:
        problems.append(f"{format_view(view)}: {registered}")
    if len(view.strides) != len(view.shape):
        return problems + [f"{format_view(view)}: {len(view.shape)} dims but "
                           f"{len(view.strides)} strides"]
    if view.size:
        low = view.offset + sum((d - 1) * s for d, s in zip(view.shape, view.strides) if s < 0)
        high = view.offset + sum((d - 1) * s for d, s in zip(view.shape, view.strides) if s > 0)
        if low < 0 or high >= storage.size:
            problems.append(f"{format_view(view)} reaches elements {low}..{high} of a "
                            f"{storage.size}-element storage")
    return problems


def _registered(program: "Program", storage) -> str:
    """Why ``storage`` is not the program's storage of that name (empty when it is)."""
    if storage.kind == "arena":
        known = program.arena.get(storage.name)
        if known is None:
            return f"arena buffer %{storage.name} is not in program.arena"
        if known != storage:
            return (f"arena buffer %{storage.name} is {storage.size}x{storage.dtype} but "
                    f"program.arena has {known.size}x{known.dtype}")
        return ""
    if storage.kind == "const":
        data = program.consts.get(storage.name)
        if data is None:
            return f"const ${storage.name} has no data in program.consts"
        if data.size != storage.size or data.dtype.name != storage.dtype:
            return (f"const ${storage.name} is {storage.size}x{storage.dtype} but its data "
                    f"is {data.size}x{data.dtype.name}")
        return ""
    if storage.kind in ("input", "output"):
        values = program.inputs if storage.kind == "input" else program.outputs
        if not 0 <= storage.index < len(values):
            return f"{storage.kind}[{storage.index}]: the program has {len(values)}"
        value = values[storage.index]
        from .program import storage_dtype  # program.py imports this module
        dtype = storage_dtype(value.type.dtype)  # the API's type of it (io_types.py)
        if value.name != storage.name or value.type.size != storage.size \
                or storage.dtype != dtype:
            return (f"{storage.kind}[{storage.index}] is '{storage.name}' "
                    f"{storage.size}x{storage.dtype}, but the {storage.kind} is %{value.name} "
                    f"{value.type.size}x{dtype}")
        return ""
    return f"unknown storage kind '{storage.kind}'"
