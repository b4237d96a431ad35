"""Classification data as a contextual bandit (Bietti, Agarwal & Langford 2021).

Each example is a context; the actions are the classes; the reward is 1 for the
correct class and 0 otherwise, and only the chosen action's reward is revealed.
:func:`from_sklearn` builds one from a data set bundled with scikit-learn (no download).
"""

from __future__ import annotations

import numpy as np

from omnibandit.engine import ContextBatch, DecisionBatch, Schema
from omnibandit.engine.errors import ConfigurationError

from .base import RewardEvents

__all__ = ["ClassificationEnvironment", "from_sklearn", "SKLEARN_DATASETS"]

SKLEARN_DATASETS = ("digits", "wine", "iris", "breast_cancer")


class ClassificationEnvironment:
    """(X, y) as a bandit environment; features are standardised by the schema.

    Parameters
    ----------
    X : array (n, p), y : array (n,)
    passes : int
        How many shuffled passes over the data the stream makes.
    seed : int or None
        Seeds the order of examples.
    class_names : sequence of str, optional
    n_events : int, optional
        Length of the stream: as many shuffled passes as it takes, cut at ``n_events``
        (overrides ``passes``).
    batch_size : int
        Contexts per batch when :meth:`next_batch` is called without a size.

    The truth is known: :meth:`expected_outcomes` gives each action's expected reward
    (1 for the correct class), so experiments can compute regret.

    Examples
    --------
    >>> import numpy as np
    >>> env = ClassificationEnvironment(np.array([[0.0], [1.0]]), np.array([0, 1]), seed=0)
    >>> [a.name for a in env.schema.actions], env.n_examples
    (['class_0', 'class_1'], 2)
    """

    outcomes = ("reward",)

    def __init__(self, X, y, *, passes: int = 1, seed=None, class_names=None, n_events: int | None = None,
                 batch_size: int = 100) -> None:
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y)
        if X.ndim != 2 or y.shape != (X.shape[0],) or X.shape[0] == 0:
            raise ConfigurationError("X, y", (X.shape, y.shape), "need X (n, p) and y (n,) with n > 0.")
        classes, codes = np.unique(y, return_inverse=True)
        names = list(class_names) if class_names is not None else [f"class_{c}" for c in classes.tolist()]
        mean, std = X.mean(axis=0), X.std(axis=0)
        std[std == 0] = 1.0
        low, high = X.min(axis=0), X.max(axis=0)
        self.schema = Schema.from_dict({
            "actions": [{"name": n} for n in names],
            "features": [{"name": f"f{j}", "low": float(low[j]), "high": float(high[j]), "scaling": "standard",
                          "mean": float(mean[j]), "std": float(std[j]), "required": True} for j in range(X.shape[1])],
            "touchpoints": ["web"], "stages": ["in_visit"], "identification": [],
        })
        rng = np.random.default_rng(seed)
        if n_events is not None:
            passes = -(-int(n_events) // X.shape[0])
        order = np.concatenate([rng.permutation(X.shape[0]) for _ in range(passes)])[:n_events]
        self.batch_size = int(batch_size)
        self.n_actions = len(names)
        self.X, self.labels = X[order], codes[order]
        self.n_examples = int(X.shape[0])
        self._position = 0
        self._last = (0, 0)
        self.rewards: list[float] = []

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def next_batch(self, n: int | None = None) -> ContextBatch | None:
        start = self._position
        if start >= len(self):
            return None
        stop = min(start + (n or self.batch_size), len(self))
        self._position, self._last = stop, (start, stop)
        # the batch's length is its touchpoint column's: one name per row
        return ContextBatch(touchpoint=np.full(stop - start, "web"), stage="in_visit", features=self.X[start:stop],
                            time=np.arange(start, stop, dtype=np.float64))

    def expected_outcomes(self) -> dict[str, np.ndarray]:
        """Expected reward (n, K) of every action on the last batch: 1 for the correct class."""
        start, stop = self._last
        truth = np.zeros((stop - start, self.n_actions))
        truth[np.arange(stop - start), self.labels[start:stop]] = 1.0
        return {"reward": truth}

    def respond(self, decisions: DecisionBatch) -> RewardEvents:
        """Rewards of the last batch, at once; an action of -1 (nothing decided) gets none."""
        start, stop = self._last
        actions = np.asarray(decisions.actions)
        rewards = (actions == self.labels[start:stop]).astype(np.float64)
        self.rewards.extend(rewards[actions >= 0].tolist())
        rows = np.flatnonzero(actions >= 0)
        ids = list(decisions.decision_ids)
        return RewardEvents([ids[i] for i in rows.tolist()], rewards[rows], (start + rows).astype(np.float64), [],
                            {"reward": rewards[rows]}, start + rows)

    def flush(self) -> RewardEvents:
        return RewardEvents([], np.zeros(0), np.zeros(0), [], {"reward": np.zeros(0)}, np.zeros(0, dtype=np.int64))


def from_sklearn(name: str, *, passes: int = 1, seed=None, n_events: int | None = None,
                 batch_size: int = 100) -> ClassificationEnvironment:
    """A :class:`ClassificationEnvironment` over a scikit-learn bundled data set."""
    import sklearn.datasets

    loaders = {"digits": sklearn.datasets.load_digits, "wine": sklearn.datasets.load_wine,
               "iris": sklearn.datasets.load_iris, "breast_cancer": sklearn.datasets.load_breast_cancer}
    if name not in loaders:
        raise ConfigurationError("dataset", name, f"bundled data sets: {', '.join(SKLEARN_DATASETS)}.")
    bunch = loaders[name]()
    names = [str(n) for n in getattr(bunch, "target_names", [])] or None
    return ClassificationEnvironment(bunch.data, bunch.target, passes=passes, seed=seed, n_events=n_events,
                                     batch_size=batch_size,
                                     class_names=[f"{name}:{n}" for n in names] if names is not None else None)
