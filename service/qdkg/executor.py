"""Evaluate user queries in a child process that is killed when a query runs past the time limit.

pyoxigraph has no query timeout, so a runaway query cannot be stopped from inside the process
that runs it. Each web worker therefore has one executor process (it shares the store's memory
copy-on-write) and talks to it over a pipe. The executors are forked by a zygote, a process the
worker forks before it starts any thread and which never starts one, so that no executor
inherits a lock another thread held at the moment of the fork. The executor runs each
query on a thread of its own (as many at once as the worker has request threads): pyoxigraph
releases the GIL while it evaluates and serialises, so a lookup is answered while a heavy query
runs beside it, and the worker holds one copy of the store however many threads it has. A query
that has used more than a few milliseconds of CPU gives way to younger ones (its thread's
priority is lowered), so cheap queries are not slowed down by heavy ones.

The time limit is a budget of work: the CPU time of the thread that evaluates the query (its
refresh, evaluation and serialisation), read by a watcher thread in the executor from the
thread's CPU clock, so a query is not stopped for the time it waited for a core while others ran.
When a query has used its budget, the executor reports it and kills itself (no CPU is spent on
the query afterwards); the worker answers the query with QueryTimeout, forks a fresh executor and
resubmits the other queries that were in flight there (reads are safe to repeat), each with what
is left of its own budget. A wall-clock backstop, WALL_FACTOR times the limit, bounds how long a
client waits whatever happens (a starved or stuck executor): past it, the worker kills the
executor itself, with the same resubmission. When the executor
dies on its own (the engine overflows its stack on very deep nesting or chaining), a query
alone in flight is the culprit; otherwise the queries that were in flight run again one at a
time among themselves (beside any others), so that the next death names one of them. The
executor calls runtime.refresh before every query, as the worker does, so changes accepted by
any process are visible in both copies of the store.

A remote store has its own timeout (the HTTP request's); queries to it run in the worker.
"""

from __future__ import annotations

import ctypes
import itertools
import logging
import os
import pickle
import queue
import signal
import socket
import stat
import struct
import sys
import threading
import time
import warnings
from collections import deque
from collections.abc import Callable
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import NamedTuple

from . import runtime as runtime_module
from .results import Rendered, render
from .runtime import Runtime, planner_for, refresh
from .store import OxigraphStore, StoreError

log = logging.getLogger("qdkg")

_RESET_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGWINCH",
                  "SIGCHLD", "SIGABRT", "SIGTTIN", "SIGTTOU")
_PR_SET_PDEATHSIG = 1
# The executor's threads mostly wait in pyoxigraph with the GIL released; a shorter switch
# interval lets a cheap query's few Python steps run soon after a heavy one's.
_SWITCH_INTERVAL = 0.001
# (CPU seconds a query has used, the nice value its thread runs at from then on), in order.
# A lookup needs well under a millisecond; most planned queries of the benchmark's mix need 2 to
# 15 ms, and at a 10 ms step they were never demoted, so lookups queued behind them.
_AGES = ((0.002, 10),)
_AGE_CHECK = 0.001
# How often the budgets of queries past every step of _AGES are checked: reading a running
# thread's CPU clock costs a system call, and a budget is seconds long.
_BUDGET_CHECK = 0.05
# The wall-clock backstop, as a multiple of the (CPU) time limit. It stays below gunicorn's own
# request timeout for a sync worker (at least three times the limit, server.py).
WALL_FACTOR = 2.5


class Job(NamedTuple):
    query: str
    default_graph: list[str] | None
    named_graphs: list[str] | None
    media_type: str
    max_rows: int
    describe: bool = False


class Answer(NamedTuple):
    """A query's result and the journal position of the store that evaluated it."""

    rendered: Rendered
    position: int


