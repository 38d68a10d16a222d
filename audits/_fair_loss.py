"""A fairness-regularised loss: cross-entropy plus lambda times a differentiable fairness penalty.

A logistic regression or a small MLP (one hidden layer of 32 ReLU units) in PyTorch is trained with Adam on
``BCE(logits, y) + lam * penalty``. The penalty is fairret's ``NormLoss`` (Buyl et al., 2024): the L1 norm,
over the groups, of ``|statistic(group) / statistic(all rows) - 1|``, with the statistic computed from the
predicted probabilities so it has a gradient: the positive rate for demographic parity, the true- and
false-positive rates stacked for equalized odds. ``lam`` = 0 is plain cross-entropy; larger values trade
accuracy for a smaller gap. The trained network and its column encoding are written as one ONNX graph.

Defaults (16 CPU seconds on 25,000 rows with two torch threads, the plain PyTorch loop 18; see
``bench/mitigation.py``): logistic regression,
``lam`` 1, 30 epochs of mini-batches of 1,024, Adam at learning rate 0.01, seeded.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

ARCHITECTURES = ("logistic", "mlp")
BAD_ARCHITECTURE = "architecture must be one of: {valid}; got '{value}'."
STOPPED = "Stopped after epoch {epoch} of {epochs}; nothing was kept."


def fairness_penalty(constraint: str):
    """Return fairret's loss for ``constraint``: called as ``penalty(logits, groups, labels)``."""
    from fairret.loss import NormLoss
    from fairret.statistic import (
        FalsePositiveRate,
        PositiveRate,
        StackedLinearFractionalStatistic,
        TruePositiveRate,
    )

    if constraint == "demographic_parity":
        loss = NormLoss(PositiveRate())
        return lambda logits, sens, label: loss(logits, sens)
    loss = NormLoss(StackedLinearFractionalStatistic(TruePositiveRate(), FalsePositiveRate()))
    return lambda logits, sens, label: loss(logits, sens, label)


def network(width: int, architecture: str, *, hidden: int = 32):
    """Return the untrained network: ``Linear(width, 1)`` or ``Linear, ReLU, Linear`` (one logit)."""
    import torch

    if architecture not in ARCHITECTURES:
        raise ValueError(BAD_ARCHITECTURE.format(valid=", ".join(ARCHITECTURES), value=architecture))
    if architecture == "logistic":
        return torch.nn.Sequential(torch.nn.Linear(width, 1))
    return torch.nn.Sequential(torch.nn.Linear(width, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))


def train_fair_loss(X: np.ndarray, y: np.ndarray, groups: np.ndarray, *, lam: float, constraint: str,
                    architecture: str = "logistic", epochs: int = 30, batch_size: int = 1024,
                    learning_rate: float = 0.01, seed: int = 0,
                    on_epoch: Callable[[int, float], None] | None = None):
    """Train the network on cross-entropy plus ``lam`` times the fairness penalty; return it.

    Parameters
    ----------
    X : numpy.ndarray
        Encoded float32 features, shape (n, d).
    y : numpy.ndarray
        0/1 labels.
    groups : numpy.ndarray
        One-hot group indicators, shape (n, k).
    lam : float
        Weight of the penalty (0: plain cross-entropy).
    constraint : {"demographic_parity", "equalized_odds"}
        The penalty's statistic: the positive rate, or the true- and false-positive rates.
    architecture : {"logistic", "mlp"}
        Logistic regression, or one hidden layer of 32 ReLU units.
    epochs, batch_size, learning_rate, seed
        Adam over shuffled mini-batches, seeded with ``torch.manual_seed(seed)`` (the caller's global
        generator state is restored afterwards).
    on_epoch : callable, optional
        Called as ``on_epoch(epoch, mean_loss)`` after each epoch.
    """
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        net = network(X.shape[1], architecture)
        xt = torch.from_numpy(np.asarray(X, np.float32))
        yt = torch.from_numpy(np.asarray(y, np.float32))[:, None]
        st = torch.from_numpy(np.asarray(groups, np.float32))
        penalty = fairness_penalty(constraint) if lam else None
        bce = torch.nn.BCEWithLogitsLoss()
        optimiser = torch.optim.Adam(net.parameters(), lr=learning_rate)
        for epoch in range(1, epochs + 1):
            order, total = torch.randperm(len(xt)), 0.0
            for start in range(0, len(xt), batch_size):
                idx = order[start:start + batch_size]
                logits = net(xt[idx])
                loss = bce(logits, yt[idx])
                if penalty is not None:
                    loss = loss + lam * penalty(logits, st[idx], yt[idx])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total += float(loss.detach()) * len(idx)
            if on_epoch is not None:
                on_epoch(epoch, total / len(xt))
    return net.eval()


