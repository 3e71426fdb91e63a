"""The benchmark: this service against an Oxigraph server (and Debian's Virtuoso) on the same data,
on this machine, in one run. Not part of the test suite.

    python bench/run.py                            # the article and 100k triples
    python bench/run.py --sizes article 100000 1000000 --duration 20
    python bench/run.py --smoke                    # a few seconds, to check the harness

For each size: generate the data (bench/generate.py) and build it (`qdkg build`, timed, with its
peak memory); load it into an Oxigraph server and Virtuoso (timed); start `qdkg serve` over the
build (start-up timed to the first answered query) and `qdkg serve --store` against the Oxigraph
server. Then, per server: each query of the mix once (latency and row counts, compared), the
mix at each concurrency for a fixed time (requests/s, p50/p95/p99, CPU per request), the
latency of single-resource lookups sent at a steady pace while the mix runs at the highest
concurrency, linked-data dereferencing (/doc pages as HTML and Turtle, /id redirects), and
POST /validate with a 100- and a 10,000-triple submission. Load comes from wrk (or bench/load.py)
in a separate process; peak memory is the PSS (and RSS) of each server's whole process tree.
Prints one table per size and writes JSON (bench/results/latest.json by default).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
import load  # noqa: E402
from mix import BASE, Query, build_mix, count_results, lookups, sample_parameters  # noqa: E402
from servers import (  # noqa: E402
    OXIGRAPH,
    Sampler,
    Server,
    cpu_seconds,
    start_oxigraph,
    start_qdkg,
    tree_pids,
)

PRIMARY = "qdkg"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the machine ---------------------------------------------------------------------------------


def _version(argv: list[str]) -> str:
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "not installed"
    text = (result.stdout + result.stderr).strip().splitlines()
    return next((line for line in text if line.strip()), "unknown")[:120]


def machine() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for name in ("qdkg", "pyoxigraph", "oxigraph", "rdflib", "pyshacl", "owlrl", "flask",
                 "werkzeug", "gunicorn", "sparqlwrapper"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = None
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(), "python": platform.python_version(),
        "packages": packages, "oxigraph_server": _version([OXIGRAPH, "--version"]),
        "virtuoso": _version(["dpkg-query", "-W", "-f", "${Package} ${Version}",
                              "virtuoso-opensource-7-bin"]),
        "wrk": _version(["wrk", "-v"]),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
    }


def loadavg() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


# --- data and builds ---------------------------------------------------------------------------


def prepare_data(size: str, work: Path, seed: int) -> Path | None:
    """The QDKG_ROOT for a size (None: the repository itself, for the article)."""
    if size == "article":
        return None
    root = work / f"data-{size}"
    marker = root / "generated.json"
    if marker.exists():
        made = json.loads(marker.read_text())
        if made.get("seed") == seed and made.get("requested_triples") == int(size):
            return root
    generate.generate(root, int(size), seed, log=log)
    return root


def timed_build(root: Path | None, out: Path, sampler: Sampler, timeout: float,
                force: bool) -> dict:
    """`qdkg build` as a separate process: wall and CPU time, peak memory, its own timings."""
    env = {**os.environ}
    if root is not None:
        env["QDKG_ROOT"] = str(root)
    argv = [sys.executable, "-m", "qdkg.cli", "build", "--out", str(out)]
    manifest = out / "manifest.json"
    if not force and manifest.exists():
        from qdkg.build import inputs_digest, source_files

        previous = json.loads(manifest.read_text())
        files = [p for group in source_files(root or REPO).values() for p in group]
        if previous.get("conforms") and previous.get("inputs") == inputs_digest(files):
            return {"reused": True, "timings": previous.get("timings"),
                    "counts": previous.get("counts")}
    if force:
        argv.append("--force")
    log_path = out.parent / f"build-{out.parent.name}.log"
    out.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(argv, env=env, stdout=log_file, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    sampler.watch("build", process.pid)
    cpu = 0.0
    try:
        while process.poll() is None:
            cpu = max(cpu, cpu_seconds(tree_pids(process.pid)))
            if time.monotonic() - started > timeout:
                os.killpg(process.pid, 9)
                process.wait()
                return {"finished": False, "timeout_s": timeout, "cpu_s": round(cpu, 1),
                        **sampler.peak_mib("build"), "log": log_path.read_text()[-2000:]}
            time.sleep(0.5)
    finally:
        sampler.forget("build")
    wall = time.monotonic() - started
    text = log_path.read_text(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"qdkg build failed:\n{text[-3000:]}")
    facts = json.loads(manifest.read_text())
    return {"finished": True, "wall_s": round(wall, 2), "cpu_s": round(cpu, 1),
            **sampler.peak_mib("build"), "timings": facts["timings"], "counts": facts["counts"]}


# --- measurements --------------------------------------------------------------------------------


def each_query(servers: dict[str, Server], mix: list[Query], per_template: int) -> dict:
    """Every template run `per_template` times (different parameters) on every server, one at
    a time: median latency, results of the first variant, and failures."""
    by_template: dict[str, list[Query]] = {}
    for query in mix:
        by_template.setdefault(query.template, []).append(query)
    report = {}
    for template, queries in by_template.items():
        entry: dict[str, dict] = {}
        for name, server in servers.items():
            times, failures, rows = [], [], None
            for query in queries[:per_template]:
                try:
                    status, body, seconds = server.query(query.text, query.accept)
                except OSError as error:
                    failures.append(f"{type(error).__name__}: {error}")
                    continue
                if status != 200:
                    failures.append(f"{status}: {body[:200].decode(errors='replace')}")
                    continue
                times.append(seconds * 1000)
                if rows is None:
                    try:
                        rows = count_results(body, query.accept)
                    except (ValueError, KeyError, SyntaxError) as error:
                        failures.append(f"unparsable result: {error}")
            entry[name] = {"p50_ms": round(statistics.median(times), 2) if times else None,
                           "rows_first": rows, "failures": failures[:3],
                           "failed": len(failures)}
        report[template] = {"kind": queries[0].kind, "servers": entry}
    return report


def request_file(work: Path, name: str, requests: list[bytes]) -> Path:
    return load.write_requests(work / f"{name}.requests", requests)


def _cpu(server: Server | None) -> float:
    if server is None or server.process is None:
        return 0.0
    return cpu_seconds(tree_pids(server.process.pid))


def drive(server: Server, requests_file: Path, connections: int, duration: float, work: Path,
          client: str, backend: Server | None = None) -> dict:
    """One load run; with the CPU the server's process tree (and its `backend` store's) spent
    per request, which is less sensitive than requests/s to what else runs on the machine."""
    before, backend_before = _cpu(server), _cpu(backend)
    load_before = loadavg()
    if client == "wrk":
        stats = load.run_wrk(server.base, requests_file, connections, duration, work)
    else:
        stats = load.run_python(requests_file, server.port, connections, duration)
    if stats["requests"]:
        n = stats["requests"]
        stats["server_cpu_ms_per_request"] = round((_cpu(server) - before) * 1000 / n, 3)
        if backend is not None:
            stats["store_cpu_ms_per_request"] = round((_cpu(backend) - backend_before) * 1000 / n,
                                                      3)
    stats["loadavg"] = [load_before, loadavg()]
    return stats


def throughput(servers: dict[str, Server], mix: list[Query], lookup_queries: list[Query],
               concurrency: list[int], duration: float, work: Path, client: str,
               sampler: Sampler) -> tuple[dict, dict]:
    """The mix at each concurrency on each server; at the highest, lookups timed alongside."""
    results: dict[str, dict] = {name: {} for name in servers}
    probes: dict[str, dict] = {}
    for c in concurrency:
        for name, server in servers.items():
            requests = request_file(work, f"mix-{name}",
                                    [server.request_bytes(q.text, q.accept) for q in mix])
            probe = None
            if c == max(concurrency):
                probe_file = request_file(work, f"lookup-{name}", [
                    server.request_bytes(q.text, q.accept) for q in lookup_queries])
                probe = load.start_python(probe_file, server.port, 1, duration, pace=0.05)
            log(f"  {name}: mix at concurrency {c} for {duration:g} s")
            backend = servers.get("oxigraph") if name.endswith("-remote") else None
            results[name][str(c)] = drive(server, requests, c, duration, work, client, backend)
            sampler.sample(name)
            if probe is not None:
                probes[name] = load.collect(probe)
            stats = results[name][str(c)]
            log(f"    {stats['rps']} req/s, p50 {stats['latency_ms']['p50']} ms, "
                f"{stats['failed']} failed")
    return results, probes


def _get(path: str, accept: str, server: Server) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Accept: {accept}\r\n\r\n").encode()


def dereferencing(server: Server, oxigraph: Server | None, entities: list[str], duration: float,
                  work: Path, client: str) -> dict:
    """Linked-data pages and redirects at concurrency 16 (and Oxigraph's DESCRIBE as Turtle)."""
    from urllib.parse import quote

    paths = [e[len(BASE):] for e in entities if e.startswith(BASE)]
    cases = {
        "doc_html": [_get(f"/doc/{p}", "text/html", server) for p in paths],
        "doc_turtle": [_get(f"/doc/{p}", "text/turtle", server) for p in paths],
        "id_see_other": [_get(f"/id/{p}", "text/turtle", server) for p in paths],
    }
    report = {}
    for case, requests in cases.items():
        log(f"  dereferencing: {case}")
        report[case] = drive(server, request_file(work, case, requests), 16, duration, work,
                             client)
    if oxigraph is not None:
        requests = [_get(f"/query?query={quote(f'DESCRIBE <{e}>')}", "text/turtle", oxigraph)
                    for e in entities]
        log("  dereferencing: oxigraph DESCRIBE as Turtle")
        report["oxigraph_describe_turtle"] = drive(
            oxigraph, request_file(work, "ox-describe", requests), 16, duration, work, client)
    return report


def validation(server: Server, sizes: dict[int, int], seed: int) -> dict:
    """POST /validate, one request at a time: p50 per submission size (triples)."""
    report = {}
    for triples, reps in sizes.items():
        body = generate.submission(triples, seed).encode()
        times, failures = [], []
        for _ in range(reps):
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
            started = time.perf_counter()
            try:
                conn.request("POST", "/validate", body=body, headers={
                    "Content-Type": "text/turtle", "Accept": "application/json"})
                response = conn.getresponse()
                data = response.read()
            finally:
                conn.close()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200 or not json.loads(data).get("conforms"):
                failures.append(f"{response.status}: {data[:300].decode(errors='replace')}")
            times.append(elapsed)
        report[str(triples)] = {"requests": reps, "p50_ms": round(statistics.median(times), 1),
                                "min_ms": round(min(times), 1), "failures": failures[:2]}
        log(f"  validate {triples} triples: p50 {report[str(triples)]['p50_ms']} ms")
    return report


WRITE_TOKEN = "bench-writer-0123456789"


def small_changes(server: Server, changes: int, triples: int) -> dict:
    """Accepted writes of about `triples` new triples each (POST /store into the article graph,
    validated against the shapes before commit), one at a time: p50 of the whole request."""
    times, failures = [], []
    for i in range(changes):
        body = generate.submission(triples, seed=1000 + i).encode()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=600)
        started = time.perf_counter()
        try:
            conn.request("POST", "/store?graph=https://w3id.org/qdkg/graph/article", body=body,
                         headers={"Content-Type": "text/turtle", "Accept": "application/json",
                                  "Authorization": f"Bearer {WRITE_TOKEN}"})
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        times.append((time.perf_counter() - started) * 1000)
        if response.status != 200 or json.loads(data).get("status") != "committed":
            failures.append(f"{response.status}: {data[:300].decode(errors='replace')}")
    report = {"changes": changes, "triples_each": triples,
              "p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1),
              "failures": failures[:2]}
    log(f"  accepted change of ~{triples} triples: p50 {report['p50_ms']} ms")
    return report


