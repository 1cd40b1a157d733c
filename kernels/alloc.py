"""Named scratch allocation with reuse.

Scratch is the machine's register file: a kernel names every word range it
uses so trace viewers can show ``val[3]`` instead of ``S[517]``.  Ranges can be
freed (explicitly or by leaving a ``scope``) and their words reused; the
symbol table keeps every name ever allocated, with its address and width.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from pymodel.program import ProgramError


class AllocationError(ProgramError):
    """Scratch is full, a name is reused, or a free does not match an allocation."""


class ScratchAllocator:
    """First-fit allocator over ``size`` scratch words."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._free: list[tuple[int, int]] = [(0, size)]  # sorted, coalesced [start, end)
        self._live: dict[int, tuple[str, int]] = {}  # addr -> (name, width)
        self._scopes: list[list[int]] = []
        self._used_ever = bytearray(size)
        self.symbols: dict[str, tuple[int, int]] = {}  # every name ever allocated
        self.high_water = 0

    def alloc(self, name: str, width: int = 1, *, scoped: bool = True, fresh: bool = False) -> int:
        """First fit.  ``scoped=False``: the words outlive the enclosing ``scope``.
        ``fresh``: only words never allocated before (a constant loaded early, at
        a pool anchor, must not share a word with code that ran before its request)."""
        if width < 1:
            raise AllocationError(f"scratch {name!r}: width must be at least 1, got {width}")
        if name in self.symbols:
            raise AllocationError(f"scratch name {name!r} is already used (names must be unique)")
        start = self._find(width, fresh)
        if start is None:
            kind = "never-used " if fresh else ""
            raise AllocationError(
                f"out of scratch allocating {name!r} ({width} {kind}words): {self.words_live} of {self.size} words "
                f"live, largest free range {self.largest_free}"
            )
        self._take(start, width)
        self._live[start] = (name, width)
        self.symbols[name] = (start, width)
        self.high_water = max(self.high_water, start + width)
        self._used_ever[start : start + width] = b"\x01" * width
        if scoped and self._scopes:
            self._scopes[-1].append(start)
        return start

    def _find(self, width: int, fresh: bool) -> int | None:
        for start, end in self._free:
            if not fresh:
                if end - start >= width:
                    return start
                continue
            run = 0
            for addr in range(start, end):
                run = 0 if self._used_ever[addr] else run + 1
                if run == width:
                    return addr - width + 1
        return None

    def _take(self, start: int, width: int) -> None:
        for i, (s, e) in enumerate(self._free):
            if s <= start and start + width <= e:
                pieces = [(s, start), (start + width, e)]
                self._free[i : i + 1] = [(a, b) for a, b in pieces if b > a]
                return
        raise AssertionError("allocated words must be free")

    def free(self, addr: int) -> None:
        if addr not in self._live:
            raise AllocationError(f"free of scratch address {addr}, which is not the start of a live allocation")
        _name, width = self._live.pop(addr)
        self._insert_free(addr, addr + width)

    def _insert_free(self, start: int, end: int) -> None:
        free = self._free
        i = 0
        while i < len(free) and free[i][0] < start:
            i += 1
        free.insert(i, (start, end))
        # Coalesce with the neighbours so large vectors can reuse freed words.
        if i + 1 < len(free) and free[i][1] == free[i + 1][0]:
            free[i] = (free[i][0], free[i + 1][1])
            del free[i + 1]
        if i > 0 and free[i - 1][1] == free[i][0]:
            free[i - 1] = (free[i - 1][0], free[i][1])
            del free[i]

    @contextmanager
    def scope(self) -> Iterator[None]:
        """Everything allocated inside the ``with`` block is freed at its end."""
        self._scopes.append([])
        try:
            yield
        finally:
            for addr in reversed(self._scopes.pop()):
                if addr in self._live:  # may have been freed explicitly already
                    self.free(addr)

    @property
    def largest_free(self) -> int:
        return max((e - s for s, e in self._free), default=0)

    @property
    def words_live(self) -> int:
        return sum(w for _n, w in self._live.values())

    @property
    def words_free(self) -> int:
        return self.size - self.words_live
