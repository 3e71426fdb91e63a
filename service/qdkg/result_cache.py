"""A worker's cache of query answers, bounded by bytes and tied to the change journal's position.

Each answer is stored under the request's key and the journal position of the store that
evaluated it (read after that store caught up with the journal, before the query ran: the answer
reflects at least every change set up to that position). A request is answered from the cache
only for its own position, taken after the worker caught up with the journal itself, so every
write accepted before the request (by any process) is reflected; once the worker has seen a
newer position, the older answers are dropped. Least recently used answers go first when the
cache is full. Safe to share between a worker's threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

from .results import Rendered

# An answer larger than this share of the cache is not kept: it would push out many others.
_LARGEST_SHARE = 8


class ResultCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max(0, int(max_bytes))
        self._entries: OrderedDict[tuple[Hashable, int], Rendered] = OrderedDict()
        self._bytes = 0
        self._position = 0  # the newest journal position the worker has asked with
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.max_bytes > 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """Bytes held (the answers' bodies)."""
        return self._bytes

    def get(self, key: Hashable, position: int) -> Rendered | None:
        """The answer stored for `key` at journal position `position`, if any."""
        with self._lock:
            if position > self._position:
                self._forget_before(position)
            found = self._entries.get((key, position))
            if found is not None:
                self._entries.move_to_end((key, position))
            return found

    def put(self, key: Hashable, position: int, rendered: Rendered) -> None:
        size = len(rendered.body)
        if size * _LARGEST_SHARE > self.max_bytes:
            return
        with self._lock:
            if position < self._position:
                return  # an answer the worker has already moved past
            old = self._entries.pop((key, position), None)
            if old is not None:
                self._bytes -= len(old.body)
            self._entries[(key, position)] = rendered
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, dropped = self._entries.popitem(last=False)
                self._bytes -= len(dropped.body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _forget_before(self, position: int) -> None:
        self._position = position
        for entry_key in [k for k in self._entries if k[1] < position]:
            self._bytes -= len(self._entries.pop(entry_key).body)
