"""The repository carries its own sources: every citation resolves to docs/references.bib or
an anchor of docs/SOURCES.md, every parameter says where its value comes from, and nothing
points outside the repository."""

import io
import re
import subprocess
import tokenize
from pathlib import Path

import pytest

from experiments.cli import main
from model import PARAMS

ROOT = Path(__file__).parents[1]
BIB = ROOT / "docs" / "references.bib"
SOURCES = ROOT / "docs" / "SOURCES.md"

KEYS = r"([a-z][a-z0-9]{5,}(?:\s*;\s*[a-z][a-z0-9]{5,})*)"
"""One key or several separated by semicolons: lower-case letters and digits, six or more."""
CITATION = re.compile(r"(?<![\w\])(])(?<!^)\[" + KEYS + r"\](?![(:\[])", re.M)
"""``[key]`` in running text: not right after a name or bracket (indexing, a list), not at the
start of a line (a TOML table), not a Markdown link."""
SPEC_TABLES = {"experiment", "design", "parameters", "targets", "search", "priors"}
"""Tables of an experiment or calibration spec, named in brackets in the documents."""
ANCHOR = re.compile(r"SOURCES\.md#([a-z0-9-]+)")
PLACEHOLDERS = {"anchor"}
"""Words the documents use to explain the form of a citation."""


def repository_files() -> list[Path]:
    """Files under version control (and new ones not ignored), text only."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    suffixes = {".py", ".md", ".toml", ".csv", ".bib", ".txt", ".cfg", ".yml", ".yaml", ""}
    return [ROOT / f for f in listed if Path(f).suffix in suffixes and (ROOT / f).is_file()]


def prose(path: Path) -> str:
    """The text a citation can sit in: a Python file's strings and comments (not its code,
    where ``[name]`` is a list or an index), any other file whole."""
    text = path.read_text(errors="replace")
    if path.suffix != ".py":
        return text
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    return "\n".join(t.string for t in tokens if t.type in (tokenize.STRING, tokenize.COMMENT))


def bib_keys() -> set[str]:
    return set(re.findall(r"^@\w+\{([^,\s]+),", BIB.read_text(), flags=re.M))


def anchors() -> set[str]:
    return set(re.findall(r'<a id="([a-z0-9-]+)"></a>', SOURCES.read_text()))


def test_the_bibliography_parses_into_unique_keys_with_a_title_and_year():
    text = BIB.read_text()
    entries = re.split(r"^(?=@)", text, flags=re.M)[1:]
    keys = [re.match(r"@\w+\{([^,\s]+),", e).group(1) for e in entries]
    assert len(keys) == len(set(keys)) and len(keys) > 50
    for entry in entries:
        assert entry.count("{") == entry.count("}"), entry[:60]
        for field in ("title", "year"):
            assert re.search(rf"^\s*{field}\s*=", entry, re.M), entry[:60]


def test_every_cited_key_and_anchor_exists():
    keys, known_anchors = bib_keys(), anchors()
    missing = []
    for path in repository_files():
        if path == BIB:
            continue
        text = prose(path)
        for group in CITATION.findall(text):
            missing += [f"{path.relative_to(ROOT)}: [{k}]" for k in re.split(r"\s*;\s*", group)
                        if k not in keys | SPEC_TABLES]
        missing += [f"{path.relative_to(ROOT)}: #{a}" for a in ANCHOR.findall(text)
                    if a not in known_anchors | PLACEHOLDERS]
    assert not missing, "citations that resolve to nothing:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_every_parameter_names_its_source(name):
    """A key of the bibliography, an anchor of SOURCES.md, or 'assumption:' with a reason."""
    source = PARAMS[name].source
    cited = [k for group in re.findall(r"\[" + KEYS + r"\]", source) for k in re.split(r"\s*;\s*", group)]
    assert cited or ANCHOR.search(source) or re.match(r"assumption[:;]\s*\S", source), (
        f"{name}: source {source!r} names no key, anchor or reasoned assumption")
    assert set(cited) <= bib_keys(), f"{name}: unknown keys {set(cited) - bib_keys()}"


def test_no_file_refers_to_a_path_outside_the_repository():
    outside = re.compile(r"\.\./shared|shared/brief|calibration\.md|DIGEST\.md|DESIGN\.md|cal §")
    exempt = (Path(__file__), SOURCES)  # SOURCES.md's last section maps the old section numbers
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in repository_files() if p not in exempt
                 for i, line in enumerate(p.read_text(errors="replace").splitlines(), 1)
                 if outside.search(line)]
    assert not offenders, "references outside the repository:\n" + "\n".join(offenders)


def test_wasim_params_shows_each_cited_reference_and_the_markdown_links_to_the_sources(capsys):
    assert main(["params"]) == 0
    out = capsys.readouterr().out
    assert "Source: [meta2025mau]" in out
    assert "[meta2025mau] Zuckerberg, Mark (2025)" in out  # the full reference, from the .bib
    assert main(["params", "--markdown"]) == 0
    table = capsys.readouterr().out
    assert "[[meta2025mau](SOURCES.md#users-mau)]" in table
    assert "[SOURCES.md#target-3](SOURCES.md#target-3)" in table
    linked_rows = [row for row in table.splitlines()[2:] if "](SOURCES.md#" in row]
    cited = [p for p in PARAMS.values() if "[" in p.source or "SOURCES.md#" in p.source]
    assert len(linked_rows) == len(cited)
