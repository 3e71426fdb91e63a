"""Content negotiation: tables of the media types we produce, and one function to choose among them."""

from __future__ import annotations

from flask import request

from .errors import NotAcceptable

# media type -> short name; the first entry of each table is the default for */*.
RDF_GRAPH_TYPES: dict[str, str] = {
    "text/turtle": "turtle",
    "application/n-triples": "nt",
    "application/ld+json": "jsonld",
    "application/rdf+xml": "rdfxml",
    "text/n3": "n3",
    "application/n-quads": "nquads",
    "application/trig": "trig",
}
RDF_DATASET_TYPES: dict[str, str] = {
    "application/n-quads": "nquads",
    "application/trig": "trig",
}
RESULT_TYPES: dict[str, str] = {
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "tsv",
    "application/json": "json",
    "application/xml": "xml",
}
EXTENSIONS: dict[str, str] = {
    "ttl": "text/turtle",
    "nt": "application/n-triples",
    "jsonld": "application/ld+json",
    "rdf": "application/rdf+xml",
    "nq": "application/n-quads",
    "trig": "application/trig",
    "html": "text/html",
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
SHORT_NAMES: dict[str, str] = {
    name: media for table in (RDF_GRAPH_TYPES, RESULT_TYPES) for media, name in table.items()
} | {"html": "text/html", "ntriples": "application/n-triples", "rdf-xml": "application/rdf+xml"}


def negotiate(offered: list[str], *, format_param: str | None = None) -> str:
    """The media type to answer with: an explicit `format` wins, then Accept with its q-values.

    Raises NotAcceptable (406) listing what we offer when nothing fits.
    """
    if format_param:
        media = SHORT_NAMES.get(format_param) or EXTENSIONS.get(format_param) or format_param
        if media in offered:
            return media
        raise NotAcceptable(
            f"format '{format_param}' is not available here; choose one of: " + ", ".join(offered)
        )
    if not request.accept_mimetypes:
        return offered[0]
    best = request.accept_mimetypes.best_match(offered)
    if best is None:
        raise NotAcceptable(
            "none of the media types in Accept can be produced here; available: "
            + ", ".join(offered)
        )
    return best
