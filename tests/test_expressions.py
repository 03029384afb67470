"""The population/event expression language and its rule for empty values."""

import numpy as np
import pytest

from cart_lib.core.expressions import Compiler, ExpressionError, names

NAN = np.nan
TABLE = {
    "group": np.array(["a", "a", "b", "b"], dtype=object),
    "crs_grade": np.array([0.0, 3.0, 4.0, 1.0]),
    "relapse": np.array([1.0, 0.0, NAN, 1.0]),
    "relapse_day": np.array([100.0, NAN, NAN, 400.0]),
    "cgvhd_at_collection": np.array([1.0, 0.0, NAN, NAN]),
}


def run(expr, variables=None):
    return Compiler(variables).mask(expr)(TABLE).tolist()


def test_names_lists_columns():
    assert names("group == 'a' and crs_grade >= 3") == {"group", "crs_grade"}


@pytest.mark.parametrize("bad", ["__import__('os')", "crs_grade + 1 > 2", "x[0]", "f(x)",
                                 "lambda: 1", "crs_grade in other", ""])
def test_names_rejects_what_is_not_in_the_grammar(bad):
    with pytest.raises(ExpressionError):
        names(bad)


def test_comparisons_and_chains():
    assert run("crs_grade >= 3") == [False, True, True, False]
    assert run("3 <= crs_grade <= 3") == [False, True, False, False]
    assert run("group == 'a' and crs_grade >= 3") == [False, True, False, False]
    assert run("crs_grade in [0, 4]") == [True, False, True, False]


def test_empty_values_make_comparisons_false_and_bare_names_false():
    assert run("relapse_day < 200") == [True, False, False, False]
    assert run("relapse_day != 100") == [False, False, False, True]
    assert run("relapse") == [True, False, False, True]
    assert run("not relapse") == [False, True, True, False]
    assert run("cgvhd_at_collection in [True, False]") == [True, True, False, False]


def test_variables_expand_and_cycles_are_refused():
    assert run("severe", {"severe": "crs_grade >= 3"}) == [False, True, True, False]
    with pytest.raises(ExpressionError, match="refers to itself"):
        run("x", {"x": "y", "y": "x"})


def test_constants_broadcast():
    assert run("True") == [True] * 4
    assert run("False") == [False] * 4
