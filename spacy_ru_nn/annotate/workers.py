"""The processes that `--n-process` forks end with the run that forked them.

spaCy's `nlp.pipe(n_process=N)` forks its workers with `multiprocessing` and has no hook for
what a worker does first, so the local engine forks inside `forked_workers()`, and a fork
handler (`os.register_at_fork`, registered the first time a run forks) prepares each child
forked in that block:

- it dies with its parent: `prctl(PR_SET_PDEATHSIG, SIGKILL)` on Linux, a thread polling the
  parent's pid elsewhere. Without it, the workers of a parent killed with SIGKILL wait
  forever on their queues, each holding a loaded pipeline;
- it leaves Ctrl-C and SIGTERM to the parent, which stops the run and its workers in order
  (the terminal sends Ctrl-C to the whole process group; a worker that raised
  KeyboardInterrupt would print a traceback of its own);
- it runs torch on one thread (`one_torch_thread_in_workers`).

Forks outside the block (other code of the host program, Ray, `subprocess`) are left alone.
"""
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any, Callable, Iterator, Optional, Set

from ..callbacks import one_torch_thread_in_workers

_PR_SET_PDEATHSIG = 1
# The pid of the process forking a run's workers, while it does: read by the fork handler in
# the child, where it is the pid of the parent.
_forking_parent: Optional[int] = None
_handler_registered = False
# libc's prctl, looked up in the parent: a child only calls it.
_prctl = getattr(ctypes.CDLL(None, use_errno=True), "prctl", None) if sys.platform.startswith("linux") else None


@contextmanager
def forked_workers() -> Iterator[None]:
    """Prepare every process this process forks inside the block as a worker of the run:
    killed with the parent, deaf to Ctrl-C and SIGTERM, on one torch thread; and stop the
    workers first when Ctrl-C or SIGTERM reaches the parent.

    The parent here is the forking *thread* for `PR_SET_PDEATHSIG`: run the whole
    `nlp.pipe` stream in the thread that enters the block.
    """
    global _forking_parent, _handler_registered
    if not _handler_registered:
        os.register_at_fork(after_in_child=_become_worker)
        _handler_registered = True
    before = set(multiprocessing.active_children())

    def workers() -> Set[BaseProcess]:
        return set(multiprocessing.active_children()) - before

    _forking_parent = os.getpid()
    try:
        with one_torch_thread_in_workers(), _workers_stopped_on_signals(workers):
            yield
    finally:
        _forking_parent = None


@contextmanager
def _workers_stopped_on_signals(workers: Callable[[], Set[BaseProcess]]) -> Iterator[None]:
    """On Ctrl-C or SIGTERM, terminate the workers, then handle the signal as before (the
    CLI raises KeyboardInterrupt). spaCy's `nlp.pipe` joins its workers when the stream
    ends, and a worker blocked on sending docs to a parent that no longer reads never ends."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def stop_workers(signum: int, frame: Optional[FrameType]) -> Any:
        for worker in workers():
            worker.terminate()
        signal.signal(signum, previous[signum])
        if callable(previous[signum]):
            return previous[signum](signum, frame)
        os.kill(os.getpid(), signum)  # the default action, now that the handler is back

    for signum, handler in previous.items():
        if handler is not signal.SIG_IGN and handler is not None:
            signal.signal(signum, stop_workers)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            if handler is not signal.SIG_IGN and handler is not None:
                signal.signal(signum, handler)


def _become_worker() -> None:
    global _forking_parent
    parent, _forking_parent = _forking_parent, None  # a worker's own forks are not workers
    if parent is None:
        return
    _die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _die_with(parent: int) -> None:
    if _prctl is None or _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        _poll_parent(parent)
        return
    # The parent may have died between the fork and prctl: then no signal is coming.
    if os.getppid() != parent:
        os._exit(1)


def _poll_parent(parent: int, interval: float = 0.5) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="annotate-parent-watch", daemon=True).start()


__all__ = ["forked_workers"]
