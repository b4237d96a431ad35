"""The customer-journey simulator: an omnichannel customer base with known ground truth.

Customers have latent category affinities, price sensitivity, spend, share of wallet and
satisfaction; their observable features are noisy views of that state. Each customer
moves through journeys ``pre_visit`` → ``in_visit`` → ``post_visit`` on a simulated
clock (engine time in seconds):

* a *pre-visit* touch (app, web, email, digital display) may trigger a store trip days
  later; the trip outcome of that decision is delivered when the customer arrives in the
  store (or as 0 when the trip window closes), so the reward for an app decision arrives
  through the store's touchpoints, after other decisions;
* the trip is the *in-visit* event (point of sale, interactive screen, associate device,
  in-store app, display); its basket value arrives at checkout, raised by a pre-visit
  coupon the customer redeems there (cross-channel carry-over);
* a *post-visit* touch (email, app, web) yields a satisfaction score and whether the
  customer returns within two weeks, delivered together when the return window closes
  (or at the return).

Realism: offer fatigue (responses fall with recent exposures to the same action, which
decay with a half-life), cross-channel consistency (an offer in the category of the
customer's last offer within a window works better, one in another category worse),
inventory budgets on some actions (enforced by the engine through the schema), slow
Ornstein–Uhlenbeck drift of preferences, identification that depends on the touchpoint
and the market (no visual recognition where the market forbids it; an unidentified
customer yields an anonymous context with no customer features).

Every random stream (arrivals, feature noise, outcomes, drift) is a separate generator
spawned from the seed, so two policies run on the same seed see the same arrivals and
the same noise draws wherever their decisions have not changed the customer's state
(common random numbers). :meth:`JourneySimulator.expected_outcomes` gives the true
expected outcome of every action for the last batch, so regret and true lift are known.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from omnibandit.engine import ContextBatch, DecisionBatch, Schema
from omnibandit.engine.errors import ConfigurationError
from omnibandit.policies._validation import check_float, check_int

from ._journey_kernels import effects_and_outcomes
from .base import RewardEvents

__all__ = ["JourneyScenario", "JourneySimulator", "ACTIONS", "OUTCOMES", "CATEGORIES", "SEGMENTS", "calibrate"]

DAY = 86400.0
_BUCKET = 0.25  # days per bucket of outcomes in flight
SEGMENTS = ("new", "returning", "loyal", "lapsed")
CATEGORIES = ("fresh", "home", "fashion", "beauty")
OUTCOMES = ("trip", "basket", "satisfaction", "return", "revenue")
_STAGES = ("pre_visit", "in_visit", "post_visit")
_TOUCHPOINTS = ("mobile_app", "digital_display", "interactive_screen", "associate_device", "point_of_sale", "web",
                "email")
_IDENTIFICATION = ("anonymous", "app_location", "email_link", "self_identified", "associate_lookup", "loyalty_card",
                   "visual_recognition")
# how a customer can be known at each touchpoint, and how often
_IDENTIFIED_BY = {"mobile_app": ("app_location", 0.85), "digital_display": ("visual_recognition", 0.30),
                  "interactive_screen": ("self_identified", 0.25), "associate_device": ("associate_lookup", 0.60),
                  "point_of_sale": ("loyalty_card", 0.45), "web": ("self_identified", 0.45),
                  "email": ("email_link", 0.95)}
_FAVOURITE = -2  # an action whose category is the customer's favourite (personalised recommendations)

# name, kind, stages, touchpoints, category, discount, base effect, effect by segment (new, returning, loyal, lapsed)
ACTIONS: tuple[dict[str, Any], ...] = (
    dict(name="no_message", kind="control", stages=(), touchpoints=(), category=-1, discount=0.0, base=0.0,
         segment=(0, 0, 0, 0)),
    dict(name="fresh_coupon", kind="offer", stages=("pre_visit",), touchpoints=("mobile_app", "email", "web"),
         category=0, discount=0.10, base=0.05, segment=(0.1, 0.0, -0.1, 0.2)),
    dict(name="home_coupon", kind="offer", stages=("pre_visit",), touchpoints=("mobile_app", "email", "web"),
         category=1, discount=0.15, base=0.0, segment=(0.0, 0.0, -0.1, 0.25)),
    dict(name="fashion_new_in", kind="content", stages=("pre_visit",),
         touchpoints=("mobile_app", "email", "web", "digital_display"), category=2, discount=0.0, base=0.05,
         segment=(0.15, 0.05, 0.0, -0.1)),
    dict(name="beauty_event_invite", kind="message", stages=("pre_visit",),
         touchpoints=("mobile_app", "email", "digital_display"), category=3, discount=0.0, base=0.0,
         segment=(0.0, 0.0, 0.2, -0.1)),
    dict(name="fresh_recipe_bundle", kind="recommendation", stages=("in_visit",),
         touchpoints=("interactive_screen", "digital_display", "mobile_app", "point_of_sale"), category=0,
         discount=0.05, base=0.05, segment=(0.0, 0.05, 0.0, 0.0)),
    dict(name="style_advice", kind="associate_prompt", stages=("in_visit",), touchpoints=("associate_device",),
         category=2, discount=0.0, base=0.10, segment=(0.1, 0.0, 0.05, 0.0)),
    dict(name="bonus_points", kind="offer", stages=("in_visit",),
         touchpoints=("point_of_sale", "mobile_app", "associate_device"), category=-1, discount=0.05, base=0.05,
         segment=(-0.1, 0.0, 0.35, 0.0)),
    dict(name="home_bundle_discount", kind="offer", stages=("in_visit",),
         touchpoints=("interactive_screen", "associate_device", "point_of_sale"), category=1, discount=0.20,
         base=0.0, segment=(0.0, 0.0, 0.0, 0.1), budget_share=0.01),
    dict(name="satisfaction_survey", kind="message", stages=("post_visit",), touchpoints=("email", "mobile_app", "web"),
         category=-1, discount=0.0, base=0.05, segment=(0.0, 0.0, 0.1, 0.0)),
    dict(name="service_recovery_voucher", kind="offer", stages=("post_visit",), touchpoints=("email", "mobile_app"),
         category=-1, discount=0.15, base=0.0, segment=(0.0, 0.0, 0.0, 0.45), budget_share=0.01),
    dict(name="personalised_recommendations", kind="recommendation", stages=("post_visit",),
         touchpoints=("email", "mobile_app", "web"), category=_FAVOURITE, discount=0.0, base=0.0,
         segment=(0.2, 0.05, 0.0, 0.0)),
)

_FEATURES = (
    dict(name="spend_90d", low=0.0, high=50000.0, scaling="log1p"),
    dict(name="visits_30d", low=0.0, high=100.0, scaling="log1p"),
    dict(name="share_of_wallet", low=0.0, high=1.0, scaling="minmax"),
    dict(name="satisfaction", low=0.0, high=10.0, scaling="minmax"),
    dict(name="discount_usage", low=0.0, high=1.0, scaling="minmax"),
    dict(name="favourite_share", low=0.0, high=1.0, scaling="minmax"),
)


@dataclasses.dataclass
class JourneyScenario:
    """The knobs of a simulated customer base (defaults: the calibrated ``retail`` scenario).

    Times are in days unless the name says otherwise; effect sizes are on the logit
    scale for trips and returns and relative for baskets.

    Examples
    --------
    >>> JourneyScenario(n_customers=500).n_customers
    500
    """

    n_customers: int = 20000
    n_events: int = 200000
    batch_size: int = 2000
    markets: list[str] = dataclasses.field(default_factory=lambda: ["uk", "de", "fr"])
    market_shares: list[float] = dataclasses.field(default_factory=lambda: [0.5, 0.3, 0.2])
    no_visual_recognition: list[str] = dataclasses.field(default_factory=lambda: ["de"])
    segment_shares: list[float] = dataclasses.field(default_factory=lambda: [0.2, 0.4, 0.25, 0.15])
    touches_per_customer_day: float = 0.35
    effect_scale: float = 0.6
    affinity_effect: float = 0.45
    price_effect: float = 4.0
    fatigue: float = 0.3
    fatigue_half_life: float = 10.0
    consistency_window: float = 3.0
    coherence_bonus: float = 0.10
    contradiction_penalty: float = 0.20
    carry_over: float = 1.0
    drift: float = 0.05
    drift_reversion: float = 0.02
    feature_noise: float = 0.2
    trip_delay: float = 1.5
    trip_window: float = 7.0
    return_window: float = 14.0
    checkout_minutes: float = 30.0
    basket_noise: float = 0.35
    budgets: bool = True

    def __post_init__(self) -> None:
        for name in ("n_customers", "n_events", "batch_size"):
            check_int(f"simulator.{name}", getattr(self, name), low=1)
        if len(self.markets) != len(self.market_shares) or not self.markets:
            raise ConfigurationError("simulator.market_shares", self.market_shares, "need one share per market.")
        if len(self.segment_shares) != len(SEGMENTS):
            raise ConfigurationError("simulator.segment_shares", self.segment_shares, f"need {len(SEGMENTS)} shares.")
        for name in ("touches_per_customer_day", "fatigue_half_life", "trip_delay", "drift_reversion"):
            check_float(f"simulator.{name}", getattr(self, name), low=0.0, low_open=True)
        for name in ("trip_window", "return_window"):  # outcomes are due half a day before a window closes
            check_float(f"simulator.{name}", getattr(self, name), low=1.0, low_open=True)


def _probabilities(shares, field: str) -> np.ndarray:
    p = np.asarray(shares, dtype=np.float64)
    if p.ndim != 1 or (p < 0).any() or not p.sum() > 0:
        raise ConfigurationError(f"simulator.{field}", list(shares), "must be non-negative with a positive sum.")
    return p / p.sum()


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class JourneySimulator:
    """A seeded, vectorised omnichannel customer base implementing the Environment interface.

    Parameters
    ----------
    scenario : JourneyScenario, optional
    seed : int or None
    **overrides
        Fields of the scenario to change (``n_events=10_000``).

    Attributes
    ----------
    schema : Schema
        Twelve actions over seven touchpoints and three stages, six numeric customer
        features plus segment and favourite category, three markets.
    revenue : float
        Basket value realised so far (money).

    Examples
    --------
    >>> sim = JourneySimulator(seed=0, n_customers=2000, n_events=3000)
    >>> batch = sim.next_batch(1000)
    >>> len(batch) <= 1000, sim.expected_outcomes()["trip"].shape[1] == len(sim.schema.actions)
    (True, True)
    """

    outcomes = OUTCOMES

    def __init__(self, scenario: JourneyScenario | None = None, *, seed=None, **overrides) -> None:
        sc = dataclasses.replace(scenario or JourneyScenario(), **overrides)
        self.scenario = sc
        self.seed = seed
        spawn = np.random.SeedSequence(seed).spawn(7)
        (pop, self._arrive, self._noise, self._outcome, self._arrive_trips, self._noise_trips,
         self._outcome_trips) = (np.random.default_rng(s) for s in spawn)
        self.schema = _schema(sc)
        self.n_actions = len(ACTIONS)
        self._init_actions()
        self._init_population(pop)
        self.now = 0.0  # days
        self.produced = 0
        self.revenue = 0.0
        self.counts = {"events": 0, "identified": 0, "trips": 0, "rewards": 0}
        self._buckets: dict[int, list[tuple[list[str], np.ndarray, np.ndarray]]] = {}  # outcomes in flight
        self._last: dict[str, Any] | None = None
        # compile (or load from the cache) the kernel now, not on the first batch
        self._compute(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64), np.zeros(1))

    # ------------------------------------------------------------------ set-up
    def _init_actions(self) -> None:
        sc = self.scenario
        self._cat = np.array([a["category"] for a in ACTIONS], dtype=np.int64)
        self._disc = np.array([a["discount"] for a in ACTIONS])
        self._base = np.array([a["base"] for a in ACTIONS]) * sc.effect_scale
        self._seg_effect = np.ascontiguousarray(np.array([a["segment"] for a in ACTIONS], dtype=np.float64).T
                                                * sc.effect_scale)  # (4, K)
        self._null = np.array([a["kind"] == "control" for a in ACTIONS])
        self._has_cat = self._cat != -1
        self._params = np.array([sc.effect_scale, sc.affinity_effect, sc.price_effect, sc.fatigue, sc.coherence_bonus,
                                 sc.contradiction_penalty, sc.carry_over], dtype=np.float64)

    def _init_population(self, rng: np.random.Generator) -> None:
        sc, n = self.scenario, self.scenario.n_customers
        self.segment = rng.choice(len(SEGMENTS), size=n, p=_probabilities(sc.segment_shares, "segment_shares"))
        self.market = rng.choice(len(sc.markets), size=n, p=_probabilities(sc.market_shares, "market_shares"))
        seg = self.segment
        activity = np.array([0.8, 1.0, 1.6, 0.4])[seg] * rng.lognormal(0.0, 0.4, n)
        self._arrival_cdf = np.cumsum(activity / activity.sum())
        self.activity = activity
        popularity = np.array([0.4, 0.0, 0.1, -0.2])
        self.affinity_mean = popularity + rng.normal(0.0, 1.0, (n, len(CATEGORIES)))
        self.affinity = self.affinity_mean.copy()
        self.price_sensitivity = rng.normal(0.0, 1.0, n) + np.array([0.3, 0.0, -0.3, 0.4])[seg]
        self.basket_base = 38.0 * np.array([0.9, 1.0, 1.3, 0.8])[seg] * rng.lognormal(0.0, 0.3, n)
        self.share_of_wallet = rng.beta(2.0, 2.0, n) * np.array([0.3, 0.6, 1.0, 0.25])[seg]
        self.satisfaction = np.clip(rng.normal(7.0, 1.3, n) - 1.5 * (seg == 3), 0.0, 10.0)
        self.trip_logit = (math.log(0.3 / 0.7) + 1.2 * (self.share_of_wallet - 0.35) + 0.2 * (seg == 2)
                           - 0.4 * (seg == 3))
        self.return_logit = math.log(0.4 / 0.6) + 0.8 * (self.share_of_wallet - 0.35) - 0.5 * (seg == 3)
        self.stage = np.zeros(n, dtype=np.int64)
        self.trip_time = np.full(n, np.inf)
        self.trip_decision = np.full(n, "", dtype=object)  # the pre-visit decision whose trip is under way
        self.trip_revenue = np.zeros(n)
        self.trip_event = np.zeros(n)  # stream position of that decision's context
        self.carry = np.zeros(n)  # basket uplift from a redeemed pre-visit coupon
        self.last_offer_cat = np.full(n, -1, dtype=np.int64)
        self.last_offer_time = np.full(n, -np.inf)
        self.exposures = np.zeros((n, len(ACTIONS)))
        self.updated = np.zeros(n)
        self.customer_ids = np.array([f"c{i:07d}" for i in range(n)], dtype=object)
        mix = {"pre_visit": {"mobile_app": .35, "web": .25, "email": .25, "digital_display": .15},
               "in_visit": {"point_of_sale": .35, "interactive_screen": .2, "associate_device": .2,
                            "mobile_app": .15, "digital_display": .1},
               "post_visit": {"email": .5, "mobile_app": .3, "web": .2}}
        table = np.zeros((len(_STAGES), len(_TOUCHPOINTS)))
        for s, stage in enumerate(_STAGES):
            for tp, share in mix[stage].items():
                table[s, _TOUCHPOINTS.index(tp)] = share
        self._touchpoint_cdf = np.cumsum(table / table.sum(axis=1, keepdims=True), axis=1)
        self._ident_mode = np.array([_IDENTIFICATION.index(_IDENTIFIED_BY[tp][0]) for tp in _TOUCHPOINTS])
        self._ident_p = np.array([_IDENTIFIED_BY[tp][1] for tp in _TOUCHPOINTS])
        self._no_visual = np.array([m in set(sc.no_visual_recognition) for m in sc.markets])

    # ------------------------------------------------------------------ environment
    def __len__(self) -> int:
        return int(self.scenario.n_events)

    def next_batch(self, n: int | None = None) -> ContextBatch | None:
        """Up to ``n`` touchpoint events (random touches and the store trips due), or None after ``n_events``.

        A window of simulated time is sized for ``0.8 n`` random touches; the trips due in it
        fill the rest (later ones wait for the next window). Every random touch owns a fixed
        row of draws (who, when, touchpoint, identification, feature noise, drift, outcome),
        so decisions change which touches happen only through the customers they affect.
        """
        sc = self.scenario
        n = min(int(n or sc.batch_size), sc.n_events - self.produced)
        if n <= 0:
            return None
        n_touch = max(1, int(0.8 * n))
        start, span = self.now, n_touch / (sc.n_customers * sc.touches_per_customer_day)
        end = start + span
        self.now = end
        # random touches by everyone without a trip under way (one customer once per window)
        T = self._arrive.random((n_touch, 4))  # who, when, touchpoint, identification
        Z = self._noise.normal(size=(n_touch, 10))  # 6 feature noises, 4 drift steps
        outcome_draws = self._outcome.random((n_touch, 4))
        touched = np.minimum(np.searchsorted(self._arrival_cdf, T[:, 0] * self._arrival_cdf[-1], side="right"),
                             sc.n_customers - 1)
        _, first = np.unique(touched, return_index=True)
        keep = np.zeros(n_touch, dtype=np.bool_)
        keep[first] = True
        keep &= ~np.isfinite(self.trip_time[touched])
        rows = np.flatnonzero(keep)
        # store trips due in this window, earliest first, as many as fit
        due = np.flatnonzero(self.trip_time < end)
        trips = due[np.argsort(self.trip_time[due], kind="stable")][: max(n - rows.shape[0], 0)]
        s = trips.shape[0]
        Tt, Zt, Ot = self._arrive_trips.random((s, 4)), self._noise_trips.normal(size=(s, 10)), \
            self._outcome_trips.random((s, 4))
        customers = np.concatenate([trips, touched[rows]])
        times = np.concatenate([np.maximum(self.trip_time[trips], start), start + T[rows, 1] * span])
        draws = np.concatenate([Tt, T[rows]])
        noise = np.concatenate([Zt, Z[rows]])
        uniforms = np.concatenate([Ot, outcome_draws[rows]])
        order = np.argsort(times, kind="stable")
        customers, times, draws, noise, uniforms = (a[order] for a in (customers, times, draws, noise, uniforms))
        m = customers.shape[0]
        self.produced += m
        if m == 0:  # nothing happened in this window; try the next one
            return self.next_batch(n)
        stage = self.stage[customers]
        stage[np.isfinite(self.trip_time[customers])] = 1
        self._arrive_in_store(customers[stage == 1], times[stage == 1])
        # touchpoint and identification
        tp = (draws[:, 2:3] > self._touchpoint_cdf[stage]).sum(axis=1)
        p_ident = self._ident_p[tp] + 0.3 * ((tp == 4) & (self.segment[customers] == 2))
        p_ident = np.where((tp == 1) & self._no_visual[self.market[customers]], 0.0, p_ident)
        known = draws[:, 3] < p_ident
        ident = np.where(known, self._ident_mode[tp], 0)
        self._advance(customers, times, noise[:, 6:])
        features, categorical = self._observe(customers, known, noise[:, :6])
        expected = self._expected(customers, stage, times)
        self._last = dict(customers=customers, stage=stage, times=times, expected=expected, known=known, u=uniforms,
                          first=self.produced - m)
        self.counts["events"] += m
        self.counts["identified"] += int(known.sum())
        cid = self.customer_ids[customers]
        cid[~known] = None
        missing = np.repeat(~known[:, None], features.shape[1], axis=1)
        return ContextBatch(touchpoint=tp, stage=stage, features=features, missing=missing,
                            categorical=categorical, market=self.market[customers], identification=ident,
                            customer_id=cid, time=times * DAY)

    def _arrive_in_store(self, customers: np.ndarray, times: np.ndarray) -> None:
        """The trip happens: the pre-visit decision that brought the customer in gets its reward now."""
        decided = self.trip_decision[customers] != ""
        if decided.any():
            c = customers[decided]
            values = np.zeros((c.shape[0], len(OUTCOMES) + 1))
            values[:, 0] = 1.0
            values[:, 4] = self.trip_revenue[c]
            values[:, 5] = self.trip_event[c]
            self._schedule(self.trip_decision[c].tolist(), times[decided], values)
        self.trip_time[customers] = np.inf
        self.trip_decision[customers] = ""

    def _advance(self, customers: np.ndarray, times: np.ndarray, z: np.ndarray | None = None) -> None:
        """Preference drift (exact Ornstein–Uhlenbeck step, standard normals ``z``) and fatigue decay
        since each customer's last event."""
        sc = self.scenario
        elapsed = np.maximum(times - self.updated[customers], 0.0)
        if z is None:
            z = np.zeros((customers.shape[0], len(CATEGORIES)))
        if sc.drift > 0:
            keep = np.exp(-sc.drift_reversion * elapsed)[:, None]
            sd = sc.drift * np.sqrt((1.0 - keep**2) / (2.0 * sc.drift_reversion))
            mean = self.affinity_mean[customers]
            self.affinity[customers] = mean + (self.affinity[customers] - mean) * keep + sd * z
        self.exposures[customers] *= (0.5 ** (elapsed / sc.fatigue_half_life))[:, None]
        self.updated[customers] = times

    def _observe(self, customers: np.ndarray, known: np.ndarray, z: np.ndarray):
        """Noisy features of the customers as the CRM sees them (NaN-free; ``missing`` marks anonymous rows)."""
        noise = z * self.scenario.feature_noise
        seg = self.segment[customers]
        aff = self.affinity[customers]
        shares = np.exp(aff - aff.max(axis=1, keepdims=True))
        shares /= shares.sum(axis=1, keepdims=True)
        favourite = np.argmax(aff + 2.0 * noise[:, 5:6], axis=1)
        visits = self.activity[customers] * self.scenario.touches_per_customer_day * 30.0 * 0.6
        X = np.empty((customers.shape[0], 6))
        X[:, 0] = self.basket_base[customers] * visits * 3.0 * np.exp(noise[:, 0])
        X[:, 1] = np.round(visits * np.exp(noise[:, 1]))
        X[:, 2] = self.share_of_wallet[customers] + 0.5 * noise[:, 2]
        X[:, 3] = self.satisfaction[customers] + 5.0 * noise[:, 3]
        X[:, 4] = _sigmoid(self.price_sensitivity[customers] + 5.0 * noise[:, 4])
        X[:, 5] = shares[np.arange(customers.shape[0]), favourite]
        np.clip(X, [0, 0, 0, 0, 0, 0], [50000, 100, 1, 10, 1, 1], out=X)
        X[~known] = 0.0
        # category codes (positions in SEGMENTS / CATEGORIES); -1: unknown, for an anonymous customer
        return X, {"segment": np.where(known, seg, -1), "favourite_category": np.where(known, favourite, -1)}

    def _effects(self, customers: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Effect of every action on every row (n, K), after fatigue and consistency; and the coupon uplifts.

        The effect of action a on customer i is, on the logit scale for trips and returns,
        ``base_a + segment_a + scale·affinity_effect·(4·p_ic(a) − 1) + scale·price_effect·0.1·disc_a·price_i``
        (p_ic: the customer's softmax affinity for the action's category), times
        ``exp(−fatigue · exposures_ia)``, times ``1 + coherence_bonus`` when the customer's last
        offer within the consistency window was in the same category or ``1 − contradiction_penalty``
        when it was in another.
        """
        out = self._compute(customers, np.zeros(customers.shape[0], dtype=np.int64), times)
        return out["_effect"], out["_coupon"]

    def _compute(self, customers: np.ndarray, stage: np.ndarray, times: np.ndarray) -> dict[str, np.ndarray]:
        sc = self.scenario
        n, k = customers.shape[0], self.n_actions
        out = {name: np.empty((n, k)) for name in ("_effect", "_coupon", "trip", "basket", "satisfaction", "return",
                                                   "revenue")}
        recent = times - self.last_offer_time[customers] <= sc.consistency_window
        effects_and_outcomes(
            stage, self.segment[customers], self.affinity[customers], self.price_sensitivity[customers],
            self.exposures[customers], self.last_offer_cat[customers], recent, self.carry[customers],
            self.basket_base[customers], self.trip_logit[customers], self.return_logit[customers],
            self.satisfaction[customers], self._base, self._seg_effect, self._cat, self._disc, self._null, self._params,
            out["_effect"], out["_coupon"], out["trip"], out["basket"], out["satisfaction"], out["return"],
            out["revenue"])
        return out

    def _expected(self, customers: np.ndarray, stage: np.ndarray, times: np.ndarray) -> dict[str, np.ndarray]:
        """Expected outcome of every action for every row, given the customers' current state.

        Trip probability sigmoid(trip_logit + effect) before a visit; basket value
        base · (1 + redeemed coupon) · (1 + 0.3·tanh(effect)) in the store; satisfaction
        clip(s + 1.5·effect, 0, 10) and return probability
        sigmoid(return_logit + effect + 0.15·(satisfaction − 7)) after it.
        """
        return self._compute(customers, np.asarray(stage, dtype=np.int64), times)

    def expected_outcomes(self) -> dict[str, np.ndarray]:
        """True expected outcomes (n, K) of every action for the rows of the last batch.

        ``trip`` is filled on pre-visit rows, ``basket`` on in-visit rows, ``satisfaction``
        and ``return`` on post-visit rows (zero elsewhere); ``revenue`` on all rows: the
        expected basket value the decision leads to.
        """
        if self._last is None:
            raise ConfigurationError("expected_outcomes", None, "call next_batch first.")
        return {k: v for k, v in self._last["expected"].items() if not k.startswith("_")}

    def respond(self, decisions: DecisionBatch) -> RewardEvents:
        """Realise the outcomes of the last batch's decisions; return every reward now due.

        ``decisions.actions`` may hold -1 for a row where nothing was shown (no decision id
        needed, nothing is delivered for it).
        """
        last = self._last
        if last is None:
            raise ConfigurationError("respond", None, "call next_batch first.")
        customers, stage, times, expected = last["customers"], last["stage"], last["times"], last["expected"]
        m = customers.shape[0]
        actions = np.asarray(decisions.actions, dtype=np.int64)
        if actions.shape != (m,):
            raise ConfigurationError("decisions.actions", actions.shape, f"must be ({m},) for the last batch.")
        ids = list(decisions.decision_ids)
        sc = self.scenario
        shown = np.maximum(actions, 0)
        rows = np.arange(m)
        u = last["u"]
        outcomes = np.zeros((m, 4))  # trip, basket, satisfaction, return
        due = np.empty(m)
        revenue = np.zeros(m)
        # pre-visit: does the touch bring the customer in?
        pre = stage == 0
        p_trip = expected["trip"][rows, shown]
        went = pre & (u[:, 0] < p_trip)
        delay = np.minimum(-np.log1p(-u[:, 1]) * sc.trip_delay, sc.trip_window - 0.5)
        outcomes[:, 0] = went
        # no trip: a zero when the trip window closes; a trip: rewarded when the customer is in the store
        due = np.where(pre, times + sc.trip_window - 0.5, due)
        coupon = expected["_coupon"][rows, shown]
        self.trip_time[customers[went]] = (times + delay)[went]
        self.carry[customers[pre]] = np.where(went, coupon, 0.0)[pre]
        revenue = np.where(went, self.basket_base[customers] * (1.0 + coupon), revenue)
        self.trip_revenue[customers[went]] = revenue[went]
        self.trip_event[customers[went]] = last["first"] + np.flatnonzero(went)
        # in-visit: the basket at checkout
        visit = stage == 1
        noise = np.exp(sc.basket_noise * np.sqrt(-2.0 * np.log1p(-u[:, 2])) * np.cos(2 * np.pi * u[:, 3])
                       - 0.5 * sc.basket_noise**2)
        basket = expected["basket"][rows, shown] * noise
        outcomes[:, 1] = np.where(visit, basket, 0.0)
        due = np.where(visit, times + sc.checkout_minutes / 1440.0, due)
        revenue = np.where(visit, basket, revenue)
        self.revenue += float(basket[visit].sum())
        self.counts["trips"] += int(visit.sum())
        self.carry[customers[visit]] = 0.0
        # post-visit: satisfaction, and whether the customer comes back within the window
        post = stage == 2
        score = np.clip(expected["satisfaction"][rows, shown] + (u[:, 2] - 0.5) * 4.0, 0.0, 10.0)
        came_back = u[:, 0] < expected["return"][rows, shown]
        outcomes[:, 2] = np.where(post, score, 0.0)
        outcomes[:, 3] = post & came_back
        due = np.where(post, times + np.where(came_back, 1.0 + u[:, 1] * (sc.return_window - 2.0),
                                              sc.return_window - 0.5), due)
        revenue = np.where(post & came_back, self.basket_base[customers], revenue)
        # the customer's state moves on
        c_post = customers[post]
        self.satisfaction[c_post] = 0.8 * self.satisfaction[c_post] + 0.2 * score[post]
        self.stage[customers[visit]] = 2
        self.stage[c_post] = 0
        real = actions >= 0
        exposed = real & ~self._null[shown]  # a customer touches once per batch: the pairs are distinct
        self.exposures[customers[exposed], shown[exposed]] += 1.0
        offered = real & self._has_cat[shown]
        self.last_offer_cat[customers[offered]] = np.where(self._cat[shown] == _FAVOURITE,
                                                           np.argmax(self.affinity[customers], axis=1),
                                                           self._cat[shown])[offered]
        self.last_offer_time[customers[offered]] = times[offered]
        self.trip_decision[customers[went]] = np.array(ids, dtype=object)[went]
        keep = np.flatnonzero(real & ~went)
        if keep.shape[0]:
            event = last["first"] + np.arange(m, dtype=np.float64)
            values = np.column_stack([outcomes, revenue, event])[keep]
            self._schedule([ids[i] for i in keep.tolist()], due[keep], values)
        self._last = None
        return self._pop_due(self.now)

    def _schedule(self, ids: list[str], due: np.ndarray, values: np.ndarray) -> None:
        """File outcomes in time buckets of ``_BUCKET`` days, keyed by bucket number."""
        key = (due // _BUCKET).astype(np.int64)
        order = np.argsort(key, kind="stable")
        key = key[order]
        bounds = np.flatnonzero(np.diff(key)) + 1
        starts, stops = np.concatenate([[0], bounds]).tolist(), np.concatenate([bounds, [key.shape[0]]]).tolist()
        for start, stop in zip(starts, stops):
            rows = order[start:stop]
            self._buckets.setdefault(int(key[start]), []).append(
                ([ids[i] for i in rows.tolist()], due[rows], values[rows]))

    def _pop_due(self, now: float) -> RewardEvents:
        """Every scheduled outcome with due time <= now."""
        ids: list[str] = []
        times, values = [], []
        buckets = self._buckets
        if not buckets:
            return _no_rewards()
        last = max(buckets) if math.isinf(now) else int(now // _BUCKET)
        for key in sorted(k for k in buckets if k <= last):
            chunks = buckets.pop(key)
            if key < last:
                for chunk_ids, due, vals in chunks:
                    ids.extend(chunk_ids)
                    times.append(due)
                    values.append(vals)
                continue
            # the bucket now is in: merge its chunks in due order and deliver up to now
            due = np.concatenate([c[1] for c in chunks])
            vals = np.concatenate([c[2] for c in chunks])
            chunk_ids = [i for c in chunks for i in c[0]]
            order = np.argsort(due, kind="stable")
            due, vals = due[order], vals[order]
            chunk_ids = [chunk_ids[i] for i in order.tolist()]
            cut = int(np.searchsorted(due, now, side="right"))
            ids.extend(chunk_ids[:cut])
            times.append(due[:cut])
            values.append(vals[:cut])
            if cut < len(chunk_ids):
                buckets[key] = [(chunk_ids[cut:], due[cut:], vals[cut:])]
        if not ids:
            return _no_rewards()
        t, v = np.concatenate(times), np.concatenate(values)
        self.counts["rewards"] += len(ids)
        outcomes = {name: v[:, j] for j, name in enumerate(OUTCOMES)}
        return RewardEvents(ids, v[:, 4], t * DAY, [], outcomes, v[:, 5].astype(np.int64))

    def flush(self) -> RewardEvents:
        """Every outcome still in flight, delivered at its due time (trips under way at their trip time)."""
        under_way = np.flatnonzero(np.isfinite(self.trip_time))
        self._arrive_in_store(under_way, self.trip_time[under_way])
        return self._pop_due(math.inf)


def _no_rewards() -> RewardEvents:
    return RewardEvents([], np.zeros(0), np.zeros(0), [], {name: np.zeros(0) for name in OUTCOMES},
                        np.zeros(0, dtype=np.int64))


def _schema(sc: JourneyScenario) -> Schema:
    # outcomes are due inside the stage's window and reach the engine at most one batch later
    slack = 0.5 + 2.0 * sc.batch_size / (sc.n_customers * sc.touches_per_customer_day)
    windows = {"pre_visit": sc.trip_window + slack, "in_visit": 1.0 + slack, "post_visit": sc.return_window + slack}
    actions = []
    for a in ACTIONS:
        spec = {"name": a["name"], "kind": a["kind"], "stages": list(a["stages"]),
                "touchpoints": list(a["touchpoints"])}
        if a["stages"]:
            spec["attribution_window"] = windows[a["stages"][0]] * DAY
        if sc.budgets and "budget_share" in a:
            spec["budget"] = max(1, int(a["budget_share"] * sc.n_events))
        actions.append(spec)
    # absent exactly when the customer is anonymous, which the identification one-hot already says
    features = [{**f, "indicator": False} for f in _FEATURES]
    features += [{"name": "segment", "kind": "categorical", "categories": list(SEGMENTS)},
                 {"name": "favourite_category", "kind": "categorical", "categories": list(CATEGORIES)}]
    forbidden = {m: ["visual_recognition"] for m in sc.no_visual_recognition if m in sc.markets}
    return Schema.from_dict({"actions": actions, "features": features, "touchpoints": list(_TOUCHPOINTS),
                             "stages": list(_STAGES), "markets": list(sc.markets),
                             "identification": list(_IDENTIFICATION), "forbidden_identification": forbidden})


def calibrate(scenario: JourneyScenario | None = None, *, seed=0, **overrides) -> dict[str, Any]:
    """Revenue of the oracle personalised policy against the best single non-personalised action.

    The oracle picks, for every event, the eligible action with the highest true expected
    revenue given the customer's full latent state. The baseline shows every event the one
    action that is best on average for its stage and touchpoint (found on a first run
    under ``no_message``). Both run on the same seed; budgets bind both.

    Returns ``oracle_revenue``, ``baseline_revenue``, ``lift`` (oracle / baseline - 1) and
    the baseline's ``actions`` per (stage, touchpoint).
    """
    sc = dataclasses.replace(scenario or JourneyScenario(), **overrides)
    names = [a["name"] for a in ACTIONS]

    def run(choose) -> float:
        sim = JourneySimulator(sc, seed=seed)
        from omnibandit.engine.featurise import Featuriser

        eligibility = Featuriser(sim.schema).eligibility
        budget = np.array([a.budget if a.budget is not None else np.iinfo(np.int64).max for a in sim.schema.actions])
        while (batch := sim.next_batch()) is not None:
            E = eligibility[batch.touchpoint, batch.stage] & (budget > 0)
            actions = choose(batch, sim.expected_outcomes(), E)
            budget -= np.bincount(actions, minlength=len(names))
            sim.respond(DecisionBatch([f"d{i}" for i in range(len(actions))], actions, np.ones(len(actions)),
                                      np.zeros((len(actions), len(names))), "calibration", 0, batch.time))
        return sim.revenue, sim

    def oracle(batch, expected, E):
        return np.argmax(np.where(E, expected["revenue"], -np.inf), axis=1)

    sums = np.zeros((len(_STAGES), len(_TOUCHPOINTS), len(names)))
    counts = np.zeros((len(_STAGES), len(_TOUCHPOINTS)))

    def observe(batch, expected, E):
        np.add.at(sums, (batch.stage, batch.touchpoint), np.where(E, expected["revenue"], -1e9))
        np.add.at(counts, (batch.stage, batch.touchpoint), 1.0)
        return np.zeros(len(batch), dtype=np.int64)

    run(observe)
    best = np.argmax(sums, axis=2)

    def baseline(batch, expected, E):
        chosen = best[batch.stage, batch.touchpoint]
        return np.where(E[np.arange(len(chosen)), chosen], chosen, 0)

    oracle_revenue, _ = run(oracle)
    baseline_revenue, _ = run(baseline)
    chosen = {f"{_STAGES[s]}/{_TOUCHPOINTS[t]}": names[best[s, t]]
              for s in range(len(_STAGES)) for t in range(len(_TOUCHPOINTS)) if counts[s, t] > 0}
    return {"oracle_revenue": oracle_revenue, "baseline_revenue": baseline_revenue,
            "lift": oracle_revenue / baseline_revenue - 1.0, "actions": chosen}
