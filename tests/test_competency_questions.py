"""The example queries (competency questions) return, on the served store, the answers the article gives.

Expected answers live in tests/expected/{name}.json, written from the article text, not from
query output: `columns` are compared, `match` is "exact" (same rows, nothing else) or
"contains" (these rows at least), `ordered` checks the order, `contains_text` checks that a
column's values include the given substrings.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyoxigraph as ox
import pytest

from qdkg.examples import examples
from qdkg.namespaces import QID

EXPECTED_DIR = Path(__file__).parent / "expected"
EXAMPLES = examples()


def normalise(term: object) -> str | None:
    if term is None:
        return None
    value = term.value  # type: ignore[attr-defined]
    if isinstance(term, ox.NamedNode) and value.startswith(str(QID)):
        return value[len(str(QID)):]
    return str(value)


def same(actual: str | None, expected: str | None) -> bool:
    if actual is None or expected is None:
        return actual is expected
    try:
        a, e = Decimal(actual), Decimal(expected)
    except InvalidOperation:
        return actual == expected
    return abs(a - e) <= abs(e) * Decimal("1e-9")


def run(app, query: str) -> tuple[list[str], list[dict[str, str | None]]]:
    result = app.extensions["qdkg"].store.query(query)
    variables = [v.value for v in result.variables]
    return variables, [{v: normalise(row[v]) for v in variables} for row in result]


def test_every_example_has_an_expected_answer_and_bilingual_header():
    assert len(EXAMPLES) >= 20
    for example in EXAMPLES:
        assert (EXPECTED_DIR / f"{example.name}.json").exists(), f"no expected answer for {example.name}"
        assert set(example.title) == {"en", "zh"}, example.name
        assert set(example.description) == {"en", "zh"}, example.name


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_returns_the_expected_answer(app, example):
    expected = json.loads((EXPECTED_DIR / f"{example.name}.json").read_text(encoding="utf-8"))
    variables, rows = run(app, example.query)
    columns = expected["columns"]
    assert set(columns) <= set(variables), f"query lacks columns {set(columns) - set(variables)}"
    projected = [[row[c] for c in columns] for row in rows]
    wanted = expected["rows"]

    def found(want: list[str | None]) -> bool:
        return any(all(same(a, e) for a, e in zip(got, want, strict=True)) for got in projected)

    missing = [want for want in wanted if not found(want)]
    assert not missing, f"{example.name}: missing rows {missing}\ngot {projected}"
    if expected["match"] == "exact":
        distinct = {tuple(r) for r in projected}
        assert len(distinct) == len(wanted), f"{example.name}: unexpected rows in {projected}"
    if expected.get("ordered"):
        positions = [
            next(
                i for i, got in enumerate(projected)
                if all(same(a, e) for a, e in zip(got, want, strict=True))
            )
            for want in wanted
        ]
        assert positions == sorted(positions), f"{example.name}: wrong order {projected}"
    for column, fragments in expected.get("contains_text", {}).items():
        values = " ".join(str(row[column]) for row in rows)
        for fragment in fragments:
            assert fragment in values, f"{example.name}: {column} lacks {fragment!r}"


def test_which_sentence_states_any_number_in_one_query(app):
    """Every statement's evidence reaches a sentence of the text that contains the quote."""
    query = """
    PREFIX qdkg: <https://w3id.org/qdkg/ontology#>
    PREFIX nif: <http://persistence.uni-leipzig.org/nlp2rdf/ontologies/nif-core#>
    SELECT ?statement ?quote ?sentence WHERE {
      ?statement a qdkg:QuantitativeStatement ; qdkg:evidence ?span .
      ?span nif:anchorOf ?quote .
      OPTIONAL { ?span nif:sentence/nif:anchorOf ?sentence }
    }"""
    _, rows = run(app, query)
    assert len(rows) >= 140
    for row in rows:
        assert row["sentence"], f"{row['statement']} has no sentence"
        head = row["quote"].splitlines()[0]
        assert head in row["sentence"] or row["sentence"] in row["quote"], row
