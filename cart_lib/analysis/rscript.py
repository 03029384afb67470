"""Every claim of a study as an R script: a second, independent implementation.

:func:`generate` writes, from a study's ledger, a self-contained R script
(base R and the survival package, and cmprsk for a cumulative incidence)
that reads the study's cohort CSV,
recomputes each claim's adopted reading with R's own functions, and prints,
claim by claim, the printed figure, R's figure at the printed precision and
``MATCH``, ``DIFF`` or ``SKIP`` with the reason. It ends with the line
``R: K of N claims match, D differ, S not computed`` and exits with status 1
when a claim differs.

The script is generated from the ledger, never translated by hand:

- expressions (:mod:`cart_lib.core.expressions`) become R vector code over the
  cohort's columns, with the same rule for empty values: a comparison
  involving an empty value (``NA``) is false, ``!=`` included, and a bare
  name is true only when its value is non-empty and non-zero;
- each statistic and test maps to the R function that computes it
  (:data:`STATISTICS`, :data:`TESTS`, and :data:`K_GROUP_TESTS` for a test
  across more than two groups); one that base R and survival cannot compute
  is a ``SKIP`` with a declared reason;
- endpoints follow the rules of :mod:`cart_lib.cohort`, with the ledger's
  ``lfs_non_responder`` rule.

Conventions where R's defaults differ from the library's, and what the script
does about each:

- *rounding*: ``sprintf`` rounds half to even on the binary value; the
  library rounds half up on the shortest decimal that reads back as the value
  (:func:`cart_lib.core.printed.fmt`), and so does the script's ``.fmt``;
- *Mann-Whitney with ties*: ``wilcox.test(exact = TRUE)`` cannot compute an
  exact p-value when values tie and falls back to the normal approximation
  (scipy's exact method ignores the ties); the script asks for ``exact`` as
  the claim's test says and reports the fallback;
- *Kaplan-Meier median*: survival's ``quantile()`` takes the midpoint of the
  interval over which the curve sits exactly at one half; the library takes
  the first time the curve is at most one half. The script computes the
  library's definition from ``survfit``'s steps and notes survival's value
  where the two differ.

The script is deterministic: the same ledger gives the same bytes.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from ..core import expressions, paths, printed
from ..core.errors import CartError
from ..ledger import Claim, Endpoint, Ledger, Reading, Statistic, Test
from ..measures import MEASURES

#: The command that installs R and survival on Debian (as root).
INSTALL = "apt-get install -y r-base-core r-cran-survival"


@dataclass(frozen=True)
class Translation:
    """How R computes a statistic or a test: the R that does it, or why it cannot."""

    r: str = ""
    skip: str = ""


#: Every statistic of the ledger schema: its R translation, or why R does not compute it,
#: as each declares it (:mod:`cart_lib.measures`).
STATISTICS: dict[Statistic, Translation] = {
    Statistic(name): Translation(measure.r_method, measure.r_skip)
    for name, measure in MEASURES.items()}

#: Every test of the ledger schema, on two groups: its R function, or why R does not compute it.
TESTS: dict[Test, Translation] = {
    Test.fisher_exact: Translation("fisher.test(table)$p.value"),
    Test.chi2: Translation("chisq.test(table, correct = FALSE)$p.value"),
    Test.chi2_yates: Translation("chisq.test(table, correct = TRUE)$p.value"),
    Test.mannwhitney_exact: Translation(
        "wilcox.test(x, y, exact = TRUE, correct = TRUE)$p.value (with tied values R cannot "
        "compute the exact p-value and falls back to the normal approximation; reported)"),
    Test.mannwhitney_asymptotic: Translation(
        "wilcox.test(x, y, exact = FALSE, correct = TRUE)$p.value"),
    Test.boschloo_exact: Translation(skip="Boschloo's exact test is in neither base R nor "
                                          "survival (R has it in the Exact package)"),
    Test.logrank: Translation(
        "survdiff(Surv(time, event) ~ group): pchisq(chisq, 1, lower.tail = FALSE)"),
    Test.kruskal_wallis: Translation("kruskal.test(values, group)$p.value"),
}

#: The tests that compare k >= 2 groups (:data:`cart_lib.stats.group_tests.K_GROUPS`), on more than two.
K_GROUP_TESTS: dict[Test, Translation] = {
    Test.chi2: Translation("chisq.test(table, correct = FALSE)$p.value on the k x 2 table"),
    Test.logrank: Translation(
        "survdiff(Surv(time, event) ~ group) with k groups: pchisq(chisq, k - 1, "
        "lower.tail = FALSE)"),
    Test.kruskal_wallis: Translation("kruskal.test(values, group)$p.value with k groups"),
}

#: The R name each test goes by in the script's helpers.
_R_TEST = {
    Test.fisher_exact: "fisher", Test.chi2: "chi2", Test.chi2_yates: "chi2_yates",
    Test.mannwhitney_exact: "exact", Test.mannwhitney_asymptotic: "asymptotic",
    Test.logrank: "logrank",
}
_TWO_BY_TWO = (Test.fisher_exact, Test.chi2, Test.chi2_yates, Test.boschloo_exact)
_MANN_WHITNEY = (Test.mannwhitney_exact, Test.mannwhitney_asymptotic)


def translation(reading: Reading) -> Translation:
    """How R computes a reading: its statistic's translation, or its test's."""
    if reading.rounding in ("half-even", "truncate"):
        return Translation(skip=f"the figure is printed by {reading.rounding} rounding; the "
                                f"script compares figures rounded half up")
    if reading.test is Test.mannwhitney_exact and reading.ties == "allowed":
        return Translation(skip="base R has no exact Mann-Whitney test under ties "
                                "(wilcox.test falls back to the normal approximation)")
    stat = STATISTICS[reading.statistic]
    if stat.skip or reading.test is None:
        return stat
    if len(reading.groups) > 2:
        return K_GROUP_TESTS[reading.test]
    return TESTS[reading.test]


def _k_groups(reading: Reading) -> bool:
    """Whether the script computes a reading with the helpers of tests across k groups."""
    return reading.groups is not None and (len(reading.groups) > 2
                                           or reading.test is Test.kruskal_wallis)


def default_path(study: str) -> Path:
    """Where a study's committed R script lives: ``data/rscripts/<study>.R``."""
    return paths.rscript_path(study)