class QueryTimeout(Exception):
    """The query used up its time limit (CPU seconds) or ran past the wall-clock backstop, and
    was stopped. `wall` is true when the backstop (`wall_limit` seconds) was reached."""

    def __init__(self, limit: float, wall_limit: float, *, wall: bool = False) -> None:
        if wall:
            message = f"the query did not finish within the {wall_limit:g}-second wall-clock limit"
        else:
            message = f"the query used more than its {limit:g} seconds of CPU time"
        super().__init__(message)
        self.limit, self.wall_limit, self.wall = limit, wall_limit, wall


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
    answer = getattr(runtime.store, "answer", None)  # a remote store: its bytes, when they fit
    if answer is not None:
        return answer(job.query, job.media_type, job.max_rows, job.describe,
                      default_graph=job.default_graph, named_graphs=job.named_graphs)
    planner = planner_for(runtime)
    text = planner.plan(job.query) if planner is not None else job.query
    try:
        result = runtime.store.query(
            text, default_graph=job.default_graph, named_graphs=job.named_graphs)
    except SyntaxError:
        if text == job.query:
            raise
        log.warning("the planned form of a query did not parse; evaluated as written: %r",
                    job.query[:200])
        result = runtime.store.query(
            job.query, default_graph=job.default_graph, named_graphs=job.named_graphs)
    return render(runtime.store, result, job.media_type, job.max_rows, job.describe)


# (kind, body or message, media type, truncated, journal position): cheap to pickle.
_Reply = tuple[str, "bytes | str", str, bool, int]


def _answer(runtime: Runtime, job: Job) -> _Reply:
    try:
        # The journal position is read before the query runs: another thread may apply newer
        # change sets while it runs, and the answer must not be taken for one that includes them.
        refresh(runtime)
        position = runtime.seq
        rendered = evaluate(runtime, job)
    except SyntaxError as error:
        return ("syntax", str(error), "", False, 0)
    except StoreError as error:
        return ("store", str(error), "", False, 0)
    except Exception as error:  # noqa: BLE001 - reported to the worker, which logs it as a 500
        return ("failed", f"{type(error).__name__}: {error}", "", False, 0)
    return ("ok", rendered.body, rendered.media_type, rendered.truncated, position)


