"""CITATION.cff is valid Citation File Format and agrees with the project and its bibliography.

The schema, ``tests/data/cff-1.2.0-schema.json``, is the format's own JSON
schema for version 1.2.0 (CC-BY-4.0), as shipped in the cffconvert 2.0.0
package; cffconvert itself needs a jsonschema older than the book's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml
from pybtex.database import parse_file

import cart_lib
from cart_lib.core.paths import ROOT

SCHEMA = Path(__file__).parent / "data" / "cff-1.2.0-schema.json"


@pytest.fixture(scope="module")
def citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text())


def plain(title: str) -> str:
    """A title without BibTeX braces, case or runs of white space."""
    return re.sub(r"\s+", " ", title.replace("{", "").replace("}", "")).strip().lower()


def test_citation_file_is_valid_cff_1_2_0(citation: dict):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(citation, schema, format_checker=jsonschema.FormatChecker())


def test_the_schema_rejects_a_broken_file(citation: dict):
    schema = json.loads(SCHEMA.read_text())
    broken = {key: value for key, value in citation.items() if key != "authors"}
    with pytest.raises(jsonschema.ValidationError, match="authors"):
        jsonschema.validate(broken, schema)


def test_citation_version_is_the_project_version(citation: dict):
    assert str(citation["version"]) == cart_lib.__version__


def test_each_reference_agrees_with_the_bibliography(citation: dict):
    entries = {plain(e.fields["title"]): e for e in parse_file(ROOT / "references.bib").entries.values()}
    assert len(citation["references"]) >= 2
    for ref in citation["references"]:
        entry = entries.get(plain(ref["title"]))
        assert entry is not None, f"not in references.bib: {ref['title']}"
        fields = entry.fields
        assert str(ref["year"]) == fields["year"]
        assert str(ref["volume"]) == fields["volume"]
        assert str(ref["start"]) == fields["pages"].split("-")[0]
        assert ref.get("doi") == fields.get("doi")
        assert [a["family-names"] for a in ref["authors"]] == [
            " ".join(p.last_names).replace("{", "").replace("}", "") for p in entry.persons["author"]]
