"""An accepted change set: its journal record, the quads it removes and adds, and its record as
data in the named graph qg:change/{seq}.

The record graph uses the Changeset vocabulary (cs:, http://purl.org/vocab/changeset/schema#):
the change set is a cs:ChangeSet with cs:creatorName (the token's name), cs:createdDate,
cs:subjectOfChange for every resource whose asserted triples changed, cs:precedingChangeSet,
and one reified rdf:Statement per asserted triple added (cs:addition) or removed (cs:removal).
Reification, not sub-graphs holding the triples themselves, because the default graph of every
query is the union of all graphs: a removed triple kept in a graph of its own would still be
asserted there. Inferred changes are in the journal record, not in the graph (they follow from
the asserted ones). The shapes' report on the change (its warnings and infos) hangs off the
change set through rdfs:seeAlso as an sh:ValidationReport.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Literal, Namespace, URIRef
from rdflib.namespace import PROV, RDF, RDFS, SH, XSD
from rdflib.term import Node

from .closure import Diff
from .namespaces import CHANGE_GRAPH_PREFIX, GRAPH_ARTICLE, GRAPH_INFERRED
from .report import Result
from .store import Store
from .terms import Triple, quad_of, to_ox, triple_of

CS = Namespace("http://purl.org/vocab/changeset/schema#")


@dataclass
class ChangeSet:
    seq: int
    who: str
    when: str  # xsd:dateTime, UTC
    operation: str
    diff: Diff
    results: list[dict] = field(default_factory=list)  # the report's warnings and infos
    reason: str | None = None
    reverts: int | None = None

    @property
    def iri(self) -> str:
        return change_graph(self.seq)

    def to_record(self) -> dict:
        d = self.diff
        return {
            "seq": self.seq, "who": self.who, "when": self.when, "operation": self.operation,
            "reason": self.reason, "reverts": self.reverts,
            "asserted": {"added": _nt(d.asserted_added), "removed": _nt(d.asserted_removed)},
            "inferred": {"added": _nt(d.inferred_added), "removed": _nt(d.inferred_removed)},
            "results": self.results,
        }

    @classmethod
    def from_record(cls, record: dict) -> ChangeSet:
        diff = Diff(_parse(record["asserted"]["added"]), _parse(record["asserted"]["removed"]),
                    _parse(record["inferred"]["added"]), _parse(record["inferred"]["removed"]))
        return cls(record["seq"], record["who"], record["when"], record["operation"], diff,
                   record.get("results", []), record.get("reason"), record.get("reverts"))

    def quads(self) -> tuple[list[ox.Quad], list[ox.Quad]]:
        """(remove, add) to apply this change set to a store."""
        d = self.diff
        remove = [quad_of(t, str(GRAPH_ARTICLE)) for t in d.asserted_removed]
        remove += [quad_of(t, str(GRAPH_INFERRED)) for t in d.inferred_removed]
        add = [quad_of(t, str(GRAPH_ARTICLE)) for t in d.asserted_added]
        add += [quad_of(t, str(GRAPH_INFERRED)) for t in d.inferred_added]
        add += [quad_of(t, self.iri) for t in self.record_triples()]
        return remove, add

    def record_triples(self) -> list[Triple]:
        c = URIRef(self.iri)
        triples: list[Triple] = [
            (c, RDF.type, CS.ChangeSet),
            (c, RDF.type, PROV.Activity),
            (c, RDFS.label, Literal(f"Change set {self.seq}", lang="en")),
            (c, RDFS.label, Literal(f"变更集 {self.seq}", lang="zh")),
            (c, CS.creatorName, Literal(self.who)),
            (c, CS.createdDate, Literal(self.when, datatype=XSD.dateTime)),
        ]
        if self.seq > 1:
            triples.append((c, CS.precedingChangeSet, URIRef(change_graph(self.seq - 1))))
        if self.reason:
            triples.append((c, CS.changeReason, Literal(self.reason)))
        if self.reverts is not None:
            triples.append((c, PROV.wasInformedBy, URIRef(change_graph(self.reverts))))
        d = self.diff
        for subject in sorted({s for s, _, _ in (*d.asserted_added, *d.asserted_removed)}, key=str):
            triples.append((c, CS.subjectOfChange, subject))
        for link, prefix, statements in ((CS.addition, "a", d.asserted_added),
                                         (CS.removal, "r", d.asserted_removed)):
            for i, (s, p, o) in enumerate(sorted(statements), start=1):
                node = URIRef(f"{self.iri}#{prefix}{i}")
                triples += [(c, link, node), (node, RDF.type, RDF.Statement),
                            (node, RDF.subject, s), (node, RDF.predicate, p), (node, RDF.object, o)]
        report = URIRef(f"{self.iri}#report")
        triples += [(c, RDFS.seeAlso, report), (report, RDF.type, SH.ValidationReport),
                    (report, SH.conforms, Literal(True))]
        for i, result in enumerate(self.results, start=1):
            node = URIRef(f"{self.iri}#result{i}")
            triples += [(report, SH.result, node), (node, RDF.type, SH.ValidationResult)]
            for key, predicate in (("focusNode", SH.focusNode), ("resultPath", SH.resultPath),
                                   ("sourceShape", SH.sourceShape),
                                   ("sourceConstraintComponent", SH.sourceConstraintComponent),
                                   ("resultSeverity", SH.resultSeverity), ("value", SH.value)):
                term = _term(result.get(key))
                if term is not None:
                    triples.append((node, predicate, term))
            for lang, text in result.get("messages", {}).items():
                triples.append((node, SH.resultMessage, Literal(text, lang=lang or None)))
        return triples


def apply_entry(store: Store, record: dict) -> None:
    """Apply one journal record to a store, as one transaction."""
    remove, add = ChangeSet.from_record(record).quads()
    store.replace(remove, add)


def change_graph(seq: int) -> str:
    return f"{CHANGE_GRAPH_PREFIX}{seq}"


def _nt(triples: list[Triple]) -> str:
    data = ox.serialize([ox.Triple(to_ox(s), to_ox(p), to_ox(o))  # type: ignore[arg-type]
                         for s, p, o in sorted(triples)], format=ox.RdfFormat.N_TRIPLES)
    return (data or b"").decode("utf-8")


def _parse(text: str) -> list[Triple]:
    return [triple_of(t) for t in ox.parse(text.encode("utf-8"), ox.RdfFormat.N_TRIPLES)]


def result_record(result: Result) -> dict:
    """A report result as stored in the journal: IRIs and literals only (no blank nodes)."""
    def keep(node: Node | None) -> str | None:
        return str(to_ox(node)) if isinstance(node, URIRef | Literal) else None

    return {
        "focusNode": keep(result.focus), "resultPath": keep(result.path),
        "sourceShape": keep(result.shape), "sourceConstraintComponent": keep(result.component),
        "resultSeverity": keep(result.severity), "value": keep(result.value),
        "messages": dict(result.messages),
    }


def _term(text: str | None) -> Node | None:
    if not text:
        return None
    triple = next(iter(ox.parse(f"<urn:x> <urn:x> {text} .".encode(), ox.RdfFormat.N_TRIPLES)))
    return triple_of(triple)[2]
