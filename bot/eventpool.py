"""A bounded pool that processes webhook events off the request thread, in order per sender.

Each event goes to one of N lanes chosen by a stable hash of its sender, and every lane is
one thread working through its own bounded queue: the events of one resident run one after
the other in the order they were handed over, while different residents run side by side.
A full lane makes the request that hands over wait (back-pressure) instead of growing
without bound. The pool is per process; events recorded but not yet processed when the
process dies stay pending in the database and are picked up by the recovery sweep.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import zlib
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_STOP = object()


class EventPool:
    """N ordered lanes of work; `work(items)` runs on the lane of their key.

    A lane hands `work` what has queued up on it, up to `batch` items at a time, in order:
    one item when the pool keeps up, more under load (so the work can share a transaction).
    """

    def __init__(self, work: Callable[[list[Any]], None], lanes: int, depth: int,
                 batch: int = 1, name: str = "webhook") -> None:
        if lanes < 1 or depth < 1 or batch < 1:
            raise ValueError("an event pool needs at least one lane of depth one")
        self._work = work
        self._batch = batch
        self._queues = [queue.Queue(maxsize=depth) for _ in range(lanes)]
        self._busy = 0
        self._idle = threading.Condition()
        self._threads = [threading.Thread(target=self._run, args=(q,), daemon=True,
                                          name=f"{name}-lane-{i}")
                         for i, q in enumerate(self._queues)]
        for thread in self._threads:
            thread.start()

    def lane(self, key: str | None) -> int:
        """Return the lane of a key: stable across calls and processes."""
        return zlib.crc32((key or "").encode()) % len(self._queues)

    def submit(self, key: str | None, item: Any) -> None:
        """Queue an item on its key's lane; waits while that lane is full."""
        with self._idle:
            self._busy += 1
        self._queues[self.lane(key)].put(item)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every submitted item has run; False when the timeout came first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._busy:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def shutdown(self, timeout: float = 10.0) -> None:
        """Finish what is queued, then stop the lanes."""
        for q in self._queues:
            q.put(_STOP)
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, lane: queue.Queue) -> None:
        stopping = False
        while not stopping:
            items = [lane.get()]
            while len(items) < self._batch:
                try:
                    items.append(lane.get_nowait())
                except queue.Empty:
                    break
            if items[-1] is _STOP:
                items.pop()
                stopping = True
            if not items:
                continue
            try:
                self._work(items)
            except Exception:  # the work keeps its own records; a lane must never die
                log.exception("webhook pool: processing failed outside the event pipeline")
            finally:
                with self._idle:
                    self._busy -= len(items)
                    if not self._busy:
                        self._idle.notify_all()
