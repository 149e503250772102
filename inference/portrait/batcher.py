"""RequestBatcher: gathers compatible portrait requests into one GPU batch.

    batcher = RequestBatcher(pipeline, max_batch_size=4, timeout=0.5)
    ticket = batcher.submit(request, on_progress=...)
    result = ticket.result()        # blocks; ticket.cancel() drops it, even mid-run (between steps)

After the first request of a batch arrives, the batcher waits up to `timeout` seconds for more with the
same batch key (size, steps, guidance, detailing settings), or until it has `max_batch_size` of them,
then runs them through the pipeline together. Requests with other keys wait for a later batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from inference.portrait.pipeline import (
    PortraitPipeline,
    PortraitRequest,
    PortraitResult,
    ProgressHandler,
    RequestProgress,
)

logger = logging.getLogger("narcis.inference.portrait.batcher")


class Ticket:
    """One submitted request: its result when done, and a way to cancel it."""

    def __init__(
        self,
        request: PortraitRequest,
        on_progress: ProgressHandler | None,
        on_cancel: Callable[[Ticket], None],
    ):
        self.request = request
        self.on_progress = on_progress
        self._on_cancel = on_cancel
        self.submitted_at = time.monotonic()
        self.cancelled = False
        self._done = threading.Event()
        self._result: PortraitResult | None = None

    def cancel(self) -> None:
        """Queued: answered "canceled" at once. Running: leaves its batch at the next step."""
        self.cancelled = True
        self._on_cancel(self)

    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the result is in, waiting up to `timeout` seconds for it."""
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> PortraitResult:
        if not self._done.wait(timeout):
            raise TimeoutError(f"request {self.request.request_id} is not finished")
        return self._result

    def _finish(self, result: PortraitResult) -> None:
        self._result = result
        self._done.set()


class RequestBatcher:
    def __init__(
        self,
        pipeline: PortraitPipeline,
        *,
        max_batch_size: int = 4,
        timeout: float = 0.5,
        after_batch: Callable[[], None] | None = None,
    ):
        """`after_batch` runs in the batcher's thread after each batch (e.g. to close the database
        connection that progress callbacks opened there)."""
        if max_batch_size < 1:
            raise ValueError("max_batch_size must be at least 1")
        self.pipeline = pipeline
        self.after_batch = after_batch
        self.max_batch_size = max_batch_size
        self.timeout = timeout
        self._queue: list[Ticket] = []
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="request-batcher", daemon=True)
        self._thread.start()

    def submit(self, request: PortraitRequest, on_progress: ProgressHandler | None = None) -> Ticket:
        return self.submit_many([request], on_progress)[0]

    def submit_many(
        self, requests: list[PortraitRequest], on_progress: ProgressHandler | None = None
    ) -> list[Ticket]:
        """Queue requests together: the batcher sees all of them at once (a worker's claimed batch)."""
        tickets = [Ticket(request, on_progress, self._cancel_queued) for request in requests]
        with self._changed:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            self._queue.extend(tickets)
            self._changed.notify_all()
        return tickets

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _cancel_queued(self, ticket: Ticket) -> None:
        with self._changed:
            if ticket in self._queue:
                self._queue.remove(ticket)
                ticket._finish(_canceled(ticket.request))
            self._changed.notify_all()

    def close(self, timeout: float | None = None) -> None:
        """Finish the batch in flight, cancel what is still queued, stop the worker thread."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        self._thread.join(timeout)

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._run(batch)
            except Exception as error:  # noqa: BLE001 - the thread must outlive any one batch
                logger.exception("portrait batch broke the batcher", extra={"requests": len(batch)})
                for ticket in batch:
                    if not ticket.done():
                        ticket._finish(_failed(ticket.request, error))

    def _next_batch(self) -> list[Ticket] | None:
        with self._changed:
            while True:
                self._drop_cancelled()
                if self._closed:
                    for ticket in self._queue:
                        ticket._finish(_canceled(ticket.request))
                    self._queue.clear()
                    return None
                if not self._queue:
                    self._changed.wait()
                    continue
                key = self._queue[0].request.params.batch_key()
                compatible = [t for t in self._queue if t.request.params.batch_key() == key]
                remaining = self._queue[0].submitted_at + self.timeout - time.monotonic()
                if len(compatible) >= self.max_batch_size or remaining <= 0:
                    batch = compatible[: self.max_batch_size]
                    self._queue = [t for t in self._queue if t not in batch]
                    return batch
                self._changed.wait(remaining)

    def _drop_cancelled(self) -> None:
        for ticket in [t for t in self._queue if t.cancelled]:
            self._queue.remove(ticket)
            ticket._finish(_canceled(ticket.request))

    def _run(self, batch: list[Ticket]) -> None:
        by_id = {t.request.request_id: t for t in batch}

        def dispatch(progress: RequestProgress) -> None:
            ticket = by_id[progress.request_id]
            if ticket.on_progress is not None:
                ticket.on_progress(progress)

        try:
            results = self.pipeline.run(
                [t.request for t in batch],
                on_progress=dispatch,
                is_cancelled=lambda request_id: by_id[request_id].cancelled,
            )
            if [r.request_id for r in results] != [t.request.request_id for t in batch]:
                raise RuntimeError(f"the pipeline answered {len(results)} of {len(batch)} requests")
        except Exception as error:  # noqa: BLE001 - every caller must get an answer, whatever broke
            logger.exception("portrait batch failed", extra={"requests": list(by_id)})
            results = [_failed(t.request, error) for t in batch]
        if self.after_batch is not None:
            try:
                self.after_batch()
            except Exception:  # noqa: BLE001 - housekeeping must not keep results from their callers
                logger.exception("after_batch failed")
        for ticket, result in zip(batch, results, strict=True):
            ticket._finish(result)


def _canceled(request: PortraitRequest) -> PortraitResult:
    return PortraitResult.for_request(request, status="canceled")


def _failed(request: PortraitRequest, error: Exception) -> PortraitResult:
    result = PortraitResult.for_request(request)
    result.error = "Something went wrong while painting your portrait. Please try again."
    result.error_code = "internal_error"
    result.notes.append(f"{type(error).__name__}: {error}")
    return result
