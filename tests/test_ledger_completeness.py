"""Every number in the source texts is a claim, or is listed as deliberately not one.

The sources live outside the project (``../shared/seeds``), and the project
must not depend on them: this test is skipped where they are absent.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cart_lib import ledger as L
from cart_lib.core.paths import ROOT
from cart_lib.core.printed import tokens

SEEDS = ROOT.parent / "shared" / "seeds"
# study -> (seed file, first line of each body paragraph, in order)
SOURCES = {
    "zhang2020": ("000_48b00c596ae59359.txt",
                  ["As CAR T-cell therapy", "From April 2017", "For the 28 patients",
                   "The remaining nine patients", "We find that"]),
    "hu2019": ("002_b1eac26f2ea0947a.txt", ["The source of CAR T cells"]),
}


def _paragraphs(path: Path, starts: list[str]) -> list[str]:
    blocks = [b.strip() for b in path.read_text(encoding="utf-8").split("\n\n") if b.strip()]
    found = []
    for start in starts:
        matches = [b for b in blocks if b.startswith(start)]
        assert len(matches) == 1, f"paragraph starting {start!r} not found once in {path.name}"
        found.append(matches[0])
    return found


def _values(text: str) -> Counter:
    return Counter(t.value for t in tokens(text))


@pytest.mark.parametrize("study", sorted(SOURCES))
def test_every_number_of_the_source_is_in_the_ledger(study):
    seed, starts = SOURCES[study]
    if not (SEEDS / seed).exists():
        pytest.skip(f"source text not present at {SEEDS / seed}")
    paragraphs = _paragraphs(SEEDS / seed, starts)
    led = L.load(study)
    in_ledger = Counter()
    for claim in led.claims:
        in_ledger += _values(claim.printed)
        number = claim.locator.paragraph
        missing = _values(claim.printed) - _values(paragraphs[number - 1])
        assert not missing, f"{claim.id}: {dict(missing)} not printed in paragraph {number}"
    for item in led.not_claims:
        in_ledger += _values(item.printed)
    in_source = sum((_values(p) for p in paragraphs), Counter())
    assert in_source - in_ledger == Counter(), "numbers printed in the source but not in the ledger"
    assert in_ledger - in_source == Counter(), "numbers in the ledger that the source does not print"
