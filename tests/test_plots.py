"""The book's shared figures: palette, and what each figure draws, checked on the committed cohorts."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from cart_lib.book import Study, plots
from cart_lib.ledger import load_all as ledger_load_all
from cart_lib.core.errors import ClaimsNotMatched


@pytest.fixture(scope="module")
def zhang():
    return Study("zhang2020")


def test_every_group_of_every_study_has_its_own_colour():
    palette = plots.group_palette()
    assert {("zhang2020", "post-HSCT"), ("zhang2020", "no-HSCT"), ("hu2019", "autoCAR"),
            ("hu2019", "RD-alloCAR"), ("hu2019", "DD-alloCAR")} <= set(palette)
    assert len(set(palette.values())) == len(palette)
    assert set(plots.group_palette("hu2019")) == {"autoCAR", "RD-alloCAR", "DD-alloCAR"}
    # One study's colours (read from its own ledger alone) are those of the whole palette.
    for study in ("hu2019", "zhang2020"):
        assert plots.group_palette(study) == {g: c for (s, g), c in palette.items() if s == study}


def test_a_new_study_changes_no_other_studys_colours(tmp_path, monkeypatch):
    """Colours are keyed by (study, group) in data/palette.yml; a study added to the
    ledgers without colours takes spare ones, and the listed studies keep theirs."""
    from cart_lib.core import paths
    before = plots.group_palette()
    led = Study("hu2019").ledger
    new = led.model_copy(update={"study": "aaa2001"})    # sorts first, as a new slug may
    monkeypatch.setattr(plots.ledger_mod, "load_all", lambda: [new, *ledger_load_all()])
    plots._colours.cache_clear()
    try:
        after = plots.group_palette()
    finally:
        monkeypatch.undo()
        plots._colours.cache_clear()
    assert {k: v for k, v in after.items() if k[0] != "aaa2001"} == before
    assert len(set(after.values())) == len(after)
    assert paths.PALETTE.exists()


def test_study_rates_are_the_published_ones_with_exact_intervals(zhang):
    rate = zhang.rate("cr_d30", "post_hsct")
    # 27/28 (96.4%) as printed; Clopper-Pearson 81.7-99.9% (R: binom.test(27, 28)).
    assert (rate.k, rate.n) == (27, 28)
    assert rate.low == pytest.approx(81.65, abs=0.01) and rate.high == pytest.approx(99.91, abs=0.01)
    assert zhang.km_median("overall_survival", "post_hsct") == 169


def test_swimmer_plot_draws_one_bar_per_patient(zhang):
    fig = plots.swimmer_plot(zhang.frame)
    bars = [p for p in fig.axes[0].patches if isinstance(p, matplotlib.patches.Rectangle)]
    assert len(bars) == len(zhang.frame)
    plt.close(fig)


def test_patient_flow_nodes_hold_every_patient_at_every_stage(zhang):
    frame = zhang.frame
    stages = [("all", pd.Series("all", index=frame.index)), ("group", frame["group"]),
              ("response", frame["cr_d30"].map({True: "CR", False: "no CR"}))]
    fig = plots.patient_flow(stages, frame["group"], study="zhang2020")
    labels = [t.get_text() for t in fig.axes[0].texts]
    assert "all (37)" in labels and "post-HSCT (28)" in labels and "no CR (6)" in labels
    plt.close(fig)


def test_grade_counts_cover_every_patient(zhang):
    counts = plots.grade_counts(zhang.frame, "crs_grade", "group")
    assert counts.sum().to_dict() == {"post-HSCT": 28, "no-HSCT": 9}
    # 19 of the 28 with any CRS, as printed.
    assert counts["post-HSCT"].iloc[1:].sum() == 19


def test_check_claims_names_the_claims_not_matched(zhang, monkeypatch):
    results = zhang.results()
    broken = next(iter(results.values()))
    monkeypatch.setattr(type(broken), "status", property(lambda self: "mismatch"))
    with pytest.raises(ClaimsNotMatched, match="zhang2020: .* not matched by data/cohorts/"):
        zhang.check_claims()
