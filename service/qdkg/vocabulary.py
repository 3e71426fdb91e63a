"""The query page's completion vocabulary: our ontology terms and labelled entities, from the Store.

No Flask here: the web layer asks for `vocabulary(store)` and caches it per store version.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import pyoxigraph as ox

from .namespaces import GRAPH_INFERRED, GRAPH_ONTOLOGY, PREFIXES, QDKG, QID
from .pages import compact as curie
from .store import Store

OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
LANGUAGES = ("zh", "en")

TERM_KINDS = {
    f"{OWL}Class": "class",
    f"{RDFS}Class": "class",
    f"{OWL}ObjectProperty": "property",
    f"{OWL}DatatypeProperty": "property",
    f"{OWL}AnnotationProperty": "property",
    f"{RDF}Property": "property",
}

_TERMS = f"""
SELECT ?term ?type ?p ?text WHERE {{
  GRAPH <{GRAPH_ONTOLOGY}> {{
    ?term a ?type .
    FILTER(isIRI(?term) && ?type IN ({", ".join(f"<{t}>" for t in TERM_KINDS)}))
    OPTIONAL {{
      ?term ?p ?text .
      FILTER(?p IN (<{RDFS}label>, <{SKOS}definition>, <{RDFS}comment>) && isLiteral(?text))
    }}
  }}
}}"""

_ENTITIES = f"""
SELECT ?entity ?label ?type WHERE {{
  ?entity <{RDFS}label> ?label .
  FILTER(isIRI(?entity) && STRSTARTS(STR(?entity), "{QID}"))
  OPTIONAL {{
    GRAPH ?asserted {{ ?entity a ?type }}
    FILTER(?asserted != <{GRAPH_INFERRED}> && STRSTARTS(STR(?type), "{QDKG}"))
  }}
}}"""


def version(store: Store) -> str:
    """A cheap fingerprint of the store's content: it changes when a change set is accepted."""
    digest = hashlib.sha256(str(len(store)).encode())
    for graph in store.named_graphs():
        digest.update(graph.encode())
    return digest.hexdigest()[:16]


def _ordered(texts: dict[str, str]) -> dict[str, str]:
    return {lang: texts[lang] for lang in LANGUAGES if lang in texts}


def _text(term: ox.Literal) -> tuple[str, str]:
    language = (term.language or "en").split("-")[0]
    return language, term.value


def _terms(store: Store) -> list[dict[str, object]]:
    kinds: dict[str, str] = {}
    texts: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    for row in store.query(_TERMS):  # type: ignore[union-attr]
        iri = row["term"].value
        kind = TERM_KINDS[row["type"].value]
        kinds[iri] = "property" if kinds.get(iri) == "property" else kind
        if row["text"] is not None:
            language, value = _text(row["text"])
            field = "label" if row["p"].value == f"{RDFS}label" else "definition"
            if language in LANGUAGES:
                texts[iri][field].setdefault(language, value)
    return [
        {"iri": iri, "curie": curie(iri), "kind": kind,
         "label": _ordered(texts[iri]["label"]),
         "definition": _ordered(texts[iri]["definition"])}
        for iri, kind in sorted(kinds.items())
    ]


def _entities(store: Store) -> list[dict[str, object]]:
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    types: dict[str, set[str]] = defaultdict(set)
    for row in store.query(_ENTITIES):  # type: ignore[union-attr]
        iri = row["entity"].value
        language, value = _text(row["label"])
        if language in LANGUAGES:
            labels[iri].setdefault(language, value)
        if row["type"] is not None:
            types[iri].add(curie(row["type"].value))
    return [
        {"iri": iri, "curie": curie(iri), "label": _ordered(label), "types": sorted(types[iri])}
        for iri, label in sorted(labels.items())
    ]


def vocabulary(store: Store) -> dict[str, object]:
    """Everything the editor completes and the result table labels, in one JSON-ready dict."""
    return {
        "version": version(store),
        "prefixes": PREFIXES,
        "terms": _terms(store),
        "entities": _entities(store),
    }