# --------------------------------------------------------------------------- R literals

def r_string(text: str) -> str:
    """An R string literal, ASCII only (other characters as ``\\u`` escapes).

    Examples
    --------
    >>> print(r_string('63.6–98.5% "x"'))
    "63.6\\u201398.5% \\"x\\""
    """
    out = []
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif 32 <= code < 127:
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{{{code:x}}}")
    return '"' + "".join(out) + '"'


def r_number(value: float) -> str:
    """An R numeric literal that reads back as the same double.

    Examples
    --------
    >>> r_number(3), r_number(30.4375), r_number(float("inf"))
    ('3', '30.4375', 'Inf')
    """
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


def _r_constant(value) -> str:
    return r_string(value) if isinstance(value, str) else r_number(value)


# --------------------------------------------------------------------------- expressions

_OPS = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}


class RTranslator(expressions.Walker):
    """Translates the ledger's expressions into R vector code (a :class:`cart_lib.core.expressions.Walker`).

    The code reads the cohort as the data frame ``d`` (through ``.col()``,
    which stops on a missing column) and calls one R function ``v_<name>()``
    per ledger variable; the script's helpers (``.is``, ``.truthy``,
    ``.empty``, ``.within``, ``.outside``) carry the empty-value rules of
    :mod:`cart_lib.core.expressions`. A translated expression may be a single
    ``TRUE``/``FALSE`` (a constant); the script recycles it with ``.mask()``.

    Parameters
    ----------
    variables : mapping of str to str
        Ledger variables that stand for expressions.
    """

    def __init__(self, variables: dict[str, str]):
        self.variables = dict(variables)

    def mask(self, text: str) -> str:
        """R code of a boolean expression (checked against the grammar first)."""
        expressions.names(text)
        return self.walk(expressions.parse(text))

    def boolean(self, conjunction: bool, operands: list[ast.expr]) -> str:
        glue = " & " if conjunction else " | "
        return "(" + glue.join(self.walk(v) for v in operands) + ")"

    def negation(self, operand: ast.expr) -> str:
        return f"!{self.walk(operand)}"

    def variable(self, name: str) -> str:
        return f"v_{name}()"

    def column(self, name: str) -> str:
        return f'.truthy(.col("{name}"))'

    def constant(self, node: ast.expr) -> str:
        # A bare constant: true when non-empty and non-zero, as expressions.truthy.
        value = expressions.constant(node)
        return "TRUE" if (value != "" and value != 0) else "FALSE"

    def _value(self, node: ast.expr) -> tuple[str, bool]:
        """R code of a value, and whether it is a constant."""
        if isinstance(node, ast.Name):
            if node.id in self.variables:
                return f"as.numeric(v_{node.id}())", False
            return f'.col("{node.id}")', False
        return _r_constant(expressions.constant(node)), True

    def comparison(self, node: ast.Compare) -> str:
        operands = [node.left, *node.comparators]
        steps = []
        for op, left, right in zip(node.ops, operands, operands[1:]):
            lhs, _ = self._value(left)
            if isinstance(op, (ast.In, ast.NotIn)):
                options = ", ".join(_r_constant(expressions.constant(e)) for e in right.elts)
                helper = ".outside" if isinstance(op, ast.NotIn) else ".within"
                steps.append(f"{helper}({lhs}, c({options}))")
                continue
            lhs, lhs_const = self._value(left)
            rhs, rhs_const = self._value(right)
            step = f".is({lhs} {_OPS[type(op)]} {rhs})"
            if isinstance(op, ast.NotEq):
                # != is false where either side is empty, like every comparison.
                parts = [step] + [f"!.empty({side})" for side, const in
                                  ((lhs, lhs_const), (rhs, rhs_const)) if not const]
                step = "(" + " & ".join(parts) + ")"
            steps.append(step)
        return steps[0] if len(steps) == 1 else "(" + " & ".join(steps) + ")"


# --------------------------------------------------------------------------- the script

