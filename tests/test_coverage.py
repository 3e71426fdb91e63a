"""Every number in the article is the evidence of a statement or a reviewed exclusion."""

from __future__ import annotations

from qdkg.coverage import find_numbers, load_exclusions, load_facts, statement_spans, uncovered
from qdkg.paths import article_text


def test_the_number_finder_sees_arabic_and_chinese_numerals():
    found = {n.text for n in find_numbers(article_text())}
    assert {"400", "1.24", "154", "八", "近千", "半年", "三分之一", "第二", "首位"} <= found


def test_every_number_is_covered_by_a_statement_or_excluded():
    text = article_text()
    missing = uncovered(load_facts(), text, load_exclusions())
    listing = "\n".join(
        f"{n.begin}-{n.end} {n.text!r}: …{text[max(0, n.begin - 10):n.end + 10]}…" for n in missing
    )
    assert not missing, f"{len(missing)} numbers are neither evidence nor excluded:\n{listing}"


def test_exclusions_quote_the_text_and_give_a_reason():
    text = article_text()
    for exclusion in load_exclusions():
        assert text[exclusion.begin : exclusion.end] == exclusion.text, exclusion
        assert len(exclusion.reason) >= 10, f"{exclusion}: say why it is not a quantity"


def test_no_exclusion_hides_a_number_that_a_statement_already_covers():
    spans = statement_spans(load_facts())
    for exclusion in load_exclusions():
        covering = [(b, e) for b, e in spans if b <= exclusion.begin and exclusion.end <= e]
        assert not covering, f"{exclusion} is excluded but is evidence of a statement {covering}"


def test_exclusions_name_numbers_the_finder_reports():
    numbers = {(n.begin, n.end) for n in find_numbers(article_text())}
    stale = [e for e in load_exclusions() if (e.begin, e.end) not in numbers]
    assert not stale, f"exclusions that match no number (offsets drifted?): {stale}"
