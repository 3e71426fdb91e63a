"""Build the dataset: load ontology, shapes and facts; OWL 2 RL closure; SHACL validation; write it."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import owlrl
import pyoxigraph as ox
import pyshacl
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SH, XSD
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from . import __version__
from .namespaces import (
    BASE,
    GRAPH_ARTICLE,
    GRAPH_EXTERNAL,
    GRAPH_INFERRED,
    GRAPH_ONTOLOGY,
    GRAPH_SHAPES,
    GRAPH_TEXT,
    PREFIXES,
)
from .paths import ROOT
from .planner import STATS_FILE, write_statistics
from .rules import Rules, is_schema
from .sentences import text_structure
from .terms import Triple

DATASET_FILE = "dataset.nq"
STORE_DIR = "store"
TRIG_FILE = "dataset.trig"
REPORT_FILE = "report.ttl"
MANIFEST_FILE = "manifest.json"

_XSD_STRING = str(XSD.string)
_NOISE_NAMESPACES = (str(RDF), str(RDFS), str(OWL), str(XSD))
_NOISE_OBJECTS = {OWL.Thing, RDFS.Resource, RDFS.Class, OWL.Class, RDF.Property}


class BuildError(Exception):
    """The inputs do not make a valid dataset; the message says which node and shape."""

    def __init__(self, message: str, report_text: str = "") -> None:
        super().__init__(message)
        self.report_text = report_text


@dataclass
class Sources:
    ontology: Graph
    shapes: Graph
    article: Graph
    external: Graph
    text: Graph
    files: list[Path] = field(default_factory=list)


def source_files(root: Path = ROOT) -> dict[str, list[Path]]:
    """The Turtle files that make up each graph, in a stable order."""
    return {
        "ontology": sorted((root / "ontology").glob("*.ttl")),
        "shapes": sorted((root / "shapes").glob("*.ttl")),
        "article": sorted((root / "graph").glob("*.ttl")),
        "external": sorted((root / "graph" / "external").glob("*.ttl")),
        "text": [root / "graph" / "source" / "article.txt"],
    }


def _parse(paths: Iterable[Path]) -> Graph:
    graph = Graph()
    for path in paths:
        graph.parse(path, format="turtle")
    return graph


def _parse_facts(paths: Iterable[Path]) -> Graph:
    """The facts, parsed by pyoxigraph (twice as fast as rdflib's parser) into an rdflib graph:
    the same triples, literals normalised by rdflib as its own parser would, and each IRI one
    object however often it is used."""
    graph = Graph()
    iris: dict[str, URIRef] = {}

    def term(node: object) -> URIRef | BNode | Literal:
        if isinstance(node, ox.NamedNode):
            iri = iris.get(node.value)
            if iri is None:
                iri = iris[node.value] = URIRef(node.value)
            return iri
        if isinstance(node, ox.Literal):
            if node.language:
                return Literal(node.value, lang=node.language)
            if node.datatype.value == _XSD_STRING:
                return Literal(node.value)  # rdflib's parser leaves plain strings untyped
            return Literal(node.value, datatype=term(node.datatype))
        if isinstance(node, ox.BlankNode):
            return BNode(node.value)
        raise BuildError(f"not an RDF 1.1 term: {node}")

    for path in paths:
        try:
            quads = ox.parse(path=str(path), format=ox.RdfFormat.TURTLE, base_iri=path.as_uri())
            graph.addN((term(q.subject), term(q.predicate), term(q.object), graph) for q in quads)
        except SyntaxError as error:
            raise BuildError(f"{path} is not valid Turtle: {error}") from None
    return graph


def load_sources(root: Path = ROOT) -> Sources:
    files = source_files(root)
    article = _parse_facts(files["article"])
    text = files["text"][0].read_text(encoding="utf-8")
    return Sources(
        ontology=_parse(files["ontology"]),
        shapes=_parse(files["shapes"]),
        article=article,
        external=_parse_facts(files["external"]),
        text=text_structure(text, article),
        files=[p for group in files.values() for p in group],
    )


def ill_typed_literals(graph: Graph) -> list[str]:
    """Literals whose lexical form does not fit their datatype ("abc"^^xsd:decimal).

    The OWL RL closure cannot reason over them (owlrl raises), so the build refuses them first.
    """
    return [
        f"  {s} {p} {o.n3()}"
        for s, p, o in graph
        if isinstance(o, Literal) and getattr(o, "ill_typed", False)
    ]


def inputs_digest(files: Iterable[Path]) -> str:
    digest = hashlib.sha256(__version__.encode())
    for path in files:
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_noise(s: object, p: object, o: object) -> bool:
    """Axiomatic and trivial triples the closure adds that tell a reader nothing."""
    if isinstance(s, Literal) or isinstance(s, BNode):
        return True
    if not str(s).startswith(BASE):
        return True
    if s == o and p in (OWL.sameAs, RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentClass,
                        OWL.equivalentProperty):
        return True
    if p == RDF.type and o in _NOISE_OBJECTS:
        return True
    if p in (RDFS.subClassOf, OWL.equivalentClass) and o in (OWL.Thing, RDFS.Resource):
        return True
    if isinstance(o, URIRef) and str(o).startswith(_NOISE_NAMESPACES) and p != RDF.type:
        return p not in (RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range)
    return False


def infer(asserted: Graph) -> Graph:
    """The OWL 2 RL closure of `asserted`, keeping only new, meaningful triples.

    The closure of the facts comes from the rules of rules.py (the OWL 2 RL rules the ontology
    uses), the closure of the schema from owlrl over the schema triples alone: together exactly
    what owlrl gives over everything (tests/test_build.py compares them), in a fraction of the
    time. owlrl runs over everything when the ontology needs more than those rules.
    """
    schema: list[Triple] = []
    facts: list[Triple] = []
    for triple in asserted:
        (schema if is_schema(triple) else facts).append(triple)
    key = tuple(sorted(schema))
    rules = _rules(key)
    derived = rules.closure_of(schema, facts)
    if derived is None:
        return infer_owlrl(asserted)
    inferred = Graph()
    # What the rules derive is in neither the schema nor the facts already.
    inferred.addN((*t, inferred) for t in derived if not is_noise(*t))
    for triple in _schema_closure(key):
        if triple not in asserted and not is_noise(*triple):
            inferred.add(triple)
    return inferred


def infer_owlrl(asserted: Graph) -> Graph:
    """The same as `infer`, by owlrl over the whole of `asserted` (slow: about 1 ms a triple)."""
    inferred = Graph()
    for triple in _owlrl_closure(asserted):
        if triple not in asserted and not is_noise(*triple):
            inferred.add(triple)
    return inferred


def _owlrl_closure(triples: Iterable[Triple]) -> Graph:
    closure = Graph()
    for triple in triples:
        closure.add(triple)
    owlrl.DeductiveClosure(
        owlrl.OWLRL_Semantics, axiomatic_triples=False, datatype_axioms=False
    ).expand(closure)
    return closure


@lru_cache(maxsize=4)
def _rules(schema: tuple[Triple, ...]) -> Rules:
    graph = Graph()
    for triple in schema:
        graph.add(triple)
    return Rules(graph)


@lru_cache(maxsize=4)
def _schema_closure(schema: tuple[Triple, ...]) -> tuple[Triple, ...]:
    return tuple(_owlrl_closure(schema))


@dataclass
class Validation:
    conforms: bool
    report: Graph
    text: str

    def results(self, severity: URIRef | None = None) -> Iterator[URIRef | BNode]:
        for result in self.report.subjects(RDF.type, SH.ValidationResult):
            if severity is None or (result, SH.resultSeverity, severity) in self.report:
                yield result  # type: ignore[misc]

    @property
    def violations(self) -> int:
        return sum(1 for _ in self.results(SH.Violation))


# Below this many data triples one process validates everything; above it the shapes are shared
# out among processes forked from this one (they inherit the data graph instead of copying it).
PARALLEL_MIN_TRIPLES = 100_000
_TARGETS = (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf)


def validate(data: Graph, shapes: Graph, workers: int | None = None) -> Validation:
    """SHACL over data that already carries its closure; warnings and infos do not fail it.

    `workers` processes share out the shapes (by default one per available core once the data
    reaches PARALLEL_MIN_TRIPLES); the report is the same as one process gives.
    """
    view = PreparedQueryGraph(store=data.store, identifier=data.identifier)
    if workers is None:
        workers = len(os.sched_getaffinity(0)) if len(data) >= PARALLEL_MIN_TRIPLES else 1
    if workers <= 1:
        # pySHACL adds axioms of its own to the shapes graph it is given: a copy keeps `shapes`
        # (written to the dataset) as the shape files say, however many processes validate.
        _, report, text = pyshacl.validate(
            view, shacl_graph=_copy(shapes), inference="none", abort_on_first=False,
            allow_warnings=True,
        )
        validation = Validation(conforms=False, report=report, text=text)
    else:
        validation = _validate_in_parallel(view, shapes, workers)
    validation.conforms = validation.violations == 0
    return validation


class PreparedQueryGraph(Graph):
    """A graph (or a view of one) that parses each SPARQL text once: pySHACL sends a SPARQL-based
    constraint's query once per focus node, and rdflib's parser costs more than evaluating it.
    Used by the build and by the validation of submissions."""

    def query(self, query_object, *args, **kwargs):
        if isinstance(query_object, str):
            query_object = _prepared_query(query_object)
        return super().query(query_object, *args, **kwargs)


@lru_cache(maxsize=512)
def _prepared_query(text: str) -> Query:
    return prepareQuery(text)


_shared: tuple[Graph, Graph] | None = None  # (data, shapes) for the forked validators


def _validate_in_parallel(data: Graph, shapes: Graph, workers: int) -> Validation:
    global _shared
    top_level = sorted({s for target in _TARGETS for s in shapes.subjects(target, None)}, key=str)
    # The shapes with the most focus nodes first, so that the last ones to finish are small.
    top_level.sort(key=lambda shape: -_focus_estimate(data, shapes, shape))
    _shared = (data, shapes)
    try:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
            parts = list(pool.map(_validate_one_shape, top_level))
    finally:
        _shared = None
    report = Graph()
    root = BNode()
    report.add((root, RDF.type, SH.ValidationReport))
    texts = []
    for serialized, text in parts:
        part = Graph().parse(data=serialized, format="nt")
        for part_root in part.subjects(RDF.type, SH.ValidationReport):
            part.remove((part_root, None, None))
        report += part
        for result in part.subjects(RDF.type, SH.ValidationResult):
            report.add((root, SH.result, result))
        texts.append(text.split("\n", 3)[3] if text.count("\n") >= 3 else "")
    results = sum(1 for _ in report.subjects(RDF.type, SH.ValidationResult))
    conforms = results == 0
    report.add((root, SH.conforms, Literal(conforms)))
    for prefix, namespace in shapes.namespaces():
        report.bind(prefix, namespace)
    text = f"Validation Report\nConforms: {conforms}\n"
    if results:
        text += f"Results ({results}):\n" + "".join(texts)
    return Validation(conforms=False, report=report, text=text)


def _copy(graph: Graph) -> Graph:
    copy = Graph()
    for prefix, namespace in graph.namespaces():
        copy.bind(prefix, namespace)
    copy += graph
    return copy


def _focus_estimate(data: Graph, shapes: Graph, shape: object) -> int:
    count = sum(1 for _ in shapes.objects(shape, SH.targetNode))
    for cls in shapes.objects(shape, SH.targetClass):
        count += sum(1 for _ in data.subjects(RDF.type, cls))
    for prop in (*shapes.objects(shape, SH.targetSubjectsOf), *shapes.objects(shape, SH.targetObjectsOf)):
        count += sum(1 for _ in data.triples((None, prop, None)))  # type: ignore[arg-type]
    return count


def _validate_one_shape(shape: object) -> tuple[str, str]:
    """In a forked worker: the report of one top-level shape (the others lose their targets)."""
    assert _shared is not None
    data, shapes = _shared
    only = Graph()
    for prefix, namespace in shapes.namespaces():
        only.bind(prefix, namespace)
    for triple in shapes:
        if triple[1] not in _TARGETS or triple[0] == shape:
            only.add(triple)
    _, report, text = pyshacl.validate(
        data, shacl_graph=only, inference="none", abort_on_first=False, allow_warnings=True
    )
    return report.serialize(format="nt", encoding="utf-8").decode("utf-8"), text


def describe_violations(validation: Validation, limit: int = 20) -> str:
    lines = []
    for result in list(validation.results(SH.Violation))[:limit]:
        r = validation.report
        lines.append(
            f"  {r.value(result, SH.focusNode)}  path={r.value(result, SH.resultPath)}"
            f"  shape={r.value(result, SH.sourceShape)}"
            f"  component={r.value(result, SH.sourceConstraintComponent)}"
            f"  message={r.value(result, SH.resultMessage)}"
        )
    return "\n".join(lines)


@dataclass
class BuildResult:
    out_dir: Path
    reused: bool
    timings: dict[str, float]
    counts: dict[str, int]
    conforms: bool

    @property
    def dataset_path(self) -> Path:
        return self.out_dir / DATASET_FILE


def named_graphs(sources: Sources, inferred: Graph) -> tuple[tuple[URIRef, Graph], ...]:
    """The dataset's named graphs, in the order they are written."""
    return (
        (GRAPH_ONTOLOGY, sources.ontology),
        (GRAPH_SHAPES, sources.shapes),
        (GRAPH_ARTICLE, sources.article),
        (GRAPH_EXTERNAL, sources.external),
        (GRAPH_TEXT, sources.text),
        (GRAPH_INFERRED, inferred),
    )


def _quads(graphs: Iterable[tuple[URIRef, Graph]]) -> Iterator[ox.Quad]:
    """The graphs' triples as pyoxigraph quads (IRIs converted once each)."""
    iris: dict[URIRef, ox.NamedNode] = {}
    datatypes: dict[URIRef, ox.NamedNode] = {}

    def term(node: object) -> ox.NamedNode | ox.BlankNode | ox.Literal:
        if isinstance(node, URIRef):
            found = iris.get(node)
            if found is None:
                found = iris[node] = ox.NamedNode(node)
            return found
        if isinstance(node, Literal):
            if node.language:
                return ox.Literal(node, language=node.language)
            if node.datatype is not None:
                datatype = datatypes.get(node.datatype)
                if datatype is None:
                    datatype = datatypes[node.datatype] = ox.NamedNode(node.datatype)
                return ox.Literal(node, datatype=datatype)
            return ox.Literal(node)
        if isinstance(node, BNode):
            return ox.BlankNode(node)
        raise TypeError(f"not an RDF term: {node!r}")

    for name, graph in graphs:
        graph_name = ox.NamedNode(name)
        for s, p, o in graph:
            yield ox.Quad(term(s), term(p), term(o), graph_name)  # type: ignore[arg-type]


def write_dataset(out_dir: Path, graphs: Iterable[tuple[URIRef, Graph]]) -> None:
    """dataset.nq and dataset.trig, written through pyoxigraph and moved into place when complete."""
    tmp = out_dir / (DATASET_FILE + ".tmp")
    with open(tmp, "wb") as output:
        ox.serialize(_quads(graphs), output, ox.RdfFormat.N_QUADS)
    trig = out_dir / (TRIG_FILE + ".tmp")
    with open(trig, "wb") as output:
        quads = ox.parse(path=tmp, format=ox.RdfFormat.N_QUADS)
        ox.serialize(quads, output, ox.RdfFormat.TRIG, prefixes=PREFIXES)
    tmp.replace(out_dir / DATASET_FILE)
    trig.replace(out_dir / TRIG_FILE)


def write_store(out_dir: Path) -> int:
    """build/store/: a pyoxigraph (RocksDB) store holding the quads of dataset.nq (as Oxigraph
    holds them: numeric literals in canonical form, as when the service loads the N-Quads).
    It is made in a temporary directory next to it and renamed into place, so a reader finds
    either the previous store or the complete new one under that name. Returns its number
    of quads."""
    work = Path(tempfile.mkdtemp(prefix=".store-", dir=out_dir))
    try:
        store = ox.Store(str(work / STORE_DIR))
        store.bulk_load(path=str(out_dir / DATASET_FILE), format=ox.RdfFormat.N_QUADS)
        store.flush()
        store.optimize()
        quads = len(store)
        write_statistics(out_dir, store)
        del store  # closes the database before it is moved
        target = out_dir / STORE_DIR
        if target.exists():
            (work / STORE_DIR).rename(work / "new")
            target.rename(work / STORE_DIR)  # the previous store, removed with the work directory
            (work / "new").rename(target)
        else:
            (work / STORE_DIR).rename(target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return quads


def build(out_dir: Path, root: Path = ROOT, force: bool = False, log=print) -> BuildResult:
    """Load, reason, validate and write; reuse the previous result when the inputs are unchanged."""
    out_dir = Path(out_dir)
    files = [p for group in source_files(root).values() for p in group]
    digest = inputs_digest(files)
    manifest_path = out_dir / MANIFEST_FILE
    if not force and manifest_path.exists() and (out_dir / DATASET_FILE).exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("inputs") == digest and manifest.get("conforms"):
            if "store" not in manifest["counts"] or not (out_dir / STORE_DIR).is_dir():
                log(f"inputs unchanged ({digest[:12]}); making {out_dir / STORE_DIR} from the dataset")
                manifest["counts"]["store"] = write_store(out_dir)
                _write_manifest(manifest_path, digest, manifest["timings"], manifest["counts"], True,
                                cpu=manifest.get("cpu"))
            elif not (out_dir / STATS_FILE).exists():  # a build from before the planner
                store = ox.Store.read_only(str(out_dir / STORE_DIR))
                write_statistics(out_dir, store)
                del store
            log(f"inputs unchanged ({digest[:12]}); reusing {out_dir / DATASET_FILE}")
            return BuildResult(out_dir, True, manifest["timings"], manifest["counts"], True)

    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    started, started_cpu = time.perf_counter(), _cpu()
    sources = load_sources(root)
    timings["load"], cpu["load"] = time.perf_counter() - started, _cpu() - started_cpu
    log(f"loaded {len(files)} files in {timings['load']:.2f} s (CPU {cpu['load']:.1f} s)")

    step, step_cpu = time.perf_counter(), _cpu()
    # One graph for the asserted triples and, once computed, their closure: what SHACL sees.
    data = Graph()
    for graph in (sources.ontology, sources.article, sources.external):
        data += graph
    bad_literals = ill_typed_literals(data)
    if bad_literals:
        raise BuildError(
            f"{len(bad_literals)} literal(s) do not fit their datatype:\n" + "\n".join(bad_literals[:20])
        )
    inferred = infer(data)
    timings["reason"], cpu["reason"] = time.perf_counter() - step, _cpu() - step_cpu
    log(f"OWL RL closure: {len(inferred)} new triples in {timings['reason']:.2f} s "
        f"(CPU {cpu['reason']:.1f} s)")

    step, step_cpu = time.perf_counter(), _cpu()
    data += inferred
    validation = validate(data, sources.shapes)
    del data
    timings["validate"], cpu["validate"] = time.perf_counter() - step, _cpu() - step_cpu
    log(f"SHACL: {validation.violations} violations in {timings['validate']:.2f} s "
        f"(CPU {cpu['validate']:.1f} s, all processes)")

    out_dir.mkdir(parents=True, exist_ok=True)
    validation.report.serialize(out_dir / REPORT_FILE, format="turtle")
    counts = {
        "ontology": len(sources.ontology),
        "shapes": len(sources.shapes),
        "article": len(sources.article),
        "external": len(sources.external),
        "text": len(sources.text),
        "inferred": len(inferred),
        "violations": validation.violations,
    }
    if not validation.conforms:
        _write_manifest(manifest_path, digest, timings, counts, conforms=False, cpu=cpu)
        raise BuildError(
            f"the graph does not conform to the shapes: {validation.violations} violation(s)\n"
            + describe_violations(validation),
            validation.text,
        )

    step, step_cpu = time.perf_counter(), _cpu()
    write_dataset(out_dir, named_graphs(sources, inferred))
    timings["write"], cpu["write"] = time.perf_counter() - step, _cpu() - step_cpu
    step, step_cpu = time.perf_counter(), _cpu()
    counts["store"] = write_store(out_dir)
    timings["store"], cpu["store"] = time.perf_counter() - step, _cpu() - step_cpu
    timings["total"], cpu["total"] = time.perf_counter() - started, _cpu() - started_cpu
    _write_manifest(manifest_path, digest, timings, counts, conforms=True, cpu=cpu)
    log(f"wrote {out_dir / DATASET_FILE} in {timings['write']:.2f} s (CPU {cpu['write']:.1f} s) and "
        f"{out_dir / STORE_DIR} ({counts['store']} quads) in {timings['store']:.2f} s "
        f"(CPU {cpu['store']:.1f} s); total {timings['total']:.2f} s (CPU {cpu['total']:.1f} s)")
    return BuildResult(out_dir, False, timings, counts, True)


def _write_manifest(path: Path, digest: str, timings: dict, counts: dict, conforms: bool,
                    cpu: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = {"inputs": digest, "version": __version__, "timings": timings, "counts": counts,
                "conforms": conforms}
    if cpu is not None:
        manifest["cpu"] = cpu
    path.write_text(json.dumps(manifest, indent=2))


def _cpu() -> float:
    """CPU seconds of this process and of the finished processes it forked."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
