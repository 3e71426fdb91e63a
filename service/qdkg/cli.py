"""The `qdkg` command: build the dataset, serve it, load it into a remote store, validate files."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .build import BuildError, build
from .config import Config
from .paths import DEFAULT_BUILD_DIR


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        result = build(Path(args.out), force=args.force)
    except BuildError as error:
        print(f"build failed: {error}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{k}={v}" for k, v in result.counts.items())
    print(f"dataset: {result.dataset_path} ({counts})")
    return 0


def _store_config(args: argparse.Namespace, **overrides: object) -> Config:
    return Config.from_env(
        store_url=args.store,
        store_update_url=args.store_update,
        store_graph_url=args.store_graph,
        **overrides,
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    from .journal import Journal, JournalError
    from .server import serve

    if args.data_dir:
        try:
            Journal(Path(args.data_dir)).check_writable()
        except JournalError as error:
            print(f"qdkg serve: the data directory {args.data_dir} cannot be used: {error}; "
                  "it holds the change journal, so it must be writable (see docs/operations.md)",
                  file=sys.stderr)
            return 2

    config = _store_config(
        args,
        data_dir=Path(args.data_dir) if args.data_dir else None,
        query_timeout=args.query_timeout,
        max_rows=args.max_rows,
        max_query_bytes=args.max_query_bytes,
        result_cache_mb=args.result_cache_mb,
        planner=args.planner,
        service_allowlist=tuple(args.allow_service) if args.allow_service else None,
        store_mode=args.store_mode,
        max_triples=args.max_triples,
        validation_timeout=args.validation_timeout,
    )
    if not config.store_url:
        from .runtime import StoreModeError, store_mode_for

        try:
            store_mode_for(config, Journal(config.data_dir) if config.data_dir else None)
        except StoreModeError as error:
            print(f"qdkg serve: {error}", file=sys.stderr)
            return 2
    serve(config, host=args.host, port=args.port, workers=args.workers, threads=args.threads)
    return 0


def _cmd_load(args: argparse.Namespace) -> int:
    from .server import prepare_remote_store
    from .store import StoreError

    config = _store_config(args)
    try:
        loaded = prepare_remote_store(config, replace=args.replace)
    except (StoreError, BuildError, SyntaxError) as error:
        print(f"load failed: {error}", file=sys.stderr)
        return 1
    print(f"{args.store}: loaded {loaded} quads" if loaded else f"{args.store}: already holds data "
          "(use --replace to replace its graphs with the build)")
    return 0


def _add_store_options(p: argparse.ArgumentParser, required: bool = False) -> None:
    p.add_argument("--store", required=required, metavar="QUERY_URL",
                   help="SPARQL 1.1 query endpoint of a remote store to use instead of the "
                   "embedded one (it must treat its default graph as the union of its graphs); "
                   "credentials, when it asks for them: QDKG_STORE_USER and "
                   "QDKG_STORE_PASSWORD, or http://user:password@host/... in the URL")
    p.add_argument("--store-update", metavar="URL",
                   help="its SPARQL Update endpoint (default: .../update beside .../query, "
                   "else the query URL)")
    p.add_argument("--store-graph", metavar="URL",
                   help="its Graph Store Protocol endpoint (default: .../store beside .../query)")


def _cmd_export_changes(args: argparse.Namespace) -> int:
    from .export import export_changes
    from .journal import Journal

    data_dir = Path(args.data_dir)
    if not Journal(data_dir).path.exists():
        print(f"{data_dir}: no change journal here (journal/changes.log)", file=sys.stderr)
        return 2
    text, added, removed = export_changes(data_dir)
    Path(args.out).write_text(text, encoding="utf-8")
    print(f"{args.out}: {added} triple(s) to add, {removed} to remove")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from .validation import cli_validate

    return cli_validate(args.files, output_format=args.format, language=args.lang)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="qdkg", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="reason, validate and write the dataset")
    p.add_argument("--out", default=str(DEFAULT_BUILD_DIR), help="output directory (default: build/)")
    p.add_argument("--force", action="store_true", help="rebuild even if the inputs are unchanged")
    p.set_defaults(func=_cmd_build)

    p = sub.add_parser("serve", help="serve the graph over HTTP with a production WSGI server")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--data-dir", help="keep the store (and accepted changes) in this directory")
    _add_store_options(p)
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=16,
                   help="request threads per worker, each able to run a query at once in the "
                   "worker's query process (default 16)")
    p.add_argument("--result-cache-mb", type=float, default=None,
                   help="query answers each worker keeps until the next accepted write, in MB "
                   "(default 64; 0: no cache; QDKG_RESULT_CACHE_MB)")
    p.add_argument("--planner", choices=["on", "off", "auto"], default=None,
                   help="order each query's joins from the data's statistics before the "
                   "embedded store evaluates it; auto (default): when the dataset has at "
                   "least 50,000 triples, below which planning costs more than it saves "
                   "(QDKG_PLANNER)")
    p.add_argument("--store-mode", choices=["memory", "disk", "auto"], default=None,
                   help="keep the embedded store in memory (fastest; each process that queries "
                   "ends up with its own copy) or open the build's on-disk store read-only in "
                   "every process (shared page cache; read-only); auto (default): disk when "
                   "writes are off and the dataset has more than 3M quads (QDKG_STORE_MODE)")
    p.add_argument("--query-timeout", type=float, default=None, help="seconds (default 10)")
    p.add_argument("--max-triples", type=int, default=None,
                   help="triples per validation or write; more are refused with 413 (default "
                   "20000; QDKG_MAX_TRIPLES)")
    p.add_argument("--validation-timeout", type=float, default=None,
                   help="seconds one POST /validate may take before it is stopped with 503 "
                   "(default: twice the query time limit; QDKG_VALIDATION_TIMEOUT)")
    p.add_argument("--max-rows", type=int, default=None,
                   help="result rows (or triples) per query (default 10000)")
    p.add_argument("--max-query-bytes", type=int, default=None,
                   help="query text size limit (default 100000)")
    p.add_argument("--allow-service", action="append", metavar="IRI",
                   help="a SERVICE endpoint queries may call (repeatable; default: none)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("load", help="load the built dataset into a remote store (Graph Store "
                       "Protocol)")
    _add_store_options(p, required=True)
    p.add_argument("--replace", action="store_true",
                   help="replace the graphs the build holds even if the store is not empty")
    p.set_defaults(func=_cmd_load)

    p = sub.add_parser("export-changes", help="write the accepted changes as Turtle, to review "
                       "and fold back into graph/*.ttl")
    p.add_argument("--data-dir", required=True, help="the data directory given to qdkg serve")
    p.add_argument("--out", required=True, help="the Turtle file to write")
    p.set_defaults(func=_cmd_export_changes)

    p = sub.add_parser("validate", help="validate RDF files against the shapes, in context")
    p.add_argument("files", nargs="+", help="RDF files (format from the extension)")
    p.add_argument("--format", choices=["text", "json", "turtle"], default="text")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.set_defaults(func=_cmd_validate)
    return top


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    # rdflib logs a traceback for every ill-typed literal; the build reports them itself, readably.
    logging.getLogger("rdflib.term").setLevel(logging.ERROR)
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
