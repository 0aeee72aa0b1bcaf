"""The repository's own sources, for ``wasim params``: the bibliography (``docs/references.bib``)
and the sections of ``docs/SOURCES.md`` that cite each key.

Citations in parameter sources are ``[key]`` (several: ``[key1; key2]``) or
``SOURCES.md#anchor``. The bibliography is the project's own, one field per line, so a few
regular expressions read it; a full BibTeX parser would be a dependency for nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DOCS = Path(__file__).parents[1] / "docs"

KEY_LIST = r"[a-z][a-z0-9]{5,}(?:\s*;\s*[a-z][a-z0-9]{5,})*"
KEYS = re.compile(rf"\[({KEY_LIST})\]")
CITATION = re.compile(rf"\[(?P<keys>{KEY_LIST})\]|SOURCES\.md#(?P<anchor>[a-z0-9-]+)")
"""A citation: ``[key]``, ``[key1; key2]`` or ``SOURCES.md#anchor``."""


@dataclass(frozen=True)
class Reference:
    key: str
    author: str
    year: str
    title: str
    where: str

    def __str__(self) -> str:
        where = f", {self.where}" if self.where else ""
        return f"{self.author} ({self.year}), {self.title}{where}"


def _field(entry: str, name: str) -> str:
    match = re.search(rf"^\s*{name}\s*=\s*\{{(.*)\}},?\s*$", entry, re.M)
    return re.sub(r"[{}]", "", match.group(1)).strip() if match else ""


@cache
def bibliography(path: Path = DOCS / "references.bib") -> dict[str, Reference]:
    """Every entry of the bibliography by key (empty if the file is not there, as in an
    installed wheel without the repository's docs)."""
    if not path.exists():
        return {}
    entries = re.split(r"^(?=@)", path.read_text(), flags=re.M)[1:]
    references = {}
    for entry in entries:
        key = re.match(r"@\w+\{([^,\s]+),", entry).group(1)
        author = _field(entry, "author") or _field(entry, "organization") or _field(entry, "publisher")
        where = (_field(entry, "journal") or _field(entry, "booktitle") or _field(entry, "howpublished")
                 or _field(entry, "url"))
        doi = _field(entry, "doi")
        references[key] = Reference(key, author, _field(entry, "year"), _field(entry, "title"),
                                    f"{where}, doi:{doi}" if doi else where)
    return references


@cache
def sections_citing(path: Path = DOCS / "SOURCES.md") -> dict[str, str]:
    """For each key, the anchor of the first section of SOURCES.md that cites it."""
    if not path.exists():
        return {}
    anchor, first = "", {}
    for line in path.read_text().splitlines():
        for found in re.findall(r'<a id="([a-z0-9-]+)"></a>', line):
            anchor = found
        for group in KEYS.findall(line):
            for key in re.split(r"\s*;\s*", group):
                first.setdefault(key, anchor)
    return first


def cited_keys(source: str) -> list[str]:
    """The keys a parameter's source cites, in order."""
    return [k for group in KEYS.findall(source) for k in re.split(r"\s*;\s*", group)]


def describe(source: str) -> list[str]:
    """The full reference of each key the source cites (the key alone if it is unknown)."""
    books = bibliography()
    return [f"[{key}] {books[key]}" if key in books else f"[{key}]" for key in cited_keys(source)]


def linked(source: str, base: str = "") -> str:
    """The source as Markdown: each key links to the SOURCES.md section citing it, each
    anchor to its section (``base``: the path of SOURCES.md from the page)."""
    sections = sections_citing()

    def link(match: re.Match) -> str:
        if match.group("anchor"):
            return f"[SOURCES.md#{match.group('anchor')}]({base}SOURCES.md#{match.group('anchor')})"
        keys = re.split(r"\s*;\s*", match.group("keys"))
        links = [f"[{k}]({base}SOURCES.md#{sections[k]})" if sections.get(k) else k for k in keys]
        return "[" + "; ".join(links) + "]"

    return CITATION.sub(link, source)