class InlineExecutor:
    """Runs queries in the calling process: for a remote store, which enforces its own timeout."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime

    def start(self) -> None:
        pass

    def run(self, job: Job, timeout: float) -> Answer:
        return _unpack(_answer(self.runtime, job))


class _Child:
    __slots__ = ("conn", "pid", "retired", "sending", "status", "zygote")

    def __init__(self, conn: Connection, pid: int, zygote: _Zygote | None = None) -> None:
        self.conn, self.pid = conn, pid
        self.zygote = zygote  # its parent, when not this process
        self.retired = False
        self.status = ""
        self.sending = threading.Lock()  # one message at a time on the pipe

    def send(self, call: _Call) -> None:
        try:
            with self.sending:
                self.conn.send_bytes(pickle.dumps((call.ident, call.message, call.budget),
                                                  pickle.HIGHEST_PROTOCOL))
        except OSError:
            pass  # the executor died: the reader finds the call among its orphans and resubmits it


class _Call:
    __slots__ = ("budget", "child", "deadline", "done", "ident", "message", "reply", "retried")

    def __init__(self, ident: int, message: bytes, deadline: float, budget: float) -> None:
        self.ident, self.message, self.deadline = ident, message, deadline
        self.budget = budget  # CPU seconds left
        self.done = threading.Event()
        self.reply: tuple | None = None
        self.child: _Child | None = None
        self.retried = False  # sent again once after its executor ended for no reason of its own


class ProcessExecutor:
    """One forked executor process per worker process, running up to `threads` queries at once.

    Request threads send their query and wait for its own answer; one reader thread per worker
    process hands the answers out and notices when the executor dies.
    """

    def __init__(self, runtime: Runtime, threads: int = 1, wall_factor: float = WALL_FACTOR) -> None:
        self.runtime = runtime
        self.threads = max(1, threads)
        self.wall_factor = wall_factor
        self._lock = threading.Lock()
        self._children_changed = threading.Condition(self._lock)
        self._owner = 0
        self._reset()

    def _reset(self) -> None:
        self._child: _Child | None = None
        self._calls: dict[int, _Call] = {}
        self._suspects: deque[_Call] = deque()  # in flight when an executor died on its own
        self._probing: _Call | None = None  # the suspect being run again, alone among suspects
        self._unread: deque[_Child] = deque()
        self._ids = itertools.count(1)
        self._owner = os.getpid()
        self._reader: threading.Thread | None = None
        self._forker = _Forker()
        self._zygote: _Zygote | None = None

    @property
    def pid(self) -> int:
        """The executor process's id (0 before it is forked)."""
        child = self._child
        return child.pid if child is not None and not child.retired else 0

    def start(self) -> None:
        """Fork the executor now (e.g. right after a worker starts) instead of on first use.

        Called before the process starts any thread (a worker's post_worker_init), it first
        forks the zygote that forks every executor from then on: a process without threads,
        so that no executor inherits a lock (in pyoxigraph, the allocator, a logging handler)
        held by another thread at the moment of the fork.
        """
        with self._lock:
            if self._owner != os.getpid():
                self._reset()
            if self._zygote is None:
                self._zygote = _Zygote.start(self.runtime)
            self._ensure()

    def run(self, job: Job, timeout: float) -> Answer:
        """Evaluate `job` with `timeout` seconds of CPU time, and at most wall_factor times that
        of elapsed time; QueryTimeout says which was reached."""
        message = pickle.dumps(tuple(job), pickle.HIGHEST_PROTOCOL)
        wall = timeout * self.wall_factor
        with self._lock:
            if self._owner != os.getpid():  # inherited through fork: this process starts afresh
                self._reset()
            call = _Call(next(self._ids), message, time.monotonic() + wall, timeout)
            self._calls[call.ident] = call
            child = call.child = self._ensure()
        # Sent outside the lock, so that answers are handed out while the pipe is busy. Should
        # the executor be replaced meanwhile, the call is resubmitted with the others in flight
        # there, and this copy goes to a closed pipe.
        child.send(call)
        if not call.done.wait(wall):
            with self._lock:
                if not call.done.is_set():
                    self._calls.pop(call.ident, None)
                    child = call.child
                    if child is not None and not child.retired:
                        self._retire(child)
                        self._ensure()  # ready for the next query, whether or not any is waiting
                        self._resubmit_from(child)
                    if call is self._probing:
                        self._probing = None
                        self._probe_next()
                    raise QueryTimeout(timeout, wall, wall=True)
        assert call.reply is not None  # noqa: S101 - set before done
        if call.reply[0] == "cpu":
            raise QueryTimeout(timeout, wall)
        return _unpack(call.reply)

    def close(self) -> None:
        """Kill the executor and end the zygote (a worker need not: they die with it)."""
        with self._lock:
            if self._owner != os.getpid():
                return
            if self._child is not None:
                self._retire(self._child)
            if self._zygote is not None:
                self._zygote.close()
                self._zygote = None

    # --- under self._lock --------------------------------------------------------------------

    def _submit(self, call: _Call) -> None:
        child = call.child = self._ensure()
        child.send(call)

    def _ensure(self) -> _Child:
        if self._child is not None and not self._child.retired:
            return self._child
        if self._zygote is not None:
            try:
                conn, pid = self._zygote.fork()
            except OSError:  # the zygote is gone (it never should): fork from here instead
                self._zygote.close(kill=True)
                self._zygote = None
            else:
                return self._adopt(_Child(conn, pid, self._zygote))
        ours, theirs = Pipe()
        parent = os.getpid()

        def child_main() -> None:  # pragma: no cover - the child's coverage is not collected
            code = 0
            try:
                _become_executor(parent, keep=theirs.fileno())
                _serve(theirs, self.runtime)
            except BaseException:  # noqa: BLE001 - nothing may escape into the parent's code
                code = 1
            finally:
                os._exit(code)

        pid = self._forker.fork(child_main, getattr(self.runtime, "lock", None))
        theirs.close()
        return self._adopt(_Child(ours, pid))

    def _adopt(self, child: _Child) -> _Child:
        self._child = child
        self._unread.append(child)
        if self._reader is None:
            self._reader = threading.Thread(target=self._read, name="qdkg-executor-reader",
                                             daemon=True)
            self._reader.start()
        self._children_changed.notify_all()
        return child

    def _retire(self, child: _Child) -> None:
        """Kill and reap `child`; how it ended is kept in child.status."""
        child.retired = True
        if self._child is child:
            self._child = None
        try:
            os.kill(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            if child.zygote is not None:
                status = child.zygote.reap(child.pid)
            else:
                _, status = os.waitpid(child.pid, 0)
        except (ChildProcessError, OSError):
            child.status = "already reaped"
            return
        if os.WIFSIGNALED(status):
            number = os.WTERMSIG(status)
            child.status = f"signal {number} ({signal.Signals(number).name})"
            if number in _CRASH_SIGNALS:
                child.status = "crashed: " + child.status
        else:
            child.status = f"exit status {os.WEXITSTATUS(status)}"

    def _resubmit_from(self, child: _Child, *, died: bool = False) -> None:
        """Send the queries in flight on a dead `child` to a fresh executor.

        When it was killed for a query past its time limit, the others go back at once. When it
        died on its own, the culprit is not known: a query alone in flight is it; otherwise the
        queries in flight become suspects and are run again one at a time (beside the other
        queries), so the next death points at one of them.
        """
        orphans = [c for c in self._calls.values() if c.child is child]
        if not died:
            for call in orphans:
                if call.budget <= 0:
                    self._finish(call, ("cpu", "", "", False, 0))
                elif call.deadline > time.monotonic():  # else its own thread is about to time out
                    self._submit(call)
            return
        crashed = child.status.startswith("crashed")
        reply = ("crashed" if crashed else "gone", child.status, "", False, 0)
        if not crashed:
            # Killed from outside or ended without a crash signal (its zygote died, say): no query
            # is to blame, and a read can be repeated. Each is sent again once, to a fresh one.
            for call in orphans:
                if call.retried or call.deadline <= time.monotonic():
                    self._finish(call, reply)
                else:
                    call.retried = True
                    self._submit(call)
            return
        probing = self._probing
        if probing is not None and probing.child is child:
            self._probing = None
            orphans.remove(probing)
            self._finish(probing, reply)
        elif len(orphans) == 1 and not self._suspects:
            self._finish(orphans[0], reply)
            orphans = []
        for call in orphans:
            call.child = None
            self._suspects.append(call)
        self._probe_next()

    def _probe_next(self) -> None:
        while self._probing is None and self._suspects:
            call = self._suspects.popleft()
            if call.ident in self._calls and call.deadline > time.monotonic():
                self._probing = call
                self._submit(call)

    def _finish(self, call: _Call, reply: tuple) -> None:
        self._calls.pop(call.ident, None)
        call.reply = reply
        call.done.set()
        if call is self._probing:
            self._probing = None
            self._probe_next()

    def _over_budget(self, child: _Child, culprit: int, used: dict[int, float]) -> None:
        """The query `culprit` used up its CPU budget on `child`, which kills itself: replace
        it, answer the culprit, and resubmit the others with what is left of their budgets."""
        if child.retired:
            return
        for call in self._calls.values():
            if call.child is child:
                call.budget -= used.get(call.ident, 0.0)
        self._retire(child)
        self._ensure()
        call = self._calls.get(culprit)
        if call is not None:
            self._finish(call, ("cpu", "", "", False, 0))
        self._resubmit_from(child)

    # --- the reader thread -------------------------------------------------------------------

    def _read(self) -> None:
        while True:
            with self._lock:
                while not self._unread:
                    self._children_changed.wait()
                child = self._unread.popleft()
            conn = child.conn
            while True:
                try:
                    data = conn.recv_bytes()
                except (EOFError, OSError):
                    break
                ident, reply = pickle.loads(data)  # noqa: S301 - our own child's reply
                with self._lock:
                    if ident == 0:  # a query used up its budget: the executor is ending itself
                        self._over_budget(child, *reply)
                        continue
                    call = self._calls.get(ident)
                    if call is not None:
                        self._finish(call, reply)
            with child.sending:  # not while a request thread is writing to it
                conn.close()
            with self._lock:
                if not child.retired:  # it died on its own
                    self._retire(child)
                    self._resubmit_from(child, died=True)


class _Zygote:
    """A process without threads that forks the executors, and reaps them, on request.

    Forked from the worker before the worker starts any thread, it only ever waits on its
    control socket, so a fork from it never copies a lock held by another thread. It dies with
    the worker (its parent-death signal, from the worker's main thread) and its executors die
    with it (theirs). Each executor gets a fresh copy of the store as it was when the worker
    started, and brings it up to date as every query does, with runtime.refresh.
    """

    _FORK, _REAP = b"F", b"R"
    _PID = struct.Struct("q")

    def __init__(self, sock: socket.socket, pid: int) -> None:
        self._sock, self.pid = sock, pid
        self._talking = threading.Lock()

    @classmethod
    def start(cls, runtime: Runtime) -> _Zygote:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        parent = os.getpid()
        pid = _fork(getattr(runtime, "lock", None))
        if pid == 0:  # pragma: no cover - the zygote
            code = 0
            try:
                ours.close()
                _become_executor(parent, keep=theirs.fileno())
                cls._serve(theirs, runtime)
            except BaseException:  # noqa: BLE001 - nothing may escape into the worker's code
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        return cls(ours, pid)

    def fork(self) -> tuple[Connection, int]:
        """A new executor: the worker's end of its pipe, and its process id."""
        with self._talking:
            self._sock.sendall(self._FORK)
            message, fds, _, _ = socket.recv_fds(self._sock, self._PID.size, 1)
        if len(message) != self._PID.size or len(fds) != 1:
            raise OSError("the zygote did not fork an executor")
        return Connection(fds[0]), self._PID.unpack(message)[0]

    def reap(self, pid: int) -> int:
        """Wait for the zygote's child `pid` to end; its wait status."""
        with self._talking:
            self._sock.sendall(self._REAP + self._PID.pack(pid))
            reply = self._sock.recv(self._PID.size)
        if len(reply) != self._PID.size:
            raise OSError("the zygote did not answer")
        status = self._PID.unpack(reply)[0]
        if status < 0:
            raise ChildProcessError(pid)
        return status

    def close(self, *, kill: bool = False) -> None:
        """End the zygote (it exits when its socket closes) and reap it."""
        with self._talking:
            self._sock.close()
        if kill:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(self.pid, 0)
        except ChildProcessError:
            pass

    @classmethod
    def _serve(cls, sock: socket.socket, runtime: Runtime) -> None:  # pragma: no cover
        me = os.getpid()
        while True:
            request = sock.recv(64)
            if not request:
                os._exit(0)  # the worker is gone
            if request[:1] == cls._REAP:
                try:
                    _, status = os.waitpid(cls._PID.unpack(request[1:])[0], 0)
                except ChildProcessError:
                    status = -1
                sock.sendall(cls._PID.pack(status))
                continue
            ours, theirs = socket.socketpair()
            pid = os.fork()
            if pid == 0:
                code = 0
                try:
                    sock.close()
                    ours.close()
                    _become_executor(me, keep=theirs.fileno())
                    _serve(Connection(theirs.detach()), runtime)
                except BaseException:  # noqa: BLE001
                    code = 1
                finally:
                    os._exit(code)
            theirs.close()
            socket.send_fds(sock, [cls._PID.pack(pid)], [ours.fileno()])
            ours.close()


class _Forker:
    """Forks from one thread that lives as long as the worker (without a zygote).

    Linux sends the parent-death signal (which ends an executor whose worker is gone) when the
    *thread* that forked it ends, so forking from a request thread that later ends would kill a
    healthy executor.
    """

    def __init__(self) -> None:
        self._requests: queue.SimpleQueue[tuple] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def fork(self, child_main: Callable[[], None], state_lock: threading.Lock | None) -> int:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="qdkg-executor-forker",
                                            daemon=True)
            self._thread.start()
        done = threading.Event()
        outcome: dict[str, object] = {}
        self._requests.put((child_main, state_lock, outcome, done))
        done.wait()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return int(outcome["pid"])  # type: ignore[call-overload]

    def _serve(self) -> None:
        while True:
            child_main, state_lock, outcome, done = self._requests.get()
            try:
                pid = _fork(state_lock)
                if pid == 0:  # pragma: no cover - the child
                    child_main()
                outcome["pid"] = pid
            except BaseException as error:  # noqa: BLE001 - handed to the thread that asked
                outcome["error"] = error
            done.set()


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


