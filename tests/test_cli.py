"""The command line: ``python -m cart_lib claims``."""

from __future__ import annotations

import json
import subprocess
import sys

from cart_lib import cli, ledger as L
from cart_lib.analysis import report
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


def test_claims_read_the_value_of_each_role():
    rows = {(r["study"], r["id"]): r for r in json.loads(run("claims", "--json").stdout)}
    assert rows["hu2019", "cr_autocar"]["read"] == {"percent": 88.2, "level": 95,
                                                    "ci_low": 63.6, "ci_high": 98.5}
    assert rows["zhang2020", "post_hsct_severe_crs"]["read"] == {"count": 2, "percent": 7.1}
    assert all(r["problems"] == [] for r in rows.values())
    frame = report.claims_frame("zhang2020")
    assert frame.loc["post_hsct_crs", "read"] == "count=19, denominator=28, percent=67.9"
    header = run("claims", "--study", "zhang2020").stdout.splitlines()[0].split()
    assert header[:4] == ["study", "id", "printed", "read"]


def _toy_study(toy_ledger, write_ledger, tmp_path, monkeypatch, claims):
    toy_ledger["claims"] = [toy_ledger["claims"][0] | {"printed": "20 patients"}, {
        "id": "n_a", "printed": "13 in group a", "locator": {"source": "abstract", "paragraph": 1},
        "says": "group a", "reads": ["count"], "precision": {"count": 1},
        "measure": {"population": "True", "event": "group == 'a'", "statistic": "count"}},
        *claims]
    write_ledger(toy_ledger)
    monkeypatch.setattr(paths, "CLAIMS", tmp_path)
    monkeypatch.setattr(paths, "COHORTS", tmp_path / "cohorts")     # no cohort yet


def _claim(cid, printed, reads, precision, measure):
    return {"id": cid, "printed": printed, "locator": {"source": "abstract", "paragraph": 1},
            "says": cid, "reads": reads, "precision": precision, "measure": measure}


def test_claims_names_each_figure_the_ledger_shows_cannot_hold(toy_ledger, write_ledger,
                                                               tmp_path, monkeypatch, capsys):
    _toy_study(toy_ledger, write_ledger, tmp_path, monkeypatch, [
        _claim("cr", "3 (23.07%)", ["count", "percent"], {"count": 1, "percent": 0.01},
               {"population": "group == 'a'", "event": "cr_d30", "statistic": "count"})])
    status = cli.main(["claims", "--study", "toy"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "count=3, percent=23.07" in out and "pending" in out
    assert err.splitlines() == [
        "problem: toy cr (count, percent): 3/13 = 23.08% against printed 23.07% (under every "
        "rounding convention); 3/13 does when truncated"]


def test_invert_lists_every_p_value_and_interval_it_cannot_invert_and_why(
        toy_ledger, write_ledger, tmp_path, monkeypatch, capsys):
    toy_ledger["groups"]["c"] = {"treatment": "CAR-T", "car_source": "recipient-derived",
                                 "donor": "none", "prior_hsct": True}
    two = ["group == 'a'", "group == 'b'"]
    three = two + ["group == 'c'"]
    os_ = {"endpoint": "overall_survival"}
    interval = ["percent", "level", "ci_low", "ci_high"]
    steps = {"percent": 1, "level": 1, "ci_low": 1, "ci_high": 1}
    _toy_study(toy_ledger, write_ledger, tmp_path, monkeypatch, [
        _claim("os_p", "p = 0.04", ["p"], {"p": 0.01},
               {"population": "True", "groups": two, "statistic": "p_value",
                "test": "logrank"} | os_),
        _claim("cr_p3", "p = 0.04", ["p"], {"p": 0.01},
               {"population": "True", "groups": three, "statistic": "p_value", "test": "chi2",
                "event": "cr_d30"}),
        _claim("crs_kw", "p = 0.04", ["p"], {"p": 0.01},
               {"population": "True", "groups": two, "statistic": "p_value",
                "test": "kruskal_wallis", "variable": "crs_grade"}),
        _claim("os_1y", "OS 43% (95% CI 28-57%)", interval, steps,
               {"population": "True", "statistic": "km_landmark", "at": 1, "unit": "years",
                "ci": "log-log"} | os_),
        _claim("os_median", "median OS 9 months (95% CI 5-14)", ["median", "level", "ci_low",
                                                               "ci_high"],
               {"median": 1, "level": 1, "ci_low": 1, "ci_high": 1},
               {"population": "True", "statistic": "km_median", "unit": "months",
                "ci": "log-log"} | os_),
        _claim("os_median_alone", "median OS 9 months", ["median"], {"median": 1},
               {"population": "True", "statistic": "km_median", "unit": "months"} | os_),
        _claim("cr_ci", "23% (95% CI 8-50%)", interval, steps,
               {"population": "group == 'a'", "event": "cr_d30", "statistic": "proportion_ci",
                "ci": "wilson"}),
    ])
    assert cli.main(["invert", "--study", "toy"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[1].rstrip(":") for line in out.splitlines() if line.startswith("toy ")]
    assert listed == ["os_p", "cr_p3", "crs_kw", "os_1y", "os_median", "cr_ci"]
    blocks = out.split("\ntoy ")
    reasons = {b.split(":")[0].split()[-1]: b for b in blocks}
    assert "a log-rank p-value depends on every patient's time and event" in reasons["os_p"]
    assert "a test across 3 groups has no two-group table" in reasons["cr_p3"]
    assert "a kruskal_wallis p-value is neither" in reasons["crs_kw"]
    for claim in ("os_1y", "os_median"):
        assert "not inverted: a Kaplan-Meier estimate and its Greenwood interval depend on " \
               "every patient's time and censoring" in reasons[claim]
    # The Wilson interval is inverted: 3/13 gives 23% (8-50%).
    assert "Wilson score interval, denominators 1 to 13" in reasons["cr_ci"]
    assert "(3, 13)" in reasons["cr_ci"]
