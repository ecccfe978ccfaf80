"""Work off the GUI thread, its outcome back on it: one helper for the window's background jobs.

``BackgroundJobs.run(work, on_result=..., on_error=...)`` calls ``work(token, report)`` on a
thread of its own and returns a ``Job`` at once. Exactly one of the callbacks then runs on the GUI
thread: ``on_result(value)``; ``on_error(message)`` (a ``MorphError``'s message, or "internal
error: Type: msg" for a bug, which is also logged with its traceback, never lost on the thread);
or ``on_cancelled()`` once the job's token is cancelled, even if the work finished anyway.
``report(value)`` from the work reaches ``on_progress`` on the GUI thread.

Jobs of one ``BackgroundJobs`` run one at a time, in order (a replaced align job must not load a
second gigabyte model beside the first); each gets a thread that ends with it. The owner (the
parent) may be closed or deleted while a job runs: its jobs are cancelled and waited for, and
nothing is called back. The engine thread (``EngineThread``), a long-lived worker that owns the
loaded model, is another pattern and does not use this.
"""

from __future__ import annotations

import functools
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Literal, TypeVar

from PySide6.QtCore import QObject, QThread, Signal, Slot

from morphapp.core.cancel import CancelToken
from morphapp.errors import Cancelled, MorphError

T = TypeVar("T")
Report = Callable[[Any], None]
Outcome = tuple[Literal["result", "error", "cancelled"], Any]

log = logging.getLogger(__name__)


class Job(Generic[T]):
    """One call of ``work``: the GUI side's handle (``cancel``) and the token the work checks."""

    def __init__(
        self, work: Callable[[CancelToken, Report], T], on_result: Callable[[T], None] | None,
        on_error: Callable[[str], None] | None, on_cancelled: Callable[[], None] | None,
        on_progress: Callable[[Any], None] | None,
    ) -> None:  # fmt: skip
        self.token = CancelToken()
        self.work = work
        self.on_result, self.on_error, self.on_cancelled = on_result, on_error, on_cancelled
        self.on_progress = on_progress
        # Written by the job's thread before it signals the end (what a bare BaseException leaves).
        self.outcome: Outcome = ("error", "internal error: the job ended without a result")

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def cancel(self) -> None:
        """Ask the work to stop; its result, if it still comes, is dropped for ``on_cancelled``."""
        self.token.cancel()


class _JobThread(QThread):
    """Runs one job. Lives on the GUI thread's side (no parent, held by ``_State``), so its signals
    reach the runner queued; it never refers back to the runner."""

    progressed = Signal(object, object)  # job, value
    ended = Signal(object)  # job

    def __init__(self, job: Job[Any], name: str) -> None:
        super().__init__()
        self.setObjectName(name)
        self.job = job

    def run(self) -> None:
        job = self.job
        try:
            job.token.raise_if_cancelled()  # cancelled while queued: not worth starting
            job.outcome = ("result", job.work(job.token, self._report))
        except Cancelled:
            job.outcome = ("cancelled", None)
        except MorphError as exc:
            job.outcome = ("error", str(exc))
        except Exception as exc:  # a bug: say it rather than dying silently on a thread
            log.exception("background job %s failed", self.objectName())
            job.outcome = ("error", f"internal error: {type(exc).__name__}: {exc}")
        self.ended.emit(job)

    def _report(self, value: object) -> None:
        self.progressed.emit(self.job, value)


class _State:
    """What the shutdown on the runner's ``destroyed`` needs: by then the runner itself is going."""

    def __init__(self) -> None:
        self.queue: deque[Job[Any]] = deque()
        self.thread: _JobThread | None = None


def _shutdown(state: _State) -> None:
    """Cancel every job and wait for the running one: no thread outlives its owner (a QThread
    destroyed while running aborts the app) and no callback comes after."""
    for job in state.queue:
        job.cancel()
    state.queue.clear()
    thread, state.thread = state.thread, None
    if thread is not None:
        thread.job.cancel()
        thread.wait()


class BackgroundJobs(QObject):
    """Runs jobs one at a time off the GUI thread for its parent; see the module's docstring."""

    def __init__(self, parent: QObject | None = None, name: str = "morphapp-job") -> None:
        super().__init__(parent)
        self._name = name
        self._state = _State()
        # Deleted with its parent (a closed dialog, the window): stop the work first. The hook
        # holds the state only, not this object, whose C++ side is being destroyed.
        self.destroyed.connect(functools.partial(_shutdown, self._state))

    @property
    def busy(self) -> bool:
        return self._state.thread is not None

    def run(
        self, work: Callable[[CancelToken, Report], T], *, on_result: Callable[[T], None] | None = None,
        on_error: Callable[[str], None] | None = None, on_cancelled: Callable[[], None] | None = None,
        on_progress: Callable[[Any], None] | None = None,
    ) -> Job[T]:  # fmt: skip
        """Queue ``work(token, report)``; it starts when the jobs before it have ended."""
        job = Job(work, on_result, on_error, on_cancelled, on_progress)
        self._state.queue.append(job)
        if self._state.thread is None:
            self._start_next()
        return job

    def stop(self) -> None:
        """Cancel all jobs and wait for the running one; nothing is called back after this."""
        _shutdown(self._state)

    def _start_next(self) -> None:
        if not self._state.queue:
            return
        thread = _JobThread(self._state.queue.popleft(), self._name)
        thread.progressed.connect(self._on_progress)
        thread.ended.connect(self._on_ended)
        self._state.thread = thread
        thread.start()

    @Slot(object, object)
    def _on_progress(self, job: Job[Any], value: object) -> None:
        if self._current(job) and not job.cancelled and job.on_progress is not None:
            job.on_progress(value)

    @Slot(object)
    def _on_ended(self, job: Job[Any]) -> None:
        if not self._current(job):
            return  # stopped meanwhile: already waited for, and forgotten
        thread, self._state.thread = self._state.thread, None
        assert thread is not None
        thread.wait()  # it is past its last line: the QThread may go now
        self._start_next()  # before the callbacks, which may queue (or cancel) more
        kind, value = job.outcome
        if job.cancelled:
            kind = "cancelled"  # whatever the work did after the artist cancelled is dropped
        if kind == "result" and job.on_result is not None:
            job.on_result(value)
        elif kind == "error" and job.on_error is not None:
            job.on_error(value)
        elif kind == "cancelled" and job.on_cancelled is not None:
            job.on_cancelled()

    def _current(self, job: Job[Any]) -> bool:
        return self._state.thread is not None and self._state.thread.job is job
