"""Run one function in a forked child process, with a time limit: a native crash or a runaway
evaluation costs the child, never the calling worker.

pyoxigraph's SPARQL parser and evaluator recurse once per level of nesting or chaining, and a
stack overflow there is a segfault, not an exception: a few thousand nested groups, or a few
thousand BINDs in a row, would kill the process that runs them. A child forked for the purpose
shares the caller's memory copy-on-write, runs the function and sends back its (picklable) result.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import warnings
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ChildCrashed(Exception):
    """The child ended without an answer (killed by a signal, or exited)."""

    def __init__(self, how: str) -> None:
        super().__init__(how)
        self.how = how


class ChildTimeout(Exception):
    """The child ran past the time limit and was killed."""


class ChildFailed(Exception):
    """The function raised; `error` is the exception, sent back from the child."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(str(error))
        self.error = error


def run_isolated(function: Callable[[], T], timeout: float) -> T:
    """`function()`, evaluated in a child process; its result, or one of the exceptions above."""
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # the child runs no thread's code, only `function`
        warnings.filterwarnings("ignore", message=".*multi-threaded.*fork",
                                category=DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        code = 0
        try:
            os.close(read_end)
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            answer: tuple[str, object]
            try:
                answer = ("ok", function())
            except Exception as error:  # noqa: BLE001 - sent to the parent, which re-raises it
                answer = ("error", _picklable(error))
            data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
            view = memoryview(data)
            while view:
                view = view[os.write(write_end, view):]
        except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        data = _read_all(read_end, timeout, pid)
    finally:
        os.close(read_end)
        status = _reap(pid)
    if not data:
        raise ChildCrashed(status)
    kind, payload = pickle.loads(data)  # noqa: S301 - our own child's answer
    if kind == "error":
        raise ChildFailed(payload)
    return payload


def _read_all(fd: int, timeout: float, pid: int) -> bytes:
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    chunks: list[bytes] = []
    while True:
        if not poller.poll(timeout * 1000):
            os.kill(pid, signal.SIGKILL)
            _reap(pid)
            raise ChildTimeout(f"did not finish within {timeout:g} s")
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _reap(pid: int) -> str:
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return "already reaped"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"signal {number} ({signal.Signals(number).name})"
    return f"exit status {os.WEXITSTATUS(status)}"


def _picklable(error: Exception) -> Exception:
    try:
        pickle.dumps(error)
    except Exception:  # noqa: BLE001 - any failure to pickle: send the text instead
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
