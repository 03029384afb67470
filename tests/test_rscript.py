"""The generated R scripts: a second implementation of every claim, in base R and survival.

The tests that run R skip, printing the install command, when ``Rscript`` or
the survival package is missing, unless ``CART_REQUIRE_R`` is set (``.ci/run``
sets it once it has installed R), when they fail instead.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from cart_lib import cohort as cohort_mod
from cart_lib import ledger as L
from cart_lib.core import paths, printed
from cart_lib.analysis import rscript
from cart_lib.cohort import schema
from cart_lib.evaluate import Evaluator
from cart_lib.stats.group_tests import K_GROUPS
from cart_lib.ledger import Endpoint, Statistic, Test
from conftest import MINIMAL, STUDY_DTYPES

SUMMARY = re.compile(r"^R: (\d+) of (\d+) claims match, (\d+) differ, (\d+) not computed$")


# ------------------------------------------------------------------ R itself

def _r_missing() -> str | None:
    if shutil.which("Rscript") is None:
        return "Rscript not found"
    for package in ("survival", "cmprsk"):
        ok = subprocess.run(["Rscript", "-e", f"library({package})"], capture_output=True,
                            text=True)
        if ok.returncode:
            return f"R's {package} package not found"
    return None


@pytest.fixture(scope="module")
def r_available() -> None:
    """Skip (or, with CART_REQUIRE_R set, fail) when R, survival or cmprsk is missing."""
    missing = _r_missing()
    if missing:
        message = (f"{missing}: the R check needs R and its survival and cmprsk packages; "
                   f"as root: {rscript.INSTALL} r-cran-cmprsk")
        if os.environ.get("CART_REQUIRE_R"):
            pytest.fail(message)
        pytest.skip(message)


def run_r(script: Path, cohort: Path | None = None) -> subprocess.CompletedProcess:
    args = ["Rscript", str(script)] + ([str(cohort)] if cohort else [])
    return subprocess.run(args, capture_output=True, text=True, encoding="utf-8", timeout=300)


def lines_by_claim(stdout: str) -> dict[str, dict[str, str]]:
    """Each claim's line of the R check, split into status, printed, R's figure and note."""
    out = {}
    for line in stdout.splitlines():
        match = re.match(r"^(MATCH|DIFF|SKIP) +(\S+) \| printed: (.*?) \| R: (.*?) \| (.*)$", line)
        if match:
            status, claim, shown, figure, note = match.groups()
            out[claim] = {"status": status, "printed": shown, "figure": figure, "note": note}
    return out


def summary(stdout: str) -> tuple[int, int, int, int]:
    last = stdout.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, f"no summary line, last line: {last!r}"
    return tuple(int(x) for x in match.groups())


# ------------------------------------------------------------------ the toy study

def _claim(cid: str, text: str, reads: list[str], precision: dict, **measure) -> dict:
    return {"id": cid, "printed": text, "locator": {"source": "abstract", "paragraph": 1},
            "says": cid, "reads": reads, "precision": precision, "measure": measure}


TWO_GROUPS = ["group == 'a'", "group == 'b'"]
THREE_GROUPS = ["group == 'a'", "group == 'b'", "group == 'c'"]
A_OR_B = "group in ['a', 'b']"

#: A toy study with a claim for every statistic and every test, each printed as
#: computed by hand on TOY_PATIENTS (the comment says how).
TOY = {
    **{k: v for k, v in MINIMAL.items() if k not in ("record", "claims")},
    "groups": {**MINIMAL["groups"],
               "c": {"treatment": "CAR-T", "car_source": "recipient-derived", "donor": "none",
                     "prior_hsct": True}},
    "endpoints": {"relapse_incidence": {
        "says": "time to relapse; death without relapse competes",
        "events": [{"when": "relapse", "day": "relapse_day"}],
        "competing": [{"when": "death and not relapse", "day": "last_contact_day"}]}},
    "claims": [
        _claim("total", "10 patients", ["count"], {"count": 1},
               population="True", statistic="count"),
        # 3 of the 4 in group a reached CR: 75.0%.
        _claim("cr_a", "3 (75.0%)", ["count", "percent"], {"count": 1, "percent": 0.1},
               population="group == 'a'", event="cr_d30", statistic="count"),
        # 4 of 4: Clopper-Pearson lower bound (0.025)^(1/4) = 0.3976, upper 1.
        _claim("cr_b_ci", "100% (95% CI 39.8–100%)", ["percent", "level", "ci_low", "ci_high"],
               {"percent": 1, "level": 1, "ci_low": 0.1, "ci_high": 1},
               population="group == 'b'", event="cr_d30", statistic="exact_ci"),
        # 3 of 4, Wilson: (p + z^2/2n -/+ z sqrt(p q / n + z^2 / 4n^2)) / (1 + z^2 / n),
        # 0.3006 to 0.9544.
        _claim("cr_a_wilson", "75.0% (95% CI 30.1–95.4%)",
               ["percent", "level", "ci_low", "ci_high"],
               {"percent": 0.1, "level": 1, "ci_low": 0.1, "ci_high": 0.1},
               population="group == 'a'", event="cr_d30", statistic="proportion_ci",
               ci="wilson"),
        # group b at day 25: S = 3/4; log-log Greenwood, se of log(-log S) =
        # sqrt(1/12) / |log 3/4|: 0.1279 to 0.9605.
        _claim("os_b_25", "75% (95% CI 12.8–96.1%)", ["percent", "level", "ci_low", "ci_high"],
               {"percent": 1, "level": 1, "ci_low": 0.1, "ci_high": 0.1},
               population="group == 'b'", statistic="km_landmark", endpoint="overall_survival",
               at=25, ci="log-log"),
        # relapse (a3 day 10, b2 day 15) with death before relapse competing (days 1, 2, 5,
        # 10, 15): F(20) = 0.7 / 6 + (0.7 * 4 / 6) / 4 = 7/30; Gray's variance 0.024752,
        # log-log interval 2.7% to 55.6% (cmprsk::cuminc, timepoints).
        _claim("relapse_incidence_20", "23.3% (95% CI 2.7–55.6%)",
               ["percent", "level", "ci_low", "ci_high"],
               {"percent": 0.1, "level": 1, "ci_low": 0.1, "ci_high": 0.1},
               population="True", statistic="cumulative_incidence",
               endpoint="relapse_incidence", at=20, ci="log-log"),
        # ages 5, 10, ..., 80 (one empty): median of 9 values, 40.
        _claim("age", "median age 40 (5-80)", ["median", "min", "max"],
               {"median": 1, "min": 1, "max": 1},
               population="True", statistic="median", variable="age_years"),
        # doses 0.5 to 2.5: both on a rounding tie; half up prints 1-3 (sprintf would give
        # 0-2), so the reading names the convention.
        _claim("dose", "1-3 ×10^5/kg", ["min", "max"], {"min": 1, "max": 1},
               population="True", statistic="range", variable="dose_e5_per_kg",
               rounding="half-up"),
        # group a dies at 5, 12, 15, censored at 8: S = 3/4, then 3/8 at day 12.
        _claim("os_a", "12 days (5-15 days)", ["median", "min", "max"],
               {"median": 1, "min": 1, "max": 1},
               population="group == 'a'", statistic="km_median", endpoint="overall_survival"),
        # everyone: S first at most 1/2 on day 12 (7/15); the plain band (S -/+ 1.96 S
        # sqrt(Greenwood)) first reaches down to 1/2 on day 5 (0.7 - 0.284) and lies
        # wholly below it from day 30.
        _claim("os_all_ci", "12 days (95% CI 5–30 days)", ["median", "level", "ci_low", "ci_high"],
               {"median": 1, "level": 1, "ci_low": 1, "ci_high": 1},
               population="True", statistic="km_median", endpoint="overall_survival",
               ci="plain"),
        # group b dies at 10, 30, 40, censored at 20: S = 3/4, then 3/8 at day 30.
        _claim("os_b", "30 days (10-40 days)", ["median", "min", "max"],
               {"median": 1, "min": 1, "max": 1},
               population="group == 'b'", statistic="km_median", endpoint="overall_survival"),
        # severe CRS 3/4 vs 1/4: Fisher 34/70.
        _claim("crs_fisher", "p = 0.486", ["p"], {"p": 0.001}, population=A_OR_B,
               groups=TWO_GROUPS, statistic="p_value", test="fisher_exact", event="severe_crs",
               direction="first_higher"),
        # chi-square 8 (9 - 1)^2 / 4^4 = 2, p = 0.1573.
        _claim("crs_chi2", "p = 0.157", ["p"], {"p": 0.001}, population=A_OR_B,
               groups=TWO_GROUPS, statistic="p_value", test="chi2", event="severe_crs"),
        # Yates: 8 (8 - 4)^2 / 4^4 = 0.5, p = 0.4795.
        _claim("crs_yates", "p = 0.480", ["p"], {"p": 0.001}, population=A_OR_B,
               groups=TWO_GROUPS, statistic="p_value", test="chi2_yates", event="severe_crs"),
        # Boschloo: not in base R; the library gives 0.289.
        _claim("crs_boschloo", "p = 0.289", ["p"], {"p": 0.001}, population=A_OR_B,
               groups=TWO_GROUPS, statistic="p_value", test="boschloo_exact",
               event="severe_crs"),
        # 5-8 against 1-4, no ties: exact p = 2/70.
        _claim("expansion_exact", "p = 0.029", ["p"], {"p": 0.001}, population=A_OR_B,
               groups=TWO_GROUPS, statistic="p_value", test="mannwhitney_exact",
               variable="peak_expansion", direction="first_higher"),
        # normal approximation: z = (16 - 8 - 1/2) / sqrt(12), p = 0.0304.
        _claim("expansion_normal", "p = 0.030", ["p"], {"p": 0.001}, population=A_OR_B,
               groups=TWO_GROUPS, statistic="p_value", test="mannwhitney_asymptotic",
               variable="peak_expansion", direction="first_higher"),
        # deaths at 1, 2 (group c) against 30, 40: chi-square 49/17, p = 0.0896.
        _claim("os_logrank", "p = 0.090", ["p"], {"p": 0.001}, population="True",
               groups=["group == 'c'", "group == 'b' and last_contact_day >= 30"],
               statistic="p_value", test="logrank", endpoint="overall_survival"),
        # Tests across the three groups (R's values: tests/test_group_tests.py).
        # severe CRS 3/4, 1/4, 0/2: chisq.test on the 3 x 2 table, p = 0.1534.
        _claim("crs_chi2_3arm", "p = 0.153", ["p"], {"p": 0.001}, population="True",
               groups=THREE_GROUPS, statistic="p_value", test="chi2", event="severe_crs"),
        # survdiff across a, b, c on 2 df: p = 0.00169.
        _claim("os_logrank_3arm", "p = 0.002", ["p"], {"p": 0.001}, population="True",
               groups=THREE_GROUPS, statistic="p_value", test="logrank",
               endpoint="overall_survival"),
        # ages 10-40, 50-80 and 5 (c1's age is empty): kruskal.test p = 0.0357.
        _claim("age_kruskal_3arm", "p = 0.036", ["p"], {"p": 0.001}, population="True",
               groups=THREE_GROUPS, statistic="p_value", test="kruskal_wallis",
               variable="age_years"),
        # a younger than b, two groups: kruskal.test p = 0.0209.
        _claim("age_kruskal_2arm", "p = 0.021", ["p"], {"p": 0.001}, population=A_OR_B,
               groups=TWO_GROUPS, statistic="p_value", test="kruskal_wallis",
               variable="age_years", direction="first_lower"),
        # grades tie across the groups, as the reading allows: p = 0.354.
        _claim("grades_kruskal_3arm", "did not differ", [], {}, population="True",
               groups=THREE_GROUPS, statistic="no_difference", test="kruskal_wallis",
               variable="crs_grade", ties="allowed"),
        # one group against all the others is two groups: CR 0/2 vs 7/8, Fisher p = 1/15.
        _claim("cr_c_vs_rest", "p = 0.067", ["p"], {"p": 0.001}, population="True",
               groups=["group == 'c'", "group != 'c'"], statistic="p_value",
               test="fisher_exact", event="cr_d30", direction="first_lower"),
        # grades tie, as the reading allows: normal approximation with tie correction.
        _claim("grades_same", "did not differ", [], {}, population=A_OR_B, groups=TWO_GROUPS,
               statistic="no_difference", test="mannwhitney_asymptotic", variable="crs_grade",
               ties="allowed"),
        # the exact test under ties: not in base R (wilcox.test falls back), so skipped.
        _claim("grades_exact", "did not differ", [], {}, population=A_OR_B, groups=TWO_GROUPS,
               statistic="no_difference", test="mannwhitney_exact", variable="crs_grade",
               ties="allowed"),
        _claim("c_death_day", "One patient died on day 2", ["count", "value"],
               {"count": 1, "value": 1}, population="group == 'c' and last_contact_day == 2",
               statistic="day", variable="last_contact_day", each="death"),
        # group b followed 10 to 40 days: within 2 months.
        _claim("b_within", "within 2 months", ["bound"], {"bound": 1}, population="group == 'b'",
               statistic="bound", variable="last_contact_day", comparator="<=", unit="months"),
        _claim("cr_window", "within 30 days", ["value"], {"value": 1},
               statistic="definition", defines="cr_d30", unit="days"),
        # the expression language's empty values: c2's relapse is empty.
        _claim("not_relapsed", "8 without relapse", ["count"], {"count": 1},
               population="True", event="not relapse", statistic="count"),
        _claim("relapse_not_true", "7 not relapsed", ["count"], {"count": 1},
               population="True", event="relapse != True", statistic="count"),
        _claim("grade_1_to_3", "6 of moderate grade", ["count"], {"count": 1},
               population="True", event="1 <= crs_grade <= 3", statistic="count"),
        _claim("expansion_not_low", "6 not low", ["count"], {"count": 1},
               population="True", event="peak_expansion not in [1, 2]", statistic="count"),
        _claim("severe_as_value", "4 severe", ["count"], {"count": 1},
               population="True", event="severe_crs == 1", statistic="count"),
        _claim("c_or_relapse", "4 in c or relapsed", ["count"], {"count": 1},
               population="True", event="group == 'c' or relapse", statistic="count"),
    ],
}

_COLUMNS = ("patient_id", "group", "cr_d30", "crs_grade", "peak_expansion",
            "death", "last_contact_day", "relapse", "relapse_day", "age_years", "dose_e5_per_kg")
_SOURCE = {"a": "autologous", "b": "donor-derived", "c": "recipient-derived"}
N_ = None
TOY_PATIENTS = [
    # id, group, cr, crs, peak, death, last, relapse, relapse day, age, dose
    ("a1", "a", 1, 3, 5, 1, 5, 0, N_, 10, 0.5),
    ("a2", "a", 1, 4, 6, 0, 8, 0, N_, 20, 1),
    ("a3", "a", 1, 3, 7, 1, 12, 1, 10, 30, 2.5),
    ("a4", "a", 0, 0, 8, 1, 15, 0, N_, 40, 1),
    ("b1", "b", 1, 3, 1, 1, 10, 0, N_, 50, 2),
    ("b2", "b", 1, 0, 2, 0, 20, 1, 15, 60, 1),
    ("b3", "b", 1, 1, 3, 1, 30, 0, N_, 70, 1),
    ("b4", "b", 1, 0, 4, 1, 40, 0, N_, 80, 1),
    ("c1", "c", 0, 2, N_, 1, 1, 0, N_, N_, 1),
    ("c2", "c", 0, 2, N_, 1, 2, N_, N_, 5, 1),
]


def toy_table() -> cohort_mod.Table:
    table = cohort_mod.empty(len(TOY_PATIENTS), STUDY_DTYPES)
    for i, row in enumerate(TOY_PATIENTS):
        values = dict(zip(_COLUMNS, row))
        values["car_source"] = _SOURCE[values["group"]]
        for name, value in values.items():
            table[name][i] = (np.nan if table[name].dtype != object else None) \
                if value is None else value
    table["study"][:] = "toy"
    table["treatment"][:] = "CAR-T"
    return table


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[L.Ledger, Path, Path]:
    """The toy ledger, its cohort CSV and its generated R script."""
    folder = tmp_path_factory.mktemp("toy")
    (folder / "toy.yaml").write_text(yaml.safe_dump(TOY, sort_keys=False, allow_unicode=True),
                                     encoding="utf-8")
    led = L.load_ledger(folder / "toy.yaml")
    csv = folder / "toy.csv"
    schema.write_cohort(cohort_mod.to_frame(toy_table(), STUDY_DTYPES), csv)
    return led, csv, rscript.write(led, folder / "toy.R")


@pytest.fixture(scope="module")
def toy_run(toy, r_available) -> subprocess.CompletedProcess:
    led, csv, script = toy
    return run_r(script, csv)


# ------------------------------------------------------------------ (c) coverage

def test_every_statistic_and_test_has_an_r_translation_or_a_declared_skip():
    assert set(rscript.STATISTICS) == set(Statistic)
    assert set(rscript.TESTS) == set(Test)
    for what, how in [*rscript.STATISTICS.items(), *rscript.TESTS.items()]:
        assert bool(how.r) != bool(how.skip), f"{what.value}: give the R or a reason, not both"
    assert rscript.endpoints_in_prelude() == {e.value for e in Endpoint}
    assert set(rscript.K_GROUP_TESTS) == set(K_GROUPS)
    assert all(how.r and not how.skip for how in rscript.K_GROUP_TESTS.values())


def test_the_toy_study_uses_every_statistic_and_test():
    used = {c["measure"]["statistic"] for c in TOY["claims"]}
    tests = {c["measure"].get("test") for c in TOY["claims"]} - {None}
    assert used == {s.value for s in Statistic}
    assert tests == {t.value for t in Test}


def test_the_toy_figures_are_the_librarys_too(toy):
    """The hand-computed figures hold in the Python library: R is checked against both."""
    led, _, _ = toy
    results = Evaluator(led).evaluate(toy_table())
    assert [r.claim.id for r in results if r.status != "match"] == []


# ------------------------------------------------------------------ generation

def test_generation_is_deterministic_and_ascii(toy):
    led, _, script = toy
    text = rscript.generate(led)
    assert text == rscript.generate(L.load_ledger(led.path))
    assert script.read_bytes() == text.encode("ascii")


@pytest.mark.parametrize("study", paths.studies())
def test_committed_script_is_what_the_ledger_generates(study):
    committed = rscript.default_path(study)
    assert committed.exists(), f"no {committed.name}: run 'make rscripts'"
    fresh = rscript.generate(L.load(study)).encode("ascii")
    assert committed.read_bytes() == fresh, (
        f"{committed.relative_to(paths.ROOT)} is stale: run "
        f"'python -m cart_lib rscript --study {study}' (or make rscripts)")


def test_only_scripts_with_a_test_across_k_groups_carry_its_helpers(toy):
    led, _, script = toy
    assert ".logrank_groups <- function" in script.read_text()
    assert "groups <- list(pop & " in script.read_text()
    for study in paths.studies():
        assert ".logrank_groups" not in rscript.generate(L.load(study))


def test_a_script_names_the_packages_it_needs(toy):
    """cmprsk only where a claim states a cumulative incidence, and then in the header."""
    led, _, script = toy
    head = script.read_text().split("\n\n", 1)[0]
    assert "# Base R, the survival package and cmprsk (Debian: " in head
    assert "r-cran-survival r-cran-cmprsk)" in head
    for study in paths.studies():
        head = rscript.generate(L.load(study)).split("\n\n", 1)[0]
        assert "# Base R and the survival package only (Debian: " in head
        assert "cmprsk" not in head


def test_cli_writes_the_script(tmp_path):
    out = tmp_path / "hu2019.R"
    done = subprocess.run([sys.executable, "-m", "cart_lib", "rscript", "--study", "hu2019",
                           "--output", str(out)], cwd=paths.ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == rscript.generate(L.load("hu2019")).encode("ascii")
    bad = subprocess.run([sys.executable, "-m", "cart_lib", "rscript", "--study", "nope"],
                         cwd=paths.ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "no ledger for study 'nope'" in bad.stderr


def test_expressions_translate_with_the_empty_value_rules():
    r = rscript.RTranslator({"severe": "crs_grade >= 3"})
    assert r.mask("crs_grade >= 3") == '.is(.col("crs_grade") >= 3)'
    assert r.mask("not relapse") == '!.truthy(.col("relapse"))'
    assert r.mask("relapse_day != 100") == \
        '(.is(.col("relapse_day") != 100) & !.empty(.col("relapse_day")))'
    assert r.mask("group in ['a', 'b']") == '.within(.col("group"), c("a", "b"))'
    assert r.mask("severe == 1") == ".is(as.numeric(v_severe()) == 1)"
    assert r.mask("1 <= crs_grade <= 3") == \
        '(.is(1 <= .col("crs_grade")) & .is(.col("crs_grade") <= 3))'
    assert r.mask("True") == "TRUE" and r.mask("False or severe") == "(FALSE | v_severe())"


# ------------------------------------------------------------------ (a) the toy in R

def test_toy_r_reproduces_the_hand_computed_figures(toy, toy_run):
    led, _, _ = toy
    assert toy_run.returncode == 0, toy_run.stdout + toy_run.stderr
    lines = lines_by_claim(toy_run.stdout)
    assert list(lines) == [c.id for c in led.claims]
    skipped = {"cr_window", "crs_boschloo", "grades_exact"}
    for claim in led.claims:
        line = lines[claim.id]
        if claim.id in skipped:
            assert line["status"] == "SKIP", line
            continue
        assert line["status"] == "MATCH", (claim.id, line)
        if claim.adopted.statistic in (Statistic.no_difference, Statistic.bound):
            continue
        assert line["figure"] == claim.printed, (claim.id, line)
    assert summary(toy_run.stdout) == (len(led.claims) - 3, len(led.claims), 0, 3)
    assert "Boschloo" in lines["crs_boschloo"]["note"]
    assert "definition" in lines["cr_window"]["note"]
    assert "no exact Mann-Whitney test under ties" in lines["grades_exact"]["note"]
    assert lines["b_within"]["figure"].endswith("[extreme 1.3]")


def test_r_rounds_half_up_like_the_library(tmp_path, r_available):
    """The script's .fmt() against printed.fmt on edge cases and random values."""
    rng = random.Random(7)
    cases = [(0.0485, 3), (2.5, 0), (0.5, 0), (1.5, 0), (96.35, 1), (27 / 28 * 100, 1),
             (0.1 + 0.2, 1), (0.0, 3), (100.0, 0), (9.995, 2), (99.95, 1), (1e-9, 3),
             (0.00749999, 3), (0.0075, 3), (891300.0, 0), (1 / 3, 3), (2.675, 2), (1.005, 2)]
    for _ in range(300):
        decimals = rng.choice([0, 1, 2, 3])
        step = 10 ** -decimals
        cases.append((round(rng.uniform(0, 200) / step) * step + step / 2, decimals))
        cases.append((rng.uniform(0, 1), decimals))
    prelude = rscript._PRELUDE
    values = ", ".join(repr(v) for v, _ in cases)
    decimals = ", ".join(f"{d}L" for _, d in cases)
    script = tmp_path / "fmt.R"
    script.write_text(prelude + f"\nx <- c({values})\nd <- c({decimals})\n"
                      "for (i in seq_along(x)) cat(.fmt(x[i], d[i]), sprintf('%.*f', d[i], x[i]), '\\n')\n")
    out = run_r(script)
    assert out.returncode == 0, out.stderr
    got = [line.split() for line in out.stdout.splitlines()]
    assert [g[0] for g in got] == [printed.fmt(v, d) for v, d in cases]
    # and sprintf() alone does not: it rounds the binary value, half to even
    assert any(g[0] != g[1] for g in got)


