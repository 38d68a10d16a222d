"""The accuracy-vs-disparity chart of every method tried: interval bars, Pareto front, lambda sweeps."""

from __future__ import annotations

import itertools

import pytest

from glasswing.audits import METHODS
from glasswing.reports.charts import (
    WHEN_TO_USE,
    mitigation_tradeoff_figure,
    mitigation_tradeoff_svg,
    pareto_front,
)

KEY = "demographic_parity_difference"


def _row(label, method, acc, dp, low, high, **params):
    return {"label": label, "method": method, "constraint": "demographic_parity", "params": params,
            "accuracy_before": 0.80, "accuracy_after": acc, f"{KEY}_before": 0.30, f"{KEY}_after": dp,
            f"{KEY}_before_low": 0.20, f"{KEY}_before_high": 0.40, f"{KEY}_after_low": low,
            f"{KEY}_after_high": high}


ROWS = [_row("Reweighing", "reweighing", 0.78, 0.10, 0.02, 0.18),
        _row("Threshold", "threshold_optimizer", 0.70, 0.12, 0.05, 0.19),  # dominated by reweighing
        _row("Fair loss 0", "fair_loss", 0.79, 0.25, 0.15, 0.35, lam=0.0, architecture="logistic"),
        _row("Fair loss 3", "fair_loss", 0.72, 0.02, float("nan"), float("nan"), lam=3.0,
             architecture="logistic"),
        _row("Fair loss 1", "fair_loss", 0.76, 0.08, 0.01, 0.15, lam=1.0, architecture="logistic")]


def _brute_front(xs, ys):
    return {i for i in range(len(xs)) if not any(
        xs[j] <= xs[i] and ys[j] >= ys[i] and (xs[j], ys[j]) != (xs[i], ys[i]) for j in range(len(xs)))}


def test_pareto_front_equals_a_brute_force_check_of_every_pair():
    xs = [0.30, 0.10, 0.12, 0.25, 0.02, 0.08]
    ys = [0.80, 0.78, 0.70, 0.79, 0.72, 0.76]
    assert pareto_front(xs, ys) == [4, 5, 1, 3, 0]  # by increasing disparity; 2 is beaten by 1
    for xs, ys in itertools.islice(itertools.product([[0.1, 0.2, 0.2], [0.3, 0.1, 0.0]],
                                                     [[0.7, 0.7, 0.9], [0.5, 0.6, 0.4]]), 4):
        assert set(pareto_front(xs, ys)) == _brute_front(xs, ys)
    assert pareto_front([float("nan"), 0.1], [0.9, 0.5]) == [1]  # undefined is never on the front


def test_figure_has_interval_bars_the_front_and_the_sweep():
    fig = mitigation_tradeoff_figure(ROWS)
    names = [t.name for t in fig.data]
    assert names == ["Original model", "Mitigated", "Pareto front", "λ sweep (demographic parity, logistic)"]
    mitigated = fig.data[1]
    assert mitigated.error_x.array == pytest.approx((0.08, 0.07, 0.10, 0, 0.07))  # high - value
    assert mitigated.error_x.arrayminus == pytest.approx((0.08, 0.07, 0.10, 0, 0.07))  # value - low
    assert fig.data[0].error_x.array == pytest.approx((0.10,))
    front = fig.data[2]  # original (0.30, 0.80), FL0 (0.25, 0.79), RW (0.10, 0.78), FL1, FL3
    assert front.x == pytest.approx((0.02, 0.08, 0.10, 0.25, 0.30))
    assert front.text == ("Fair loss 3", "Fair loss 1", "Reweighing", "Fair loss 0", "Original model")
    sweep = fig.data[3]  # by increasing lambda
    assert sweep.x == pytest.approx((0.25, 0.08, 0.02)) and sweep.text == ("λ = 0", "λ = 1", "λ = 3")


def test_svg_twin_draws_the_same_chart():
    svg = mitigation_tradeoff_svg(ROWS)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert "Pareto front" in svg and "Fair loss 3" in svg


def test_every_method_has_a_when_to_use_line():
    assert set(WHEN_TO_USE) >= set(METHODS) - {"review_band"}


def test_report_includes_a_pytorch_method_result():
    from glasswing import audits
    from glasswing.ingest import samples
    from glasswing.reports import build_report, render_html

    model, test = samples.german_model("logreg"), samples.german_dataset("test")
    result = audits.mitigate(model, samples.german_dataset("train"), test, method="fair_loss",
                             params={"epochs": 2})
    html = render_html(build_report(test, model, metrics=result.before, mitigation=result))
    section = html[html.index('<section class="mitigation">'):]
    assert "Mitigation tried: Fairness-regularised loss (demographic parity, λ = 1)" in section
    seconds = f"{result.compute_time:.1f}"
    assert f"What it changes: the training (in-processing); fitted and measured in {seconds} s" in section
    before, after = result.disparity()
    assert f"{before:.3f}" in section and f"{after:.3f}" in section


def test_report_draws_every_method_tried_with_the_pareto_front():
    import base64
    import re

    from glasswing import audits
    from glasswing.ingest import samples
    from glasswing.reports import build_report, render_html
    from glasswing.reports._build import mitigation_section

    model, test = samples.german_model("logreg"), samples.german_dataset("test")
    result = audits.mitigate(model, samples.german_dataset("train"), test, method="reweighing")
    section = mitigation_section(result) | {"tried": ROWS}
    html = render_html(build_report(test, model, metrics=result.before, mitigation=section))
    uri = re.search(r'data:image/svg\+xml;base64,([^"]+)" alt="Accuracy against disparity', html).group(1)
    svg = base64.b64decode(uri).decode()
    assert "Pareto front" in svg and "Fair loss 3" in svg and "λ sweep (demographic parity, logistic)" in svg
