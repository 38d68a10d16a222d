"""The explainer registry: what each method needs, and one verb, ``explain``, to run any of them.

Each entry declares its name, label, the modalities it applies to, its parameters with defaults, and
``why_not(model) -> str | None``: a sentence saying why it cannot explain that model (None if it can).
Third-party packages add entries through the ``glasswing.explainers`` entry-point group: each entry
point names an ``ExplainerSpec`` object.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Any

from glasswing._errors import GlasswingError

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "glasswing.explainers"
UNKNOWN_METHOD = "There is no explainer called '{name}'; available: {names}."
CANNOT_EXPLAIN = "{label} cannot explain this model: {why}"
WRONG_MODALITY = "it works on {kinds} models and this is {article} {modality} model."
UNKNOWN_PARAM = "{label} has no parameter {names}; it takes: {valid}."
BAD_CHOICE = "{label}'s {param} must be one of {choices}; got {value!r}."
OUT_OF_RANGE = "{label}'s {param} must be {bounds}; got {value!r}."


class ExplainerError(GlasswingError):
    """An explanation that cannot be computed for this model or input, with the reason in one sentence."""


@dataclass(frozen=True)
class Param:
    """One parameter of an explainer, shown as a widget in the dashboard and as ``**params`` in Python."""

    name: str
    default: Any
    help: str = ""
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    widget: bool = True  # False for data-valued parameters (e.g. a background table) the dashboard fills in

    def check(self, value: Any, label: str) -> None:
        """Raise ``ExplainerError`` when ``value`` is not one of ``choices`` or lies outside the range."""
        if self.choices is not None and value not in self.choices:
            raise ExplainerError(BAD_CHOICE.format(label=label, param=self.name, value=value,
                                                   choices=", ".join(str(c) for c in self.choices)))
        if isinstance(value, int | float) and not isinstance(value, bool):
            low, high = self.minimum, self.maximum
            if (low is not None and value < low) or (high is not None and value > high):
                bounds = (f"between {low:g} and {high:g}" if low is not None and high is not None
                          else f"at least {low:g}" if low is not None else f"at most {high:g}")
                raise ExplainerError(OUT_OF_RANGE.format(label=label, param=self.name, value=value,
                                                         bounds=bounds))


@dataclass(frozen=True)
class ExplainerSpec:
    """A registry entry.

    ``run(model, inputs, *, target, **params) -> list[Explanation]`` explains a batch: a DataFrame of
    rows (tabular) or a sequence of RGB ``uint8`` images (image). ``why_not(model)`` returns None when the
    method applies, else one sentence. ``order`` ranks entries when the dashboard picks a default.
    """

    name: str
    label: str
    modalities: tuple[str, ...]
    run: Callable[..., list]
    why_not: Callable[[Any], str | None] = lambda model: None
    params: tuple[Param, ...] = ()
    description: str = ""
    order: int = 100
    scope: str = "local"  # "local" (per input) or "global" (whole model)

    def applies_to(self, model: Any) -> str | None:
        """Return None if this explainer can explain ``model``, else the reason it cannot."""
        if model.modality not in self.modalities:
            article = "an" if model.modality[:1] in "aeiou" else "a"
            return WRONG_MODALITY.format(kinds=" and ".join(self.modalities), article=article,
                                         modality=model.modality)
        return self.why_not(model)

    def param(self, name: str) -> Param:
        """Return the parameter called ``name`` (KeyError if there is none)."""
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def defaults(self) -> dict:
        """Return the default value of every parameter."""
        return {p.name: p.default for p in self.params}


@dataclass
class Registry:
    """Name -> ``ExplainerSpec``. Filled at import time (built-ins, then entry points), read-only after."""

    _entries: dict[str, ExplainerSpec] = field(default_factory=dict)
    _frozen: bool = False

    def register(self, spec: ExplainerSpec) -> ExplainerSpec:
        """Add an entry (before the registry is frozen); returns it so it can be used as a decorator value."""
        if self._frozen:
            raise RuntimeError("The explainer registry is read-only after import; register through the "
                               f"'{ENTRY_POINT_GROUP}' entry-point group instead.")
        if spec.name in self._entries:
            raise ValueError(f"An explainer called '{spec.name}' is already registered.")
        self._entries[spec.name] = spec
        return spec

    def get(self, name: str) -> ExplainerSpec:
        """Return the entry called ``name`` or raise ``ExplainerError`` naming the valid ones."""
        try:
            return self._entries[name]
        except KeyError:
            raise ExplainerError(UNKNOWN_METHOD.format(name=name, names=", ".join(self._entries))) from None

    def list(self, modality: str | None = None) -> list[ExplainerSpec]:
        """Return all entries (or those for one modality), in display order."""
        specs = [s for s in self._entries.values() if modality is None or modality in s.modalities]
        return sorted(specs, key=lambda s: (s.order, s.name))

    def applicable(self, model: Any) -> tuple[list[ExplainerSpec], dict[str, str]]:
        """Split the entries into those that apply to ``model`` and a name -> reason map for the rest."""
        ok, why = [], {}
        for spec in self.list():
            reason = spec.applies_to(model)
            if reason is None:
                ok.append(spec)
            else:
                why[spec.name] = reason
        return ok, why

    def __iter__(self) -> Iterator[ExplainerSpec]:
        return iter(self.list())

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def freeze(self) -> Mapping[str, ExplainerSpec]:
        """Load third-party entry points and make the registry read-only."""
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                spec = ep.load()
            except Exception:  # a broken plug-in must not break the app; it is logged, not hidden
                log.exception("Could not load explainer plug-in %r", ep.name)
                continue
            if not isinstance(spec, ExplainerSpec):
                log.error("Explainer plug-in %r is not an ExplainerSpec; ignored.", ep.name)
                continue
            self.register(spec)
        self._frozen = True
        return MappingProxyType(self._entries)


registry = Registry()


def explain(model: Any, inputs: Any, *, method: str, target: Any = None, **params) -> list:
    """Explain ``inputs`` with the registered ``method``; return one ``Explanation`` per input.

    Parameters
    ----------
    model : ingest.Model
        The model to explain (its ``modality`` decides which methods apply).
    inputs : pandas.DataFrame or sequence of numpy.ndarray
        Table rows (tabular models) or RGB ``uint8`` images of shape (H, W, 3) (image models).
    method : str
        A registry name, e.g. ``"shap"``, ``"lime"``, ``"gradcam"``.
    target : object, optional
        The class to explain; default: the predicted class of each input.
    **params
        The method's parameters (see ``registry.get(method).params``); unknown names are refused.

    Returns
    -------
    list of Explanation
        One per input for local methods (SHAP, LIME, Grad-CAM, ...); one for global ones
        (permutation importance).

    Raises
    ------
    ExplainerError
        For an unknown method or parameter, a method that cannot explain this model, or bad input; the
        message is one sentence saying why.

    Examples
    --------
    >>> import pandas as pd
    >>> from sklearn.linear_model import LogisticRegression
    >>> from ingest import Model
    >>> X = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    >>> model = Model.from_estimator(LogisticRegression().fit(X, [0, 0, 1, 1]))
    >>> (e,) = explain(model, X.iloc[[3]], method="shap", target=1, background=X)
    >>> e.algorithm, e.output
    ('LinearExplainer', 'log-odds')
    >>> bool(abs(e.base_value + e.values.sum() - e.prediction) < 1e-12)
    True
    """
    spec = registry.get(method)
    why = spec.applies_to(model)
    if why is not None:
        raise ExplainerError(CANNOT_EXPLAIN.format(label=spec.label, why=why))
    unknown = set(params) - {p.name for p in spec.params}
    if unknown:
        raise ExplainerError(UNKNOWN_PARAM.format(label=spec.label, names=", ".join(sorted(unknown)),
                                                  valid=", ".join(p.name for p in spec.params)
                                                  or "no parameters"))
    for p in spec.params:
        if p.name in params:
            p.check(params[p.name], spec.label)
    merged = {**spec.defaults(), **params}
    start = time.perf_counter()
    result = spec.run(model, inputs, target=target, **merged)
    log.debug("%s explained %d inputs in %.3fs", method, len(result), time.perf_counter() - start)
    return result