# ------------------------------------------------------------------ (b) a damaged cohort

def test_r_refuses_what_the_library_refuses(toy, tmp_path, r_available):
    """A figure on a rounding tie, a curve flat at one half, a log-rank p-value the wrong way
    round and values tied across a rank test's groups: DIFF in R as in the library."""
    data = yaml.safe_load(yaml.safe_dump(TOY))
    claims = {c["id"]: c for c in data["claims"]}
    del claims["dose"]["measure"]["rounding"]
    claims["os_logrank"]["measure"]["direction"] = "first_lower"
    claims["expansion_exact"]["measure"]["variable"] = "crs_grade"
    claims["expansion_exact"]["printed"] = "p = 0.029"
    claims["age_kruskal_2arm"]["measure"]["direction"] = "first_higher"
    del claims["grades_kruskal_3arm"]["measure"]["ties"]
    del claims["grades_same"]["measure"]["ties"]     # "did not differ" with grades tied
    folder = tmp_path / "strict"
    folder.mkdir()
    (folder / "toy.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True),
                                     encoding="utf-8")
    led = L.load_ledger(folder / "toy.yaml")
    table = toy_table()
    table["death"][5] = 1.0                    # b2 dies on day 20: S = 1/2 from day 20 to 30
    csv = folder / "toy.csv"
    schema.write_cohort(cohort_mod.to_frame(table, STUDY_DTYPES), csv)
    out = run_r(rscript.write(led, folder / "toy.R"), csv)
    assert out.returncode == 1
    lines = lines_by_claim(out.stdout)
    assert "lies on a rounding tie" in lines["dose"]["note"]
    assert "sits at exactly one half" in lines["os_b"]["note"]
    assert "goes the other way" in lines["os_logrank"]["note"]
    assert "tied across the groups" in lines["expansion_exact"]["note"]
    assert "goes the other way" in lines["age_kruskal_2arm"]["note"]
    assert "6 value(s) tied across the groups" in lines["grades_kruskal_3arm"]["note"]
    assert "tied across the groups" in lines["grades_same"]["note"]
    library = {r.claim.id: r.status for r in Evaluator(led).evaluate(table)}
    for claim in ("dose", "os_b", "os_logrank", "expansion_exact", "age_kruskal_2arm",
                  "grades_kruskal_3arm", "grades_same"):
        assert lines[claim]["status"] == "DIFF" and library[claim] == "mismatch", claim


