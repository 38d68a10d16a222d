"""``glasswing mitigate``: one mitigation method, fitted on training rows and measured on held-out rows.

Prints the before/after table (accuracy, AUC and every disparity with its interval, on adequate groups);
``--json OUT`` writes ``{"method", "constraint", "params", "changes", "before": {audit JSON}, "after":
{audit JSON}, "seconds"}``; ``--out-model FILE`` writes the mitigated model in a safe format (skops for the
scikit-learn models, ONNX for the PyTorch networks) that ``glasswing audit --model`` reads back.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from glasswing._errors import GlasswingError

METHOD_NAMES = ("reweighing", "uniform_sampling", "preferential_sampling", "correlation_remover",
                "adversarial", "fair_loss", "threshold_optimizer", "exponentiated_gradient", "review_band")
#: The review band (``audits.review_band``) is no model: it routes the rows near the threshold to a person.
REVIEW_BAND = "review_band"
REVIEW_PARAMS = {"threshold": 0.5, "width": 0.1}
REVIEW_NO_MODEL = ("The review band changes who decides the rows near the threshold, not the model; there "
                   "is no model to export.")
REVIEW_BAD_PARAM = "The review band takes threshold and width (numbers); got --param {text!r}."
BAD_PARAM = "--param {text!r} is not NAME=VALUE, e.g. --param lam=0.5."
UNKNOWN_METHOD = "--method {method!r} is not a mitigation method; choose one of: {valid}."
NO_FOLDER = "The folder for {option} does not exist: {folder}."
WRONG_SUFFIX = "--out-model must end in {suffix} for {label} (the model is saved as {kind}); got '{out}'."
TEST_SIZE = "--test-size must be between 0 and 1 (the share of rows held out); got {value}."
PROGRESS_AFTER = 2.0  # seconds before progress lines appear on stderr


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``mitigate`` subcommand."""
    p = sub.add_parser(
        "mitigate", help="try a bias mitigation: fit on training rows, compare before/after on held-out ones",
        description="Fit one mitigation method on --data and measure the original and the mitigated model "
                    "on --test (or on a stratified 30%% split of --data, stated): accuracy, AUC and every "
                    "disparity with its interval, headlines on groups with at least --min-group-size rows. "
                    "Without --model the original is a logistic regression fitted on --data. Methods "
                    "change the data (reweighing, uniform_sampling, preferential_sampling, "
                    "correlation_remover), the training (adversarial, fair_loss, exponentiated_gradient) or "
                    "the decisions (threshold_optimizer). Exit codes: 0 ok, 2 bad input.")
    p.add_argument("--data", required=True, metavar="TRAIN", help="CSV or Parquet file of training rows")
    p.add_argument("--test", metavar="TEST", help="held-out rows (default: a stratified 30%% of --data)")
    p.add_argument("--target", required=True, metavar="COL", help="the label column")
    p.add_argument("--sensitive", required=True, nargs="+", metavar="COL", help="sensitive column(s)")
    p.add_argument("--method", required=True, metavar="NAME", help=f"one of: {', '.join(METHOD_NAMES)}")
    p.add_argument("--constraint", default="demographic_parity", metavar="NAME",
                   help="demographic_parity (default), equalized_odds, ... (each method lists its own)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a method setting, e.g. lam=0.5, alpha=0.8, epochs=20 (repeatable)")
    p.add_argument("--model", metavar="FILE", help="the model to mitigate (skops, ONNX, ...; default: a "
                                                   "logistic regression fitted on --data)")
    p.add_argument("--trust", action="store_true", help="allow pickle-based model files (runs their code)")
    p.add_argument("--json", metavar="OUT", help="write method, params, before, after and seconds as JSON")
    p.add_argument("--out-model", metavar="FILE", help="write the mitigated model (.skops or .onnx)")
    p.add_argument("--seed", type=int, default=0, help="seed of retraining, sampling, the split (default 0)")
    p.add_argument("--test-size", type=float, default=0.3, metavar="F",
                   help="share held out when there is no --test (default 0.3)")
    p.add_argument("--bins", nargs="+", metavar="COL=CUTS", default=None,
                   help="cut a numeric sensitive column into bands, e.g. age=25,45 (default: quartiles)")
    p.add_argument("--min-group-size", type=int, default=30, metavar="N",
                   help="headlines use groups with at least N held-out rows (default 30); others listed")
    p.add_argument("--include-small-groups", action="store_true",
                   help="put the groups under --min-group-size back into the headline")
    p.set_defaults(func=run)


