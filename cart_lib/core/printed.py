"""Printed figures: the numbers in a claim's text, and what rounding allows.

A claim keeps its figure exactly as printed (``27 (96.4%)``,
``95% CI 63.6–98.5%``, ``p = 0.049``). This module reads the numbers out of
it, in order, and turns each into the interval of true values that print the
same way: a number printed with ``d`` decimals, rounded to nearest, holds for
any value in ``[x - 10**-d / 2, x + 10**-d / 2)``; so ``96.4%`` holds for
[96.35, 96.45).

Tokens, in order of appearance:

- digits with an optional decimal part, optionally followed by ``%``;
- number words (``one`` to ``ninety-nine``, compound ones read whole), and ``no``
  as zero where it quantifies an acronym (``No GVHD``; but not ``no response``);
- ``a-b`` and ``a–b`` are two numbers (no printed figure here is negative);
- a power of ten written after ``×`` (``3×10^5``, or ``3×105`` where a
  superscript was flattened in the source text) is a unit, not a number;
- a grade label (``Grade 3-4``, ``Grade ≥ 3``, ``grade ≤2``) names a category, not a number:
  the category lives in the claim's reading (e.g. a variable ``severe_crs``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16,
    "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20,
}
#: Tens that compound with a unit: "forty-three" is one number, 43, never 3.
TENS_WORDS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
              "seventy": 70, "eighty": 80, "ninety": 90}
_UNIT_WORDS = [w for w, v in NUMBER_WORDS.items() if v < 10]
_UNITS_AND_LABELS = re.compile(
    r"×\s*10\^?[0-9]"                                   # 10^5 as a unit
    r"|\bgrade\s*(?:[≥>≤<]=?\s*)?\d(?:\s*[-–]\s*\d)?",    # grade labels (grade 3-4, grade ≤2)
    re.IGNORECASE,
)
_TOKEN = re.compile(
    r"(?P<digits>(?<![\w.])\d+(?:\.\d+)?)(?P<percent>\s*%)?"
    r"|(?P<word>\b(?:(?:" + "|".join(TENS_WORDS) + r")(?:[-\s](?:" + "|".join(_UNIT_WORDS)
    + r")\b)?|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")\b)"
    r"|(?P<zero>\b[Nn]o(?=\s+(?-i:[A-Z]{2,})))",
    re.IGNORECASE,
)


def word_value(text: str) -> int:
    """The value of a number word, compound ones whole.

    >>> word_value("Forty-three"), word_value("twenty one"), word_value("twelve")
    (43, 21, 12)
    """
    parts = re.split(r"[-\s]+", text.lower())
    return sum(TENS_WORDS.get(p, NUMBER_WORDS.get(p, 0)) for p in parts)


def number_word(value: int) -> str | None:
    """The number word for 1 to 99, compound ones hyphenated; None outside that range.

    >>> number_word(3), number_word(43), number_word(100)
    ('three', 'forty-three', None)
    """
    if 1 <= value <= 20:
        return next(w for w, v in NUMBER_WORDS.items() if v == value)
    if 20 < value < 100:
        tens = next(w for w, v in TENS_WORDS.items() if v == value - value % 10)
        return tens if value % 10 == 0 else f"{tens}-{number_word(value % 10)}"
    return None


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
    start, end : int
        Where the number stands in the printed figure.
    """

    text: str
    value: float
    decimals: int
    percent: bool
    start: int = 0
    end: int = 0

    @property
    def step(self) -> float:
        """The printed resolution: ``10**-decimals``."""
        return float(Decimal(1).scaleb(-self.decimals))


@lru_cache(maxsize=4096)
def tokens(printed: str) -> tuple[Token, ...]:
    """Read the numbers of a printed figure, in order.

    Examples
    --------
    >>> [t.value for t in tokens("27 (96.4%)")]
    [27.0, 96.4]
    >>> [t.value for t in tokens("3×105/kg (1-30×105/kg)")]
    [3.0, 1.0, 30.0]
    >>> [t.value for t in tokens("two patients (7.1%)")]
    [2.0, 7.1]
    >>> [t.value for t in tokens("Forty-three patients, grade ≤2 toxicity")]
    [43.0]
    """
    return tuple(_read(printed))


def _read(printed: str) -> list[Token]:
    text = _UNITS_AND_LABELS.sub(lambda m: " " * len(m.group()), printed)  # keep positions
    out = []
    for match in _TOKEN.finditer(text):
        if match.group("zero"):
            out.append(Token(match.group("zero"), 0.0, 0, False, *match.span("zero")))
        elif match.group("word"):
            word = match.group("word")
            out.append(Token(word, float(word_value(word)), 0, False, *match.span("word")))
        else:
            digits = match.group("digits")
            decimals = len(digits.split(".")[1]) if "." in digits else 0
            out.append(Token(digits, float(digits), decimals, bool(match.group("percent")),
                             *match.span("digits")))
    return out


#: How :func:`fmt` rounds under each convention; None (no convention named) rounds half up.
_DECIMAL_ROUNDING = {None: ROUND_HALF_UP, "half-up": ROUND_HALF_UP,
                     "half-even": ROUND_HALF_EVEN, "truncate": ROUND_DOWN}


