"""The ordered list of a graph's ops, with constant-time insert, erase and lookup.

A graph's ops are a doubly linked list.  Each op also carries an integer order
key that grows along the list, so that "which of these two ops comes first"
(the order of a value's users) is one comparison.  A new op takes a key halfway
between its neighbours; when two neighbours' keys are adjacent integers every
key is renumbered, which is rare (every key starts ``_GAP`` apart).

Iteration goes through ``snapshot()``, a tuple rebuilt only after a change, so a
pass may erase or insert ops while it walks an earlier snapshot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Iterator

if TYPE_CHECKING:
    from .graph import Operation

_GAP = 1 << 32


class _Link:
    __slots__ = ("op", "prev", "next", "key")

    def __init__(self, op: "Operation", key: int):
        self.op = op
        self.prev: _Link | None = None
        self.next: _Link | None = None
        self.key = key


class OpList:
    """Ops in program order: O(1) append/insert/remove/contains, O(n) snapshot."""

    def __init__(self, ops: Iterable["Operation"] = ()):
        # Keyed by id(op): an op class may be a dataclass with eq=True, hence unhashable.
        self._links: dict[int, _Link] = {}
        self._head: _Link | None = None
        self._tail: _Link | None = None
        self._snapshot: tuple[Operation, ...] | None = ()
        for op in ops:
            self.append(op)

    # -- queries -------------------------------------------------------------------
    def __contains__(self, op: object) -> bool:
        return id(op) in self._links

    def __len__(self) -> int:
        return len(self._links)

    def __iter__(self) -> Iterator["Operation"]:
        return iter(self.snapshot())

    def snapshot(self) -> tuple["Operation", ...]:
        """The ops in order, as a tuple that later changes do not affect."""
        if self._snapshot is None:
            ops = []
            link = self._head
            while link is not None:
                ops.append(link.op)
                link = link.next
            self._snapshot = tuple(ops)
        return self._snapshot

    def order_key(self, op: "Operation") -> int:
        """A number that is smaller for ops earlier in the list."""
        return self._links[id(op)].key

    # -- changes -------------------------------------------------------------------
    def append(self, op: "Operation") -> None:
        self._insert_between(op, self._tail, None)

    def insert_before(self, anchor: "Operation", op: "Operation") -> None:
        link = self._link(anchor)
        self._insert_between(op, link.prev, link)

    def insert_after(self, anchor: "Operation", op: "Operation") -> None:
        link = self._link(anchor)
        self._insert_between(op, link, link.next)

    def remove(self, op: "Operation") -> None:
        link = self._links.pop(id(op))
        if link.prev is None:
            self._head = link.next
        else:
            link.prev.next = link.next
        if link.next is None:
            self._tail = link.prev
        else:
            link.next.prev = link.prev
        self._snapshot = None

    # -- internals -----------------------------------------------------------------
    def _link(self, op: "Operation") -> _Link:
        try:
            return self._links[id(op)]
        except KeyError:
            raise ValueError(f"{op.label} is not in this graph") from None

    def _insert_between(self, op: "Operation", prev: _Link | None, nxt: _Link | None) -> None:
        if id(op) in self._links:
            raise ValueError(f"{op.label} is already in this graph")
        key = self._key_between(prev, nxt)
        if key is None:
            self._renumber()
            key = self._key_between(prev, nxt)
        link = _Link(op, key)
        link.prev, link.next = prev, nxt
        if prev is None:
            self._head = link
        else:
            prev.next = link
        if nxt is None:
            self._tail = link
        else:
            nxt.prev = link
        self._links[id(op)] = link
        self._snapshot = None

    @staticmethod
    def _key_between(prev: _Link | None, nxt: _Link | None) -> int | None:
        if prev is None and nxt is None:
            return 0
        if nxt is None:
            return prev.key + _GAP
        if prev is None:
            return nxt.key - _GAP
        if nxt.key - prev.key < 2:
            return None
        return (prev.key + nxt.key) // 2

    def _renumber(self) -> None:
        link, key = self._head, 0
        while link is not None:
            link.key = key
            key += _GAP
            link = link.next
