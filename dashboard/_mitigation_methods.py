"""The Mitigation page's widgets for the methods' own settings, the lambda sweep and the model export.

Kept apart from ``dashboard._mitigation`` (cached runs, tried points) so the page stays a list of calls.
"""

from __future__ import annotations

import streamlit as st

from glasswing import audits
from glasswing.audits import METHODS, MitigationResult
from glasswing.dashboard._state import roles_key
from glasswing.ingest import Dataset, Model
from glasswing.reports.charts import WHEN_TO_USE

#: Slider ranges (low, high, step) of the numeric settings; the others get a number box.
SLIDERS = {"lam": (0.0, 5.0, 0.25), "alpha": (0.0, 1.0, 0.05), "adversary_weight": (0.0, 5.0, 0.25)}
CHOICES = {"architecture": ("logistic", "mlp")}
SWEEP_LAMBDAS = (0.0, 0.5, 1.0, 2.0, 4.0)


def param_widgets(method: str, container) -> dict:
    """Show one widget per setting of ``method`` (defaults preset) and return ``{name: value}``."""
    spec = METHODS[method]
    values = {}
    for name, default, help_text in spec.params:
        key, title = f"mitigation.param.{method}.{name}", name.replace("_", " ").capitalize()
        if name == "lam":
            title = "Lambda (weight of the fairness penalty)"
        if name in CHOICES:
            values[name] = container.selectbox(title, CHOICES[name], key=key, help=help_text)
        elif name in SLIDERS:
            low, high, step = SLIDERS[name]
            values[name] = float(container.slider(title, low, high, float(default), step, key=key,
                                                  help=help_text))
        elif isinstance(default, int):
            values[name] = int(container.number_input(title, min_value=1, value=default, key=key,
                                                      help=help_text))
        else:
            values[name] = float(container.number_input(title, min_value=0.0, value=float(default), key=key,
                                                        help=help_text, format="%g"))
    return values


def when_to_use() -> str:
    """Return the "when to use which" text shown beside the trade-off chart (Markdown)."""
    return "\n".join(f"- **{METHODS[m].label}**: {line}" for m, line in WHEN_TO_USE.items() if m in METHODS)


@st.cache_resource(max_entries=4, show_spinner=False)
def sweep(model_sha: str, train_sha: str, test_sha: str, roles_key: tuple, constraint: str, params: tuple,
          seed: int, _model: Model, _train: Dataset, _test: Dataset, bins: tuple = (),
          _progress=None) -> list[MitigationResult]:
    """``audits.fair_loss_sweep`` over :data:`SWEEP_LAMBDAS`, cached by the digests and settings."""
    return audits.fair_loss_sweep(_model, _train, _test, lambdas=SWEEP_LAMBDAS, constraint=constraint,
                                  params=dict(params), seed=seed, bins=dict(bins), progress=_progress)


def run_sweep(args: dict, model: Model, train: Dataset, test: Dataset) -> list[MitigationResult]:
    """Run (or fetch) the lambda sweep of ``args`` with a progress bar."""
    bar = st.progress(0.0, text="Sweeping lambda...")
    params = tuple((k, v) for k, v in args.get("params", ()) if k != "lam")
    results = sweep(model.sha256, train.sha256, test.sha256, roles_key(test), args["constraint"], params,
                    args["seed"], _model=model, _train=train, _test=test, bins=args.get("bins", ()),
                    _progress=lambda f, m: bar.progress(min(1.0, f), text=m))
    bar.empty()
    return results


def export_button(result: MitigationResult, container) -> None:
    """Offer the mitigated model as a safe file (skops or ONNX), or say why there is none."""
    if METHODS[result.method].export is None:
        from glasswing.dashboard._mitigation import NO_MODEL_EXPORT

        container.caption(NO_MODEL_EXPORT.get(result.method, audits.NO_EXPORT[result.method]))
        return
    data, suffix = _export(result.model.sha256, _result=result)
    label = ("Retrained model (skops)" if suffix == ".skops" else
             "Mitigated model (ONNX, takes the original columns)")
    container.download_button(label, data, file_name=f"mitigated_model{suffix}",
                              mime="application/octet-stream", key="mitigation.model_export")


@st.cache_data(max_entries=4, show_spinner=False)
def _export(model_sha: str, _result: MitigationResult) -> tuple[bytes, str]:
    return _result.export()