def fmt(value: float, decimals: int, convention: str | None = None) -> str:
    """Format a value at a printed number of decimals under a rounding convention.

    Parameters
    ----------
    value : float
        The value; ``inf`` is written ``NR`` (not reached), NaN ``NA``.
    decimals : int
        Digits after the decimal point.
    convention : {None, "half-up", "half-even", "truncate"}
        As in :func:`rounds_to`. None rounds half up: a reading names no
        convention only when its figure is off every tie, where all agree.

    Returns
    -------
    str

    Examples
    --------
    >>> fmt(27 / 28 * 100, 1), fmt(0.0485, 3), fmt(2.5, 0)
    ('96.4', '0.049', '3')
    >>> fmt(2.5, 0, "half-even"), fmt(3 / 13 * 100, 2, "truncate")
    ('2', '23.07')
    """
    if value != value or value in (float("inf"), float("-inf")):
        return "NR" if value == float("inf") else "NA"
    quantum = Decimal(1).scaleb(-decimals)
    return str(Decimal(repr(float(value))).quantize(quantum, rounding=_DECIMAL_ROUNDING[convention]))


def rewrite(printed: str, values: list[float], convention: str | None = None) -> str:
    """The printed figure with each of its numbers replaced by a value, at the same precision.

    Number words stay words where the value is a whole number in their range;
    numbers are rounded under ``convention`` (see :func:`fmt`).

    Examples
    --------
    >>> rewrite("27 (96.4%)", [26, 26 / 28 * 100])
    '26 (92.9%)'
    >>> rewrite("two patients (7.1%)", [3, 10.714])
    'three patients (10.7%)'
    """
    spans = tokens(printed)
    if len(spans) != len(values):
        raise ValueError(f"{printed!r} holds {len(spans)} numbers, got {len(values)} values")
    out, cursor = [], 0
    for token, value in zip(spans, values):
        out.append(printed[cursor:token.start])
        if not token.text[0].isdigit() and value == int(value) and number_word(int(value)):
            word = number_word(int(value)) if token.value != 0 or value != 0 else token.text
            out.append(word.capitalize() if token.text[0].isupper() else word)
        elif not token.text[0].isdigit() and value == 0:
            out.append(token.text)
        else:
            out.append(fmt(value, token.decimals, convention))
        cursor = token.end
    out.append(printed[cursor:])
    return "".join(out)


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


#: Rounding conventions a reading may name; None (the default) names none.
CONVENTIONS = ("half-up", "half-even", "truncate")


def rounding_interval(value: float, step: float, convention: str | None = None) -> tuple[float, float]:
    """Interval of true values that print as ``value`` at ``step``.

    Rounding (any convention but truncation) gives the interval centred on
    ``value``; which of its ends belong to it is decided by :func:`rounds_to`.
    Truncation gives ``[value, value + step)``.

    Examples
    --------
    >>> rounding_interval(96.4, 0.1)
    (96.35, 96.45)
    >>> rounding_interval(23.07, 0.01, "truncate")
    (23.07, 23.08)
    """
    if convention == "truncate":
        return value, float(Decimal(str(value)) + Decimal(str(step)))
    half = Decimal(str(step)) / 2
    return float(Decimal(str(value)) - half), float(Decimal(str(value)) + half)


def rounds_to(true: float, value: float, step: float, convention: str | None = None) -> bool:
    """Whether ``true`` prints as ``value`` at resolution ``step``.

    With no ``convention`` the figure must print so under every rounding
    convention: a value exactly on a rounding tie (0.5 at a step of 1) does
    not match, since half up and half to even (R's ``sprintf``, Python's
    ``round``) print it differently. ``"half-up"`` and ``"half-even"`` decide
    a tie their way; ``"truncate"`` cuts the digits off.

    Decimal arithmetic decides values within a hair of the interval's edges,
    so binary floating point never moves a value across one.

    Examples
    --------
    >>> rounds_to(27 / 28 * 100, 96.4, 0.1), rounds_to(25 / 27 * 100, 89.3, 0.1)
    (True, False)
    >>> rounds_to(0.5, 1, 1), rounds_to(0.5, 1, 1, "half-up"), rounds_to(0.5, 0, 1, "half-even")
    (False, True, True)
    >>> rounds_to(3 / 13 * 100, 23.07, 0.01), rounds_to(3 / 13 * 100, 23.07, 0.01, "truncate")
    (False, True)
    """
    low, high = interval(value, step, convention)
    margin = 1e-9 * max(1.0, abs(high))
    if low + margin < true < high - margin:
        return True
    if true < low - margin or true > high + margin:
        return False
    t, lo, hi = Decimal(repr(float(true))), Decimal(str(low)), Decimal(str(high))
    if lo < t < hi:
        return True
    if convention == "truncate" or convention == "half-up":
        return lo <= t < hi
    if convention == "half-even":
        even = (Decimal(str(value)) / Decimal(str(step))) % 2 == 0
        return even and lo <= t <= hi
    return False


@lru_cache(maxsize=None)
def interval(value: float, step: float, convention: str | None = None) -> tuple[float, float]:
    """:func:`rounding_interval`, memoised: the search asks for the same few intervals ~10^6 times."""
    return rounding_interval(value, step, convention)