def parse_params(items: list[str]) -> dict:
    """Return ``{name: value}`` from ``--param NAME=VALUE`` items (values stay text)."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise GlasswingError(BAD_PARAM.format(text=item))
        out[name.strip()] = value.strip()
    return out


def _check_paths(args: argparse.Namespace) -> None:
    for option, value in (("--json", args.json), ("--out-model", args.out_model)):
        if value and not Path(value).resolve().parent.is_dir():
            raise GlasswingError(NO_FOLDER.format(option=option, folder=Path(value).resolve().parent))
    if not 0 < args.test_size < 1:
        raise GlasswingError(TEST_SIZE.format(value=args.test_size))


def run(args: argparse.Namespace) -> int:
    """Run the mitigation, print the before/after table, write ``--json`` and ``--out-model``."""
    _check_paths(args)
    params = parse_params(args.param)
    from glasswing import audits, ingest

    if args.method not in audits.METHODS and args.method != REVIEW_BAND:
        raise GlasswingError(UNKNOWN_METHOD.format(method=args.method,
                                                   valid=", ".join([*audits.METHODS, REVIEW_BAND])))
    if args.method == REVIEW_BAND:
        band = _review_params(params)
        if args.out_model:
            raise GlasswingError(REVIEW_NO_MODEL)
    else:
        audits.method_params(args.method, params)  # bad names and values before any file is read
    spec = audits.METHODS.get(args.method)
    if spec is None:  # the review band: checked above
        pass
    elif args.out_model and spec.export is None:
        raise audits.MitigationError(audits.NO_EXPORT[args.method])
    elif args.out_model and Path(args.out_model).suffix.lower() != spec.export:
        raise GlasswingError(WRONG_SUFFIX.format(suffix=spec.export, label=spec.label, out=args.out_model,
                                                 kind="skops" if spec.export == ".skops" else "ONNX"))
    sensitive = tuple(args.sensitive)
    train = ingest.load_dataset(args.data, target=args.target, sensitive=sensitive)
    if args.test:
        test, split = ingest.load_dataset(args.test, target=args.target, sensitive=sensitive), None
    else:
        train, test = audits.holdout_split(train, test_size=args.test_size, seed=args.seed)
        split = (f"no --test: a stratified {args.test_size:.0%} of {Path(args.data).name} held out "
                 f"(seed {args.seed})")
    if args.model:
        model = ingest.load_model(args.model, trusted=args.trust)
        ingest.check_model_fits(model, test)
    else:
        model = audits.baseline_model(train, seed=args.seed)
    started = time.perf_counter()
    if args.method == REVIEW_BAND:
        return _run_review_band(args, band, model, test, split, started)

    def progress(fraction: float, message: str) -> None:
        elapsed = time.perf_counter() - started
        if elapsed > PROGRESS_AFTER and fraction < 1:
            print(f"  [{elapsed:5.1f} s, {fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    result = audits.mitigate(model, train, test, method=args.method, constraint=args.constraint,
                             seed=args.seed, params=params, progress=progress,
                             bins=ingest.parse_bins(args.bins), min_group_size=args.min_group_size,
                             include_small_groups=args.include_small_groups)
    about = {"train": f"{len(train):,} rows of {Path(args.data).name}",
             "test": split or f"{len(test):,} rows of {Path(args.test).name}",
             "model": model.name}
    print(render(result, about))
    if args.out_model:
        Path(args.out_model).write_bytes(result.export()[0])
        print(f"Wrote {args.out_model}")
    if args.json:
        Path(args.json).write_text(json.dumps(to_json(result, about), indent=2, allow_nan=False,
                                              default=_plain) + "\n")
        print(f"Wrote {args.json}")
    return 0


def _review_params(params: dict) -> dict:
    """Return the review band's threshold and width from ``--param`` (defaults 0.5 and 0.1)."""
    out = dict(REVIEW_PARAMS)
    for name, value in params.items():
        try:
            if name not in out:
                raise ValueError
            out[name] = float(value)
        except ValueError:
            raise GlasswingError(REVIEW_BAD_PARAM.format(text=f"{name}={value}")) from None
    return out


