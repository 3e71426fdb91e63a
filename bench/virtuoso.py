"""Debian's Virtuoso (virtuoso-opensource-7-bin) as a peer: a fresh database in a work directory,
bound to 127.0.0.1, loaded with the build's N-Quads by the bulk loader (ld_dir/rdf_loader_run)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from servers import Sampler, Server, free_port, spawn, wait_for_answer

INI = """[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
ServerThreads = 20
CheckpointInterval = 60
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
DirsAllowed = ., {db}, {data}
CaseMode = 2
MaxQueryMem = 1G

[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {db}
MaxClientConnections = 20
MaxKeepAlives = 20
KeepAliveTimeout = 10
ServerThreads = 20
Charset = UTF-8

[SPARQL]
ResultSetMaxRows = 10000
MaxQueryExecutionTime = 60
MaxQueryCostEstimationTime = 400
"""


class Unavailable(Exception):
    """Virtuoso is not installed or could not be started; the message says why."""


def start_virtuoso(dataset: Path, work: Path, sampler: Sampler, quads: int) -> Server:
    """A Virtuoso server holding `dataset`; facts: start-up, load and checkpoint times."""
    binary, isql = shutil.which("virtuoso-t"), shutil.which("isql-vt")
    if not binary or not isql:
        raise Unavailable("virtuoso-t/isql-vt not found "
                          "(apt-get install virtuoso-opensource-7-bin)")
    db = work / "virtuoso-db"
    if db.exists():
        shutil.rmtree(db)
    db.mkdir(parents=True)
    sql_port, http_port = free_port(), free_port()
    # 8 KiB pages: room for the data and its indexes several times over.
    buffers = max(20_000, min(400_000, quads // 5))
    (db / "virtuoso.ini").write_text(INI.format(
        db=db, data=dataset.parent, sql_port=sql_port, http_port=http_port, buffers=buffers,
        dirty=buffers * 3 // 4))
    log_path = work / "virtuoso.log"
    started = time.monotonic()
    process = spawn([binary, "-f", "-c", str(db / "virtuoso.ini")], log_path)
    server = Server("virtuoso", f"http://127.0.0.1:{http_port}/sparql", process, form_queries=True)
    sampler.watch("virtuoso", process.pid)
    try:
        server.facts["startup_empty_s"] = round(wait_for_answer(server, started, 180, log_path), 3)
        started = time.monotonic()
        # Our own paths into isql's script: nothing here comes from outside the harness.
        script = (f"ld_dir('{dataset.parent}', '{dataset.name}', 'urn:qdkg:default'); "  # noqa: S608
                  "rdf_loader_run(); checkpoint; SELECT COUNT(*) FROM DB.DBA.LOAD_LIST "
                  "WHERE ll_state <> 2 OR ll_error IS NOT NULL;")
        result = subprocess.run([isql, f"127.0.0.1:{sql_port}", "dba", "dba", f"exec={script}"],
                                capture_output=True, text=True, timeout=3600)
        if result.returncode != 0 or "Error" in result.stdout + result.stderr:
            raise Unavailable(f"bulk load failed: {result.stdout[-2000:]} {result.stderr[-2000:]}")
        server.facts["load_s"] = round(time.monotonic() - started, 3)
    except BaseException:
        server.stop()
        raise
    server.facts["log"] = str(log_path)
    return server