_PRELUDE = r'''suppressPackageStartupMessages(library(survival))

# ------------------------------------------------------------------ helpers
# The same for every study; what follows them is generated from the ledger.

.say <- function(...) writeLines(enc2utf8(paste0(...)), useBytes = TRUE)

# Where the cohort is: the first argument, else the committed file next to
# this script's folder (data/rscripts/../cohorts/), beside it, or under the
# current directory.
.cohort_path <- function(study) {
  args <- commandArgs(trailingOnly = TRUE)
  if (length(args)) return(args[1])
  file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
  here <- if (length(file)) dirname(file[1]) else "."
  candidates <- c(file.path(here, "..", "cohorts", paste0(study, ".csv")),
                  file.path(here, paste0(study, ".csv")),
                  file.path("data", "cohorts", paste0(study, ".csv")),
                  paste0(study, ".csv"))
  found <- candidates[file.exists(candidates)]
  if (!length(found)) stop("no cohort CSV found; give its path: Rscript ", study, ".R PATH")
  found[1]
}

# The cohort as the library holds it: booleans as 1/0, numbers as doubles,
# text as character; an empty field is NA.
.read_cohort <- function(path, types) {
  d <- read.csv(path, colClasses = "character", na.strings = "", check.names = FALSE,
                encoding = "UTF-8")
  for (name in names(types)) {
    if (!name %in% names(d)) stop("the cohort has no column '", name, "'")
    x <- d[[name]]
    v <- switch(types[[name]],
                bool = match(tolower(x), c("false", "true")) - 1,
                int = , float = suppressWarnings(as.numeric(x)),
                x)
    bad <- !is.na(x) & is.na(v)
    if (any(bad)) stop("column '", name, "' holds '", x[bad][1], "', not a ", types[[name]])
    d[[name]] <- v
  }
  d
}

.col <- function(name) {
  if (!name %in% names(d)) stop("the cohort has no column '", name, "'")
  d[[name]]
}

# Empty values (cart_lib/expressions.py): a comparison involving an empty
# value is false, != included; a bare name is true only when its value is
# non-empty and non-zero.
.empty <- function(x) if (is.character(x)) is.na(x) | x == "" else is.na(x)
.truthy <- function(x) if (is.character(x)) !is.na(x) & x != "" else !is.na(x) & x != 0
.is <- function(x) !is.na(x) & x
.within <- function(x, options) !.empty(x) & x %in% options
.outside <- function(x, options) !.empty(x) & !(x %in% options)
.mask <- function(x) rep_len(as.logical(x), N)
.flag <- function(x) !is.na(x) & x == 1

# A number at a printed precision, rounded half up on the shortest decimal
# that reads back as the same double (Python's repr), as cart_lib.printed.fmt
# does; sprintf() alone rounds the binary value, half to even.
.shortest <- function(x) {
  for (digits in 1:17) {
    s <- sprintf(paste0("%.", digits - 1L, "e"), x)
    if (as.numeric(s) == x) break
  }
  negative <- startsWith(s, "-")
  s <- sub("^-", "", s)
  list(negative = negative, exponent = as.integer(sub("^.*e", "", s)),
       d = as.integer(strsplit(sub(".", "", sub("e.*$", "", s), fixed = TRUE), "")[[1]]))
}
# Whether x lies exactly on a rounding tie at the printed precision: half up
# and half to even (sprintf) would print it differently, so a match may not
# rest on it (cart_lib.printed.rounds_to).
.on_tie <- function(x, decimals) {
  if (!is.finite(x)) return(FALSE)
  p <- .shortest(x)
  keep <- p$exponent + decimals + 1L
  keep >= 0L && length(p$d) == keep + 1L && p$d[keep + 1L] == 5L
}
.fmt <- function(x, decimals) {
  if (is.na(x)) return("NA")
  if (is.infinite(x)) return(if (x > 0) "NR" else "NA")
  p <- .shortest(x)
  negative <- p$negative
  exponent <- p$exponent
  d <- p$d
  keep <- exponent + decimals + 1L   # digits at 10^-decimals and above
  if (keep >= length(d)) {
    kept <- c(d, integer(keep - length(d)))
    up <- FALSE
  } else if (keep <= 0L) {
    kept <- integer(0)
    up <- keep == 0L && d[1] >= 5L
  } else {
    kept <- d[seq_len(keep)]
    up <- d[keep + 1L] >= 5L
  }
  i <- length(kept)
  while (up && i > 0L) {
    if (kept[i] == 9L) { kept[i] <- 0L; i <- i - 1L } else { kept[i] <- kept[i] + 1L; up <- FALSE }
  }
  if (up) kept <- c(1L, kept)
  if (length(kept) < decimals + 1L) kept <- c(integer(decimals + 1L - length(kept)), kept)
  whole <- kept[seq_len(length(kept) - decimals)]
  while (length(whole) > 1L && whole[1] == 0L) whole <- whole[-1]
  out <- paste(whole, collapse = "")
  if (decimals > 0L) out <- paste0(out, ".", paste(kept[length(kept) - decimals + seq_len(decimals)], collapse = ""))
  if (negative) paste0("-", out) else out
}
.g <- function(x) format(x, digits = 15)

# ------------------------------------------------------------------ endpoints
# cart_lib/cohort.py: overall survival, time last_contact_day, event death;
# follow-up (reverse Kaplan-Meier), deaths censored; leukaemia-free survival,
# for a patient in remission the first of relapse or death, censored at last
# contact, for one never in remission an event at LFS_FAILURE (the ledger's
# lfs_non_responder rule).
.endpoint <- function(name) {
  if (!is.null(ENDPOINTS[[name]])) {       # declared by the ledger: competing events censor
    r <- ENDPOINTS[[name]]()
    return(list(time = r$time, event = r$status == 1L))
  }
  last <- .col("last_contact_day")
  died <- .flag(.col("death"))
  if (name == "overall_survival") return(list(time = last, event = died))
  if (name == "follow_up") return(list(time = last, event = !died))
  if (name == "leukemia_free_survival") {
    responder <- .flag(.col("cr_d30"))
    relapsed <- responder & .flag(.col("relapse"))
    time <- ifelse(relapsed, .col("relapse_day"), last)
    event <- relapsed | died
    failure <- if (LFS_FAILURE == "assessment") pmin(last, RESPONSE_WINDOW) else 0 * last
    return(list(time = ifelse(responder, time, failure), event = ifelse(responder, event, TRUE)))
  }
  stop("unknown endpoint ", name)
}

# ------------------------------------------------------------------ statistics
# Each returns list(values, broken, note): the computed numbers by role (in
# printed units), what the reading's other requirements found broken, and
# what R computed.

.values <- function(v, pop, scale) { x <- v[pop]; x[!is.na(x)] / scale }

.each <- function(hit, each) {
  if (is.null(each)) return(character(0))
  bad <- sum(hit & !each)
  if (bad) sprintf("%d patient(s) described break 'each'", bad) else character(0)
}

.count <- function(pop, hit, each = NULL) {
  k <- sum(hit); n <- sum(pop)
  list(values = c(count = k, denominator = n, percent = if (n) 100 * k / n else NaN),
       broken = .each(hit, each), note = sprintf("sum(): %d/%d", k, n))
}

.exact_ci <- function(pop, hit, level, each = NULL) {
  r <- .count(pop, hit, each)
  k <- r$values[["count"]]; n <- r$values[["denominator"]]
  ci <- if (n > 0) binom.test(k, n, conf.level = level / 100)$conf.int else c(NaN, NaN)
  r$values <- c(r$values, level = level, ci_low = 100 * ci[1], ci_high = 100 * ci[2])
  r$note <- sprintf("binom.test(%d, %d, conf.level = %s)$conf.int, Clopper-Pearson", k, n,
                    .g(level / 100))
  r
}

.proportion_ci <- function(pop, hit, level, method, each = NULL) {
  r <- .count(pop, hit, each)
  k <- r$values[["count"]]; n <- r$values[["denominator"]]
  a <- 1 - level / 100; z <- qnorm(1 - a / 2); p <- k / n
  ci <- if (n == 0) c(NaN, NaN) else switch(method,
    "clopper-pearson" = binom.test(k, n, conf.level = level / 100)$conf.int,
    "wilson" = suppressWarnings(prop.test(k, n, conf.level = level / 100, correct = FALSE))$conf.int,
    "wald" = p + c(-1, 1) * z * sqrt(p * (1 - p) / n),
    "jeffreys" = qbeta(c(a / 2, 1 - a / 2), k + 0.5, n - k + 0.5),
    "agresti-coull" = {
      m <- n + z^2; q <- (k + z^2 / 2) / m
      q + c(-1, 1) * z * sqrt(q * (1 - q) / m)
    })
  ci <- pmin(pmax(as.numeric(ci), 0), 1)   # Wald and Agresti-Coull clipped, as statsmodels does
  r$values <- c(r$values, level = level, ci_low = 100 * ci[1], ci_high = 100 * ci[2])
  r$note <- sprintf("%d/%d, %s interval", k, n, method)
  r
}

.km_landmark <- function(ep, pop, at, scale, level, conf_type) {
  time <- ep$time[pop]; event <- ep$event[pop]
  none <- c(percent = NaN, level = level, ci_low = NaN, ci_high = NaN)
  if (!length(time) || at * scale > max(time))
    return(list(values = none, broken = character(0), note = "no patient followed that long"))
  fit <- survfit(Surv(time, event) ~ 1, conf.type = conf_type, conf.int = level / 100)
  s <- summary(fit, times = at * scale)
  list(values = c(percent = 100 * s$surv, level = level, ci_low = 100 * s$lower,
                  ci_high = 100 * s$upper), broken = character(0),
       note = sprintf("summary(survfit(conf.type = \"%s\"), times = %s)", conf_type,
                      .g(at * scale)))
}

.median_range <- function(x) {
  if (!length(x)) return(list(values = c(median = NaN, min = NaN, max = NaN),
                              broken = character(0), note = "no values"))
  list(values = c(median = median(x), min = min(x), max = max(x)), broken = character(0),
       note = sprintf("median(), min(), max() of %d values", length(x)))
}

.km_median <- function(ep, pop, scale, level = NULL, conf_type = NULL) {
  time <- ep$time[pop]; event <- ep$event[pop]
  if (!length(time)) return(list(values = c(median = NaN, min = NaN, max = NaN),
                                 broken = character(0), note = "no patients"))
  fit <- survfit(Surv(time, event) ~ 1)
  # The library's median: the first time the curve is at most one half
  # (exactly one half counts, within rounding of the product).
  at_most_half <- which(fit$surv <= 0.5 + 1e-9)
  median <- if (length(at_most_half)) fit$time[at_most_half[1]] else Inf
  note <- sprintf("survfit(): n = %d, events = %d, first time S(t) <= 1/2", length(time),
                  sum(event))
  survival <- unname(quantile(fit, 0.5, conf.int = FALSE))
  if (is.na(survival)) survival <- Inf
  if (survival != median)
    note <- paste0(note, sprintf("; survival's quantile() gives %s (midpoint where S(t) = 1/2 over an interval)",
                                 .g(survival / scale)))
  flat <- any(abs(fit$surv - 0.5) < 1e-12)
  broken <- if (flat) "the curve sits at exactly one half, so its median depends on the convention" else character(0)
  values <- c(median = median / scale, min = min(time) / scale, max = max(time) / scale)
  if (!is.null(conf_type)) {
    # survival's own interval of the median: where the band of S(t) holds one half.
    q <- quantile(survfit(Surv(time, event) ~ 1, conf.type = conf_type, conf.int = level / 100),
                  0.5)
    limit <- function(x) if (is.na(x)) Inf else unname(x) / scale
    values <- c(values, level = level, ci_low = limit(q$lower), ci_high = limit(q$upper))
    note <- paste0(note, sprintf("; quantile(survfit(conf.type = \"%s\"), 0.5)", conf_type))
  }
  list(values = values, broken = broken, note = note)
}

.direction <- function(higher, direction) {
  if (is.null(direction) || is.na(higher) || higher == (direction == "first_higher"))
    return(character(0))
  sprintf("the difference goes the other way (%s expected)", sub("_", " ", direction))
}

.two_by_two <- function(test, first, second, event, direction = NULL) {
  a <- sum(first & event); n1 <- sum(first)
  c <- sum(second & event); n2 <- sum(second)
  tab <- matrix(c(a, n1 - a, c, n2 - c), 2, byrow = TRUE)
  note <- sprintf("%d/%d vs %d/%d", a, n1, c, n2)
  if (min(n1, n2) == 0) {
    p <- NaN
  } else if (test == "fisher") {
    p <- fisher.test(tab)$p.value
    note <- paste0(note, ", fisher.test()")
  } else if (any(c(rowSums(tab), colSums(tab)) == 0)) {
    p <- 1   # a zero margin: no evidence of association (chisq.test gives NaN), as the library
    note <- paste0(note, ", a zero margin: p = 1")
  } else {
    p <- suppressWarnings(chisq.test(tab, correct = test == "chi2_yates"))$p.value
    note <- paste0(note, sprintf(", chisq.test(correct = %s)", test == "chi2_yates"))
  }
  higher <- if (min(n1, n2) > 0) a * n2 > c * n1 else NA
  list(values = c(p = p), broken = .direction(higher, direction), note = note)
}

.wilcox <- function(x, y, exact, direction = NULL, ties = "forbidden") {
  if (!length(x) || !length(y))
    return(list(values = c(p = NaN), broken = character(0), note = "an empty group"))
  said <- character(0)
  w <- withCallingHandlers(wilcox.test(x, y, exact = exact, correct = TRUE),
                           warning = function(m) {
                             said <<- c(said, conditionMessage(m))
                             invokeRestart("muffleWarning")
                           })
  u <- unname(w$statistic)
  note <- sprintf("wilcox.test(exact = %s): W = %s, n = %d vs %d", exact, .g(u), length(x),
                  length(y))
  if (exact && any(duplicated(c(x, y))))
    note <- paste0(note, "; values tie, so R used the normal approximation, not the exact distribution")
  if (length(said)) note <- paste0(note, " [R: ", paste(unique(said), collapse = "; "), "]")
  broken <- .direction(u > length(x) * length(y) / 2, direction)
  tied <- sum(x %in% y)
  if (ties == "forbidden" && tied)
    broken <- c(broken, sprintf("%d value(s) tied across the groups", tied))
  list(values = c(p = w$p.value), broken = broken, note = note)
}

.logrank <- function(ep, first, second, direction = NULL) {
  n1 <- sum(first); n2 <- sum(second)
  if (!n1 || !n2) return(list(values = c(p = NaN), broken = character(0), note = "an empty group"))
  time <- c(ep$time[first], ep$time[second])
  event <- c(ep$event[first], ep$event[second])
  group <- rep(1:2, c(n1, n2))
  fit <- survdiff(Surv(time, event) ~ group)
  variance <- fit$var[1, 1]
  p <- if (variance > 1e-12) pchisq(fit$chisq, 1, lower.tail = FALSE) else 1
  note <- sprintf("survdiff(): n = %d vs %d, events = %d", n1, n2, sum(event))
  if (!(variance > 1e-12)) note <- paste0(note, ", no variance: p = 1")
  # The first group's event rate is the higher when it has more events than expected.
  excess <- fit$obs[1] - fit$exp[1]
  list(values = c(p = p), broken = .direction(excess > 0, direction), note = note)
}

.no_difference <- function(r) {
  # Keeps what the test found broken (values tied across the groups when forbidden).
  p <- r$values[["p"]]
  r$broken <- c(r$broken,
                if (is.na(p) || p < 0.05) sprintf("p = %s, below 0.05", .fmt(p, 3)) else character(0))
  r
}

.day <- function(x, pop, target, each = NULL) {
  value <- if (length(x)) x[which.max(abs(x - target))] else NaN
  list(values = c(count = sum(pop), value = value), broken = .each(pop, each),
       note = sprintf("days: %s", if (length(x)) paste(.g(x), collapse = ", ") else "none"))
}

.bound <- function(x, bound, comparator) {
  ok <- switch(comparator, "<" = x < bound, "<=" = x <= bound, ">" = x > bound, ">=" = x >= bound)
  extreme <- if (!length(x)) NaN else if (comparator %in% c("<", "<=")) max(x) else min(x)
  broken <- if (sum(!ok)) sprintf("%d value(s) not %s %s", sum(!ok), comparator, .g(bound)) else character(0)
  list(values = c(bound = extreme), broken = broken,
       note = sprintf("%d value(s), extreme %s", length(x), .g(extreme)))
}

# ------------------------------------------------------------------ reporting

.tally <- c(match = 0, differ = 0, skipped = 0)

.line <- function(status, id, printed, figure, why) {
  counter <- c(MATCH = "match", DIFF = "differ", SKIP = "skipped")[[status]]
  .tally[[counter]] <<- .tally[[counter]] + 1
  .say(sprintf("%-5s %s | printed: %s | R: %s | %s", status, id, printed, figure, why))
}

# A number printed as a word stays a word where it can (cart_lib.printed.rewrite).
.NUMBER_WORDS <- c("one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
                   "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
                   "eighteen", "nineteen", "twenty")
.as_printed <- function(value, got, word) {
  if (!nzchar(word) || is.na(value) || value != round(value) || value < 0 || value > 20) return(got)
  if (value == 0) return(word)
  out <- .NUMBER_WORDS[value]
  if (grepl("^[A-Z]", word)) paste0(toupper(substr(out, 1, 1)), substring(out, 2)) else out
}

# Compare R's figure with the printed one, number by number at the printed
# precision; pieces are the printed text around the numbers.
.claim <- function(id, printed, roles = character(0), expected = character(0),
                   decimals = integer(0), pieces = character(0), words = character(0),
                   kind = "figure", ties_ok = FALSE, compute) {
  r <- tryCatch(compute(), error = function(e) e)
  if (inherits(r, "error")) {
    .line("DIFF", id, printed, "error", paste("R stopped:", conditionMessage(r)))
    return(invisible())
  }
  got <- vapply(seq_along(roles), function(i) .fmt(r$values[[roles[i]]], decimals[i]), "")
  if (!length(words)) words <- rep("", length(roles))
  if (kind == "figure") {
    figure <- pieces[1]
    for (i in seq_along(roles))
      figure <- paste0(figure, .as_printed(r$values[[roles[i]]], got[i], words[i]), pieces[i + 1])
  } else if (kind == "bound") {
    figure <- sprintf("%s [extreme %s]", printed, .fmt(r$values[["bound"]], 1))
  } else {
    figure <- sprintf("p = %s (%s)", .fmt(r$values[["p"]], 3), kind)
  }
  off <- got != expected
  tie <- !ties_ok & vapply(seq_along(roles), function(i) .on_tie(r$values[[roles[i]]], decimals[i]), TRUE)
  why <- c(if (any(off)) sprintf("%s %s, printed %s", roles[off], got[off], expected[off]),
           if (any(tie)) sprintf("%s %s lies on a rounding tie (half up and half to even differ)",
                                 roles[tie], .g(unlist(r$values[roles[tie]]))),
           r$broken)
  status <- if (length(why)) "DIFF" else "MATCH"
  .line(status, id, printed, figure, paste(c(why, r$note), collapse = "; "))
}

.skip <- function(id, printed, why) .line("SKIP", id, printed, "-", why)
'''