# --- one size ------------------------------------------------------------------------------------


def run_size(size: str, args: argparse.Namespace, work: Path, sampler: Sampler) -> dict:
    size_dir = work / f"run-{size}"
    size_dir.mkdir(parents=True, exist_ok=True)
    result: dict = {"size": size}
    root = prepare_data(size, work, args.seed)
    if root is not None:
        result["generated"] = json.loads((root / "generated.json").read_text())
    build_dir = Path(args.build_dir) if args.build_dir else (root or work / "article") / "build"
    if args.build_dir:
        result["build"] = {"given": str(build_dir)}
    else:
        log(f"{size}: building")
        result["build"] = timed_build(root, build_dir, sampler, args.build_timeout,
                                      args.force_build)
        if result["build"].get("finished") is False:
            log(f"{size}: the build did not finish within {args.build_timeout} s; skipping")
            return result
    dataset = build_dir / "dataset.nq"
    with dataset.open("rb") as f:
        result["quads"] = sum(1 for _ in f)
    servers: dict[str, Server] = {}
    try:
        log(f"{size}: starting servers ({result['quads']} quads)")
        servers[PRIMARY] = start_qdkg(PRIMARY, root, build_dir, size_dir, sampler, args.workers,
                                      *args.serve_args.split())
        for spec in args.also:
            name, _, extra = spec.partition("=")
            servers[name] = start_qdkg(name, root, build_dir, size_dir, sampler, args.workers,
                                       *extra.split())
        oxigraph = start_oxigraph(dataset, size_dir, sampler)
        servers["oxigraph"] = oxigraph
        if not args.no_virtuoso:
            from virtuoso import Unavailable, start_virtuoso

            try:
                servers["virtuoso"] = start_virtuoso(dataset, size_dir, sampler, result["quads"])
            except (Unavailable, RuntimeError) as error:
                result["virtuoso_unavailable"] = str(error)
                log(f"{size}: Virtuoso unavailable: {error}")
        if not args.no_remote:
            servers["qdkg-remote"] = start_qdkg("qdkg-remote", root, build_dir, size_dir, sampler,
                                                args.workers, *args.serve_args.split(),
                                                "--store", oxigraph.query_url)
        result["servers"] = {name: {k: v for k, v in s.facts.items() if k != "log"}
                             for name, s in servers.items()}

        values = sample_parameters(oxigraph, args.variants, args.seed)
        mix = build_mix(values, args.variants)
        log(f"{size}: warm-up, then each query alone")
        for server in servers.values():
            for query in mix[: len(mix) // args.variants]:
                server.query(query.text, query.accept)
        result["queries"] = each_query(servers, mix, args.per_template)
        if args.servers_only:
            return result
        log(f"{size}: the mix ({len(mix)} requests, {len(mix) // args.variants} templates)")
        result["mix"], result["lookups_under_load"] = throughput(
            servers, mix, lookups(values), args.concurrency, args.duration, size_dir, args.client,
            sampler)
        result["dereferencing"] = dereferencing(
            servers[PRIMARY], oxigraph, values["entity"], args.deref_duration, size_dir,
            args.client)
        result["validation"] = validation(servers[PRIMARY], args.validation_sizes, args.seed)
        if args.changes:
            shutil.rmtree(size_dir / "data", ignore_errors=True)  # changes of an earlier run
            writer = start_qdkg("qdkg-writes", root, build_dir, size_dir, sampler, args.workers,
                                *args.serve_args.split(), "--data-dir", str(size_dir / "data"),
                                tokens=f"bench:{WRITE_TOKEN}")
            servers["qdkg-writes"] = writer
            result["writes"] = small_changes(writer, args.changes, 22)
    finally:
        for name, server in servers.items():
            sampler.forget(name)
            server.stop()
        for name in servers:
            result.setdefault("servers", {}).setdefault(name, {}).update(sampler.peak_mib(name))
    return result


# --- the table ---------------------------------------------------------------------------------

WIDTH = 12


def _cell(value: object) -> str:
    return f"{'-' if value is None else value!s:>{WIDTH}}"


def _row(label: str, names: list[str], values: dict, compare: str | None = None) -> str:
    """One line of the table; `compare` "higher" or "lower" adds qdkg's ratio to Oxigraph,
    written so that above 1 means qdkg does better."""
    ratio = ""
    ours, theirs = values.get(PRIMARY), values.get("oxigraph")
    if compare and ours and theirs:
        ratio = f"{(ours / theirs if compare == 'higher' else theirs / ours):.2f}x"
    return f"{label:36}" + "".join(_cell(values.get(n)) for n in names) + f"{ratio:>{WIDTH}}"


def table(results: dict) -> str:
    lines = []
    for size, r in results["sizes"].items():
        generated = r.get("generated", {}).get("triples", "none")
        lines.append(f"\n== {size}: {r.get('quads', '?')} quads "
                     f"(generated triples: {generated}) ==")
        build = r.get("build", {})
        if build.get("reused"):
            t = build.get("timings", {})
            lines.append("build: reused; the build that made it took "
                         f"{t.get('total', 0):.1f} s (load {t.get('load', 0):.1f}, "
                         f"reason {t.get('reason', 0):.1f}, validate {t.get('validate', 0):.1f}, "
                         f"write {t.get('write', 0):.1f})")
        elif build.get("finished"):
            t = build.get("timings", {})
            lines.append(f"build: {build['wall_s']} s wall, {build['cpu_s']} s CPU "
                         f"(load {t.get('load', 0):.1f}, reason {t.get('reason', 0):.1f}, "
                         f"validate {t.get('validate', 0):.1f}, write {t.get('write', 0):.1f}), "
                         f"peak {build.get('peak_pss_mib')} MiB PSS")
        elif build.get("finished") is False:
            lines.append(f"build: not finished within {build['timeout_s']} s "
                         f"({build['cpu_s']} s CPU, peak {build.get('peak_pss_mib')} MiB PSS)")
        servers = r.get("servers", {})
        names = list(servers)
        if not names:
            continue
        lines.append(f"{'':36}" + "".join(f"{n:>{WIDTH}}" for n in names)
                     + f"{'qdkg:oxi':>{WIDTH}}")
        for label, key in (("load into store (s)", "load_s"),
                           ("start-up to first answer (s)", "startup_s"),
                           ("peak memory, PSS (MiB)", "peak_pss_mib"),
                           ("peak memory, RSS (MiB)", "peak_rss_mib")):
            lines.append(_row(label, names, {n: s.get(key) for n, s in servers.items()}))
        mix = r.get("mix", {})
        for c in sorted(int(c) for c in mix.get(PRIMARY, {})):
            at = {n: mix[n][str(c)] for n in mix}
            lines.append(_row(f"mix c={c}: requests/s", names,
                              {n: s["rps"] for n, s in at.items()}, "higher"))
            for p in ("p50", "p95", "p99"):
                lines.append(_row(f"mix c={c}: {p} (ms)", names,
                                  {n: s["latency_ms"][p] for n, s in at.items()}, "lower"))
            lines.append(_row(f"mix c={c}: failed requests", names,
                              {n: s["failed"] for n, s in at.items()}))
            lines.append(_row(f"mix c={c}: server CPU/request (ms)", names,
                              {n: s.get("server_cpu_ms_per_request") for n, s in at.items()},
                              "lower"))
            if any("store_cpu_ms_per_request" in s for s in at.values()):
                lines.append(_row(f"mix c={c}: + remote store CPU (ms)", names,
                                  {n: s.get("store_cpu_ms_per_request") for n, s in at.items()}))
        probes = r.get("lookups_under_load", {})
        for p in ("p50", "p95"):
            if probes:
                lines.append(_row(f"lookup {p} under the mix (ms)", names,
                                  {n: s["latency_ms"][p] for n, s in probes.items()}, "lower"))
        for case, stats in r.get("dereferencing", {}).items():
            lines.append(f"{'deref ' + case + ' c=16 (req/s)':36}{stats['rps']:>{WIDTH}}"
                         f"   p50 {stats['latency_ms']['p50']} ms, {stats['failed']} failed")
        for triples, stats in r.get("validation", {}).items():
            lines.append(f"{'validate ' + triples + ' triples, p50 (ms)':36}"
                         f"{stats['p50_ms']:>{WIDTH}}")
        if r.get("writes"):
            w = r["writes"]
            lines.append(f"{'accepted change ~' + str(w['triples_each']) + ' triples, p50 (ms)':36}"
                         f"{w['p50_ms']:>{WIDTH}}   ({w['changes']} changes, "
                         f"{len(w['failures'])} failed)")
        queries = r.get("queries", {})
        if queries:
            lines.append("each query alone, p50 (ms; !n = n failed):")
            ordered = sorted(queries.items(), key=lambda kv: -(
                kv[1]["servers"].get(PRIMARY, {}).get("p50_ms") or 0))
            for template, entry in ordered:
                cells = {}
                for n in names:
                    s = entry["servers"].get(n, {})
                    cell = "-" if s.get("p50_ms") is None else f"{s['p50_ms']}"
                    cells[n] = cell + (f"!{s['failed']}" if s.get("failed") else "")
                lines.append(_row(template[:36], names, cells))
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", default=["article", "100000"],
                   help="'article' and/or numbers of generated triples (default: article 100000)")
    p.add_argument("--duration", type=float, default=15.0, help="seconds per mix measurement")
    p.add_argument("--deref-duration", type=float, default=10.0)
    p.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--workers", type=int, default=2, help="qdkg serve --workers")
    p.add_argument("--serve-args", default="", help="more options for qdkg serve, e.g. "
                   "'--threads 4'")
    p.add_argument("--also", action="append", default=[], metavar="NAME=OPTIONS",
                   help="measure another qdkg configuration too, e.g. 'qdkg-t4=--threads 4'")
    p.add_argument("--variants", type=int, default=24,
                   help="parameter values per query template")
    p.add_argument("--per-template", type=int, default=5,
                   help="runs per template in the one-at-a-time pass")
    p.add_argument("--validation-sizes", type=lambda s: {int(k): int(v) for k, v in (
        x.split(":") for x in s.split(","))}, default={100: 15, 10_000: 3},
        help="triples:requests,... (default 100:15,10000:3)")
    p.add_argument("--changes", type=int, default=5,
                   help="accepted small writes to time (0: none)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--work", help="working directory (default: a new one under /tmp)")
    p.add_argument("--build-dir", help="use this build instead of building (the article only)")
    p.add_argument("--build-timeout", type=float, default=900.0)
    p.add_argument("--force-build", action="store_true",
                   help="rebuild even when a build of the same inputs exists")
    p.add_argument("--client", choices=["wrk", "python"],
                   default="wrk" if load.have_wrk() else "python")
    p.add_argument("--servers-only", action="store_true",
                   help="only load, start-up, memory and each query once (e.g. for 5M triples)")
    p.add_argument("--no-virtuoso", action="store_true")
    p.add_argument("--no-remote", action="store_true")
    p.add_argument("--out", help="JSON results (default: bench/results/latest.json; with "
                   "--smoke, smoke.json in the work directory)")
    p.add_argument("--smoke", action="store_true",
                   help="the article only, 1 s per measurement, no Virtuoso: checks the harness")
    args = p.parse_args(argv)
    if args.smoke:
        args.sizes, args.duration, args.deref_duration = ["article"], 1.0, 1.0
        args.concurrency, args.variants, args.per_template = [1, 4], 2, 1
        args.validation_sizes, args.no_virtuoso, args.changes = {100: 1}, True, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="qdkg-bench."))
    work.mkdir(parents=True, exist_ok=True)
    results: dict = {
        "started": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(), "work": str(work),
        "config": {k: v for k, v in vars(args).items() if k not in ("out",)},
        "sizes": {},
    }
    results["config"]["validation_sizes"] = {str(k): v for k, v in args.validation_sizes.items()}
    started = time.monotonic()
    with Sampler() as sampler:
        for size in args.sizes:
            results["sizes"][size] = run_size(size, args, work, sampler)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    results["machine"]["loadavg_at_end"] = Path("/proc/loadavg").read_text().split()[:3]
    default_out = work / "smoke.json" if args.smoke else HERE / "results" / "latest.json"
    out = Path(args.out or default_out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nwritten to {out} ({results['elapsed_s']} s)")
    if args.smoke and not args.work and not args.out:
        shutil.rmtree(work, ignore_errors=True)
    else:
        log(f"work directory kept: {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
