"""Evaluate user queries in a child process that is killed when a query runs past the time limit.

pyoxigraph has no query timeout and holds the GIL while it evaluates, so a runaway query cannot
be stopped from inside the process that runs it. Each web worker therefore forks an executor
once the store is loaded (it shares the store's memory copy-on-write) and talks to it over a
pipe: one round trip per query, the executor answering with the serialised result. When the
limit passes, the worker SIGKILLs the executor (no CPU is spent on the query afterwards) and
forks a fresh one. The executor calls runtime.refresh before every query, as the worker does, so
changes accepted by any process are visible in both copies of the store.

A remote store has its own timeout (the HTTP request's); queries to it run in the worker.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import queue
import select
import signal
import threading
import warnings
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import NamedTuple

from .results import Rendered, render
from .runtime import Runtime, refresh
from .store import OxigraphStore, StoreError

_RESET_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH",
                  "SIGCHLD", "SIGABRT", "SIGTTIN", "SIGTTOU")
_PR_SET_PDEATHSIG = 1


class Job(NamedTuple):
    query: str
    default_graph: list[str] | None
    named_graphs: list[str] | None
    media_type: str
    max_rows: int
    describe: bool = False


class QueryTimeout(Exception):
    """The query ran past the time limit and was stopped."""

    def __init__(self, limit: float) -> None:
        super().__init__(f"the query did not finish within {limit:g} s")
        self.limit = limit


class QueryFailed(Exception):
    """Evaluation failed for a reason that is ours or the engine's, not the query text's."""


class QueryCrashed(Exception):
    """The engine died evaluating the query (a stack overflow on very deep nesting or chaining).

    The executor is replaced; the worker and every other request are unaffected.
    """


# Signals with which the engine dies on a query it cannot handle (stack overflow, abort).
_CRASH_SIGNALS = {signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS, signal.SIGILL}


def evaluate(runtime: Runtime, job: Job) -> Rendered:
    """Run one job against this process's store: refresh, query, serialise."""
    refresh(runtime)
    result = runtime.store.query(
        job.query, default_graph=job.default_graph, named_graphs=job.named_graphs
    )
    return render(runtime.store, result, job.media_type, job.max_rows, job.describe)


def _answer(runtime: Runtime, job: Job) -> tuple[str, bytes | str, str, bool]:
    """(kind, body or message, media type, truncated): a plain tuple, cheap to pickle."""
    try:
        rendered = evaluate(runtime, job)
    except SyntaxError as error:
        return ("syntax", str(error), "", False)
    except StoreError as error:
        return ("store", str(error), "", False)
    except Exception as error:  # noqa: BLE001 - reported to the worker, which logs it as a 500
        return ("failed", f"{type(error).__name__}: {error}", "", False)
    return ("ok", rendered.body, rendered.media_type, rendered.truncated)