# Only in the scripts of ledgers that have such a test, so that the others
# keep their bytes.
_PRELUDE_DECLARED = r'''
# ------------------------------------------------------------------ declared endpoints
# An endpoint the ledger declares: time from its start to the first of its
# events or competing events (an event on the same day wins), else to last
# contact; status 1 event, 2 competing event, 0 censored.

.declared <- function(events, competing, start) {
  first <- rep(Inf, N); status <- rep(0L, N)
  for (kind in list(list(2L, competing), list(1L, events))) {
    for (k in kind[[2]]) {
      day <- rep_len(as.numeric(k$day), N)
      had <- !is.na(k$when) & k$when & !is.na(day)
      earlier <- had & (if (kind[[1]] == 1L) day <= first else day < first)
      first[earlier] <- day[earlier]; status[earlier] <- kind[[1]]
    }
  }
  list(time = ifelse(status > 0L, first, .col("last_contact_day")) - start, status = status)
}

.endpoint_status <- function(name) {
  if (!is.null(ENDPOINTS[[name]])) return(ENDPOINTS[[name]]())
  r <- .endpoint(name)
  list(time = r$time, status = as.integer(r$event))
}
'''

_PRELUDE_K_GROUPS = r'''
# ------------------------------------------------------------------ tests across k groups
# groups: a list of k patient masks (k >= 2).

.chi2_groups <- function(groups, event) {
  n <- vapply(groups, sum, 0)
  k <- vapply(groups, function(g) sum(g & event), 0)
  tab <- cbind(k, n - k)
  note <- paste(sprintf("%d/%d", k, n), collapse = " vs ")
  if (min(n) == 0) {
    p <- NaN
  } else if (any(colSums(tab) == 0)) {
    p <- 1   # a zero margin: no evidence of association (chisq.test gives NaN), as the library
    note <- paste0(note, ", a zero margin: p = 1")
  } else {
    p <- suppressWarnings(chisq.test(tab, correct = FALSE))$p.value
    note <- paste0(note, sprintf(", chisq.test(correct = FALSE) on the %d x 2 table", length(groups)))
  }
  list(values = c(p = p), broken = character(0), note = note)
}

.logrank_groups <- function(ep, groups) {
  n <- vapply(groups, sum, 0)
  if (min(n) == 0) return(list(values = c(p = NaN), broken = character(0), note = "an empty group"))
  time <- unlist(lapply(groups, function(g) ep$time[g]))
  event <- unlist(lapply(groups, function(g) ep$event[g]))
  group <- rep(seq_along(groups), n)
  fit <- survdiff(Surv(time, event) ~ group)
  variance <- sum(diag(fit$var))
  p <- if (variance > 1e-12) pchisq(fit$chisq, length(groups) - 1, lower.tail = FALSE) else 1
  note <- sprintf("survdiff(): n = %s, events = %d, %d df", paste(n, collapse = " vs "),
                  sum(event), length(groups) - 1L)
  if (!(variance > 1e-12)) note <- paste0(note, ", no variance: p = 1")
  list(values = c(p = p), broken = character(0), note = note)
}

.kruskal <- function(samples, direction = NULL, ties = "forbidden") {
  n <- lengths(samples)
  if (min(n) == 0) return(list(values = c(p = NaN), broken = character(0), note = "an empty group"))
  x <- unlist(samples)
  group <- rep(seq_along(samples), n)
  if (all(x == x[1])) {
    p <- 1   # every value the same: no evidence of a difference (kruskal.test gives NaN), as the library
    note <- sprintf("n = %s, every value the same: p = 1", paste(n, collapse = " vs "))
  } else {
    test <- kruskal.test(x, group)
    p <- test$p.value
    note <- sprintf("kruskal.test(): chi-squared = %s, n = %s", .g(unname(test$statistic)),
                    paste(n, collapse = " vs "))
  }
  broken <- character(0)
  if (!is.null(direction)) {
    # Two groups: the first has the higher values when its mean rank is the higher.
    r <- rank(x)
    broken <- .direction(mean(r[group == 1]) > mean(r[group == 2]), direction)
  }
  tied <- sum(vapply(seq_along(samples), function(i) sum(samples[[i]] %in% unlist(samples[-i])), 0))
  if (ties == "forbidden" && tied)
    broken <- c(broken, sprintf("%d value(s) tied across the groups", tied))
  list(values = c(p = p), broken = broken, note = note)
}

'''

