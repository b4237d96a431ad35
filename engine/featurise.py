"""Turns a :class:`~omnibandit.engine.context.Context` into one float vector.

Layout of the vector (``Featuriser.names`` lists every column):

========================  =====================================================
block                     columns
========================  =====================================================
``bias``                  1.0
``numeric``               each numeric feature, scaled as its spec says
``numeric_missing``       1.0 where the numeric feature was absent (value imputed);
                          none for ``required`` features or ``indicator=False`` ones
``categorical``           one-hot per categorical feature, then its missing column
``touchpoint``            one-hot
``stage``                 one-hot
``market``                one-hot (when the schema lists markets)
``identification``        one-hot
========================  =====================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import is_not

import numpy as np

from omnibandit.policies._numba import bind_table

from . import _kernels
from .errors import (
    EmptyEligibleSet,
    FeatureLengthMismatch,
    FeatureOutOfRange,
    InvalidFeatureValue,
    MissingFeature,
    UnknownAction,
    UnknownFeature,
    UnknownIdentification,
    UnknownMarket,
    UnknownStage,
    UnknownTouchpoint,
)
from .schema import Schema

_F64 = np.dtype(np.float64)
_STRIDED_EXAMPLE = np.zeros((2, 2))[:, 0]  # the type of any float64 vector ("A" layout)

__all__ = ["Featuriser"]


class Featuriser:
    """Featurisation and eligibility for one schema; owns its scratch buffers.

    Examples
    --------
    >>> from omnibandit.engine import Context, Schema
    >>> schema = Schema.from_dict({
    ...     "actions": [{"name": "nothing"}], "touchpoints": ["web", "email"], "stages": ["in_visit"],
    ...     "identification": ["anonymous"],
    ...     "features": [{"name": "spend", "low": 0, "high": 100, "scaling": "minmax"}]})
    >>> f = Featuriser(schema)
    >>> f.names
    ('bias', 'spend', 'spend_missing', 'touchpoint=web', 'touchpoint=email', 'stage=in_visit', 'identification=anonymous')
    >>> f.transform(Context("email", "in_visit", features={"spend": 25.0}), np.empty(f.n_features)).tolist()
    [1.0, 0.25, 0.0, 0.0, 1.0, 1.0, 0.0]
    >>> f.transform(Context("web", "in_visit"), np.empty(f.n_features)).tolist()   # absent: imputed + flagged
    [1.0, 0.5, 1.0, 1.0, 0.0, 1.0, 0.0]
    """

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        numeric = [f for f in schema.features if f.kind == "numeric"]
        categorical = [f for f in schema.features if f.kind == "categorical"]
        self.numeric_names = tuple(f.name for f in numeric)
        self.categorical_names = tuple(f.name for f in categorical)
        self._known_features = frozenset(f.name for f in schema.features)
        names = ["bias"]
        self.slices: dict[str, slice] = {}

        def block(key, labels):
            start = len(names)
            names.extend(labels)
            self.slices[key] = slice(start, len(names))
            return start

        self._num_start = block("numeric", self.numeric_names)
        optional = [f.name for f in numeric if not f.required and f.indicator]
        self._miss_start = block("numeric_missing", [f"{n}_missing" for n in optional])
        self._required = np.array([f.required for f in numeric], dtype=np.bool_)
        self._indicated = np.array([not f.required and f.indicator for f in numeric], dtype=np.bool_)
        self._has_required = bool(self._required.any())
        self._cat_maps = []
        self._cat_missing = []
        for spec in categorical:
            start = block(f"categorical:{spec.name}", [f"{spec.name}={c}" for c in spec.categories] + [f"{spec.name}_missing"])
            self._cat_maps.append({c: start + i for i, c in enumerate(spec.categories)})
            self._cat_missing.append(start + len(spec.categories))
        tp0 = block("touchpoint", [f"touchpoint={t}" for t in schema.touchpoints])
        st0 = block("stage", [f"stage={s}" for s in schema.stages])
        mk0 = block("market", [f"market={m}" for m in schema.markets])
        id0 = block("identification", [f"identification={m}" for m in schema.identification])
        self.names = tuple(names)
        self.n_features = len(names)
        self.touchpoint_index = {t: i for i, t in enumerate(schema.touchpoints)}
        self.stage_index = {s: i for i, s in enumerate(schema.stages)}
        self.market_index = {m: i for i, m in enumerate(schema.markets)}
        self.identification_index = {m: i for i, m in enumerate(schema.identification)}
        self.action_index = {a.name: i for i, a in enumerate(schema.actions)}
        self._tp_pos = {t: tp0 + i for i, t in enumerate(schema.touchpoints)}
        self._st_pos = {s: st0 + i for i, s in enumerate(schema.stages)}
        self._mk_pos = {m: mk0 + i for i, m in enumerate(schema.markets)}
        self._id_pos = {m: id0 + i for i, m in enumerate(schema.identification)}
        self._forbidden = {m: frozenset(v) for m, v in schema.forbidden_identification.items()}

        n_num = len(numeric)
        self.params = np.zeros((n_num, 7))
        self._low = np.array([f.low for f in numeric])
        self._high = np.array([f.high for f in numeric])
        column = self._miss_start
        for i, f in enumerate(numeric):
            center, scale, log = f.scale_params()
            indicated = not f.required and f.indicator
            missing_column = column if indicated else -1
            column += 1 if indicated else 0
            self.params[i] = (f.low, f.high, center, scale, f.scaled(f.default_impute()), float(log), missing_column)
        self._raw = np.zeros(n_num)
        # the shape of array features, which need a schema without categorical features
        self._array_shape = (n_num,) if not self._cat_maps else None
        self._present = np.zeros(n_num, dtype=np.bool_)
        self._categorical = np.zeros(len(categorical), dtype=np.int64)  # one-hot columns of the categorical features
        self._nones = [None] * n_num
        self._cat_missing_defaults = list(self._cat_missing)

        # eligibility[touchpoint, stage, action]
        n_act = len(schema.actions)
        self.eligibility = np.zeros((len(schema.touchpoints), len(schema.stages), n_act), dtype=np.bool_)
        for k, action in enumerate(schema.actions):
            tps = [self.touchpoint_index[t] for t in action.touchpoints] or list(range(len(schema.touchpoints)))
            sts = [self.stage_index[s] for s in action.stages] or list(range(len(schema.stages)))
            self.eligibility[np.ix_(tps, sts, [k])] = True
        self._narrow = np.zeros(n_act, dtype=np.bool_)
        self._any_eligible = self.eligibility.any(axis=2).tolist()
        self._out = np.zeros(self.n_features)
        # the hot path's kernel: the featuriser's arrays by address; the raw values (the caller's
        # float64 array, or _raw) of any stride
        arrays = (self.params, self._categorical, self._out, self._present, n_num, len(categorical), self.n_features,
                  int(self._num_start))
        self._assemble_owned = bind_table(_kernels.assemble_at, _kernels.ASSEMBLE_TABLE, arrays, (),
                                          (_STRIDED_EXAMPLE, True, 0, 0, -1, -1))
        self._eligible_rows = [[self.eligibility[t, s] for s in range(self.eligibility.shape[1])]
                               for t in range(self.eligibility.shape[0])]
        self._tp_st = {(t, s): (i, j) for t, i in self.touchpoint_index.items() for s, j in self.stage_index.items()}
        # touchpoint -> stage -> the schema's eligible row (None: nothing eligible there)
        self._schema_rows = {t: {s: self._eligible_rows[i][j] if self._any_eligible[i][j] else None
                                 for s, j in self.stage_index.items()} for t, i in self.touchpoint_index.items()}

    # ------------------------------------------------------------------ one context
    def transform(self, context, out: np.ndarray | None = None) -> np.ndarray:
        """Write the feature vector of ``context`` into ``out`` (shape (d,)) and return it.

        Without ``out`` it goes to the featuriser's own buffer, overwritten by the next
        call: the engine's hot path, where the kernel is called through its compiled
        entry point with the featuriser's arrays in one address table, and a float64
        array of features is read in place.

        Raises the specific :class:`~omnibandit.engine.errors.OmnibanditError` for a bad
        field before anything is written.
        """
        try:
            tp = self._tp_pos[context.touchpoint]
            st = self._st_pos[context.stage]
        except (KeyError, TypeError):
            self._raise_route(context)
        market, mode = context.market, context.identification
        mk = -1 if market is None else self._market_pos(market)
        ident = -1 if mode is None else self._identification_pos(mode, market)
        features = context.features
        if isinstance(features, np.ndarray):
            if features.shape != self._array_shape:
                self._raise_array_features(features)
            if features.dtype is not _F64:  # read in place when float64, whatever its strides
                try:
                    self._raw[:] = features
                except (TypeError, ValueError):
                    raise InvalidFeatureValue("features", features.dtype, "must be numeric.") from None
                features = self._raw
            all_present = True
        else:
            self._mapping_features(features)
            features, all_present = self._raw, False
        if out is None:
            out = self._out
            code = self._assemble_owned(features, all_present, tp, st, mk, ident)
        else:
            code = self._assemble(np.ascontiguousarray(features), out, all_present, tp, st, mk, ident)
        if code:
            self._raise_feature(code, features)
        return out

    def _assemble(self, raw: np.ndarray, out: np.ndarray, all_present: bool, touchpoint: int, stage: int, market: int,
                  identification: int) -> int:
        """The assemble kernel on ``raw`` (C-contiguous) into any ``out``, with the featuriser's
        parameters, presence flags and categorical columns."""
        return _kernels.assemble(raw, self.params, int(self._num_start), self._categorical, out, self._present,
                                 all_present, touchpoint, stage, market, identification)

    def _mapping_features(self, features) -> None:
        """Numeric values, presence flags and categorical columns of a mapping of features."""
        if features is None:
            features = {}
        elif not isinstance(features, Mapping):
            raise InvalidFeatureValue("features", type(features).__name__, "must be a mapping or a numpy array.")
        if not features.keys() <= self._known_features:
            unknown = sorted(map(str, features.keys() - self._known_features))[0]
            raise UnknownFeature("features", unknown, f"not in the schema; known: {sorted(self._known_features)}.")
        values = list(map(features.get, self.numeric_names))
        self._present[:] = list(map(is_not, values, self._nones))
        try:
            self._raw[:] = values  # an absent value (None) becomes NaN, not read by the kernel
        except (TypeError, ValueError):
            self._raise_non_numeric(values)
        if self._cat_maps:
            self._categorical[:] = self._categorical_positions(features)
        if self._has_required and not self._present[self._required].all():
            name = self.numeric_names[int(np.argmax(self._required & ~self._present))]
            raise MissingFeature(name, None, "is required by the schema.")

    def touchpoint_stage_codes(self, batch) -> tuple[np.ndarray, np.ndarray]:
        """Touchpoint and stage codes (n,) of a :class:`ContextBatch` whose columns hold names,
        codes or one value for every row.

        >>> import numpy as np
        >>> from omnibandit.engine import ContextBatch, Schema
        >>> f = Featuriser(Schema.from_dict({"actions": [{"name": "a"}]}))
        >>> [c.tolist() for c in f.touchpoint_stage_codes(ContextBatch(touchpoint=np.array(["web", "email"]),
        ...                                                             stage="in_visit"))]
        [[5, 6], [1, 1]]
        """
        n = len(batch)
        return (_codes("touchpoint", batch.touchpoint, self.touchpoint_index, n, UnknownTouchpoint),
                _codes("stage", batch.stage, self.stage_index, n, UnknownStage))

    def schema_eligible(self, context) -> np.ndarray:
        """The schema's eligible mask for the context's touchpoint and stage: a view into
        :attr:`eligibility`, which the caller must not write to.

        For a context already accepted by :meth:`transform` and without its own ``eligible``.
        """
        row = self._schema_rows[context.touchpoint][context.stage]
        if row is None:
            raise EmptyEligibleSet("eligible", None,
                                   f"no action is eligible at touchpoint {context.touchpoint!r}, stage {context.stage!r}.")
        return row

    def eligible(self, context, out: np.ndarray) -> np.ndarray:
        """Write the eligible mask of ``context`` (schema, then ``context.eligible``) into ``out``."""
        try:
            tp, st = self._tp_st[context.touchpoint, context.stage]
        except (KeyError, TypeError):
            self.transform(context, np.empty(self.n_features))  # raises the specific error
            raise
        np.copyto(out, self.eligibility[tp, st])
        if context.eligible is None and self._any_eligible[tp][st]:
            return out
        if context.eligible is not None:
            names = [context.eligible] if isinstance(context.eligible, str) else context.eligible
            try:
                names = list(names)
                index = list(map(self.action_index.get, names))
            except TypeError:
                raise UnknownAction("eligible", context.eligible, "must be a list of action names.") from None
            if None in index:
                bad = names[index.index(None)]
                raise UnknownAction("eligible", bad, f"known actions: {', '.join(self.action_index)}.")
            narrow = self._narrow
            narrow[:] = False
            narrow[index] = True
            out &= narrow
        if not out.any():
            raise EmptyEligibleSet("eligible", context.eligible,
                                   f"no action is eligible at touchpoint {context.touchpoint!r}, stage {context.stage!r}.")
        return out

    def _market_pos(self, market) -> int:
        if market is None:
            return -1
        pos = _get(self._mk_pos, market)
        if pos is None:
            raise UnknownMarket("market", market, f"known: {', '.join(self.schema.markets) or '(none declared)'}.")
        return pos

    def _identification_pos(self, mode, market) -> int:
        if mode is None:
            return -1
        pos = _get(self._id_pos, mode)
        if pos is None:
            raise UnknownIdentification("identification", mode, f"known: {', '.join(self.schema.identification)}.")
        if market is not None and mode in self._forbidden.get(market, ()):
            raise UnknownIdentification("identification", mode, f"forbidden in market {market!r}.")
        return pos

    def _raise_array_features(self, features: np.ndarray) -> None:
        if self._cat_maps:
            raise InvalidFeatureValue("features", "ndarray", "array features need a schema without categorical features.")
        raise FeatureLengthMismatch("features", features.shape, f"must have shape ({self._raw.shape[0]},).")

    def _raise_route(self, context) -> None:
        """The error for a context whose touchpoint or stage is not in the schema."""
        if _get(self._tp_pos, context.touchpoint) is None:
            raise UnknownTouchpoint("touchpoint", context.touchpoint, f"known: {', '.join(self.schema.touchpoints)}.")
        raise UnknownStage("stage", context.stage, f"known: {', '.join(self.schema.stages)}.")

    def _categorical_positions(self, features) -> list[int]:
        values = map(features.get, self.categorical_names)
        try:
            return list(map(dict.get, self._cat_maps, values, self._cat_missing_defaults))
        except TypeError:  # an unhashable value
            for name, value in zip(self.categorical_names, map(features.get, self.categorical_names)):
                try:
                    hash(value)
                except TypeError:
                    raise InvalidFeatureValue(name, value, "a categorical value must be a string.") from None
            raise

    def _raise_non_numeric(self, values) -> None:
        for name, value in zip(self.numeric_names, values):
            try:
                float(value) if value is not None else None
            except (TypeError, ValueError):
                raise InvalidFeatureValue(name, value, "must be a real number.") from None
        raise InvalidFeatureValue("features", values, "must be real numbers.")

    def _raise_feature(self, code: int, raw: np.ndarray) -> None:
        i = abs(code) - 1
        name, value = self.numeric_names[i], float(raw[i])
        if code > 0:
            raise InvalidFeatureValue(name, value, "must be finite (omit the feature if it is unknown).")
        raise FeatureOutOfRange(name, value, f"must be in [{self._low[i]}, {self._high[i]}] as the schema declares.")

    # ------------------------------------------------------------------ batches
    def _prefeaturised(self, batch, n: int) -> tuple[np.ndarray, np.ndarray]:
        X = np.ascontiguousarray(batch.X, dtype=np.float64)
        if X.shape != (n, self.n_features):
            raise FeatureLengthMismatch("X", X.shape, f"must be (n, {self.n_features}) for this schema.")
        if not np.isfinite(X).all():
            row = int(np.argmin(np.isfinite(X).all(axis=1)))
            raise InvalidFeatureValue(f"X[{row}]", "non-finite", "must be finite.")
        E = (np.ones((n, self.eligibility.shape[2]), dtype=np.bool_) if batch.eligible is None
             else np.ascontiguousarray(batch.eligible, dtype=np.bool_))
        if E.shape != (n, self.eligibility.shape[2]):
            raise FeatureLengthMismatch("eligible", E.shape, f"must be ({n}, {self.eligibility.shape[2]}).")
        empty = ~E.any(axis=1)
        if empty.any():
            raise EmptyEligibleSet(f"eligible[{int(np.argmax(empty))}]", "none", "row has no eligible action.")
        return X, E

    def transform_batch(self, batch) -> tuple[np.ndarray, np.ndarray]:
        """Feature matrix (n, d) and eligible mask (n, K) of a :class:`ContextBatch`.

        Every row is validated first; the first bad row raises with its index.
        """
        n = len(batch)
        if batch.X is not None:
            return self._prefeaturised(batch, n)
        tp, st = self.touchpoint_stage_codes(batch)
        mk = _codes("market", batch.market, self.market_index, n, UnknownMarket) if batch.market is not None else None
        ident = (_codes("identification", batch.identification, self.identification_index, n, UnknownIdentification)
                 if batch.identification is not None else None)
        X = np.zeros((n, self.n_features))
        X[:, 0] = 1.0
        n_num = len(self.numeric_names)
        if n_num:
            raw = np.zeros((n, n_num)) if batch.features is None else np.asarray(batch.features, dtype=np.float64)
            if raw.shape != (n, n_num):
                raise FeatureLengthMismatch("features", raw.shape, f"must be ({n}, {n_num}).")
            missing = (np.zeros((n, n_num), dtype=np.bool_) if batch.missing is None
                       else np.asarray(batch.missing, dtype=np.bool_))
            if batch.features is None:
                missing = np.ones((n, n_num), dtype=np.bool_)
            if missing.shape != (n, n_num):
                raise FeatureLengthMismatch("missing", missing.shape, f"must be ({n}, {n_num}).")
            absent = missing & self._required
            if absent.any():
                row, col = np.argwhere(absent)[0]
                raise MissingFeature(f"features[{row}].{self.numeric_names[col]}", None, "is required by the schema.")
            bad = ~np.isfinite(raw) & ~missing
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise InvalidFeatureValue(f"features[{row}].{self.numeric_names[col]}", float(raw[row, col]), "must be finite.")
            out = ((raw < self._low) | (raw > self._high)) & ~missing
            if out.any():
                row, col = np.argwhere(out)[0]
                raise FeatureOutOfRange(f"features[{row}].{self.numeric_names[col]}", float(raw[row, col]),
                                        f"must be in [{self._low[col]}, {self._high[col]}].")
            p = self.params
            with np.errstate(invalid="ignore"):
                v = np.where(p[:, 5] != 0.0, np.log1p(np.where(missing, 0.0, np.maximum(raw, -0.5))), raw)
            scaled = (v - p[:, 2]) / p[:, 3]
            X[:, self._num_start:self._num_start + n_num] = np.where(missing, p[:, 4], scaled)
            X[:, self.slices["numeric_missing"]] = missing[:, self._indicated]
        if self._cat_maps:
            cats = batch.categorical or {}
            for j, name in enumerate(self.categorical_names):
                values = cats.get(name)
                if values is None:
                    X[:, self._cat_missing[j]] = 1.0
                    continue
                if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
                    # integer codes: positions in the feature's categories; any other code is missing
                    start, size = self._cat_missing[j] - len(self._cat_maps[j]), len(self._cat_maps[j])
                    pos = np.where((values >= 0) & (values < size), start + values, self._cat_missing[j])
                else:
                    pos = np.array([self._cat_maps[j].get(v, self._cat_missing[j]) for v in values], dtype=np.int64)
                if pos.shape[0] != n:
                    raise FeatureLengthMismatch(f"categorical[{name!r}]", pos.shape, f"must be ({n},).")
                X[np.arange(n), pos] = 1.0
        rows = np.arange(n)
        X[rows, self.slices["touchpoint"].start + tp] = 1.0
        X[rows, self.slices["stage"].start + st] = 1.0
        if mk is not None:
            X[rows, self.slices["market"].start + mk] = 1.0
        if ident is not None:
            X[rows, self.slices["identification"].start + ident] = 1.0
        E = self.eligibility[tp, st]
        if batch.eligible is not None:
            narrow = np.asarray(batch.eligible, dtype=np.bool_)
            if narrow.shape != E.shape:
                raise FeatureLengthMismatch("eligible", narrow.shape, f"must be {E.shape}.")
            E = E & narrow
        empty = ~E.any(axis=1)
        if empty.any():
            raise EmptyEligibleSet(f"eligible[{int(np.argmax(empty))}]", "none", "row has no eligible action.")
        return X, np.ascontiguousarray(E)


def _get(mapping: dict, key):
    """``mapping.get(key)``, with None for an unhashable key."""
    try:
        return mapping.get(key)
    except TypeError:
        return None


def _codes(field, values, index, n, error) -> np.ndarray:
    """Integer codes for a column given as names or as integer codes."""
    arr = np.asarray(values)
    if arr.shape == ():
        arr = np.full(n, arr.item() if arr.dtype.kind in "iu" else arr.item(), dtype=arr.dtype)
    if arr.shape != (n,):
        raise FeatureLengthMismatch(field, arr.shape, f"must be ({n},).")
    if arr.dtype.kind in "iu":
        bad = (arr < 0) | (arr >= len(index))
        if bad.any():
            raise error(f"{field}[{int(np.argmax(bad))}]", int(arr[np.argmax(bad)]), f"codes must be in [0, {len(index)}).")
        return arr.astype(np.int64)
    uniques, inverse = np.unique(arr, return_inverse=True)
    lookup = np.empty(len(uniques), dtype=np.int64)
    for i, name in enumerate(uniques.tolist()):
        code = index.get(name)
        if code is None:
            raise error(field, name, f"known: {', '.join(index)}.")
        lookup[i] = code
    return lookup[inverse.reshape(-1)]


