"""A resource's description, read from the store in one query.

What a description holds (each row tagged with its part, and with the graph it comes from, so
inferred triples — graph qg:inferred — can be told apart):

- `own`: every triple with the resource as subject, from every graph;
- `in`: triples that point at it (inbound links), up to INBOUND_LIMIT;
- `evidence`: the triples of the text spans it cites with qdkg:evidence;
- `label`: the rdfs:label of everything it links to and everything linking to it, so a client can
  show names without another round trip;
- `fact` (pages only): the statements whose qdkg:about is the resource, with their evidence spans,
  and (`label`) the names of their measures, units, statuses and periods.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass

import pyoxigraph as ox

from .namespaces import GRAPH_INFERRED, NIF, QDKG
from .store import Store

OWN, INBOUND, EVIDENCE, LABEL, FACT = "own", "in", "evidence", "label", "fact"
RDF_PARTS = frozenset({OWN, INBOUND, EVIDENCE, LABEL})
INBOUND_LIMIT = 2000
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
_INFERRED = ox.NamedNode(str(GRAPH_INFERRED))

_OWN = '{ GRAPH ?g { $this ?p ?o } BIND($this AS ?s) BIND("own" AS ?part) }'
_INBOUND = (
    "{ { SELECT ?s ?p ?g WHERE { GRAPH ?g { ?s ?p $this } } ORDER BY ?s ?p ?g LIMIT $limit }"
    ' BIND($this AS ?o) BIND("in" AS ?part) }'
)
_EVIDENCE = '{ $this qdkg:evidence ?s . GRAPH ?g { ?s ?p ?o } BIND("evidence" AS ?part) }'
_FACT = (
    '{ ?s qdkg:about $this . GRAPH ?g { ?s ?p ?o } BIND("fact" AS ?part) } UNION'
    ' { ?st qdkg:about $this ; qdkg:evidence ?s . GRAPH ?g { ?s ?p ?o } BIND("fact" AS ?part) }'
)
_LINKED = "{ $this ?x ?s } UNION { ?s ?x $this }"
_LINKED_ON_PAGES = (
    " UNION { $this ?s ?x } UNION { ?x ?s $this }"
    " UNION { ?st qdkg:about $this . { ?st ?x ?s } UNION { ?st ?s ?x } }"
)
_LABELS = (
    "{ { $linked } FILTER(isIRI(?s))"
    ' GRAPH ?g { ?s rdfs:label ?o } BIND(rdfs:label AS ?p) BIND("label" AS ?part) }'
)
_QUERY = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX qdkg: <$qdkg>
SELECT DISTINCT ?part ?s ?p ?o ?g WHERE {
$branches
}"""


def _query(this: ox.NamedNode, page: bool) -> str:
    linked = _LINKED + (_LINKED_ON_PAGES if page else "")
    branches = [_OWN, _INBOUND, _EVIDENCE, _LABELS.replace("$linked", linked)]
    if page:
        branches.append(_FACT)
    body = "\nUNION\n".join(branches)
    return (
        _QUERY.replace("$qdkg", str(QDKG))
        .replace("$branches", body)
        .replace("$limit", str(INBOUND_LIMIT))
        .replace("$this", str(this))
    )


@dataclass(frozen=True)
class Row:
    part: str
    quad: ox.Quad

    @property
    def inferred(self) -> bool:
        return self.quad.graph_name == _INFERRED


@dataclass
class Description:
    """What the store says about `iri`."""

    iri: ox.NamedNode
    rows: list[Row]

    @property
    def exists(self) -> bool:
        return any(r.part in (OWN, INBOUND) for r in self.rows)

    def add_computed(self, triples: list[ox.Triple]) -> None:
        """Triples the service computes rather than stores (a graph's size): own, default graph."""
        self.rows.extend(Row(OWN, ox.Quad(t.subject, t.predicate, t.object)) for t in triples)

    @property
    def inbound_truncated(self) -> bool:
        return sum(1 for r in self.rows if r.part == INBOUND) >= INBOUND_LIMIT

    def part(self, *parts: str) -> list[Row]:
        return [r for r in self.rows if r.part in parts]

    def quads(self) -> list[ox.Quad]:
        """The published description: every part but `fact`, each quad once, in a stable order."""
        return sorted({r.quad for r in self.rows if r.part in RDF_PARTS}, key=str)

    def digest(self) -> str:
        """Changes whenever anything in the description changes; the basis of the ETag."""
        lines = sorted({f"{r.part} {r.quad}" for r in self.rows})
        return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def select(store: Store, query: str) -> list[ox.QuerySolution]:
    """The solutions of a SELECT query (the Store's result type covers ASK and CONSTRUCT too)."""
    result = store.query(query)
    if not isinstance(result, ox.QuerySolutions):
        raise TypeError("expected a SELECT query")
    return list(result)


def value_of(term: object) -> str:
    """The IRI, blank node label or lexical form of a term."""
    if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):
        return term.value
    return str(term)


def describe(store: Store, iri: str, *, page: bool = False) -> Description:
    """Read the description of `iri`; `page=True` adds what the HTML page shows (facts, names)."""
    this = ox.NamedNode(iri)
    rows = []
    for part, s, p, o, g in select(store, _query(this, page)):
        rows.append(Row(value_of(part), ox.Quad(s, p, o, g)))
    return Description(this, rows)


def exists(store: Store, iri: str) -> bool:
    """Whether the store has any triple about or pointing at `iri`."""
    this = ox.NamedNode(iri)
    result = store.query(f"ASK {{ {{ {this} ?p ?o }} UNION {{ ?s ?p {this} }} }}")
    return bool(result)


def context_text(store: Store, context: str) -> str | None:
    """The text (nif:isString) of a NIF context, which span offsets index."""
    query = f"SELECT ?t WHERE {{ {ox.NamedNode(context)} <{NIF.isString}> ?t }} LIMIT 1"
    for solution in select(store, query):
        return value_of(solution["t"])
    return None


def subject_iris(store: Store, prefix: str, limit: int = 50_000) -> list[str]:
    """IRIs under `prefix` that the store describes: the candidates a 404 page suggests from."""
    query = (
        "SELECT DISTINCT ?s WHERE { ?s ?p ?o "
        f'FILTER(isIRI(?s) && STRSTARTS(STR(?s), "{_escape(prefix)}")) }} LIMIT {limit}'
    )
    return [value_of(s["s"]) for s in select(store, query)]


def similar_iris(iri: str, candidates: list[str], prefix: str, limit: int = 5) -> list[str]:
    """The `candidates` that look like `iri`, those of the same kind first.

    Only the part after `prefix` is compared: every candidate shares the prefix, which would
    make everything look alike.
    """
    tail = iri[len(prefix):]
    kind = tail[: tail.rfind("/") + 1]
    tails = [c[len(prefix):] for c in candidates if c.startswith(prefix)]
    same_kind = [t for t in tails if t.startswith(kind)] if kind else []
    for pool in (same_kind, tails):
        matches = difflib.get_close_matches(tail, pool, n=limit, cutoff=0.6)
        if matches:
            return [prefix + m for m in matches]
    return []


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
