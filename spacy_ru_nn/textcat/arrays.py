"""Vectorized numpy helpers of the text classifiers' featurizers.

An int64 key table, growing arrays, per-key caches, counting pairs and ragged gathers.
"""
from typing import Callable, Optional, Tuple

import numpy


class KeyTable:
    """Open-addressing hash table (linear probing) from int64 keys to ids 0, 1, 2, ... in the
    order the keys were added, kept at most a quarter full so that a lookup mostly reads one
    slot. A binary search over a sorted vocabulary reads ~15 scattered slots per key."""

    def __init__(self, keys: Optional[numpy.ndarray] = None) -> None:
        self.keys = numpy.zeros(0, dtype="int64")
        self._resize(8)
        if keys is not None:
            self.add(keys)

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, keys: numpy.ndarray) -> None:
        """Give new, distinct keys the next ids."""
        first_id = len(self.keys)
        self.keys = numpy.concatenate([self.keys, keys])
        if 4 * len(self.keys) > len(self._slot_ids):
            size = len(self._slot_ids)
            while 4 * len(self.keys) > size:
                size *= 2
            self._resize(size)
        else:
            self._insert(keys, numpy.arange(first_id, len(self.keys)))

    def _resize(self, size: int) -> None:
        self._mask = size - 1
        self._slot_keys = numpy.zeros(size, dtype="int64")
        self._slot_ids = numpy.full(size, -1, dtype="int64")
        self._insert(self.keys, numpy.arange(len(self.keys)))

    def _insert(self, keys: numpy.ndarray, ids: numpy.ndarray) -> None:
        slots = keys & self._mask
        pending = numpy.arange(len(keys))
        while len(pending):
            wanted = slots[pending]
            free = self._slot_ids[wanted] < 0
            # Where several keys want the same free slot the last write wins; the others
            # find it taken in the next round and move on.
            self._slot_ids[wanted[free]] = ids[pending[free]]
            placed = numpy.zeros(len(pending), dtype=bool)
            placed[free] = self._slot_ids[wanted[free]] == ids[pending[free]]
            self._slot_keys[wanted[placed]] = keys[pending[placed]]
            taken = ~free
            slots[pending[taken]] = (wanted[taken] + 1) & self._mask
            pending = pending[~placed]

    def __call__(self, keys: numpy.ndarray) -> numpy.ndarray:
        """The id of each key, -1 for keys never added."""
        slots = keys & self._mask
        ids = self._slot_ids[slots]
        found = (self._slot_keys[slots] == keys) & (ids >= 0)
        result = numpy.where(found, ids, -1)
        # Probe on while the slot is taken by another key; an empty slot ends the search.
        pending = numpy.flatnonzero(~found & (ids >= 0))
        slots = slots[pending]
        while len(pending):
            slots = (slots + 1) & self._mask
            ids = self._slot_ids[slots]
            found = (self._slot_keys[slots] == keys[pending]) & (ids >= 0)
            result[pending[found]] = ids[found]
            more = ~found & (ids >= 0)
            pending, slots = pending[more], slots[more]
        return result


class GrowingArray:
    """A numpy array that grows at the end, doubling its capacity: a vector, or rows of
    `width` values."""

    def __init__(self, dtype: str, width: Optional[int] = None) -> None:
        self._data = numpy.zeros((64,) if width is None else (64, width), dtype=dtype)
        self._size = 0

    def extend(self, values: numpy.ndarray) -> None:
        end = self._size + len(values)
        if end > len(self._data):
            shape = (max(end, 2 * len(self._data)),) + self._data.shape[1:]
            grown = numpy.zeros(shape, dtype=self._data.dtype)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = values
        self._size = end

    @property
    def values(self) -> numpy.ndarray:
        return self._data[: self._size]


def rows_adding(
    table: KeyTable,
    keys: numpy.ndarray,
    max_keys: int,
    add: Callable[[numpy.ndarray], None],
    start_over: Callable[[], KeyTable],
) -> numpy.ndarray:
    """The row of each int64 key in a cache of per-key data: the distinct keys not in `table`
    yet are given to `add` (which stores their data in row order), then added to the table.
    Past `max_keys` distinct keys, `start_over()` empties the cache and returns its new table,
    which the batch's keys fill again: a long stream of new keys costs time, never unbounded
    memory."""
    rows = table(keys)
    missing = rows < 0
    if missing.any():
        new = numpy.unique(keys[missing])
        if len(table) + len(new) > max_keys:
            table = start_over()
            new = numpy.unique(keys)
            missing = numpy.ones(len(keys), dtype=bool)
        add(new)
        table.add(new)
        rows[missing] = table(keys[missing])
    return rows


def count_pairs(
    groups: numpy.ndarray, ids: numpy.ndarray, n_ids: int
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Distinct (group, id) pairs, sorted by group then id, with how often each occurs.

    One sort of group * n_ids + id codes; each group's pairs come out in id order whatever
    the other groups are, so per-group results do not depend on the batch.
    """
    codes = groups * n_ids + ids
    codes.sort()
    first = numpy.empty(len(codes), dtype=bool)
    first[:1] = True
    numpy.not_equal(codes[1:], codes[:-1], out=first[1:])
    starts = numpy.flatnonzero(first)
    counts = numpy.diff(starts, append=len(codes))
    codes = codes[starts]
    groups = codes // n_ids
    return groups, codes - groups * n_ids, counts


def ragged_take(starts: numpy.ndarray, lengths: numpy.ndarray) -> numpy.ndarray:
    """Indices of the runs [start, start + length) one after the other."""
    total = int(lengths.sum())
    run_starts = numpy.cumsum(lengths) - lengths
    return numpy.repeat(starts - run_starts, lengths) + numpy.arange(total)


def offsets_of(groups: numpy.ndarray, n_groups: int) -> numpy.ndarray:
    """EmbeddingBag offsets of sorted group ids: where each group starts (empty ones too)."""
    sizes = numpy.bincount(groups, minlength=n_groups)
    return numpy.cumsum(sizes) - sizes


def root_sums(groups: numpy.ndarray, squares: numpy.ndarray, n_groups: int) -> numpy.ndarray:
    """Each group's root of the sum of its squares (at least 1e-12): an L2 norm. bincount adds
    a group's values in their order, so a doc's norm is the same in any batch."""
    return numpy.maximum(numpy.sqrt(numpy.bincount(groups, squares, minlength=n_groups)), 1e-12)


__all__ = ["GrowingArray", "KeyTable", "count_pairs", "offsets_of", "ragged_take", "root_sums", "rows_adding"]