class InlineExecutor:
    """Runs queries in the calling process: for a remote store, which enforces its own timeout."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def run(self, job: Job, timeout: float) -> Rendered:
        return _unpack(*_answer(self.runtime, job))


class ProcessExecutor:
    """One forked executor process per worker process, used by one request at a time."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._lock = threading.Lock()
        self._conn: Connection | None = None
        self._poller = select.poll()
        self._pid = 0
        self._owner = 0
        self._last_signal: int | None = None

    def start(self) -> None:
        """Fork the executor now (e.g. right after a worker starts) instead of on first use."""
        with self._lock:
            self._ensure()

    def run(self, job: Job, timeout: float) -> Rendered:
        # Plain tuples and one poll object: this round trip is on every query's path.
        message = pickle.dumps(tuple(job), pickle.HIGHEST_PROTOCOL)
        with self._lock:
            conn = self._ensure()
            try:
                conn.send_bytes(message)
                if not self._poller.poll(timeout * 1000):
                    self._stop()
                    self._ensure()
                    raise QueryTimeout(timeout)
                answer = pickle.loads(conn.recv_bytes())  # noqa: S301 - our own child's reply
            except (EOFError, OSError) as error:
                status = self._stop()
                if self._last_signal in _CRASH_SIGNALS:
                    raise QueryCrashed(status) from error
                raise QueryFailed(f"the query process ended unexpectedly ({status})") from error
        return _unpack(*answer)

    def _ensure(self) -> Connection:
        if self._conn is not None and self._owner == os.getpid():
            return self._conn
        # A copy inherited through fork belongs to the parent: never signal or close it here.
        ours, theirs = Pipe()
        parent = os.getpid()
        pid = _fork(getattr(self.runtime, "lock", None))
        if pid == 0:  # pragma: no cover - the child's coverage is not collected
            code = 0
            try:
                ours.close()
                _become_executor(parent)
                _serve(theirs, self.runtime)
            except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        self._poller = select.poll()
        self._poller.register(ours.fileno(), select.POLLIN)
        self._conn, self._pid, self._owner = ours, pid, os.getpid()
        return ours

    def _stop(self) -> str:
        """Kill and reap the executor; a description of how it ended."""
        conn, pid = self._conn, self._pid
        self._conn, self._pid, self._last_signal = None, 0, None
        if conn is not None:
            conn.close()
        if not pid:
            return "not running"
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            return "already reaped"
        if os.WIFSIGNALED(status):
            self._last_signal = os.WTERMSIG(status)
            return f"signal {self._last_signal}"
        return f"exit status {os.WEXITSTATUS(status)}"


def _fork(state_lock: threading.Lock | None) -> int:
    """fork(), holding the runtime's lock so the child's copy of the store is not mid-change.

    The child runs only the executor loop (the pipe, the store, refresh), so the threads of a
    gthread worker, which the child does not inherit, hold nothing it needs; Python 3.12+ warns
    about forking a threaded process in general, and that warning is silenced here only.
    """
    if state_lock is not None:
        state_lock.acquire()
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message=".*multi-threaded.*fork", category=DeprecationWarning
            )
            return os.fork()
    finally:
        if state_lock is not None:
            state_lock.release()  # in the parent and in the child's copy alike


def _unpack(kind: str, payload: bytes | str, media_type: str, truncated: bool) -> Rendered:
    if kind == "ok":
        return Rendered(payload, media_type, truncated)  # type: ignore[arg-type]
    if kind == "syntax":
        raise SyntaxError(payload)
    if kind == "store":
        raise StoreError(payload)
    raise QueryFailed(payload)


def _become_executor(parent: int) -> None:
    """Default signal handling (the worker's handlers do not apply) and death with the parent.

    Linux sends the death signal when the thread that forked ends; that is the worker's main
    thread or one of gthread's request threads, which live as long as the worker.
    """
    for name in _RESET_SIGNALS:
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the executor still exits when the pipe closes
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(0)


def _serve(conn: Connection, runtime: Runtime) -> None:
    while True:
        try:
            job = Job(*pickle.loads(conn.recv_bytes()))  # noqa: S301 - from our own parent
        except (EOFError, OSError):
            return
        conn.send_bytes(pickle.dumps(_answer(runtime, job), pickle.HIGHEST_PROTOCOL))


class ExecutorPool:
    """Several executors for one worker process with several threads: queries run side by side."""

    def __init__(self, runtime: Runtime, size: int) -> None:
        self._idle: queue.LifoQueue[ProcessExecutor] = queue.LifoQueue()
        self._all = [ProcessExecutor(runtime) for _ in range(size)]
        for executor in self._all:
            self._idle.put(executor)

    def start(self) -> None:
        for executor in self._all:
            executor.start()

    def run(self, job: Job, timeout: float) -> Rendered:
        executor = self._idle.get()
        try:
            return executor.run(job, timeout)
        finally:
            self._idle.put(executor)


Executor = ProcessExecutor | ExecutorPool | InlineExecutor


def executor_for(runtime: Runtime, size: int = 1) -> Executor:
    """Process executors for the embedded store (`size` of them); inline for a remote one."""
    if not isinstance(runtime.store, OxigraphStore):
        return InlineExecutor(runtime)
    return ProcessExecutor(runtime) if size <= 1 else ExecutorPool(runtime, size)
