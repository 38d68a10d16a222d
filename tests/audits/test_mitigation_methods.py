"""Resampling, correlation removal, adversarial debiasing and the fair loss: hand counts and the libraries.

Each method is checked against something it does not compute itself: expected cell sizes counted by
hand, fairlearn's ``CorrelationRemover`` and ``AdversarialFairnessClassifier`` fitted directly on the same
encoded rows with the same seed, a plain PyTorch training loop, fairret's penalty against its formula, and
a synthetic dataset with a planted bias on which every method aimed at demographic parity must reduce it
on held-out rows.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import torch
from fairlearn.adversarial import AdversarialFairnessClassifier
from fairlearn.metrics import demographic_parity_difference
from fairlearn.preprocessing import CorrelationRemover
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from glasswing import audits
from glasswing.audits import _fair_loss, _mitigation
from glasswing.audits._torch_tabular import TabularEncoding
from glasswing.ingest import ColumnRoles, Dataset, load_model, samples
from glasswing.ingest._tabular_onnx import tabular_network_onnx

DP_METHODS = [m for m, spec in audits.METHODS.items() if "demographic_parity" in spec.constraints]


@pytest.fixture(scope="module")
def german():
    return samples.german_model("logreg"), samples.german_dataset("train"), samples.german_dataset("test")


def _planted(n: int, seed: int) -> pd.DataFrame:
    """Group "b" is less often positive by construction, and a proxy column carries the group."""
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], size=n, p=[0.6, 0.4])
    skill = rng.normal(size=n)
    proxy = (group == "b") + rng.normal(scale=0.5, size=n)
    label = (skill + 1.2 * (group == "a") - 0.6 + rng.normal(scale=0.5, size=n) > 0).astype(int)
    return pd.DataFrame({"group": group, "skill": skill, "proxy": proxy, "color": rng.choice(["r", "g"], n),
                         "y": label})


def _dataset(frame: pd.DataFrame, name: str) -> Dataset:
    roles = ColumnRoles(target="y", sensitive=("group",), features=("skill", "proxy", "color", "group"),
                        positive_label=1)
    return Dataset(frame, roles=roles, name=name,
                   sha256=hashlib.sha256(frame.to_csv().encode()).hexdigest())


@pytest.fixture(scope="module")
def planted():
    train, test = _dataset(_planted(1500, 1), "train"), _dataset(_planted(1000, 2), "test")
    return audits.baseline_model(train), train, test


# -- resampling: counts by hand ----------------------------------------------------------------------------

Y = [1, 1, 1, 1, 0, 0, 1, 0, 0, 0]
S = ["a", "a", "a", "a", "a", "a", "b", "b", "b", "b"]
# n = 10; |a| = 6, |b| = 4; |1| = 5, |0| = 5 -> expected (a, 0) = (a, 1) = 6 x 5 / 10 = 3, (b, *) = 2


def test_expected_cell_sizes_by_hand():
    cells = audits.expected_cell_sizes(Y, S)
    assert cells.index.names == ["sensitive_feature_0", "label"]
    assert cells["n"].to_dict() == {("a", 0): 2, ("a", 1): 4, ("b", 0): 3, ("b", 1): 1}
    assert cells["expected"].to_dict() == {("a", 0): 3.0, ("a", 1): 3.0, ("b", 0): 2.0, ("b", 1): 2.0}
    uneven = audits.expected_cell_sizes([1, 0, 0], ["a", "a", "b"])  # (a, 1) = 2 x 1 / 3 = 0.67 -> 1
    assert uneven["expected"].round(4).tolist() == [1.3333, 0.6667, 0.6667, 0.3333]
    assert uneven["target"].tolist() == [1, 1, 1, 0]


def test_uniform_sampling_draws_each_cell_to_its_size_from_its_own_rows():
    rows = audits.uniform_sample(Y, S, seed=3)
    y, s = np.asarray(Y)[rows], np.asarray(S)[rows]
    counts = pd.Series(list(zip(s, y, strict=True))).value_counts().to_dict()
    assert counts == {("a", 0): 3, ("a", 1): 3, ("b", 0): 2, ("b", 1): 2}
    np.testing.assert_array_equal(audits.uniform_sample(Y, S, seed=3), rows)  # seeded


def test_preferential_sampling_changes_the_rows_closest_to_the_boundary():
    scores = [0.9, 0.8, 0.3, 0.6, 0.7, 0.2, 0.4, 0.9, 0.1, 0.5]
    rows = audits.preferential_sample(Y, S, scores, positive=1)
    # (a, 1) rows 0-3 must shrink 4 -> 3: drop the lowest-scored positive, row 2 (0.3)
    # (a, 0) rows 4, 5 must grow 2 -> 3: duplicate the highest-scored negative, row 4 (0.7)
    # (b, 1) row 6 must grow 1 -> 2: duplicate it; (b, 0) rows 7-9 shrink 3 -> 2: drop row 7 (0.9)
    assert rows.tolist() == [0, 1, 3, 4, 4, 5, 6, 6, 8, 9]
    grow = audits.preferential_sample([1, 0, 0, 0, 0, 0, 1], ["a"] * 3 + ["b"] * 4,
                                      [0.2, 0.5, 0.4, 0.1, 0.2, 0.3, 0.9], positive=1)
    # (b, 1) has 1 row and needs round(4 x 2 / 7) = 1; (a, 1) 1 row, needs round(3 x 2 / 7) = 1;
    # (a, 0) 2 -> round(3 x 5 / 7) = 2; (b, 0) 3 -> round(4 x 5 / 7) = 3: nothing changes
    assert grow.tolist() == list(range(7))


def test_resampling_methods_retrain_on_the_resampled_rows(german):
    model, train, test = german
    result = audits.mitigate(model, train, test, method="preferential_sampling", seed=0)
    scores = model.predict_proba(train.X)[:, 1]
    rows = audits.preferential_sample(train.y_true, train.frame[["sex"]], scores, positive=1)
    counts = pd.DataFrame({"sex": train.frame["sex"].to_numpy()[rows], "y": train.y_true.to_numpy()[rows]})
    n, n_s, n_y = len(train), train.frame["sex"].value_counts(), train.y_true.value_counts()
    for (sex, y), got in counts.value_counts().items():  # each cell has its expected size, by hand
        assert got == int(np.floor(n_s[sex] * n_y[y] / n + 0.5))
    by_hand = _mitigation._seeded_clone(model.estimator, 0).fit(train.X.iloc[rows], train.y_true.iloc[rows])
    np.testing.assert_array_equal(result.y_pred_after, by_hand.predict(test.X))
    np.testing.assert_allclose(result.score_after, by_hand.predict_proba(test.X)[:, 1], atol=1e-12)
    assert result.changes == "the data (rows resampled)"
    assert result.after.overall["auc"] == pytest.approx(
        audits.auc_score(test.y_true.to_numpy(), by_hand.predict_proba(test.X)[:, 1]), abs=1e-12)


# -- correlation remover: fairlearn by hand ----------------------------------------------------------------


def test_correlation_remover_equals_fairlearn_applied_by_hand(german):
    model, train, test = german
    result = audits.mitigate(model, train, test, method="correlation_remover", params={"alpha": 0.5})
    columns = list(model.feature_names)
    categorical = [c for c in columns if train.frame[c].dtype == object]
    numeric = [c for c in columns if c not in categorical]
    assert categorical[0] == "sex"
    onehot = OneHotEncoder(sparse_output=False, handle_unknown="ignore")
    encode = ColumnTransformer([("c", onehot, categorical), ("n", "passthrough", numeric)])
    encode.fit(train.frame[columns])
    n_sex = train.frame["sex"].nunique()  # "sex" is the first categorical column: its one-hot come first
    remover = CorrelationRemover(sensitive_feature_ids=list(range(n_sex)), alpha=0.5)
    Xt = remover.fit_transform(encode.transform(train.frame[columns]))  # noqa: N806
    rest = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0))
    rest.fit(Xt, train.y_true)
    expected = rest.predict_proba(remover.transform(encode.transform(test.frame[columns])))[:, 1]
    np.testing.assert_allclose(result.score_after, expected, atol=1e-10)
    assert result.label == "Correlation remover (demographic parity, alpha = 0.5)"
    data, suffix = result.export()
    loaded = load_model(data, name=f"mitigated{suffix}")  # CorrelationRemover is a reviewed skops type
    np.testing.assert_allclose(loaded.predict_proba(test.frame)[:, 1], expected, atol=1e-10)


# -- adversarial: fairlearn directly -----------------------------------------------------------------------


def _encode_by_hand(train: pd.DataFrame, test: pd.DataFrame, columns: list[str]) -> tuple:
    """One-hot (sorted categories) or standardised, column by column in the given order, with scikit-learn."""
    parts = [(c, OneHotEncoder(sparse_output=False, handle_unknown="ignore")
              if train[c].dtype == object else StandardScaler(), [c]) for c in columns]
    encode = ColumnTransformer(parts).fit(train[columns])
    return tuple(encode.transform(f[columns]).astype(np.float32) for f in (train, test))


def test_adversarial_equals_fairlearn_run_directly(german):
    model, train, test = german
    params = {"epochs": 2, "adversary_weight": 0.5}
    result = audits.mitigate(model, train, test, method="adversarial", constraint="equalized_odds",
                             params=params, seed=4)
    X_train, X_test = _encode_by_hand(train.frame, test.frame, list(model.feature_names))  # noqa: N806
    direct = AdversarialFairnessClassifier(
        backend="torch", predictor_model=[32, "leaky_relu"], adversary_model=[3, "leaky_relu"],
        constraints="equalized_odds", learning_rate=0.01, alpha=0.5, epochs=2, batch_size=128, shuffle=True,
        random_state=4)
    direct.fit(X_train, train.y_true.to_numpy(), sensitive_features=train.frame["sex"].to_numpy())
    np.testing.assert_allclose(result.score_after, direct._raw_predict(X_test).ravel(), atol=1e-5)
    np.testing.assert_array_equal(result.y_pred_after, direct.predict(X_test))
    assert result.model.kind == "onnx" and result.export()[1] == ".onnx"


def test_adversarial_reports_every_epoch(german):
    model, train, test = german
    seen = []
    audits.mitigate(model, train, test, method="adversarial", params={"epochs": 3},
                    progress=lambda f, m: seen.append(m))
    assert [m for m in seen if m.startswith("Adversarial training: epoch")] == [
        f"Adversarial training: epoch {e} of 3" for e in (1, 2, 3)]


# -- fair loss: plain PyTorch and fairret's formula --------------------------------------------------------


def test_fair_loss_at_lambda_zero_is_plain_pytorch_logistic_regression(german):
    model, train, test = german
    result = audits.mitigate(model, train, test, method="fair_loss", params={"lam": 0, "epochs": 5}, seed=2)
    X_train, X_test = _encode_by_hand(train.frame, test.frame, list(model.feature_names))  # noqa: N806
    torch.manual_seed(2)
    net = torch.nn.Linear(X_train.shape[1], 1)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    xt, yt = torch.from_numpy(X_train), torch.tensor(train.y_true.to_numpy(), dtype=torch.float32)[:, None]
    for _ in range(5):
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), 1024):
            idx = order[start:start + 1024]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(net(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        expected = torch.sigmoid(net(torch.from_numpy(X_test))).numpy().ravel()
    np.testing.assert_allclose(result.score_after, expected, atol=1e-5)


def test_fairness_penalty_is_the_l1_gap_of_positive_rates_and_has_the_right_gradient():
    rng = np.random.default_rng(0)
    logits = torch.tensor(rng.normal(size=(40, 1)), dtype=torch.float64, requires_grad=True)
    groups = torch.tensor(np.eye(2)[rng.integers(0, 2, 40)], dtype=torch.float64)
    labels = torch.tensor(rng.integers(0, 2, (40, 1)), dtype=torch.float64)
    p = torch.sigmoid(logits).detach().numpy().ravel()
    g = groups.numpy().argmax(axis=1)
    by_hand = sum(abs(p[g == k].mean() / p.mean() - 1) for k in (0, 1))
    penalty = _fair_loss.fairness_penalty("demographic_parity")
    assert float(penalty(logits, groups, labels).detach()) == pytest.approx(by_hand, rel=1e-10)
    y = labels.numpy().ravel()
    tpr = [p[(g == k) & (y == 1)].mean() / p[y == 1].mean() for k in (0, 1)]
    fpr = [p[(g == k) & (y == 0)].mean() / p[y == 0].mean() for k in (0, 1)]
    eo = _fair_loss.fairness_penalty("equalized_odds")
    assert float(eo(logits, groups, labels).detach()) == pytest.approx(
        sum(abs(t - 1) for t in tpr) + sum(abs(f - 1) for f in fpr), rel=1e-10)
    for pen in (penalty, eo):
        assert torch.autograd.gradcheck(lambda z, pen=pen: pen(z, groups, labels), (logits,))


def test_fair_loss_sweep_trades_accuracy_for_a_smaller_gap(planted):
    model, train, test = planted
    seen = []
    results = audits.fair_loss_sweep(model, train, test, lambdas=(0.0, 3.0),
                                     progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == 1.0
    (dp0, dp3) = (r.disparity()[1] for r in results)
    assert dp3 < dp0 - 0.1
    assert [r.label for r in results] == ["Fairness-regularised loss (demographic parity, λ = 0)",
                                          "Fairness-regularised loss (demographic parity, λ = 3)"]


# -- every method on a planted bias ------------------------------------------------------------------------


@pytest.mark.parametrize("method", DP_METHODS)
def test_every_demographic_parity_method_reduces_a_planted_bias_on_held_out_rows(planted, method):
    model, train, test = planted
    result = audits.mitigate(model, train, test, method=method, constraint="demographic_parity", seed=0)
    y, s = test.frame["y"], test.frame["group"]
    before = demographic_parity_difference(y, result.y_pred_before, sensitive_features=s)
    after = demographic_parity_difference(y, result.y_pred_after, sensitive_features=s)
    assert before > 0.3  # the planted bias
    assert after < before - 0.1
    assert result.disparity() == pytest.approx((before, after), abs=1e-12)
    row = result.summary()
    low = row["demographic_parity_difference_after_low"]
    high = row["demographic_parity_difference_after_high"]
    assert low <= after <= high


# -- export and parameters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fair_loss", "adversarial"])
def test_pytorch_methods_export_onnx_that_loads_back_with_the_same_scores(german, method):
    model, train, test = german
    params = {"epochs": 2} if method == "adversarial" else {"architecture": "mlp", "epochs": 3}
    result = audits.mitigate(model, train, test, method=method, params=params)
    data, suffix = result.export()
    loaded = load_model(data, name=f"m{suffix}")
    assert loaded.kind == "onnx" and list(loaded.classes_) == [0, 1]
    net = result.estimator.backendEngine_.predictor_model if method == "adversarial" else result.estimator
    X_test = TabularEncoding.fit(train.X).transform(test.X)  # noqa: N806
    with torch.no_grad():
        out = net(torch.from_numpy(X_test)).numpy().ravel()
    expected = out if method == "adversarial" else 1 / (1 + np.exp(-out))
    np.testing.assert_allclose(loaded.predict_proba(test.frame)[:, 1], expected, atol=1e-5)


def test_onnx_encoding_matches_for_unseen_categories_and_missing_numbers():
    train = pd.DataFrame({"c": ["x", "y", "x"], "v": [1.0, 2.0, 6.0]})
    enc = TabularEncoding.fit(train)
    layers = [("linear", np.array([[1.0, 2.0, 3.0]], np.float32), np.array([0.5], np.float32))]
    loaded = load_model(tabular_network_onnx(enc.columns, layers, classes=["no", "yes"]), name="t.onnx")
    new = pd.DataFrame({"c": ["z", "y"], "v": [np.nan, 4.0]})
    logits = enc.transform(new) @ layers[0][1].T + 0.5
    np.testing.assert_allclose(loaded.predict_proba(new)[:, 1], 1 / (1 + np.exp(-logits.ravel())), atol=1e-6)
    assert enc.transform(new)[0].tolist() == [0.0, 0.0, 0.0]  # unseen category, missing = the mean


def test_method_params_sentences():
    with pytest.raises(audits.MitigationError) as err:
        audits.method_params("fair_loss", {"lambda": 1})
    assert str(err.value) == ("Fairness-regularised loss has no parameter 'lambda'; its parameters are: lam, "
                              "architecture, epochs, batch_size, learning_rate.")
    with pytest.raises(audits.MitigationError) as err:
        audits.method_params("adversarial", {"epochs": "2.5"})
    assert str(err.value) == "Parameter 'epochs' of Adversarial debiasing must be a whole number; got '2.5'."
    with pytest.raises(audits.MitigationError) as err:
        audits.method_params("uniform_sampling", {"alpha": 1})
    assert str(err.value) == "Uniform sampling takes no parameters; remove 'alpha'."
    assert audits.method_params("adversarial", {"epochs": "4"})["epochs"] == 4


def test_threshold_optimizer_has_no_model_to_export(german):
    result = audits.mitigate(*german, method="threshold_optimizer")
    with pytest.raises(audits.MitigationError) as err:
        result.export()
    assert str(err.value) == _mitigation.NO_EXPORT["threshold_optimizer"]


def test_a_correlation_remover_carrying_a_function_is_still_refused():
    import skops.io

    from glasswing.ingest import UntrustedFileError

    remover = CorrelationRemover(sensitive_feature_ids=[0]).fit(np.random.default_rng(0).random((20, 3)))
    remover.alpha = np.savetxt  # a stored function would run when the model scores data
    with pytest.raises(UntrustedFileError):
        load_model(skops.io.dumps(make_pipeline(remover, LogisticRegression())), name="m.skops")


@pytest.mark.parametrize("method", ["fair_loss", "adversarial"])
def test_pytorch_methods_stop_between_epochs_when_asked(german, method):
    asked = []

    def stop():
        asked.append(1)
        return len(asked) >= 2

    with pytest.raises(audits.MitigationStopped) as err:
        audits.mitigate(*german, method=method, params={"epochs": 5}, stop=stop)
    assert str(err.value) == "Stopped after epoch 2 of 5; nothing was kept."
