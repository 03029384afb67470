"""The command line: ``python -m cart_lib claims``."""

from __future__ import annotations

import json
import subprocess
import sys

from cart_lib import ledger as L
from cart_lib.core import paths
from cart_lib.core.paths import ROOT


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cart_lib", *args], cwd=ROOT,
                          capture_output=True, text=True)


def test_claims_json_lists_every_claim_of_every_study():
    out = run("claims", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    expected = {(s, c.id) for s in paths.studies() for c in L.load(s).claims}
    assert {(r["study"], r["id"]) for r in rows} == expected
    for row in rows:
        assert {"id", "study", "printed", "reproduced", "status"} <= row.keys()


def test_claims_table_for_one_study():
    out = run("claims", "--study", "hu2019")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert lines[0].split()[:3] == ["study", "id", "printed"]
    assert len(lines) == 1 + len(L.load("hu2019").claims)
    assert all(line.startswith("hu2019") for line in lines[1:])


def test_unknown_study_is_one_clear_message():
    out = run("claims", "--study", "nope")
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.strip().splitlines() == [
        "error: no ledger for study 'nope': known studies are hu2019, zhang2020 "
        "(files in data/claims/)"]