def _run_review_band(args: argparse.Namespace, band: dict, model, test, split: str | None,
                     started: float) -> int:
    """Route the held-out rows near the threshold to review; compare every row decided with the rest."""
    from glasswing import audits, ingest

    groups, _ = ingest.group_frame(test.frame, list(test.roles.sensitive), ingest.parse_bins(args.bins))
    classes = list(model.classes_)
    positive = test.positive_label if test.positive_label in classes else classes[-1]
    score = model.predict_proba(test.frame)[:, classes.index(positive)]
    result = audits.review_band(test.y_true, score, groups, threshold=band["threshold"], width=band["width"],
                                pos_label=positive, min_group_size=args.min_group_size)
    seconds = time.perf_counter() - started
    head = [f"Review band: {result.rule} {result.share_reviewed:.1%} of the held-out rows go to review; "
            f"{seconds:.1f} s", f"Model: {model.name}; measured on "
            f"{split or f'{len(test):,} rows of {Path(args.test).name}'}.", "",
            "before: every row decided at the threshold; after: the automated decisions only", "",
            *_table(result.all_automated, result.automated), "", "Share routed to review by group:",
            result.shares.round(3).to_string()]
    print("\n".join(head))
    if args.json:
        payload = {"method": REVIEW_BAND, "params": band, "changes": "who decides (rows near the threshold)",
                   "share_reviewed": result.share_reviewed,
                   "shares": result.shares.reset_index().to_dict(orient="records"),
                   "before": result.all_automated.to_dict(), "after": result.automated.to_dict(),
                   "seconds": round(seconds, 3)}
        Path(args.json).write_text(json.dumps(payload, indent=2, allow_nan=False, default=_plain) + "\n")
        print(f"Wrote {args.json}")
    return 0


def _plain(value):
    """Return NumPy scalars as Python values for ``json.dumps``."""
    return value.item() if hasattr(value, "item") else str(value)


def to_json(result, about: dict) -> dict:
    """Return the ``--json`` payload: method, params, before and after audits, seconds."""
    from glasswing.audits import METHODS

    spec = METHODS[result.method]
    return {"method": result.method, "constraint": result.constraint, "label": result.label,
            "params": {k: result.params[k] for k in spec.defaults} | {"seed": result.params["seed"]},
            "changes": result.changes, "stage": spec.stage, "data": about,
            "before": result.before.to_dict(), "after": result.after.to_dict(),
            "seconds": round(result.compute_time, 3)}


def _table(before, after) -> list[str]:
    """Return the lines of the before/after table: accuracy, AUC, each headline disparity and interval."""
    from glasswing.audits._verdicts import interval_text

    def cell(metrics, name):
        head = metrics.headline()
        if name in ("accuracy", "auc"):
            value = metrics.overall.get(name)
            return "n/a" if value is None or value != value else f"{value:.3f}"
        value = head.summary.get(name)
        if value is None:
            return "undefined"
        row = head.disparities.loc[name] if name in head.disparities.index else None
        span = "" if row is None else f" ({interval_text(row['low'], row['high'])})"
        return f"{value:.3f}{span}"

    summary = before.headline().summary
    names = ["accuracy", "auc", *(k for k in summary if k != "four_fifths_rule_passed")]
    rows = [(n.replace("_", " "), cell(before, n), cell(after, n)) for n in names]
    widths = [max(len(r[i]) for r in [("", "before", "after"), *rows]) for i in range(3)]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [("", "before", "after"), *rows]]


def render(result, about: dict) -> str:
    """Return the before/after table: accuracy, AUC and each headline disparity with its interval."""
    lines = _table(result.before, result.after)
    head = result.before.headline()
    scope = ("every group" if head.include_small_groups else
             f"groups with at least {result.before.min_group_size:,} held-out rows")
    out = [f"{result.label}: {result.params['stage']}, changes {result.changes}; "
           f"{result.compute_time:.1f} s",
           f"Original model: {about['model']}. Fitted on {about['train']}; measured on {about['test']}.", "",
           *lines, "",
           f"Disparities compare {scope} (95% intervals: Newcombe for differences, Katz for ratios). "
           "AUC is n/a for randomised decisions."]
    if len(head.left_out):
        out.append("Left out: " + ", ".join(map(str, head.left_out["label"])))
    return "\n".join(out)
