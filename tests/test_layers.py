"""The library's layers: no module imports from a layer above its own, or another's private names.

Every module of ``cart_lib`` is parsed with :mod:`ast` (nothing is imported).
A module's layer is its sub-package's place in :data:`LAYERS`; an import of
``cart_lib`` code resolves to a module, and that module's layer must not be
higher than the importer's. Imports under ``if TYPE_CHECKING:`` are for
annotations and never run, so they may name any layer.

Private names stay private to their module: no ``from x import _y``, no
import of another sub-package's private module (``cart_lib.ledger._model``
is reached as ``cart_lib.ledger``), and no ``obj._y`` on anything but
``self`` or ``cls`` (a module imported from elsewhere, or an object such as
a ``Search``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from cart_lib.core.paths import CHAPTER_TEXT, LIBRARY

#: The layers, bottom to top: a module may import its own layer and those below.
LAYERS = ("core", "stats", "measures", "ledger", "cohort", "evaluate", "reconstruct",
          "analysis", "book", "cli")
#: Modules at the top of the package, above every layer (``cart_lib`` itself holds
#: only the version and the list of sub-packages, which anything may import).
TOP = {"cli": "cli", "__main__": "cli"}


@dataclass(frozen=True)
class Problem:
    line: int
    text: str


def module_name(path: Path) -> str:
    """Dotted name of a file under ``cart_lib/`` (a package's ``__init__`` is the package)."""
    parts = list(path.relative_to(LIBRARY.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    """Place of a ``cart_lib`` module in :data:`LAYERS`; -1 for ``cart_lib`` itself."""
    parts = module.split(".")
    if len(parts) == 1:
        return -1
    name = TOP.get(parts[1], parts[1])
    if name not in LAYERS:
        raise AssertionError(f"{module}: not in any layer; add its sub-package to LAYERS")
    return LAYERS.index(name)


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Line numbers of statements under ``if TYPE_CHECKING:``."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING",
                                                                  "typing.TYPE_CHECKING"):
            for child in node.body:
                lines.update(range(child.lineno, child.end_lineno + 1))
    return lines


def _package_of(module: str, is_package: bool) -> str:
    return module if is_package else module.rpartition(".")[0]


def _owner(module: str) -> str:
    """The module whose private names ``module``'s private parts belong to: up to the first ``_x``."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if _private(part):
            return ".".join(parts[:i])
    return module


def problems(source: str, module: str, is_package: bool = False,
             submodules: frozenset[str] = frozenset()) -> list[Problem]:
    """What breaks the layers or reaches a private name in the source of ``module``.

    ``submodules``: dotted names of every ``cart_lib`` module and package, so that
    ``from cart_lib.x import y`` is known to import the module ``cart_lib.x.y``.
    """
    tree = ast.parse(source)
    guarded = _type_checking_only(tree)
    own_layer = layer_of(module)
    package = _package_of(module, is_package)
    found: list[Problem] = []
    modules_bound: set[str] = set()

    def check_target(target: str, node: ast.stmt) -> None:
        if not (target == "cart_lib" or target.startswith("cart_lib.")):
            return
        if node.lineno not in guarded and layer_of(target) > own_layer:
            found.append(Problem(node.lineno, f"imports {target} from a higher layer "
                                              f"({LAYERS[layer_of(target)]} above "
                                              f"{LAYERS[own_layer]})"))
        owner = _owner(target)
        if owner != target and not (module == owner or module.startswith(owner + ".")):
            found.append(Problem(node.lineno, f"imports {target}, private to {owner}"))

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                source_module = ".".join(base + ([node.module] if node.module else []))
            else:
                source_module = node.module or ""
            if not source_module.startswith("cart_lib"):
                continue
            for alias in node.names:
                full = f"{source_module}.{alias.name}"
                if full in submodules:
                    check_target(full, node)
                    modules_bound.add(alias.asname or alias.name)
                else:
                    check_target(source_module, node)
                    if _private(alias.name):
                        found.append(Problem(node.lineno, f"imports the private name "
                                                          f"{alias.name} from {source_module}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("cart_lib"):
                    check_target(alias.name, node)
                    modules_bound.add(alias.asname or alias.name.split(".")[0])
        elif (isinstance(node, ast.Attribute) and _private(node.attr)
              and isinstance(node.value, ast.Name) and node.value.id not in ("self", "cls")):
            kind = "module" if node.value.id in modules_bound else "object"
            found.append(Problem(node.lineno, f"reaches the private {node.attr} of the "
                                              f"{kind} {node.value.id}"))
    return found


def library_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(LIBRARY.rglob("*.py"))}


MODULES = library_modules()
SUBMODULES = frozenset(MODULES)


@pytest.mark.parametrize("module", sorted(MODULES))
def test_a_module_imports_no_higher_layer_and_no_private_name(module):
    path = MODULES[module]
    found = problems(path.read_text(encoding="utf-8"), module, path.name == "__init__.py",
                     SUBMODULES)
    assert not found, "\n".join(f"{path.relative_to(LIBRARY.parent)}:{p.line}: {p.text}"
                                for p in found)


def test_every_sub_package_has_a_layer():
    packages = {p.parent.name for p in LIBRARY.glob("*/__init__.py")}
    assert packages <= set(LAYERS), packages - set(LAYERS)
    for module in MODULES:
        layer_of(module)            # raises for a module outside every layer


SUBS = SUBMODULES | {"cart_lib.book.plots", "cart_lib.ledger._model", "cart_lib.core.expressions"}


@pytest.mark.parametrize("source, module, expected", [
    # a pure-number module drawing a figure
    ("from ..book import plots\n", "cart_lib.stats.inversion", "higher layer"),
    ("from cart_lib.book.plots import BOOK_WIDTH\n", "cart_lib.stats.inversion", "higher layer"),
    ("import cart_lib.analysis.meta\n", "cart_lib.ledger._model", "higher layer"),
    ("def f():\n    from ..reconstruct import load_table\n", "cart_lib.analysis.meta", None),
    ("def f():\n    from ..book import Study\n", "cart_lib.analysis.meta", "higher layer"),
    # annotations only: never run
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..ledger import Claim\n",
     "cart_lib.stats.inversion", None),
    ("from . import cli\n", "cart_lib.__main__", None),
    ("from .. import __version__\n", "cart_lib.core.paths", None),
    # private names
    ("from ..ledger import _field_path\n", "cart_lib.analysis.questions", "private name"),
    ("from ..ledger._model import Claim\n", "cart_lib.cohort._table", "private to cart_lib.ledger"),
    ("from ._model import Claim\n", "cart_lib.ledger", None),
    ("from ..core import expressions\nx = expressions._constant(1)\n",
     "cart_lib.reconstruct.objectives", "private _constant of the module expressions"),
    ("def f(search):\n    return search._moves\n", "cart_lib.reconstruct.sample",
     "private _moves of the object search"),
    ("class A:\n    def f(self):\n        return self._moves, type(self).__name__\n",
     "cart_lib.reconstruct.sample", None),
])
def test_the_check_finds_what_it_should_on_fabricated_sources(source, module, expected):
    found = problems(source, module, module in ("cart_lib.ledger",), SUBS)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0].text, found


CELL = re.compile(r"```\{code-cell\}[^\n]*\n(.*?)```", re.S)


@pytest.mark.parametrize("path", sorted(CHAPTER_TEXT.glob("*.md")), ids=lambda p: p.stem)
def test_chapters_import_only_public_names(path):
    """A chapter imports what the library's packages name, never a private module or name."""
    for cell in CELL.findall(path.read_text(encoding="utf-8")):
        body = re.sub(r"\A---\n.*?\n---\n", "", cell, flags=re.S)     # the cell's metadata
        try:
            tree = ast.parse(body)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("cart_lib"):
                assert _owner(node.module) == node.module, f"{path.name}: {ast.unparse(node)}"
                assert not any(_private(a.name) for a in node.names), \
                    f"{path.name}: {ast.unparse(node)}"
