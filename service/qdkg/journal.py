"""The change journal: an append-only log of accepted change sets, safe across processes and
crashes.

One file, `DATA_DIR/journal/changes.log`. Each record is framed as

    b"QDKJ" | payload length (4 bytes, big-endian) | SHA-256 of the payload (32 bytes) | payload

with a UTF-8 JSON payload. A record counts once it is complete and its checksum matches; a
writer killed half-way leaves a torn tail, which readers skip and the next writer cuts off
(under the lock). Writers hold an exclusive `flock` on `DATA_DIR/write.lock` from before they
read the state until after the record is fsynced, so change sets are numbered and applied in one
order by every process. Readers need no lock: they only ever read complete records.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

MAGIC = b"QDKJ"
_HEADER = struct.Struct(">4sI32s")
LOG_NAME = "changes.log"
LOCK_NAME = "write.lock"


class JournalError(Exception):
    """The journal cannot be read or written (corrupt in the middle, disk full, no permission)."""


@dataclass(frozen=True)
class Entry:
    record: dict
    end: int  # offset just after this record: where the next one starts

    @property
    def seq(self) -> int:
        return int(self.record["seq"])


class Journal:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self.directory = self.data_dir / "journal"
        self.path = self.directory / LOG_NAME
        self.lock_path = self.data_dir / LOCK_NAME
        with contextlib.suppress(OSError):  # check_writable and the first write say why not
            self.directory.mkdir(parents=True, exist_ok=True)

    def check_writable(self) -> None:
        """Raise JournalError unless the lock and the log can be opened for writing (at start)."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644))
            if self.path.exists():
                os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND))
        except OSError as error:
            raise JournalError(f"it cannot be written ({_reason(error)})") from None

    def version(self) -> tuple[int, int]:
        """(size, mtime) of the log: one stat, enough to tell that nothing was appended."""
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return (0, 0)
        return (stat.st_size, stat.st_mtime_ns)

    def read(self, offset: int = 0) -> Iterator[Entry]:
        """The complete records from `offset` on; stops silently at a torn or unfinished tail."""
        try:
            with open(self.path, "rb") as log:
                log.seek(offset)
                data = log.read()
        except FileNotFoundError:
            return
        position = 0
        while position + _HEADER.size <= len(data):
            magic, length, digest = _HEADER.unpack_from(data, position)
            start = position + _HEADER.size
            payload = data[start : start + length]
            complete = magic == MAGIC and len(payload) == length
            if not complete or hashlib.sha256(payload).digest() != digest:
                return
            position = start + length
            yield Entry(json.loads(payload.decode("utf-8")), offset + position)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive write lock across processes, and threads: each call opens its own
        descriptor, and flock locks belong to the open file description."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise JournalError(f"the data directory cannot be written ({_reason(error)})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def cut_torn_tail(self, valid_end: int) -> None:
        """Drop whatever follows the last complete record. Only under the write lock."""
        size, _ = self.version()
        if size > valid_end:
            try:
                with open(self.path, "r+b") as log:
                    log.truncate(valid_end)
                    os.fsync(log.fileno())
            except OSError as error:
                raise JournalError(
                    f"the change journal's torn tail could not be cut ({_reason(error)})") from None

    def append(self, record: dict) -> int:
        """Write one record durably (fsync) and return the offset after it. Only under the lock."""
        payload = json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8")
        frame = _HEADER.pack(MAGIC, len(payload), hashlib.sha256(payload).digest()) + payload
        created = not self.path.exists()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                view = memoryview(frame)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
                end = os.lseek(fd, 0, os.SEEK_END)
            finally:
                os.close(fd)
            if created:
                _fsync_dir(self.directory)
        except OSError as error:
            raise JournalError(f"the change journal cannot be written ({_reason(error)})") from None
        return end


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _reason(error: OSError) -> str:
    """The operating system's reason, without the file's path (messages reach clients)."""
    return error.strerror or type(error).__name__
