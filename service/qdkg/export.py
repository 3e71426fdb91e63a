"""`qdkg export-changes`: the net effect of the accepted change sets, as Turtle to review and
fold back into graph/*.ttl, which stay the source of truth for the article.

Triples to add are grouped by the file under graph/ that already describes their subject (new
subjects get a group of their own); triples to remove are listed, as comments, under the file
that holds them. Only what differs from graph/*.ttl today is exported, so running it again after
the files were updated exports nothing.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from rdflib import Graph
from rdflib.term import Node

from .build import source_files
from .changeset import ChangeSet
from .journal import Journal
from .namespaces import BASE, PREFIXES
from .paths import ROOT
from .terms import Triple, to_ox

NEW = "(new resources)"


def net_changes(journal: Journal) -> tuple[set[Triple], set[Triple], int]:
    """Triples added and removed by all change sets together, and how many change sets."""
    last: dict[Triple, bool] = {}
    count = 0
    for entry in journal.read():
        change = ChangeSet.from_record(entry.record)
        for triple in change.diff.asserted_removed:
            last[triple] = False
        for triple in change.diff.asserted_added:
            last[triple] = True
        count += 1
    added = {t for t, present in last.items() if present}
    return added, set(last) - added, count


def export_changes(data_dir: Path, root: Path = ROOT) -> tuple[str, int, int]:
    """(Turtle text, triples to add, triples to remove) relative to root/graph/*.ttl."""
    journal = Journal(Path(data_dir))
    added, removed, count = net_changes(journal)
    files = {path: Graph().parse(path, format="turtle") for path in source_files(root)["article"]}
    curated = Graph()
    for graph in files.values():
        curated += graph
    to_add = sorted(t for t in added if t not in curated)
    to_remove = sorted(t for t in removed if t in curated)

    def home(subject: Node) -> str:
        for path, graph in files.items():
            if (subject, None, None) in graph:
                return str(path.relative_to(root))
        return NEW

    groups: dict[str, list[Triple]] = defaultdict(list)
    for triple in to_add:
        groups[home(triple[0])].append(triple)
    removals: dict[str, list[Triple]] = defaultdict(list)
    for triple in to_remove:
        holder = next(str(p.relative_to(root)) for p, g in files.items() if triple in g)
        removals[holder].append(triple)

    lines = [
        f"# Accepted changes from {journal.path} ({count} change set(s)), relative to graph/*.ttl.",
        f"# {len(to_add)} triple(s) to add, {len(to_remove)} to remove. Review them, move each",
        "# group into its file (new resources into the file of their part of the article),",
        "# delete the removed triples there, then rebuild (qdkg build).",
        "",
        f"@base <{BASE}id/> .",
        *(f"@prefix {p}: <{iri}> ." for p, iri in PREFIXES.items() if p != "qid"),
    ]
    for name in sorted(groups, key=lambda n: (n == NEW, n)):
        lines += ["", f"# --- add to {name}" if name != NEW else f"# --- add: {NEW}", ""]
        lines.append(_turtle(groups[name]))
    for name in sorted(removals):
        lines += ["", f"# --- remove from {name}:"]
        lines += [f"#   {' '.join(str(to_ox(x)) for x in t)} ." for t in removals[name]]
    return "\n".join(lines).rstrip() + "\n", len(to_add), len(to_remove)


def _turtle(triples: list[Triple]) -> str:
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        if prefix != "qid":
            graph.bind(prefix, iri, override=True)
    for triple in triples:
        graph.add(triple)
    text = graph.serialize(format="turtle", base=BASE + "id/")
    body = [line for line in text.splitlines()
            if not line.startswith(("@prefix", "@base", "PREFIX", "BASE"))]
    return "\n".join(body).strip()

