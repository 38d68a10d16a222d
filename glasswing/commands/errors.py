"""``glasswing errors``: where does the model fail? The cohorts with the highest error rate, as rules.

Calls ``audits.error_analysis_dataset`` (as the dashboard's Error analysis page does) and prints the cohorts
worst first with their error rate, Wilson interval, coverage of all errors and rows; ``--json OUT`` writes
``ErrorAnalysis.to_dict()``; ``--sensitive COL`` repeats the fairness audit inside each cohort.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from glasswing._errors import GlasswingError

NEEDS_ONE_SOURCE = ("Give one source of predictions: --prediction COL, --score COL --threshold T, or "
                    "--model FILE.")
NEEDS_SOURCE = ("Give the predictions: --prediction COL (logged predicted labels), --score COL --threshold T "
                "(logged scores), or --model FILE.")
SCORE_NEEDS_THRESHOLD = "--score COL needs --threshold T (score >= T predicts the positive label)."
NO_JSON_FOLDER = "The folder for --json does not exist: {folder}."
BAD_TOP = "--top must be at least 1; got {value}."


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``errors`` subcommand."""
    p = sub.add_parser(
        "errors", help="find the cohorts where the model fails most (error analysis as a tree of rules)",
        description="Fit a shallow decision tree to the error indicator (prediction differs from the "
                    "target) and print its cohorts, highest error rate first: a readable rule, the error "
                    "rate with its 95%% Wilson interval, the share of all errors it covers and its rows. A "
                    "split is kept only when its sides' error rates differ beyond chance (two-proportion "
                    "z-test, Bonferroni over the candidate splits, level --alpha).")
    p.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet file with the rows")
    p.add_argument("--prediction", metavar="COL", help="column of logged predicted labels")
    p.add_argument("--score", metavar="COL", help="column of logged scores, with --threshold")
    p.add_argument("--threshold", type=float, metavar="T",
                   help="with --score: score >= T predicts the positive label")
    p.add_argument("--positive-label", metavar="LABEL",
                   help="with --score: the label a score at or above T predicts (default: the larger one)")
    p.add_argument("--model", metavar="FILE", help="model file (skops, ONNX, ...) to predict with instead")
    p.add_argument("--target", required=True, metavar="COL", help="the true outcome column")
    p.add_argument("--features", nargs="+", metavar="COL",
                   help="columns the cohorts are described by (default: every column but the target and "
                        "the prediction)")
    p.add_argument("--max-depth", type=int, default=4, metavar="D",
                   help="the most conditions in a rule (tree depth, default 4)")
    p.add_argument("--min-rows", type=int, default=30, metavar="N", help="the smallest cohort (default 30)")
    p.add_argument("--alpha", type=float, default=0.05, metavar="A",
                   help="level of the test that keeps a split (default 0.05; 1 keeps every split)")
    p.add_argument("--top", type=int, default=10, metavar="K", help="cohorts to print (default 10)")
    p.add_argument("--sensitive", nargs="+", metavar="COL",
                   help="repeat the fairness audit inside each cohort by these columns")
    p.add_argument("--min-group-size", type=int, default=30, metavar="N",
                   help="with --sensitive: headlines use groups with at least N rows (default 30)")
    p.add_argument("--json", metavar="OUT", help="write the analysis (cohorts and tree) as JSON")
    p.add_argument("--trust", action="store_true", help="allow pickle-based model files (runs their code)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run the error analysis, print the cohorts and write ``--json``."""
    given = [s for s in (args.prediction, args.score, args.model) if s]
    if len(given) > 1:
        raise GlasswingError(NEEDS_ONE_SOURCE)
    if not given:
        raise GlasswingError(NEEDS_SOURCE)
    if args.score and args.threshold is None:
        raise GlasswingError(SCORE_NEEDS_THRESHOLD)
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise GlasswingError(NO_JSON_FOLDER.format(folder=Path(args.json).resolve().parent))
    if args.top < 1:
        raise GlasswingError(BAD_TOP.format(value=args.top))
    from glasswing import _api, audits

    data = _api.load_data(args.data, y_true=args.target, y_pred=args.prediction, y_score=args.score,
                          sensitive_features=tuple(args.sensitive or ()), pos_label=args.positive_label)
    model = _api.load_model(args.model, trusted=args.trust) if args.model else None
    result = audits.error_analysis_dataset(data, model, features=args.features, max_depth=args.max_depth,
                                           min_rows=args.min_rows, alpha=args.alpha,
                                           threshold=args.threshold if args.score else None)
    fairness = None
    if args.sensitive:
        fairness = audits.fairness_by_cohort(data, result, model, sensitive=list(args.sensitive),
                                             min_group_size=args.min_group_size)
    print(render(result, data.name, args.top))
    if fairness is not None:
        print("\n" + render_fairness(fairness, list(args.sensitive), args.min_group_size))
    if args.json:
        payload = result.to_dict()
        payload["data"] = {"name": data.name, "sha256": data.sha256}
        if model is not None:
            payload["model"] = {"name": model.name, "sha256": model.sha256}
        if fairness is not None:
            payload["fairness_by_cohort"] = json.loads(fairness.to_json(orient="records"))
        Path(args.json).write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
        print(f"Wrote {args.json}")
    return 0


def render(result, name: str, top: int = 10) -> str:
    """Return the analysis as text: overall errors, the cohorts worst first, how they were found."""
    from glasswing.audits import wilson_interval

    lo, hi = wilson_interval(result.errors, result.n, result.confidence)
    out = [f"Error analysis of {name} ({result.n:,} rows; predictions: {result.source}): {result.errors:,} "
           f"errors, error rate {result.error_rate:.3f} ({result.confidence:.0%} Wilson {float(lo):.3f} to "
           f"{float(hi):.3f}).", ""]
    cohorts = result.cohorts
    if len(cohorts) == 1:
        out.append(f"No cohort's error rate differs from the rest beyond chance (level {result.alpha:g}); "
                   "every row is one cohort. Try --alpha 1 to see the tree's splits anyway.")
    header = ["error rate", f"{result.confidence:.0%} interval", "coverage", "n", "errors", "cohort"]
    rows = [[f"{c.error_rate:.3f}", f"{c.error_low:.3f} to {c.error_high:.3f}", f"{c.coverage:.1%}",
             f"{c.n:,}", f"{c.errors:,}", c.rule] for c in cohorts[:top]]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells):
        return "  ".join([*(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True)), cells[-1]])

    out += ["Cohorts, highest error rate first:", line(header), line(["-" * w for w in widths] + ["-" * 6]),
            *map(line, rows)]
    if len(cohorts) > top:
        out.append(f"... and {len(cohorts) - top:,} more (--top {len(cohorts)} shows them all).")
    out += ["", "How the cohorts were found: " + result.method]
    if result.notes:
        out += ["", "Notes:", *(f"  - {n}" for n in result.notes)]
    return "\n".join(out)


def render_fairness(table, sensitive: list[str], min_group_size: int) -> str:
    """Return the per-cohort fairness audit as text (headline disparities on adequate groups)."""
    header = ["cohort", "n", "DP difference", "EO difference", "note"]
    rows = [[r.cohort, f"{r.n:,}", _num(r.demographic_parity_difference), _num(r.equalized_odds_difference),
             r.note] for r in table.itertuples()]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]

    def line(cells):
        return "  ".join([*(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=True)), cells[-1]]).rstrip()

    return "\n".join([f"Fairness audit by {' × '.join(sensitive)} inside each cohort (demographic parity and "
                      f"equalized odds differences on groups with at least {min_group_size:,} rows; "
                      "n/a where fewer than two qualify):", line(header),
                      line(["-" * w for w in widths] + ["-" * 4]), *map(line, rows)])


def _num(value) -> str:
    return "n/a" if value is None or value != value else f"{value:.3f}"