_EPILOGUE = r'''
# ------------------------------------------------------------------ summary
.say(sprintf("R: %d of %d claims match, %d differ, %d not computed", .tally[["match"]],
             sum(.tally), .tally[["differ"]], .tally[["skipped"]]))
if (.tally[["differ"]] > 0) quit(save = "no", status = 1)
'''


def _types(ledger: Ledger) -> str:
    items = list(ledger.dtypes().items())
    body = ",\n  ".join(f"{r_string(name)} = {r_string(dtype)}" for name, dtype in items)
    return f"TYPES <- c(\n  {body})\n"


class _Claims:
    """Generates each claim's block of R code."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.r = RTranslator({k: v.expr for k, v in ledger.variables.items() if v.expr})
        self.columns = set(ledger.dtypes())

    def mask(self, text: str | None) -> str:
        return "rep(TRUE, N)" if text is None else f".mask({self.r.mask(text)})"

    def values(self, reading: Reading, pop: str) -> str:
        variable = reading.variable
        source = (f'.col("{variable}")' if variable in self.columns
                  else f"as.numeric({self.mask(variable)})")
        return f".values({source}, {pop}, {r_number(reading.scale)})"

    def each(self, reading: Reading) -> str:
        return "" if reading.each is None else f", each = {self.mask(reading.each)}"

    def direction(self, reading: Reading) -> str:
        return "" if reading.direction is None else f", direction = {r_string(reading.direction)}"

    def string(self, text: str) -> str:
        return r_string(text)

    def number(self, value: float) -> str:
        return r_number(value)

    def compute(self, claim: Claim, reading: Reading) -> list[str]:
        """The body of the claim's ``compute`` function: R lines ending in its result."""
        return ["pop <- " + self.mask(reading.population)] + \
            reading.measure.r_lines(self, claim, reading)

    def test_call(self, reading: Reading, direction: bool) -> tuple[list[str], str]:
        """R lines selecting the groups a test compares, and the R call of its p-value."""
        if _k_groups(reading):
            return (["groups <- list(" + ", ".join(f"pop & {self.mask(g)}"
                                                   for g in reading.groups) + ")"],
                    self.k_groups(reading, direction))
        lines = [f"first <- pop & {self.mask(reading.groups[0])}",
                 f"second <- pop & {self.mask(reading.groups[1])}"]
        test = reading.test
        way = self.direction(reading) if direction else ""
        if test in _TWO_BY_TWO:
            call = (f".two_by_two({r_string(_R_TEST[test])}, first, second, "
                    f"{self.mask(reading.event)}{way})")
        elif test in _MANN_WHITNEY:
            call = (f".wilcox({self.values(reading, 'first')}, "
                    f"{self.values(reading, 'second')}, "
                    f"exact = {'TRUE' if test is Test.mannwhitney_exact else 'FALSE'}"
                    f"{way}, ties = {r_string(reading.ties)})")
        else:
            call = (f".logrank(.endpoint({r_string(reading.endpoint)}), "
                    f"first, second{way})")
        return lines, call

    def k_groups(self, reading: Reading, direction: bool) -> str:
        """The R call of a test across the groups of the list ``groups``."""
        test = reading.test
        if test is Test.kruskal_wallis:
            direction = self.direction(reading) if direction else ""
            return (f".kruskal(lapply(groups, function(g) {self.values(reading, 'g')})"
                    f"{direction}, ties = {r_string(reading.ties)})")
        if test is Test.chi2:
            return f".chi2_groups(groups, {self.mask(reading.event)})"
        if test is Test.logrank:
            return f".logrank_groups(.endpoint({r_string(reading.endpoint)}), groups)"
        raise AssertionError(f"{test.value} is not a test across k groups")   # pragma: no cover

    def block(self, claim: Claim) -> str:
        reading = claim.adopted
        head = f"# {claim.id}: {claim.says}".replace("\n", " ")
        how = translation(reading)
        method = reading.method or reading.statistic.value
        lines = [_wrap_comment(head), _wrap_comment(
            f"# reading {reading.id!r}: {method}; R: {how.r or 'not computed'}")]
        if how.skip:
            lines.append(f".skip({r_string(claim.id)}, {r_string(claim.printed)}, "
                         f"{r_string(how.skip)})")
            return "\n".join(lines) + "\n"
        roles = [role for role in claim.reads if role != "bound"]
        tokens = claim.numbers()
        expected = [printed.fmt(tokens[role].value, tokens[role].decimals) for role in roles]
        decimals = [tokens[role].decimals for role in roles]
        pieces, cursor = [], 0
        for token in printed.tokens(claim.printed):
            pieces.append(claim.printed[cursor:token.start])
            cursor = token.end
        pieces.append(claim.printed[cursor:])
        written = reading.measure.written
        kind = how.r.split("(")[0] if written == "test" else written
        body = "\n".join("    " + line for line in self.compute(claim, reading))
        args = [f"{r_string(claim.id)}, {r_string(claim.printed)}"]
        if roles:
            args += ["roles = " + _r_vector([r_string(r) for r in roles]),
                     "expected = " + _r_vector([r_string(e) for e in expected]),
                     "decimals = " + _r_vector([f"{d}L" for d in decimals])]
        if kind == "figure":
            args.append("pieces = " + _r_vector([r_string(p) for p in pieces]))
            words = ["" if tokens[role].text[0].isdigit() else tokens[role].text
                     for role in roles]
            if any(words):
                args.append("words = " + _r_vector([r_string(w) for w in words]))
        else:
            args.append(f"kind = {r_string(kind)}")
        if reading.rounding == "half-up":
            args.append("ties_ok = TRUE")
        args.append(f"compute = function() {{\n{body}\n  }}")
        lines.append(".claim(" + ",\n  ".join(args) + ")")
        return "\n".join(lines) + "\n"


