"""Vowpal Wabbit's contextual bandit (``--cb_explore_adf``) behind the omnibandit policy interface.

Each decision is a multi-line ADF example: a shared line with the context features
(namespace ``s``) and one line per eligible action (namespace ``a``, the action's
index), with the interaction ``-q sa`` so every action gets its own linear model (the
counterpart of disjoint LinUCB). VW learns costs, so cost = -reward, labelled with the
logged propensity. No feature value is formatted as text: the shared example is built
from the features' hashes (computed once) and their values through the bindings'
``push_features`` path, and the action examples are parsed from constant lines. Only
the label of a learned example is a string, as the bindings take no other form. This
is VW's fastest way in from Python when there are many features; with a handful, one
text example parsed once is slightly faster (``benchmarks/vw_compare.py`` measures both).

References
----------
Bietti, Agarwal & Langford (2021). A contextual bandit bake-off. JMLR.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile

import numpy as np

from omnibandit.engine.errors import ConfigurationError

from ._validation import check_float, check_int
from .base import Policy, PolicyParams

__all__ = ["VWPolicy", "VWParams"]

_EXPLORATION = ("epsilon", "squarecb", "bag", "cover")


@dataclasses.dataclass(frozen=True)
class VWParams(PolicyParams):
    """Hyperparameters of :class:`VWPolicy`.

    Attributes
    ----------
    exploration : {"epsilon", "squarecb", "bag", "cover"}
    epsilon : float
        ε for "epsilon", "bag" and "cover" (VW's ``--epsilon``).
    gamma_scale : float
        "squarecb"'s γ scale.
    bag : int
        Policies in the bag ("bag").
    cover : int
        Policies in the cover ("cover").
    learning_rate : float
        VW's ``-l``.
    interactions : bool
        Add ``-q sa`` (context × action): per-action linear models.
    """

    exploration: str = "epsilon"
    epsilon: float = 0.05
    gamma_scale: float = 10.0
    bag: int = 5
    cover: int = 3
    learning_rate: float = 0.5
    interactions: bool = True

    def __post_init__(self) -> None:
        if self.exploration not in _EXPLORATION:
            raise ConfigurationError("exploration", self.exploration, f"must be one of {', '.join(_EXPLORATION)}.")
        check_float("epsilon", self.epsilon, low=0.0, high=1.0)
        check_float("gamma_scale", self.gamma_scale, low=0.0, low_open=True)
        check_int("bag", self.bag, low=1)
        check_int("cover", self.cover, low=1)
        check_float("learning_rate", self.learning_rate, low=0.0, low_open=True)

    def flags(self, seed: int) -> str:
        # --save_resume: a saved model keeps the adaptive update state, so a restored
        # policy learns exactly as the saved one would have
        flags = ["--cb_explore_adf", "--quiet", "--save_resume", f"--random_seed {seed}", f"-l {self.learning_rate}"]
        if self.interactions:
            flags.append("-q sa")
        if self.exploration == "epsilon":
            flags.append(f"--epsilon {self.epsilon}")
        elif self.exploration == "squarecb":
            flags.append(f"--squarecb --gamma_scale {self.gamma_scale}")
        elif self.exploration == "bag":
            flags.append(f"--bag {self.bag} --epsilon {self.epsilon}")
        else:
            flags.append(f"--cover {self.cover} --epsilon {self.epsilon}")
        return " ".join(flags)


class VWPolicy(Policy):
    """``vw --cb_explore_adf`` as an omnibandit policy.

    Examples
    --------
    >>> import numpy as np
    >>> policy = VWPolicy(n_actions=3, n_features=2, epsilon=0.1, seed=1)
    >>> x = np.array([1.0, 0.5])
    >>> for _ in range(20):
    ...     policy.update(x, 1, 1.0, propensity=0.5)
    >>> p = policy.probabilities(x)
    >>> int(np.argmax(p)), round(float(p.sum()), 9)
    (1, 1.0)
    """

    name = "vw"
    Params = VWParams

    def _allocate(self) -> None:
        import vowpalwabbit

        self._vw = vowpalwabbit
        self._label_type = vowpalwabbit.LabelType.CONTEXTUAL_BANDIT
        self._vw_seed = int(np.random.SeedSequence(self.seed if isinstance(self.seed, int) else None)
                            .generate_state(1)[0] % (2**31))
        self._use_workspace(vowpalwabbit.Workspace(self.params.flags(self._vw_seed)))
        self._action_lines = [f"|a a{k}" for k in range(self.n_actions)]

    def _use_workspace(self, workspace) -> None:
        """Make ``workspace`` the model and hash the feature names ``x<i>`` in namespace ``s`` for it."""
        self._ws = workspace
        space = workspace.hash_space("s")
        self._feature_hashes = [workspace.hash_feature(f"x{i}", space) for i in range(self.n_features)]

    def _examples(self, x, eligible, label=None):
        """The multi-line example for context ``x``: the shared example, then one per eligible
        action; ``label`` = (action, reward, propensity) labels that action (cost = -reward)."""
        shared = self._vw.Example(self._ws, {"s": list(zip(self._feature_hashes, x.tolist()))}, self._label_type)
        shared.set_label_string("shared")
        shared.setup_example()  # Workspace.predict/learn set up only parsed examples in a list
        index = np.flatnonzero(eligible)
        actions = self._ws.parse([self._action_lines[k] for k in index.tolist()], self._label_type)
        if label is not None:
            actions[int(np.searchsorted(index, label[0]))].set_label_string(f"0:{-label[1]}:{label[2]}")
        return [shared, *actions], index

    def _probabilities_into(self, x, eligible, out) -> None:
        examples, index = self._examples(x, eligible)
        pmf = np.asarray(self._ws.predict(examples), dtype=np.float64)
        self._ws.finish_example(examples)
        out[:] = 0.0
        out[index] = pmf / pmf.sum()

    def _probabilities_batch_into(self, X, eligible, out) -> None:
        for n in range(X.shape[0]):
            self._probabilities_into(X[n], eligible[n], out[n])

    def _update(self, x, action, reward, propensity) -> None:
        eligible = np.ones(self.n_actions, dtype=np.bool_)
        examples, _ = self._examples(x, eligible, label=(action, reward, propensity))
        self._ws.learn(examples)
        self._ws.finish_example(examples)

    def _update_batch(self, X, actions, rewards, propensities) -> None:
        for n in range(X.shape[0]):
            self._update(X[n], int(actions[n]), float(rewards[n]), float(propensities[n]))

    # VW's model is its state: saved and restored as bytes. A restored model behaves
    # identically, but its bytes may differ in VW's own bookkeeping fields.
    def get_state(self) -> dict[str, np.ndarray]:
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.vw")
            self._ws.save(path)
            model = np.frombuffer(open(path, "rb").read(), dtype=np.uint8).copy()
        return {"model": model, "rng_state_": self.rng_state_.copy(), "version_": self.version_.copy()}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        for key in ("model", "rng_state_", "version_"):
            if key not in state:
                raise ConfigurationError("state", sorted(state), f"is missing {key!r}.")
        for key in ("rng_state_", "version_"):
            current, new = getattr(self, key), np.asarray(state[key])
            if new.shape != current.shape or new.dtype != current.dtype:
                raise ConfigurationError(f"state[{key!r}]", f"{new.dtype}{new.shape}", f"must be {current.dtype}{current.shape}.")
        with tempfile.TemporaryDirectory() as folder:
            path = os.path.join(folder, "model.vw")
            np.asarray(state["model"], dtype=np.uint8).tofile(path)
            try:
                workspace = self._vw.Workspace(f"-i {path} --quiet")
            except Exception as err:  # VW raises its own error types for a bad model file
                raise ConfigurationError("state['model']", f"{len(state['model'])} bytes", f"VW cannot load it: {err}.") from None
        self._ws.finish()
        self._use_workspace(workspace)
        self.rng_state_[...] = state["rng_state_"]
        self.version_[...] = state["version_"]

    def __getstate__(self):
        state = {k: v for k, v in self.__dict__.items() if k not in ("_ws", "_vw", "_label_type")}
        state["_model_state"] = self.get_state()
        return state

    def __setstate__(self, state):
        model = state.pop("_model_state")
        self.__dict__.update(state)
        import vowpalwabbit

        self._vw, self._label_type = vowpalwabbit, vowpalwabbit.LabelType.CONTEXTUAL_BANDIT
        self._ws = vowpalwabbit.Workspace(self.params.flags(self._vw_seed))
        self.set_state(model)
