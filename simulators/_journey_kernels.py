"""Numba kernel of the journey simulator's ground truth: every action's effect and expected outcomes.

One pass over rows × actions replaces a dozen (n, K) numpy temporaries. The formulas are
documented in :mod:`omnibandit.simulators.journey`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

FAVOURITE = -2
NO_CATEGORY = -1


@numba.njit(cache=True, nogil=True)
def effects_and_outcomes(stage, segment, affinity, price_sensitivity, exposures, last_cat, recent, carry, basket_base,
                         trip_logit, return_logit, satisfaction, base, seg_effect, cat, disc, null, params,
                         effect, coupon, trip, basket, sat, ret, revenue):
    """Fill effect, coupon and the expected outcomes (all (n, K)) for n rows.

    params = (effect_scale, affinity_effect, price_effect, fatigue, coherence_bonus,
    contradiction_penalty, carry_over). Outcomes of other stages are left at zero.
    """
    effect_scale, affinity_effect, price_effect, fatigue, coherence, contradiction, carry_over = (
        params[0], params[1], params[2], params[3], params[4], params[5], params[6])
    n, k = effect.shape
    n_cat = affinity.shape[1]
    p = np.empty(n_cat)
    for i in range(n):
        top = affinity[i, 0]
        for c in range(1, n_cat):
            top = max(top, affinity[i, c])
        total = 0.0
        for c in range(n_cat):
            p[c] = math.exp(affinity[i, c] - top)
            total += p[c]
        favourite, best = 0, -1.0
        for c in range(n_cat):
            p[c] /= total
            if p[c] > best:
                favourite, best = c, p[c]
        s = stage[i]
        for a in range(k):
            trip[i, a] = 0.0
            basket[i, a] = 0.0
            sat[i, a] = 0.0
            ret[i, a] = 0.0
            if cat[a] == FAVOURITE:
                aff, action_cat = best, favourite
            elif cat[a] == NO_CATEGORY:
                aff, action_cat = 0.25, NO_CATEGORY
            else:
                aff, action_cat = p[cat[a]], cat[a]
            e = base[a] + seg_effect[segment[i], a] + effect_scale * price_effect * disc[a] * 0.1 * price_sensitivity[i]
            if action_cat != NO_CATEGORY:
                e += effect_scale * affinity_effect * (4.0 * aff - 1.0)
            e *= math.exp(-fatigue * exposures[i, a])
            if recent[i] and last_cat[i] >= 0 and action_cat != NO_CATEGORY:
                e *= (1.0 + coherence) if action_cat == last_cat[i] else (1.0 - contradiction)
            if null[a]:
                e = 0.0
            effect[i, a] = e
            cp = carry_over * disc[a] * 4.0 * aff
            coupon[i, a] = cp
            if s == 0:
                t = 1.0 / (1.0 + math.exp(-(trip_logit[i] + e)))
                trip[i, a] = t
                revenue[i, a] = t * basket_base[i] * (1.0 + cp)
            elif s == 1:
                b = basket_base[i] * (1.0 + carry[i]) * (1.0 + 0.3 * math.tanh(e))
                basket[i, a] = b
                revenue[i, a] = b
            else:
                sc = min(max(satisfaction[i] + 1.5 * e, 0.0), 10.0)
                r = 1.0 / (1.0 + math.exp(-(return_logit[i] + e + 0.15 * (sc - 7.0))))
                sat[i, a] = sc
                ret[i, a] = r
                revenue[i, a] = r * basket_base[i]
