"""Find a quote in the shipped article and print its offsets: `python -m qdkg.locate QUOTE`."""

from __future__ import annotations

import argparse
import sys

from .paths import article_text


def occurrences(text: str, quote: str) -> list[int]:
    found, start = [], text.find(quote)
    while start != -1:
        found.append(start)
        start = text.find(quote, start + 1)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qdkg.locate", description=__doc__)
    parser.add_argument("quote")
    parser.add_argument("--all", action="store_true", help="print every occurrence")
    args = parser.parse_args(argv)
    text = article_text()
    hits = occurrences(text, args.quote)
    if not hits:
        print(f"not found: {args.quote!r}", file=sys.stderr)
        return 1
    for begin in hits if args.all else hits[:1]:
        end = begin + len(args.quote)
        context = text[max(0, begin - 15) : end + 15].replace("\n", "⏎")
        print(f"qid:span/{begin}-{end}  begin={begin} end={end}  …{context}…")
    if len(hits) > 1 and not args.all:
        print(f"({len(hits)} occurrences; --all lists them)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
