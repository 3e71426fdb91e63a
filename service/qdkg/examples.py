"""The example queries shipped with the service: `queries/*.rq`, each with a bilingual header.

Header lines at the top of each file (before the query):

    # title@en: Who leads each district?
    # title@zh: 各区（市）由谁主政？
    # description@en: One sentence on what the query answers.
    # description@zh: 一句话说明。
    # view: table | bar | line        (optional: the result view the query page opens with)

The same files are run by the tests (with expected answers under tests/expected/) and listed
on the query page, so an example that breaks fails the build.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .paths import QUERIES_DIR

_HEADER = re.compile(r"^#\s*(title|description|view)(?:@(en|zh))?\s*:\s*(.*)$")


@dataclass(frozen=True)
class Example:
    name: str
    query: str
    title: dict[str, str] = field(default_factory=dict)
    description: dict[str, str] = field(default_factory=dict)
    view: str = "table"


def parse_example(path: Path) -> Example:
    text = path.read_text(encoding="utf-8")
    title: dict[str, str] = {}
    description: dict[str, str] = {}
    view = "table"
    for line in text.splitlines():
        match = _HEADER.match(line.strip())
        if not match:
            if line.strip() and not line.lstrip().startswith("#"):
                break
            continue
        key, lang, value = match.groups()
        if key == "view":
            view = value.strip()
        else:
            (title if key == "title" else description)[lang or "en"] = value.strip()
    return Example(path.stem, text, title, description, view)


@lru_cache(maxsize=1)
def examples(directory: Path = QUERIES_DIR) -> tuple[Example, ...]:
    return tuple(parse_example(p) for p in sorted(directory.glob("*.rq")))
