"""Reading numbers out of printed figures, and what rounding allows."""

import pytest

from cart_lib.core.printed import decimals_of, rewrite, rounding_interval, rounds_to, tokens


@pytest.mark.parametrize("text, values", [
    ("27 (96.4%)", [27, 96.4]),
    ("95% CI 63.6–98.5%", [95, 63.6, 98.5]),
    ("p = 0.049", [0.049]),
    ("3×105/kg (1-30×105/kg)", [3, 1, 30]),
    ("two patients (7.1%) with Grade 3-4 CRS", [2, 7.1]),
    ("RD-alloCAR (Grade ≥ 3) p = 0.049", [0.049]),
    ("follow up of 103 days (1-669days)", [103, 1, 669]),
    ("44.4% (4/9 cases)", [44.4, 4, 9]),
    ("No GVHD occurred", [0]),
    ("NCT03173417", []),
])
def test_tokens(text, values):
    assert [t.value for t in tokens(text)] == values


def test_token_precision_and_percent():
    first, second = tokens("27 (96.4%)")
    assert (first.decimals, first.percent, first.step) == (0, False, 1.0)
    assert (second.decimals, second.percent, second.step) == (1, True, 0.1)


def test_rounding_interval_is_half_open_at_the_printed_step():
    assert rounding_interval(96.4, 0.1) == (96.35, 96.45)
    assert rounding_interval(0.049, 0.001) == (0.0485, 0.0495)


@pytest.mark.parametrize("true, printed, step, expected", [
    (27 / 28 * 100, 96.4, 0.1, True),
    (25 / 28 * 100, 89.3, 0.1, True),
    (25 / 27 * 100, 89.3, 0.1, False),     # 92.6%: the other denominator
    (0.0485, 0.049, 0.001, False),         # a tie: printed 0.049 half up, 0.048 half to even
    (0.0495, 0.049, 0.001, False),         # upper edge excluded
    (0.04914795, 0.049, 0.001, True),      # Fisher p of 8/17 vs 1/11
])
def test_rounds_to_under_every_convention(true, printed, step, expected):
    assert rounds_to(true, printed, step) is expected


@pytest.mark.parametrize("true, printed, step, convention, expected", [
    (0.5, 1, 1, "half-up", True),          # R's sprintf and Python's round give 0
    (0.5, 0, 1, "half-even", True),
    (0.5, 1, 1, "half-even", False),
    (1.5, 2, 1, "half-even", True),        # to the even neighbour
    (2.5, 2, 1, "half-even", True),
    (2.5, 3, 1, "half-up", True),
    (0.0485, 0.049, 0.001, "half-up", True),
    (0.0485, 0.048, 0.001, "half-even", True),
    (3 / 13 * 100, 23.07, 0.01, "truncate", True),   # 23.0769...% printed cut off
    (3 / 13 * 100, 23.08, 0.01, "truncate", False),
    (3 / 13 * 100, 23.08, 0.01, "half-up", True),
    (3 / 13 * 100, 23.07, 0.01, None, False),
])
def test_rounds_to_under_a_named_convention(true, printed, step, convention, expected):
    assert rounds_to(true, printed, step, convention) is expected


def test_decimals_of_rejects_steps_that_are_not_powers_of_ten():
    assert decimals_of(0.001) == 3
    assert decimals_of(5) is None
    assert decimals_of(0.25) is None


def test_compound_number_words_are_read_whole():
    assert [t.value for t in tokens("Forty-three patients")] == [43.0]
    assert [t.value for t in tokens("forty three (93.0%)")] == [43.0, 93.0]
    assert rewrite("Forty-three patients", [44]) == "Forty-four patients"
    assert rewrite("twenty patients", [21]) == "twenty-one patients"


def test_comparison_labels_of_grades_are_not_numbers():
    assert tokens("toxicity of grade ≤2") == ()
    assert tokens("grade <3 CRS in 4")[0].value == 4.0
