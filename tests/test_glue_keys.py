"""Every number in a chapter's prose is found in three hops: the sentence, its glue key, the claim.

A key in the prose is either a claim key of a study the chapter glues with
:meth:`cart_lib.book.Study.glue_claims` (``<claim>``, ``<claim>.printed`` or
``<claim>.<role>``, derived here from the ledgers, not from the chapter), or
a string literal glued by a code cell of the chapter. No key is computed: an
f-string key cannot be found by searching the chapter for it. Claim figures
are strings already written at the printed precision, so the prose types no
format on them; and a cell that only glues is hidden from readers.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import pytest
from nbval.plugin import find_metadata_tags

from cart_lib import ledger
from cart_lib.core import paths

TEXTS = sorted((paths.CHAPTERS / "text").glob("*.md"))

#: A glue role in the prose: ``{glue}`key```, ``{glue:text}`key:.1f```, ``{glue:md}`...```.
ROLE = re.compile(r"\{glue(?::(?P<kind>\w*))?\}`(?P<body>[^`]+)`")
#: A glue directive: ```` ```{glue:figure} key ````, ```` ```{glue} key ````.
DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w+)?\}\s+(?P<key>\S+)", re.MULTILINE)
GLUE_CALLS = {"glue", "glue_all"}


def claim_keys(slug: str, prefixed: bool = False) -> set[str]:
    """The keys :meth:`Study.glue_claims` glues for a study, from its ledger alone."""
    prefix = f"{slug}." if prefixed else ""
    keys = set()
    for claim in ledger.load(slug).claims:
        base = prefix + claim.id
        keys |= {base, f"{base}.printed"} | {f"{base}.{role}" for role in claim.reads}
    return keys


@dataclass
class Chapter:
    """What a chapter's text glues and what its prose references."""

    literal_keys: list[str] = field(default_factory=list)
    claim_keys: set[str] = field(default_factory=set)
    references: list[tuple[str, str | None]] = field(default_factory=list)   # (key, format)
    problems: list[str] = field(default_factory=list)


def _call_name(call: ast.Call) -> str | None:
    func = call.func
    return func.id if isinstance(func, ast.Name) else (
        func.attr if isinstance(func, ast.Attribute) else None)


def _study_of(receiver: ast.expr, studies: dict[str, str]) -> str | None:
    # ``study.glue_claims()`` with ``study = Study("slug")``, ``studies["slug"].glue_claims()``
    # or ``Study("slug").glue_claims()``: the slug has to be a literal the test can read.
    if isinstance(receiver, ast.Name):
        return studies.get(receiver.id)
    if isinstance(receiver, ast.Subscript) and isinstance(receiver.slice, ast.Constant):
        return receiver.slice.value
    if (isinstance(receiver, ast.Call) and _call_name(receiver) == "Study"
            and receiver.args and isinstance(receiver.args[0], ast.Constant)):
        return receiver.args[0].value
    return None


def _literal_str(node: ast.expr) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_glue_only(tree: ast.Module) -> bool:
    """Whether a cell does nothing but glue (a cell that computes what it glues shows how)."""
    return bool(tree.body) and all(
        isinstance(s, ast.Expr) and isinstance(s.value, ast.Call)
        and _call_name(s.value) in GLUE_CALLS | {"glue_claims"} for s in tree.body)


def read_chapter(text: str, name: str = "chapter") -> Chapter:
    """Parse a chapter's MyST text: the keys it glues and the keys its prose references."""
    notebook = jupytext.reads(text, fmt="md:myst")
    out = Chapter()
    studies: dict[str, str] = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            for match in ROLE.finditer(cell.source):
                body = match["body"].split("::", 1)[-1]   # a path:: prefix names another document
                key, _, spec = (body.rpartition(":") if match["kind"] in ("text", "md")
                                and ":" in body else (body, "", ""))
                out.references.append((key, spec or None))
            out.references += [(m["key"], None) for m in DIRECTIVE.finditer(cell.source)]
            continue
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        where = f"{name}, cell {index}"
        if _is_glue_only(tree) and "remove-cell" not in cell.metadata.get("tags", []):
            out.problems.append(f"{where} only glues but is shown to readers: tag it remove-cell")
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) \
                    and _call_name(node.value) == "Study" and node.value.args:
                slug = _literal_str(node.value.args[0])
                for target in node.targets:
                    if isinstance(target, ast.Name) and slug:
                        studies[target.id] = slug
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name_ = _call_name(node)
            if name_ == "glue":
                key = _literal_str(node.args[0]) if node.args else None
                if key is None:
                    out.problems.append(f"{where}: glue key is not a string literal: "
                                        f"{ast.unparse(node.args[0]) if node.args else '?'}")
                else:
                    out.literal_keys.append(key)
            elif name_ == "glue_all":
                values = node.args[0] if node.args else None
                if not isinstance(values, ast.Dict):
                    out.problems.append(f"{where}: glue_all takes a dict literal, not "
                                        f"{ast.unparse(values) if values else 'nothing'}")
                    continue
                for key_node in values.keys:
                    key = _literal_str(key_node) if key_node is not None else None
                    if key is None:
                        out.problems.append(f"{where}: glue_all key is not a string literal: "
                                            f"{ast.unparse(key_node) if key_node else '**'}")
                    else:
                        out.literal_keys.append(key)
            elif name_ == "glue_claims" and isinstance(node.func, ast.Attribute):
                slug = _study_of(node.func.value, studies)
                prefixed = any(k.arg == "prefixed" and isinstance(k.value, ast.Constant)
                               and k.value.value for k in node.keywords)
                if slug not in set(paths.studies()):
                    out.problems.append(f"{where}: cannot tell whose claims "
                                        f"{ast.unparse(node)} glues (name the study literally)")
                else:
                    out.claim_keys |= claim_keys(slug, prefixed)
    return out


