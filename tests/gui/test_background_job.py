"""The window's one background-job helper (issue 23, item 5): work off the GUI thread, its outcome,
progress and cancellation back on it, and nothing left running or called back when its owner goes."""

from __future__ import annotations

import threading
import time
from typing import Any

from PySide6.QtCore import QCoreApplication, QThread
from PySide6.QtWidgets import QWidget

from morphapp.core.cancel import CancelToken
from morphapp.errors import InputError
from morphapp.gui import model_setup
from morphapp.gui.background_job import BackgroundJobs, Report
from morphapp.models.library import PullProgress

TIMEOUT = 10_000


def _on_gui_thread() -> bool:
    app = QCoreApplication.instance()
    assert app is not None
    return QThread.currentThread() is app.thread()


class Owner(QWidget):
    """A widget whose callbacks touch itself: one called after its deletion raises, and fails the test."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs = BackgroundJobs(self, "test-job")
        self.calls: list[tuple[str, Any, bool]] = []  # callback, value, on the GUI thread

    def _record(self, name: str, value: object = None) -> None:
        self.setWindowTitle(name)  # a RuntimeError on a deleted widget
        self.calls.append((name, value, _on_gui_thread()))

    def run(self, work: Any) -> Any:
        return self.jobs.run(
            work, on_result=lambda v: self._record("result", v), on_error=lambda m: self._record("error", m),
            on_cancelled=lambda: self._record("cancelled"), on_progress=lambda v: self._record("progress", v),
        )  # fmt: skip


def _spin(started: threading.Event, ended: threading.Event | None = None):  # type: ignore[no-untyped-def]
    """A job that runs until cancelled, checking its token as the engine's loops do."""

    def work(token: CancelToken, _report: Report) -> str:
        started.set()
        try:
            while True:
                token.raise_if_cancelled()
                time.sleep(0.005)
        finally:
            if ended is not None:
                ended.set()

    return work


def test_the_result_and_progress_arrive_on_the_gui_thread(qtbot) -> None:  # type: ignore[no-untyped-def]
    owner = Owner()
    qtbot.addWidget(owner)
    ran_on: list[bool] = []

    def work(_token: CancelToken, report: Report) -> int:
        ran_on.append(_on_gui_thread())
        report(1)
        report(2)
        return 42

    owner.run(work)
    qtbot.waitUntil(lambda: any(c[0] == "result" for c in owner.calls), timeout=TIMEOUT)
    assert ran_on == [False]  # the work ran off the GUI thread...
    # ...and the progress and result came on it, in order.
    assert owner.calls == [("progress", 1, True), ("progress", 2, True), ("result", 42, True)]
    assert not owner.jobs.busy


def test_a_morph_error_arrives_as_its_message_and_a_bug_as_an_internal_error(qtbot) -> None:  # type: ignore[no-untyped-def]
    owner = Owner()
    qtbot.addWidget(owner)

    def refused(_token: CancelToken, _report: Report) -> None:
        raise InputError("cat.png: not an image")

    def bug(_token: CancelToken, _report: Report) -> None:
        raise KeyError("frames")

    owner.run(refused)
    owner.run(bug)  # queued behind the first: jobs run one at a time
    qtbot.waitUntil(lambda: len(owner.calls) == 2, timeout=TIMEOUT)
    assert owner.calls == [
        ("error", "cat.png: not an image", True),
        ("error", "internal error: KeyError: 'frames'", True),
    ]


def test_cancelling_a_running_job_delivers_cancellation_and_no_result(qtbot) -> None:  # type: ignore[no-untyped-def]
    owner = Owner()
    qtbot.addWidget(owner)
    started = threading.Event()
    job = owner.run(_spin(started))
    assert started.wait(TIMEOUT / 1000)
    job.cancel()
    qtbot.waitUntil(lambda: bool(owner.calls), timeout=TIMEOUT)
    assert owner.calls == [("cancelled", None, True)]

    # Past its last cancel point when cancelled: the result still comes, and is dropped.
    release = threading.Event()

    def late(_token: CancelToken, _report: Report) -> str:
        release.wait(TIMEOUT / 1000)
        return "too late"

    job = owner.run(late)
    job.cancel()
    release.set()
    qtbot.waitUntil(lambda: len(owner.calls) == 2, timeout=TIMEOUT)
    qtbot.wait(100)
    assert owner.calls[1:] == [("cancelled", None, True)] and not owner.jobs.busy