def test_a_damaged_toy_cohort_fails_the_r_check(toy, tmp_path, r_available):
    led, _, script = toy
    table = toy_table()
    table["crs_grade"][3] = 3.0             # a4: severe CRS in group a is now 4 of 4
    csv = tmp_path / "damaged.csv"
    schema.write_cohort(cohort_mod.to_frame(table, STUDY_DTYPES), csv)
    out = run_r(script, csv)
    assert out.returncode == 1, out.stdout
    lines = lines_by_claim(out.stdout)
    for claim in ("crs_fisher", "crs_chi2", "crs_yates", "severe_as_value"):
        assert lines[claim]["status"] == "DIFF", lines[claim]
    assert lines["crs_fisher"]["figure"] == "p = 0.143"       # 4/4 vs 1/4: 10/70
    k, n, d, s = summary(out.stdout)
    assert d >= 4 and k + d + s == n


@pytest.mark.parametrize("study", paths.studies())
def test_a_damaged_study_cohort_fails_the_r_check(study, tmp_path, r_available):
    """One patient's age, crs grade and last contact changed: the study's own script says DIFF."""
    text = paths.cohort_path(study).read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    row = text[1].split(",")
    row[header.index("last_contact_day")] = "9999"
    row[header.index("crs_grade")] = "4"
    text[1] = ",".join(row)
    csv = tmp_path / f"{study}.csv"
    csv.write_text("\n".join(text) + "\n", encoding="utf-8")
    out = run_r(rscript.default_path(study), csv)
    assert out.returncode == 1, out.stdout
    assert "DIFF" in {line["status"] for line in lines_by_claim(out.stdout).values()}


# ------------------------------------------------------------------ (d) the studies

@pytest.mark.parametrize("study", paths.studies())
def test_study_script_matches_every_computable_claim(study, r_available):
    """The committed script on the committed cohort: every claim R computes matches."""
    out = run_r(rscript.default_path(study))
    print(out.stdout + out.stderr)          # the whole report, with -s or on failure
    lines = lines_by_claim(out.stdout)
    led = L.load(study)
    assert list(lines) == [c.id for c in led.claims]
    k, n, d, s = summary(out.stdout)
    assert n == len(led.claims) and k + d + s == n
    differ = {cid: line for cid, line in lines.items() if line["status"] == "DIFF"}
    assert not differ, "R differs from the printed figure:\n" + "\n".join(
        f"  {cid}: printed {line['printed']!r}, R {line['figure']!r} ({line['note']})"
        for cid, line in differ.items())
    assert out.returncode == 0
    for cid, line in lines.items():
        if line["status"] == "SKIP":
            reading = led.claim(cid).adopted
            assert line["note"] == rscript.translation(reading).skip