def fit_fair_loss(task):
    """Fit ``fair_loss`` (see ``audits._mitigation``), reporting progress once per epoch."""
    from glasswing.audits._mitigation import MitigationError, MitigationStopped, _Fitted
    from glasswing.audits._torch_tabular import TabularEncoding, group_indicators, network_model

    p = task.params
    if p["architecture"] not in ARCHITECTURES:
        raise MitigationError(BAD_ARCHITECTURE.format(valid=", ".join(ARCHITECTURES),
                                                      value=p["architecture"]))
    encoding = TabularEncoding.fit(task.X_train)
    X = encoding.transform(task.X_train)  # noqa: N806 - sklearn's names
    onehot, names = group_indicators(task.s_train)
    epochs, losses = int(p["epochs"]), []

    def on_epoch(epoch: int, loss: float) -> None:
        losses.append(loss)
        if task.stop is not None and task.stop():
            raise MitigationStopped(STOPPED.format(epoch=epoch, epochs=epochs))
        task.report(0.1 + 0.75 * epoch / epochs, f"Fair loss: epoch {epoch} of {epochs} (loss {loss:.4f})")

    task.report(0.1, f"Training on cross-entropy + {p['lam']:g} x the fairness penalty ({epochs} epochs)")
    net = train_fair_loss(X, task.y01, onehot, lam=float(p["lam"]), constraint=task.constraint,
                          architecture=p["architecture"], epochs=epochs, batch_size=int(p["batch_size"]),
                          learning_rate=float(p["learning_rate"]), seed=task.seed, on_epoch=on_epoch)
    model, data = network_model(encoding, net, classes=[task.negative, task.positive], output="logit",
                                name=f"{task.model.name} (fair loss)",
                                sha_key=f"{task.model.sha256}|{task.train.sha256}|fair_loss|{p}")
    task.report(0.9, "Evaluating on the held-out data")
    proba = model.predict_proba(task.X_test)
    return _Fitted(net, model.classes_[np.argmax(proba, axis=1)], model, score=proba[:, 1], artifact=data,
                   extra={"groups": names, "losses": losses})


def fair_loss_sweep(model, train, test, *, lambdas=(0.0, 0.5, 1.0, 2.0, 4.0),
                    constraint: str = "demographic_parity", params: dict | None = None, seed: int = 0,
                    progress: Callable[[float, str], None] | None = None, **options) -> list:
    """Run the fair loss once per lambda on the same rows: the points of its own trade-off curve.

    Parameters
    ----------
    model, train, test
        As for ``audits.mitigate``.
    lambdas : sequence of float
        The penalty weights to try, in order.
    constraint : {"demographic_parity", "equalized_odds"}
        The gap the penalty measures.
    params : dict, optional
        The other settings of ``fair_loss`` (``architecture``, ``epochs``, ...); ``lam`` is set per run.
    seed : int
        The same seed for every run, so the runs differ by lambda only.
    progress : callable, optional
        ``progress(fraction, message)`` over the whole sweep.
    **options
        Passed to ``audits.mitigate`` (``bins``, ``min_group_size``, ...).

    Returns
    -------
    list of audits.MitigationResult
        One per lambda, labelled with it (``"... λ = 0.5)"``).
    """
    from glasswing.audits._mitigation import mitigate

    report = progress or (lambda fraction, message: None)
    out = []
    for k, lam in enumerate(lambdas):
        def step(fraction: float, message: str, k=k, lam=lam) -> None:
            report((k + fraction) / len(lambdas), f"λ = {lam:g} ({k + 1} of {len(lambdas)}): {message}")

        out.append(mitigate(model, train, test, method="fair_loss", constraint=constraint, seed=seed,
                            params={**(params or {}), "lam": lam}, progress=step, **options))
    return out