def _r_vector(items: list[str]) -> str:
    return items[0] if len(items) == 1 else "c(" + ", ".join(items) + ")"


def _ascii(text: str) -> str:
    """Text with every character beyond ASCII written as its ``\\u`` escape (for comments)."""
    return "".join(ch if ch.isascii() else
                   (f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{{{ord(ch):x}}}")
                   for ch in text)


def _wrap_comment(text: str, width: int = 88) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = "#   " + word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\n".join(lines)


def _day(day, r) -> str:
    return f".col({r_string(day)})" if isinstance(day, str) else r_number(day)


def _endpoints(ledger: Ledger, r) -> str:
    """R for the ledger's declared endpoints: ``ENDPOINTS``, a function for each."""
    if not ledger.endpoints:
        return "\nENDPOINTS <- list()\n"
    out = ["\n# Endpoints the ledger declares, one function each.\n", "ENDPOINTS <- list(\n"]
    items = []
    for name, declared in ledger.endpoints.items():
        def kinds(events) -> str:
            return "list(" + ", ".join(
                f"list(when = {r.mask(k.when)}, day = {_day(k.day, r)})" for k in events) + ")"
        items.append(f"  {name} = function() .declared(\n    {kinds(declared.events)},\n"
                     f"    {kinds(declared.competing)},\n    {r_number(declared.start)})")
    out.append(",\n".join(items) + "\n)\n")
    return "".join(out)


def generate(ledger: Ledger) -> str:
    """The R script of a study's ledger, as text (deterministic).

    Parameters
    ----------
    ledger : Ledger
        The study's ledger.

    Returns
    -------
    str
        A self-contained R script (base R and survival, and cmprsk where a claim
        states a cumulative incidence); ASCII only.
    """
    study = ledger.study
    claims = _Claims(ledger)
    window = ledger.response_window_days
    used = [measure for name, measure in MEASURES.items()
            if any(c.adopted.statistic.value == name for c in ledger.claims)]
    extra = sorted({package for measure in used for package in measure.r_packages})
    needs = ("Base R and the survival package only" if not extra else
             "Base R, the survival package and " + ", ".join(name for name, _ in extra))
    out = [
        f"# {study}: every printed figure of the study recomputed in R from the reconstructed cohort.\n",
        "#\n",
        f"# Generated by `python -m cart_lib rscript --study {study}` from "
        f"{paths.relative(paths.ledger_path(study))}\n",
        f"# (sha256 {ledger.sha256}); do not edit: regenerate it.\n",
        f"# {needs} (Debian: " + " ".join([INSTALL, *(deb for _, deb in extra)]) + ").\n",
        "#\n",
        f"#   Rscript {study}.R [COHORT.csv]\n",
        "#\n",
        "# For each claim it prints the printed figure, R's figure at the printed precision\n",
        "# and MATCH, DIFF or SKIP with the reason; it ends with\n",
        "# 'R: K of N claims match, D differ, S not computed' and exits with status 1 when a\n",
        "# claim differs. Conventions where R's defaults differ from the library's:\n",
        "# numbers are rounded half up, as printed (sprintf() alone rounds half to even);\n",
        "# wilcox.test(exact = TRUE) falls back to the normal approximation when values\n",
        "# tie (reported); the Kaplan-Meier median is the first time the curve is at most\n",
        "# one half (survival's quantile() takes the midpoint where it sits at one half;\n",
        "# reported where they differ).\n",
        "\n",
        _PRELUDE,
        _PRELUDE_K_GROUPS if any(_k_groups(c.adopted) for c in ledger.claims) else "",
        _PRELUDE_DECLARED if ledger.endpoints else "",
        *(measure.r_helpers for measure in used),
        "\n# ------------------------------------------------------------------ the study\n\n",
        f"STUDY <- {r_string(study)}\n",
        f"LFS_FAILURE <- {r_string(ledger.rules.lfs_non_responder)}\n",
        f"RESPONSE_WINDOW <- {r_number(window)}\n",
        _types(ledger),
        "path <- .cohort_path(STUDY)\n",
        "d <- .read_cohort(path, TYPES)\n",
        "N <- nrow(d)\n",
        '.say("R check of ", STUDY, " on ", path, " (", N, " patients), ", R.version.string,\n'
        '     ", survival ", format(packageVersion("survival")))\n',
    ]
    variables = [(name, v) for name, v in ledger.variables.items() if v.expr]
    if variables:
        out.append("\n# Ledger variables, one function each.\n")
        for name, var in variables:
            out.append(_wrap_comment(f"# {name}: {var.description}") + "\n")
            out.append(f"v_{name} <- function() .mask({claims.r.mask(var.expr)})\n")
    out.append(_endpoints(ledger, claims.r))
    out.append("\n# ------------------------------------------------------------------ claims\n")
    for claim in ledger.claims:
        out.append("\n" + claims.block(claim))
    out.append(_EPILOGUE)
    return _ascii("".join(out))   # r_string escapes all but the comments


def write(ledger: Ledger, output: str | Path | None = None) -> Path:
    """Write a study's R script (to :func:`default_path` unless ``output`` is given)."""
    path = Path(output) if output is not None else default_path(ledger.study)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(generate(ledger).encode("ascii"))
    except OSError as exc:
        raise CartError(f"cannot write the R script to {path} ({exc.strerror})") from None
    return path


def endpoints_in_prelude() -> set[str]:
    """Endpoints the script's ``.endpoint()`` knows (a test checks it knows every one)."""
    return {e.value for e in Endpoint if f'name == "{e.value}"' in _PRELUDE}
