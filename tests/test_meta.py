"""Random-effects pooling against published reference values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from cart_lib.analysis import meta

# BCG vaccine trials (Colditz et al. 1994): vaccinated TB+, TB-, control TB+, TB-.
BCG = [(4, 119, 11, 128), (6, 300, 29, 274), (3, 228, 11, 209), (62, 13536, 248, 12619),
       (33, 5036, 47, 5761), (180, 1361, 372, 1079), (8, 2537, 10, 619),
       (505, 87886, 499, 87892), (29, 7470, 45, 7232), (17, 1699, 65, 1600),
       (186, 50448, 141, 27197), (5, 2493, 3, 2338), (27, 16886, 29, 17825)]


def test_dersimonian_laird_matches_metafor_on_the_bcg_trials():
    # metafor: rma(yi, vi, data = escalc("RR", ...dat.bcg), method = "DL") gives
    # estimate -0.7141 (95% CI -1.0644 to -0.3638), tau^2 0.3088, I^2 92.12%, Q 152.2330 (df 12).
    log_rr = [math.log(a / (a + b) / (c / (c + d))) for a, b, c, d in BCG]
    var = [1 / a - 1 / (a + b) + 1 / c - 1 / (c + d) for a, b, c, d in BCG]
    pooled = meta.pool_effects(log_rr, var)
    assert_allclose([pooled.percent, pooled.low, pooled.high], [-0.7141, -1.0644, -0.3638],
                    atol=1e-4)
    assert_allclose([pooled.tau2, pooled.i2, pooled.q], [0.3088, 92.12, 152.2330], atol=1e-2)
    assert pooled.q_df == 12 and pooled.q_p < 1e-20


def test_negative_moment_estimate_is_truncated_to_the_fixed_effect():
    # Q below its degrees of freedom: DerSimonian-Laird sets tau^2 to zero, and the
    # pooled estimate is the inverse-variance (fixed-effect) mean.
    effects = [meta.logit_effect(k, n) for k, n in [(8, 10), (5, 10), (12, 20)]]
    y = np.array([e for e, _ in effects])
    w = 1 / np.array([v for _, v in effects])
    pooled = meta.pool_proportions([8, 5, 12], [10, 10, 20])
    assert pooled.tau2 == 0.0 and pooled.i2 == 0.0
    fixed = float((w * y).sum() / w.sum())
    assert pooled.percent == pytest.approx(100 / (1 + math.exp(-fixed)))


def test_logit_effect_corrects_zero_and_full_cells():
    assert meta.logit_effect(5, 10) == (0.0, 0.4)
    effect, variance = meta.logit_effect(11, 11)
    assert effect == pytest.approx(math.log(11.5 / 0.5)) and variance == pytest.approx(1 / 11.5 + 2)
