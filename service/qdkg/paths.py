"""Where the project's data lives on disk: the repository's ontology/, shapes/ and graph/."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(os.environ.get("QDKG_ROOT", Path(__file__).resolve().parents[2]))
ONTOLOGY_DIR = ROOT / "ontology"
SHAPES_DIR = ROOT / "shapes"
GRAPH_DIR = ROOT / "graph"
EXTERNAL_DIR = GRAPH_DIR / "external"
ARTICLE_TEXT_FILE = GRAPH_DIR / "source" / "article.txt"
QUERIES_DIR = Path(__file__).resolve().parent / "queries"
DEFAULT_BUILD_DIR = ROOT / "build"


def article_text() -> str:
    """The shipped article, decoded; offsets in the graph index this string."""
    return ARTICLE_TEXT_FILE.read_text(encoding="utf-8")
