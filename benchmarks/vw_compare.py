"""omnibandit against Vowpal Wabbit on the same streams, in one process.

For each stream, every learner makes one decision per event and learns from its
reward before the next (progressive validation). The learners take turns in blocks of
500 events, so the machine's noise falls on all of them alike and the speed ratios are
measured under the same conditions (the first event after a switch runs with cold
caches, for every learner alike: a smaller block would put that into the p99). Each
learner starts from the raw feature row of the event, inside the timed step: omnibandit
builds a ``Context`` and goes through the public ``Engine.decide`` / ``Engine.reward``
API; VW (``--cb_explore_adf -q sa``, ε-greedy 0.05, and squarecb) goes through its
Python bindings in its two best cases, features pushed by hash or one text example
parsed once (see :class:`VWLearner`), and the action is drawn from VW's pmf by a
sub-microsecond inverse-CDF draw. Streams: a well-specified linear bandit (K=10, d=16,
noise 0.1, 20,000 events) and scikit-learn's bundled classification data sets as
bandits (digits: K=10, 64 features; wine: K=3, 13; breast_cancer: K=2, 30; iris: K=3,
4), two passes each, run ``--repeats`` times in different shuffles with fresh learners;
the times of all runs are pooled and the reward is averaged over them.

    python benchmarks/vw_compare.py --json vw_compare.json

VW as pyvw is usually called (text lines for predict, again for learn) is reported too,
but the check is against VW's best cases. A stream passes when omnibandit's LinUCB is at
least ``--min-speedup`` times faster per event (p50 of decide+learn) than every
best-case VW configuration (both explorations, both ways in), at an equal or better
mean reward (within ``--reward-tolerance``). The script exits 1 unless the linear
stream and at least ``--min-datasets`` of the classification data sets pass. VW's cost
per event falls with the number of actions and features faster than omnibandit's fixed
cost per call (a few microseconds of Python), so the ratio is smallest on the small
data sets; every ratio is printed, with the ratio of mean times beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from bisect import bisect_right
from itertools import accumulate
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from latency import machine
from omnibandit.engine import Context, Engine, Schema
from omnibandit.simulators.classification import from_sklearn
from omnibandit.simulators.linear import LinearEnvironment


class Stream:
    """Rows of raw features with the expected reward of every action (for the mean reward)."""

    def __init__(self, name, features, means, sampled, schema):
        self.name, self.features, self.means, self.sampled, self.schema = name, features, means, sampled, schema
        # VW gets the same scaled values the engine's featuriser computes (fair to its SGD)
        self.scaled = np.column_stack([[f.scaled(v) for v in features[:, j]] for j, f in enumerate(schema.features)])


def linear_stream(n: int, seed: int) -> Stream:
    env = LinearEnvironment(n_actions=10, n_features=16, noise=0.1, seed=seed)
    X = env.contexts(n)
    means = env.expected_rewards(X)
    sampled = means + np.random.default_rng(seed + 1).normal(scale=0.1, size=means.shape)
    raw = X[:, 1:] * 4.0  # x[0] is the bias; the schema adds its own
    schema = Schema.from_dict({
        "actions": [{"name": f"a{k}"} for k in range(10)],
        "features": [{"name": f"f{j}", "low": -50, "high": 50, "required": True} for j in range(15)],
        "touchpoints": ["web"], "stages": ["in_visit"], "identification": []})
    return Stream("linear (K=10, d=16)", raw, means, sampled, schema)


def classification_stream(name: str, seed: int) -> Stream:
    env = from_sklearn(name, passes=2, seed=seed)
    k = len(env.schema.actions)
    means = np.eye(k)[env.labels]
    return Stream(f"{name} (K={k}, {env.X.shape[1]} features)", env.X, means, means, env.schema)


class EngineLearner:
    """omnibandit through the public ``Engine.decide`` / ``Engine.reward`` API."""

    def __init__(self, stream: Stream, policy: str, **params) -> None:
        self.name = f"omnibandit {policy}"
        self.stream = stream
        self.engine = Engine.for_policy(stream.schema, policy, seed=0, **params)
        self.engine.warmup()
        self.rows = list(stream.features)

    def step(self, i: int) -> int:
        # the Context is built from the raw row inside the timed step, as VW's example is
        d = self.engine.decide(Context("web", "in_visit", features=self.rows[i]))
        self.engine.reward(d.decision_id, float(self.stream.sampled[i, d.action_index]))
        return d.action_index


class VWLearner:
    """VW's ``--cb_explore_adf`` through its Python bindings, fed one of three ways:

    - ``"pushed"``: the shared example is built from the features' hashes (computed once)
      and values through the bindings' ``push_features`` (no value formatted as text); the
      action examples are parsed from constant lines; the example is reused for predict and
      learn. This is how ``VWPolicy`` feeds VW.
    - ``"parsed"``: one text example, parsed once and reused for predict and learn.
    - ``"text"``: text lines for predict and again for learn, as pyvw is usually called.

    The first two are VW's best cases: which is faster depends on the stream (pushing
    features pays when there are many; parsing is cheaper for few features and many actions).
    """

    MODES = ("pushed", "parsed", "text")

    def __init__(self, stream: Stream, exploration: str, mode: str = "pushed") -> None:
        import vowpalwabbit

        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, not {mode!r}")
        self.name = f"vw {exploration} ({mode})"
        flags = "--cb_explore_adf -q sa --quiet --random_seed 0 " + (
            "--epsilon 0.05" if exploration == "epsilon" else "--squarecb --gamma_scale 10")
        self.vw = vowpalwabbit
        self.ws = vowpalwabbit.Workspace(flags)
        self.label_type = vowpalwabbit.LabelType.CONTEXTUAL_BANDIT
        self.stream, self.mode = stream, mode
        self.k = stream.means.shape[1]
        self.names = [f"f{j}:" for j in range(stream.features.shape[1])]
        space = self.ws.hash_space("s")
        self.hashes = [self.ws.hash_feature(f"f{j}", space) for j in range(stream.features.shape[1])]
        self.action_lines = [f"|a a{a}" for a in range(self.k)]
        self.rng = np.random.default_rng(0)
        self.rows = stream.scaled.tolist()

    def _sample(self, pmf: list[float]) -> int:
        """An inverse-CDF draw from VW's pmf (a list): about 0.6 µs, where ``rng.choice`` with ``p``
        costs about 7 µs, which would be charged to VW."""
        cdf = list(accumulate(pmf))
        return min(bisect_right(cdf, self.rng.random() * cdf[-1]), len(cdf) - 1)

    def step(self, i: int) -> int:
        ws = self.ws
        if self.mode == "pushed":
            shared = self.vw.Example(ws, {"s": list(zip(self.hashes, self.rows[i]))}, self.label_type)
            shared.set_label_string("shared")
            shared.setup_example()  # predict/learn on a list set up only parsed examples
            examples = [shared, *ws.parse(self.action_lines, self.label_type)]
        else:
            lines = ["shared |s " + " ".join(map("".join, zip(self.names, map(repr, self.rows[i]))))] + \
                self.action_lines
            if self.mode == "text":
                pmf = ws.predict(lines)
                a = self._sample(pmf)
                labelled = list(lines)
                labelled[a + 1] = f"0:{-float(self.stream.sampled[i, a])}:{pmf[a]} {lines[a + 1]}"
                ws.learn(labelled)
                return a
            examples = ws.parse(lines, self.label_type)
        pmf = ws.predict(examples)
        a = self._sample(pmf)
        examples[a + 1].set_label_string(f"0:{-float(self.stream.sampled[i, a])}:{pmf[a]}")
        ws.learn(examples)
        ws.finish_example(examples)
        return a


def run_lockstep(stream: Stream, learners, block: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """The learners take turns, ``block`` events each, so that the machine's slow and fast
    minutes fall on all of them alike; within a block each runs warm, as it would alone.
    Each decide+learn is timed on its own; the learners share nothing else. Returns the
    times (ns) and the expected rewards of the chosen actions, shape (learners, events).
    """
    n = len(stream.features)
    times = np.empty((len(learners), n), dtype=np.int64)
    got = np.empty((len(learners), n))
    clock = time.perf_counter_ns
    for start in range(0, n, block):
        for j, learner in enumerate(learners):
            for i in range(start, min(start + block, n)):
                t0 = clock()
                a = learner.step(i)
                times[j, i] = clock() - t0
                got[j, i] = stream.means[i, a]
    return times, got


def learners_for(stream: Stream) -> list:
    return [EngineLearner(stream, "linucb", alpha=0.3), EngineLearner(stream, "lin_ts", v=0.1),
            *(VWLearner(stream, exploration, mode) for mode in ("pushed", "parsed") for exploration in ("epsilon", "squarecb")),
            VWLearner(stream, "epsilon", "text")]


def compare(streams: list[Stream]) -> list[dict]:
    """Each learner on every stream of ``streams`` (repetitions of one data set, in different
    shuffles), fresh each time; times pooled over all events. The reward's standard error
    is that of the mean over repetitions when there are several (the events of one run are
    not independent: the learner carries its state), else over events."""
    runs = []
    for stream in streams:
        learners = learners_for(stream)
        runs.append((run_lockstep(stream, learners), [learner.name for learner in learners]))
    names = runs[0][1]
    times = np.concatenate([t for (t, _), _ in runs], axis=1) / 1000
    got = np.concatenate([g for (_, g), _ in runs], axis=1)
    per_run = np.array([g.mean(axis=1) for (_, g), _ in runs])  # (repetitions, learners)
    rows = []
    for j, name in enumerate(names):
        se = (per_run[:, j].std(ddof=1) / np.sqrt(len(runs)) if len(runs) > 1
              else got[j].std(ddof=1) / np.sqrt(got.shape[1]))
        rows.append({"learner": name, "mean_reward": float(got[j].mean()), "reward_se": float(se),
                     "events": int(got.shape[1]), "repetitions": len(runs),
                     "p50_us": float(np.percentile(times[j], 50)), "p99_us": float(np.percentile(times[j], 99)),
                     "mean_us": float(times[j].mean())})
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="events of the linear stream")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--min-speedup", type=float, default=5.0)
    parser.add_argument("--reward-tolerance", type=float, default=0.01)
    parser.add_argument("--min-datasets", type=int, default=2,
                        help="classification data sets that must pass besides the linear stream")
    parser.add_argument("--repeats", type=int, default=10,
                        help="runs of each classification data set, each in its own shuffle (seeds 0, 1, ...)")
    parser.add_argument("--datasets", default="digits,wine,breast_cancer,iris",
                        help="scikit-learn data sets to run besides the linear stream (comma-separated)")
    args = parser.parse_args(argv)
    groups = [[linear_stream(args.n, 1)]] + [[classification_stream(name, seed) for seed in range(args.repeats)]
                                             for name in args.datasets.split(",") if name]
    rows, passed = [], []
    for streams in groups:
        results = compare(streams)
        label = streams[0].name
        for r in results:
            r["stream"] = label
            print(f"{label:<32} {r['learner']:<20} mean reward {r['mean_reward']:7.4f}   decide+learn "
                  f"p50 {r['p50_us']:6.1f} us  p99 {r['p99_us']:6.1f} us  mean {r['mean_us']:6.1f} us", flush=True)
        rows.extend(results)
        ours = results[0]
        vw = [r for r in results if r["learner"].startswith("vw") and "(text)" not in r["learner"]]
        stream_ok = True
        for rival in vw:
            speedup = rival["p50_us"] / ours["p50_us"]
            better = ours["mean_reward"] >= rival["mean_reward"] - args.reward_tolerance
            print(f"  linucb vs {rival['learner']}: {speedup:.1f}x faster at p50 ({rival['mean_us'] / ours['mean_us']:.1f}x "
                  f"in mean), reward {ours['mean_reward']:.4f} vs {rival['mean_reward']:.4f} "
                  f"(standard errors {ours['reward_se']:.4f}, {rival['reward_se']:.4f}) "
                  f"{'passes' if speedup >= args.min_speedup and better else 'FAILS'}")
            stream_ok &= speedup >= args.min_speedup and better
        passed.append(stream_ok)
    ok = passed[0] and sum(passed[1:]) >= min(args.min_datasets, len(passed) - 1)
    print(f"{args.min_speedup:g}x at equal or better reward: linear stream {'passes' if passed[0] else 'FAILS'}; "
          f"{sum(passed[1:])} of {len(passed) - 1} classification data sets pass (need {args.min_datasets})")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "passed": dict(zip((g[0].name for g in groups), passed)),
                                         "machine": machine()}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
