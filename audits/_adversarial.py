"""Adversarial debiasing (Zhang, Lemoine & Mitchell, 2018): fairlearn's ``AdversarialFairnessClassifier``.

A predictor network learns the label while an adversary tries to recover the group from the predictor's
output (and, for equalized odds, the true label); the predictor's gradient is projected away from the
adversary's, with weight ``adversary_weight`` (fairlearn's ``alpha``). Columns are one-hot encoded and
standardised (``TabularEncoding``), so the network, written with that encoding as one ONNX graph, takes the
original columns. This trains a new network: the loaded model is only the "before".

Defaults (measured with ``bench/mitigation.py`` on 25,000 rows, two torch threads on 2 cores: 5.5-9.8 s,
10-18 CPU seconds, fairlearn's own call 4.6-6.0 s; an earlier run on a machine busy with other test runs
took 98 CPU seconds, most of it torch's threads waiting for the cores): a predictor with one hidden
layer of 32 leaky-ReLU units, fairlearn's adversary (3 units), 10 epochs of mini-batches of 128, Adam at
learning rate 0.01 (fairlearn's 0.001 barely moves the gap in 10 epochs), ``adversary_weight`` 1.
"""

from __future__ import annotations

import numpy as np

STOPPED = "Stopped after epoch {epoch} of {epochs}; nothing was kept."


def adversarial_classifier(*, constraint: str, epochs: int, adversary_weight: float, hidden: int,
                           batch_size: int, learning_rate: float, seed: int, callbacks=None):
    """Return fairlearn's ``AdversarialFairnessClassifier`` (PyTorch backend) with these settings."""
    from fairlearn.adversarial import AdversarialFairnessClassifier

    return AdversarialFairnessClassifier(
        backend="torch", predictor_model=[hidden, "leaky_relu"], adversary_model=[3, "leaky_relu"],
        constraints=constraint, learning_rate=learning_rate, alpha=adversary_weight, epochs=epochs,
        batch_size=batch_size, shuffle=True, random_state=seed, callbacks=callbacks)


def fit_adversarial(task):
    """Fit ``adversarial`` (see ``audits._mitigation``), reporting progress once per epoch."""
    import torch

    from glasswing.audits._mitigation import MitigationStopped, _Fitted
    from glasswing.audits._torch_tabular import TabularEncoding, group_indicators, network_model

    p = task.params
    encoding = TabularEncoding.fit(task.X_train)
    X = encoding.transform(task.X_train)  # noqa: N806 - sklearn's names
    _, names = group_indicators(task.s_train)
    groups = task.s_train.astype(str).agg(" & ".join, axis=1).to_numpy()
    batches = int(np.ceil(len(X) / p["batch_size"]))
    epochs = int(p["epochs"])

    def per_epoch(model, step, **_):
        if step % batches == 0:
            epoch = step // batches
            if task.stop is not None and task.stop():
                raise MitigationStopped(STOPPED.format(epoch=epoch, epochs=epochs))
            task.report(0.1 + 0.75 * epoch / epochs, f"Adversarial training: epoch {epoch} of {epochs}")
        return False

    task.report(0.1, f"Adversarial training: {epochs} epochs over {len(X):,} rows")
    with torch.random.fork_rng():
        clf = adversarial_classifier(constraint=task.constraint, epochs=epochs,
                                     adversary_weight=p["adversary_weight"], hidden=int(p["hidden"]),
                                     batch_size=int(p["batch_size"]), learning_rate=p["learning_rate"],
                                     seed=task.seed, callbacks=per_epoch)
        clf.fit(X, task.y01, sensitive_features=groups)
    module = clf.backendEngine_.predictor_model
    model, data = network_model(encoding, module, classes=[task.negative, task.positive],
                                output="probability", name=f"{task.model.name} (adversarial)",
                                sha_key=f"{task.model.sha256}|{task.train.sha256}|adversarial|{p}")
    task.report(0.9, "Evaluating on the held-out data")
    proba = model.predict_proba(task.X_test)
    return _Fitted(clf, model.classes_[np.argmax(proba, axis=1)], model, score=proba[:, 1], artifact=data,
                   extra={"groups": names})