def _unpack(reply: tuple) -> Answer:
    kind, payload, media_type, truncated, position = reply
    if kind == "ok":
        return Answer(Rendered(payload, media_type, truncated), position)
    if kind == "syntax":
        raise SyntaxError(payload)
    if kind == "store":
        raise StoreError(payload)
    if kind == "crashed":
        raise QueryCrashed(payload)
    if kind == "gone":
        raise QueryFailed(f"the query process ended unexpectedly ({payload})")
    raise QueryFailed(payload)


def _become_executor(parent: int, keep: int) -> None:
    """Default signal handling, death with the parent, and none of the worker's descriptors.

    Linux sends the death signal when the thread that forked ends: the worker's forker thread,
    which lives as long as the worker. The worker's sockets (clients' connections among them)
    are closed here so that a connection the worker closes is not held open by the executor;
    files stay open, as the objects that own them (a store on disk) close them when they are
    replaced.
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
    _close_sockets(keep)


def _close_sockets(keep: int) -> None:
    """Close the sockets inherited from the worker (its listener, its clients' connections)."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        return  # not Linux
    for fd in fds:
        if fd > 2 and fd != keep:
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.close(fd)
            except OSError:
                pass  # the listing's own descriptor, already closed


def _serve(conn: Connection, runtime: Runtime) -> None:
    after_fork = getattr(runtime_module, "after_fork", None)
    if after_fork is not None:
        after_fork(runtime)
    sys.setswitchinterval(_SWITCH_INTERVAL)
    sending = threading.Lock()

    def over_budget(culprit: int, used: dict[int, float]) -> None:
        try:
            with sending:
                conn.send_bytes(pickle.dumps((0, (culprit, used)), pickle.HIGHEST_PROTOCOL))
        finally:
            os.kill(os.getpid(), signal.SIGKILL)

    ageing = _Ageing(over_budget)
    jobs: queue.SimpleQueue[tuple[int, Job, float]] = queue.SimpleQueue()
    idle = [0]  # threads waiting for a job
    counting = threading.Lock()

    def work() -> None:
        # Runs jobs until one of them has lowered this thread's priority, which cannot be
        # raised again: then the thread ends, and a new one takes its place when needed.
        while True:
            ident, job, budget = jobs.get()
            ageing.enter(ident, budget)
            try:
                reply = _answer(runtime, job)
            finally:
                aged = ageing.leave()
            data = pickle.dumps((ident, reply), pickle.HIGHEST_PROTOCOL)
            try:
                with sending:
                    conn.send_bytes(data)
            except OSError:
                os._exit(0)  # the worker is gone
            if aged:
                return
            with counting:
                idle[0] += 1

    while True:
        try:
            ident, message, budget = pickle.loads(conn.recv_bytes())  # noqa: S301 - our parent's
        except (EOFError, OSError):
            os._exit(0)
        jobs.put((ident, Job(*pickle.loads(message)), budget))  # noqa: S301
        with counting:
            start = idle[0] == 0
            if not start:
                idle[0] -= 1
        if start:
            threading.Thread(target=work, name="qdkg-query", daemon=True).start()


class _Ageing:
    """Queries that have used some CPU give way to younger ones; one past its budget ends all.

    A watcher lowers the scheduling priority (raises the nice value) of a query's thread as the
    query passes each step of _AGES, so a lookup arriving while heavy queries run gets the CPU
    first, as in shortest-job-first, and the heavy queries share what is left. A thread's
    priority is never raised again (that needs privileges): such a thread ends with its query.
    The same watcher reads each query's CPU time against its budget; when one is over, it calls
    `over_budget(ident, {ident: CPU seconds used} for every running query)`, which does not
    return (the process ends).
    """

    def __init__(self, over_budget: Callable[[int, dict[int, float]], None]) -> None:
        # pthread id -> [kernel thread id, steps taken, the thread's CPU time when its query
        # began, the query's ident, its budget]
        self._running: dict[int, list] = {}
        self._over_budget = over_budget
        self._changed = threading.Condition()
        threading.Thread(target=self._watch, name="qdkg-ageing", daemon=True).start()

    def enter(self, ident: int, budget: float) -> None:
        with self._changed:
            self._running[threading.get_ident()] = [threading.get_native_id(), 0,
                                                    time.thread_time(), ident, budget]
            self._changed.notify()

    def leave(self) -> bool:
        """The query on this thread is done; whether its priority was lowered."""
        with self._changed:  # the watcher reads a thread's clock only under this lock
            state = self._running.pop(threading.get_ident(), None)
        return state is None or state[1] > 0

    def _watch(self) -> None:
        checked = 0.0
        with self._changed:
            while True:
                while not self._running:
                    self._changed.wait()
                used: dict[int, float] = {}
                culprit = 0
                now = time.monotonic()
                every = now - checked >= _BUDGET_CHECK
                if every:
                    checked = now
                for thread, state in self._running.items():
                    tid, step, began, ident, budget = state
                    if step == len(_AGES) and not every:
                        continue
                    try:
                        used[ident] = spent = (
                            time.clock_gettime(time.pthread_getcpuclockid(thread)) - began)
                    except OSError:
                        continue
                    if spent > budget and not culprit:
                        culprit = ident
                    try:
                        while step < len(_AGES) and spent > _AGES[step][0]:
                            os.setpriority(os.PRIO_PROCESS, tid, _AGES[step][1])
                            step += 1
                    except OSError:
                        step = len(_AGES)
                    state[1] = step
                if culprit:
                    for thread, state in self._running.items():
                        if state[3] not in used:
                            try:
                                used[state[3]] = time.clock_gettime(
                                    time.pthread_getcpuclockid(thread)) - state[2]
                            except OSError:
                                pass
                    self._over_budget(culprit, used)
                # a new query wakes the watcher (enter); else, queries still young are looked at
                # often, and queries past every step only as often as budgets are checked
                young = any(state[1] < len(_AGES) for state in self._running.values())
                self._changed.wait(_AGE_CHECK if young else _BUDGET_CHECK)


Executor = ProcessExecutor | InlineExecutor


def executor_for(runtime: Runtime, threads: int = 1) -> Executor:
    """A process executor running up to `threads` queries at once; inline for a remote store."""
    if not isinstance(runtime.store, OxigraphStore):
        return InlineExecutor(runtime)
    return ProcessExecutor(runtime, threads)