def test_jobs_run_one_at_a_time_in_order(qtbot) -> None:  # type: ignore[no-untyped-def]
    owner = Owner()
    qtbot.addWidget(owner)
    running = [0]
    overlaps: list[int] = []
    lock = threading.Lock()

    def work(n: int):  # type: ignore[no-untyped-def]
        def job(_token: CancelToken, _report: Report) -> int:
            with lock:
                running[0] += 1
                overlaps.append(running[0])
            time.sleep(0.02)
            with lock:
                running[0] -= 1
            return n

        return job

    for n in range(4):
        owner.run(work(n))
    qtbot.waitUntil(lambda: len(owner.calls) == 4, timeout=TIMEOUT)
    assert [c[1] for c in owner.calls] == [0, 1, 2, 3] and overlaps == [1, 1, 1, 1]


def test_deleting_the_owner_while_a_job_runs_stops_it_and_calls_nothing(qtbot, qtlog) -> None:  # type: ignore[no-untyped-def]
    owner = Owner()
    started, ended = threading.Event(), threading.Event()
    threads: list[QThread] = []

    def work(token: CancelToken, report: Report) -> str:
        threads.append(QThread.currentThread())  # kept: the test asks it whether it still runs
        started.set()
        while not token.cancelled:
            time.sleep(0.005)
        report("going")  # posted to the owner's jobs while they are being deleted: never delivered
        time.sleep(0.05)
        ended.set()
        return "a result nobody is left to take"

    calls = owner.calls
    owner.run(work)
    queued = owner.run(lambda _token, _report: "never started")
    assert started.wait(TIMEOUT / 1000)
    owner.close()
    with qtbot.waitSignal(owner.jobs.destroyed, timeout=TIMEOUT):
        owner.deleteLater()
    # Waited for while the owner went: the work has returned and its thread is over.
    assert ended.is_set() and queued.cancelled
    assert len(threads) == 1 and threads[0].isFinished() and not threads[0].isRunning()
    qtbot.wait(200)  # anything still queued for the owner would arrive now (and raise)
    assert calls == [] and not [r for r in qtlog.records if "QThread" in r.message]
    threads.clear()


def test_stop_waits_for_the_running_job_and_nothing_is_called_back(qtbot) -> None:  # type: ignore[no-untyped-def]
    owner = Owner()
    qtbot.addWidget(owner)
    started, ended = threading.Event(), threading.Event()
    owner.run(_spin(started, ended))
    assert started.wait(TIMEOUT / 1000)
    owner.jobs.stop()  # what a window's close does: its jobs end before it goes
    assert ended.is_set() and not owner.jobs.busy
    qtbot.wait(200)
    assert owner.calls == []
    owner.run(lambda _token, _report: "again")  # still usable afterwards
    qtbot.waitUntil(lambda: bool(owner.calls), timeout=TIMEOUT)
    assert owner.calls == [("result", "again", True)]


def _slow_pull(name: str, *, progress: Any, cancel: CancelToken) -> None:
    """A download that stays at its first megabyte until cancelled (no network in tests)."""
    progress(PullProgress(name, "taef2.safetensors", 1, 1, 1_000_000, 4_000_000))
    while True:
        cancel.raise_if_cancelled()
        time.sleep(0.005)


def test_the_model_download_cancelled_and_closed_mid_way(qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(model_setup, "pull", _slow_pull)
    dialog = model_setup.ModelSetupDialog("no model")
    qtbot.addWidget(dialog)
    dialog.download_button.click()
    qtbot.waitUntil(lambda: "1.0 MB" in dialog.status.text(), timeout=TIMEOUT)  # progress, on the dialog
    assert dialog.progress.maximum() == 4_000_000 and dialog.close_button.text() == "Cancel"
    dialog.close_button.click()  # Cancel
    qtbot.waitUntil(lambda: dialog.status.text() == "Download cancelled.", timeout=TIMEOUT)
    assert dialog.download_button.isEnabled() and dialog.cancel_token is None and not dialog.jobs.busy

    dialog.download_button.click()
    qtbot.waitUntil(lambda: "1.0 MB" in dialog.status.text(), timeout=TIMEOUT)
    dialog.reject()  # closed mid-download (the window's close does this too): the download stops with it
    assert not dialog.jobs.busy and dialog.status.text() == "Download cancelled."
