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
            kinds = " and ".join(f"{m}" for m in self.modalities)
            return f"it works on {kinds} models and this is an {model.modality} model."
        return self.why_not(model)

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
    """
    spec = registry.get(method)
    why = spec.applies_to(model)
    if why is not None:
        raise ExplainerError(CANNOT_EXPLAIN.format(label=spec.label, why=why))
    unknown = set(params) - {p.name for p in spec.params}
    if unknown:
        raise ExplainerError(f"{spec.label} has no parameter {', '.join(sorted(unknown))}; it takes: "
                             f"{', '.join(p.name for p in spec.params) or 'no parameters'}.")
    merged = {**spec.defaults(), **params}
    start = time.perf_counter()
    result = spec.run(model, inputs, target=target, **merged)
    log.debug("%s explained %d inputs in %.3fs", method, len(result), time.perf_counter() - start)
    return result
