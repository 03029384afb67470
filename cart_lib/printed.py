"""Printed figures: the numbers in a claim's text, and what rounding allows.

A claim keeps its figure exactly as printed (``27 (96.4%)``,
``95% CI 63.6–98.5%``, ``p = 0.049``). This module reads the numbers out of
it, in order, and turns each into the interval of true values that print the
same way: a number printed with ``d`` decimals, rounded to nearest, holds for
any value in ``[x - 10**-d / 2, x + 10**-d / 2)``; so ``96.4%`` holds for
[96.35, 96.45).

Tokens, in order of appearance:

- digits with an optional decimal part, optionally followed by ``%``;
- number words (``one`` to ``twenty``), read as whole numbers, and ``no``
  as zero where it quantifies an acronym (``No GVHD``; but not ``no response``);
- ``a-b`` and ``a–b`` are two numbers (no printed figure here is negative);
- a power of ten written after ``×`` (``3×10^5``, or ``3×105`` where a
  superscript was flattened in the source text) is a unit, not a number;
- a grade label (``Grade 3-4``, ``Grade ≥ 3``) names a category, not a number:
  the category lives in the claim's reading (e.g. a variable ``severe_crs``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}
_UNITS_AND_LABELS = re.compile(
    r"×\s*10\^?[0-9]"                                   # 10^5 as a unit
    r"|\bgrade\s*(?:[≥>]=?\s*)?\d(?:\s*[-–]\s*\d)?",      # grade labels
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"(?P<digits>(?<![\w.])\d+(?:\.\d+)?)(?P<percent>\s*%)?"
    r"|(?P<word>\b(?:" + "|".join(NUMBER_WORDS) + r")\b)"
    r"|(?P<zero>\b[Nn]o(?=\s+(?-i:[A-Z]{2,})))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Token:
    """One number read from a printed figure.

    Attributes
    ----------
    text : str
        The number as printed (``"96.4"``, ``"two"``).
    value : float
        Its value.
    decimals : int
        Digits after the decimal point (0 for whole numbers and words).
    percent : bool
        Whether a ``%`` sign follows it.
    """

    text: str
    value: float
    decimals: int
    percent: bool

    @property
    def step(self) -> float:
        """The printed resolution: ``10**-decimals``."""
        return float(Decimal(1).scaleb(-self.decimals))


def tokens(printed: str) -> list[Token]:
    """Read the numbers of a printed figure, in order.

    Examples
    --------
    >>> [t.value for t in tokens("27 (96.4%)")]
    [27.0, 96.4]
    >>> [t.value for t in tokens("3×105/kg (1-30×105/kg)")]
    [3.0, 1.0, 30.0]
    >>> [t.value for t in tokens("two patients (7.1%)")]
    [2.0, 7.1]
    """
    text = _UNITS_AND_LABELS.sub(" ", printed)
    out = []
    for match in _TOKEN.finditer(text):
        if match.group("zero"):
            out.append(Token(match.group("zero"), 0.0, 0, False))
        elif match.group("word"):
            word = match.group("word")
            out.append(Token(word, float(NUMBER_WORDS[word.lower()]), 0, False))
        else:
            digits = match.group("digits")
            decimals = len(digits.split(".")[1]) if "." in digits else 0
            out.append(Token(digits, float(digits), decimals, bool(match.group("percent"))))
    return out


def decimals_of(step: float) -> int | None:
    """Number of decimals a precision step stands for, or None if it is not a power of ten.

    Examples
    --------
    >>> decimals_of(0.1), decimals_of(1), decimals_of(0.25)
    (1, 0, None)
    """
    exponent = Decimal(str(step)).normalize().as_tuple()
    if exponent.digits != (1,) or exponent.exponent > 0:
        return None
    return -exponent.exponent


def rounding_interval(value: float, step: float) -> tuple[float, float]:
    """Half-open interval of true values that round to ``value`` at ``step``.

    Examples
    --------
    >>> rounding_interval(96.4, 0.1)
    (96.35, 96.45)
    """
    half = Decimal(str(step)) / 2
    return float(Decimal(str(value)) - half), float(Decimal(str(value)) + half)


def rounds_to(true: float, value: float, step: float) -> bool:
    """Whether ``true`` prints as ``value`` at resolution ``step`` (round half up).

    Decimal arithmetic avoids binary-float surprises at the interval's edges.

    Examples
    --------
    >>> rounds_to(27 / 28 * 100, 96.4, 0.1), rounds_to(25 / 27 * 100, 89.3, 0.1)
    (True, False)
    """
    low, high = rounding_interval(value, step)
    t = Decimal(repr(float(true)))
    return Decimal(str(low)) <= t < Decimal(str(high))
