"""The threads of a scoring run: chunks are read and prepared ahead
(:func:`prefetch`) and written behind (:class:`InOrderWorker`) while the models run."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from varbind.genomics.variants import Record

if TYPE_CHECKING:
    from varbind.scoring.results import ChunkResult


class InOrderWorker:
    """Runs ``fn(item)`` for submitted items, in order, in one background thread.

    An exception in ``fn`` is raised in the submitting thread at the next :meth:`submit` or
    on leaving the ``with`` block; leaving the block on an exception stops the worker.
    """

    _DONE = object()

    def __init__(self, fn: Callable, depth: int = 2):
        import queue
        import threading

        self.fn = fn
        self.error: BaseException | None = None
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.thread = threading.Thread(target=self._run, name="varbind-writer", daemon=True)

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is self._DONE:
                return
            if self.error is None:
                try:
                    self.fn(item)
                except BaseException as exc:  # handed to the submitting thread
                    self.error = exc

    def submit(self, item) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(item)

    def __enter__(self) -> InOrderWorker:
        self.thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            self.error = self.error or exc  # the worker drains without writing
        self.queue.put(self._DONE)
        self.thread.join()
        if exc_type is None and self.error is not None:
            raise self.error
        return False


def prefetch(stream: Iterator[list], prepare: Callable[[list[Record]], ChunkResult],
             depth: int = 2) -> Iterator[tuple[list, ChunkResult]]:
    """Read and prepare chunks in a background thread while the caller runs the models.

    Yields ``(records as VCF text lines, prepared ChunkResult)`` in input order; the text is
    taken here, so no other thread touches cyvcf2 objects. An exception in the thread (a
    malformed record, a REF mismatch under --strict) is raised here, in order.
    """
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for cy_chunk in stream:
                lines = [str(r) for r in cy_chunk]
                if not put((lines, prepare([Record.from_cyvcf(r) for r in cy_chunk]))):
                    return
            put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    thread = threading.Thread(target=work, name="varbind-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
