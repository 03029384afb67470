"""What a printed p-value pins down: p-values against scipy, fitting sets against inversion."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402
from scipy import stats  # noqa: E402

from cart_lib import ledger  # noqa: E402
from cart_lib.analysis import pinning  # noqa: E402
from cart_lib.book import plots  # noqa: E402
from cart_lib.ledger import Test  # noqa: E402
from cart_lib.reconstruct import load_frame, load_table  # noqa: E402
from cart_lib.stats import inversion  # noqa: E402


@pytest.fixture(scope="module")
def hu():
    return ledger.load("hu2019"), load_table("hu2019")


@pytest.fixture(scope="module")
def severe_crs(hu):
    return pinning.configurations(*hu, "severe_crs_p")


def test_printed_p_and_its_band(hu):
    target = pinning.printed_p(hu[0].claim("severe_crs_p"))
    assert (target.value, target.step, target.text) == (0.049, 0.001, "0.049")
    assert_allclose((target.low, target.high), (0.0485, 0.0495))
    assert pinning.band_text(target) == "0.0485 to below 0.0495"


def test_every_table_of_17_vs_11_is_listed_once_per_reading(severe_crs):
    assert list(severe_crs.columns) == pinning.COLUMNS
    assert list(dict.fromkeys(severe_crs["reading"])) == ["fisher", "chi-square",
                                                          "chi-square-yates"]
    fisher = severe_crs[severe_crs["reading"] == "fisher"]
    assert len(fisher) == 18 * 12
    assert set(zip(fisher["events1"], fisher["events2"])) == {
        (a, c) for a in range(18) for c in range(12)}
    assert (fisher["n1"] == 17).all() and (fisher["n2"] == 11).all()


def test_fisher_p_of_8_of_17_vs_1_of_11_is_scipys(severe_crs):
    row = severe_crs[(severe_crs["reading"] == "fisher") & (severe_crs["label"] == "8/17 vs 1/11")]
    reference = stats.fisher_exact([[8, 9], [1, 10]]).pvalue   # 0.04915, prints as 0.049
    assert_allclose(row["p"].item(), reference, rtol=1e-12)
    assert_allclose(reference, 0.049148, atol=5e-7)


@pytest.mark.parametrize("reading, reference", [
    ("fisher", lambda a, b, c, d: stats.fisher_exact([[a, b], [c, d]]).pvalue),
    ("chi-square-yates",
     lambda a, b, c, d: stats.chi2_contingency([[a, b], [c, d]], correction=True).pvalue),
])
def test_every_p_value_agrees_with_scipy(severe_crs, reading, reference):
    part = severe_crs[severe_crs["reading"] == reading]
    for _, row in part.iterrows():
        a, c = int(row["events1"]), int(row["events2"])
        b, d = 17 - a, 11 - c
        if 0 in (a + c, b + d):        # no events or no non-events: no association, p = 1
            assert row["p"] == 1.0
            continue
        assert_allclose(row["p"], reference(a, b, c, d), rtol=1e-10)


def test_severe_crs_admits_the_known_single_table_under_the_adopted_reading(severe_crs):
    fits = pinning.fitting(severe_crs)
    assert fits[["reading", "label"]].values.tolist() == [["fisher", "8/17 vs 1/11"]]
    assert fits["adopted"].all()
    # The mirror table prints as 0.049 too, but goes against the text's direction.
    prints = severe_crs[severe_crs["prints"]]
    assert set(prints["label"]) == {"8/17 vs 1/11", "9/17 vs 10/11"}


@pytest.mark.parametrize("claim_id, any_split", [
    ("severe_crs_p", False), ("expansion_p", False), ("cgvhd_early_relapse_p", True)])
def test_fitting_sets_are_those_of_inversion(hu, claim_id, any_split):
    led, table = hu
    claim = led.claim(claim_id)
    target = pinning.printed_p(claim)
    readings = [r.id for r in claim.readings if r.test is not Test.boschloo_exact]  # slow
    frame = pinning.configurations(led, table, claim_id, any_split=any_split, readings=readings)
    for reading in readings:
        r = next(x for x in claim.readings if x.id == reading)
        fits = pinning.fitting(frame[frame["reading"] == reading])
        if r.test in inversion.MANN_WHITNEY:
            n1, n2 = fits["n1"].iloc[0], fits["n2"].iloc[0]
            expected = inversion.feasible_u(r.test, r.direction, target.value, target.step,
                                            int(n1), int(n2))
            assert tuple(fits["u"]) == expected
            continue
        got = {(int(a), int(n1 - a), int(c), int(n2 - c))
               for a, n1, c, n2 in zip(fits["events1"], fits["n1"], fits["events2"], fits["n2"])}
        part = frame[frame["reading"] == reading]
        if any_split:
            total = int(part["n1"].iloc[0] + part["n2"].iloc[0])
            expected = inversion.feasible_tables_any_split(r.test, r.direction, target.value,
                                                           target.step, total)
        else:
            expected = inversion.feasible_tables(r.test, r.direction, target.value, target.step,
                                                 int(part["n1"].iloc[0]), int(part["n2"].iloc[0]))
        assert got == set(expected)


def test_expansion_p_pins_u_150_exact_and_151_asymptotic(hu):
    frame = pinning.configurations(*hu, "expansion_p")
    fits = pinning.fitting(frame).set_index("reading")["u"]
    assert fits.to_dict() == {"mann-whitney-exact": 150, "mann-whitney-asymptotic": 151}
    exact = frame[frame["reading"] == "mann-whitney-exact"].set_index("u")["p"]
    assert len(exact) == 17 * 11 + 1
    # The exact null distribution of U is symmetric, so p(U) = p(n1 n2 - U).
    assert_allclose(exact.to_numpy(), exact.to_numpy()[::-1], rtol=1e-12)


def test_mann_whitney_p_of_a_u_is_scipys_on_any_untied_samples_with_that_u(hu):
    frame = pinning.configurations(*hu, "expansion_p", readings=["mann-whitney-exact"])
    rng = np.random.default_rng(7)
    for shift in (0.0, 0.8, 1.6):
        x, y = rng.normal(shift, 1.0, 17), rng.normal(0.0, 1.0, 11)
        u = int((x[:, None] > y[None, :]).sum())
        reference = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact").pvalue
        assert_allclose(frame.loc[frame["u"] == u, "p"].item(), reference, rtol=1e-12)


def test_the_chronic_gvhd_p_fits_no_literal_reading_over_any_split(hu):
    led, table = hu
    literal = [r.id for r in led.claim("cgvhd_early_relapse_p").readings
               if r.literal and r.test is not Test.boschloo_exact]
    frame = pinning.configurations(led, table, "cgvhd_early_relapse_p", any_split=True,
                                   readings=literal + ["chi-square-recorded"])
    summary = pinning.summary(frame)
    assert summary.loc[literal, "fit"].sum() == 0
    assert summary.loc["chi-square-recorded", "sizes"] == "every split of 11"
    assert summary.loc["fisher-allocar", "configurations"] == sum(
        (n1 + 1) * (14 - n1 + 1) for n1 in range(1, 14))
    assert set(summary.loc["chi-square-recorded", "fitting"].split(", ")) == {
        "0/4 vs 5/7", "0/5 vs 4/6", "2/6 vs 5/5", "2/7 vs 4/4"}


def test_a_claim_without_an_enumerable_p_value_is_refused(hu):
    with pytest.raises(ValueError, match="no enumerable"):
        pinning.configurations(*hu, "severe_crs_p", readings=["no-such-reading"])
    with pytest.raises(KeyError):
        pinning.configurations(*hu, "cr_autocar")   # an interval: it has no p to pin


def test_the_plot_is_the_same_on_every_run(severe_crs, hu):
    target = pinning.printed_p(hu[0].claim("severe_crs_p"))
    images = []
    for _ in range(2):
        fig = plots.pinning_plot(severe_crs, target, labels={"fisher": "Fisher"})
        assert len(fig.axes) >= 2
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        plt.close(fig)
        images.append(buffer.getvalue())
    assert images[0] == images[1]


def test_value_strip_draws_every_patient_in_the_group_colour():
    frame = load_frame("hu2019")
    order = ["autoCAR", "RD-alloCAR"]
    fig = plots.value_strip(frame, "peak_expansion", "group", order, log=True, note="a test")
    ax = fig.axes[0]
    points = ax.collections
    assert [len(c.get_offsets()) for c in points] == [
        int(frame.loc[frame["group"] == g, "peak_expansion"].notna().sum()) for g in order]
    palette = plots.group_palette("hu2019")
    for collection, group in zip(points, order):
        assert_allclose(collection.get_facecolor()[0][:3], palette[group])
    assert ax.get_yscale() == "log"
    plt.close(fig)