def problems(text: str, name: str = "chapter") -> list[str]:
    """Everything that breaks the three hops in a chapter's text."""
    chapter = read_chapter(text, name)
    found = list(chapter.problems)
    literal = set(chapter.literal_keys)
    found += [f"{name}: glue key {k!r} is glued twice" for k in sorted(literal)
              if chapter.literal_keys.count(k) > 1]
    found += [f"{name}: glue key {k!r} is also a claim key" for k in sorted(literal & chapter.claim_keys)]
    for key, spec in chapter.references:
        if key in chapter.claim_keys:
            if spec:
                found.append(f"{name}: claim figure {key!r} with a typed format {spec!r}: "
                             "it is already written at the printed precision")
        elif key not in literal:
            found.append(f"{name}: prose references {key!r}, which is neither a claim key of a "
                         "study the chapter glues nor a literal key glued by its code")
    return found


@pytest.mark.parametrize("text", TEXTS, ids=lambda p: p.stem)
def test_every_glue_key_in_the_prose_is_a_claim_or_a_literal(text: Path):
    assert problems(text.read_text(encoding="utf-8"), text.stem) == []


def test_the_claim_keys_are_those_glue_claims_glues():
    from cart_lib.book import Study

    study = Study("hu2019")
    assert set(study.claim_figures()) == claim_keys("hu2019")
    assert set(study.claim_figures(prefixed=True)) == claim_keys("hu2019", prefixed=True)


def test_chapters_restate_published_figures_through_claim_keys():
    # The two study chapters name claims; a chapter without them would pass the check vacuously.
    for slug in ("zhang2020", "hu2019"):
        chapter = read_chapter((paths.CHAPTERS / "text" / f"{slug}.md").read_text(), slug)
        assert sum(key in chapter.claim_keys for key, _ in chapter.references) > 10


FABRICATED = '''---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
    format_version: 0.13
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter that breaks every rule

```{code-cell} ipython3
from myst_nb import glue
from cart_lib.book import Study, glue_all

study = Study("hu2019")
study.glue_claims()
for slug in ["a", "b"]:
    glue(f"{slug}_size", 1, display=False)
glue_all({f"n_{k}": v for k, v in {"x": 1}.items()})
glue_all({"total_patients": 31})
```

```{code-cell} ipython3
glue_all({"shown": 2})
```

```{code-cell} ipython3
:tags: [remove-cell]

glue_all({"hidden": 1})
```

{glue:text}`cr_autocar.percent:.1f`% of {glue:text}`total_patients.count`, {glue:text}`a_size` and
{glue:text}`hidden`, {glue:text}`cr_autocar.nonsense` and {glue:}`shown`.
'''


def test_the_check_fails_on_a_fabricated_chapter():
    found = "\n".join(problems(FABRICATED, "fabricated"))
    assert "glue key is not a string literal: f'{slug}_size'" in found
    assert "glue_all takes a dict literal" in found
    assert "'total_patients' is also a claim key" in found
    assert "'cr_autocar.percent' with a typed format '.1f'" in found
    assert "references 'a_size'" in found
    assert "references 'cr_autocar.nonsense'" in found
    assert "cell 2 only glues but is shown" in found
    for fine in ("total_patients.count", "'hidden'", "'shown'", "cell 3"):
        assert fine not in found
    without_claims = "\n".join(problems(FABRICATED.replace("study.glue_claims()", "")))
    assert "references 'total_patients.count'" in without_claims   # no claim key resolves


def test_nbval_still_checks_cells_hidden_from_readers():
    # Jupyter Book's remove-cell hides a cell from the page; nbval acts only on its own tags
    # (nbval-skip, nbval-ignore-output, raises-exception), so a hidden cell is still compared.
    assert dict(find_metadata_tags({"tags": ["remove-cell", "hide-cell"]})) == {}
    assert dict(find_metadata_tags({"tags": ["nbval-skip"]})) == {"skip": True}
