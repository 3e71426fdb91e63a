"""The `qdkg` command: build the dataset, serve it, validate files."""

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


def _cmd_serve(args: argparse.Namespace) -> int:
    from .server import serve

    config = Config.from_env(
        data_dir=Path(args.data_dir) if args.data_dir else None,
        store_url=args.store,
        query_timeout=args.query_timeout,
    )
    serve(config, host=args.host, port=args.port, workers=args.workers, threads=args.threads)
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
    p.add_argument("--store", help="URL of a remote SPARQL 1.1 query endpoint to use as the store")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--threads", type=int, default=4, help="threads per worker (default 4)")
    p.add_argument("--query-timeout", type=float, default=None, help="seconds (default 10)")
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("validate", help="validate RDF files against the shapes, in context")
    p.add_argument("files", nargs="+", help="RDF files (format from the extension)")
    p.add_argument("--format", choices=["text", "json", "turtle"], default="text")
    p.add_argument("--lang", choices=["en", "zh"], default="en")
    p.set_defaults(func=_cmd_validate)
    return top


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
