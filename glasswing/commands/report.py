"""``glasswing report``: audit a model (or logged predictions) and write the report as PDF, HTML or JSON.

Headless and the same content as the dashboard's Report page export: it calls ``glasswing.report`` (the
Python API), which calls ``audits.audit_dataset``, ``reports.report_explanations`` and
``reports.build_report`` as the page does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from glasswing._errors import GlasswingError
from glasswing.commands import _compare
from glasswing.commands.audit import (
    add_decision_options,
    add_group_options,
    add_source_options,
    decision_options,
    scored_column,
    source_options,
)

OUT_SUFFIXES = (".pdf", ".html", ".htm", ".json")
BAD_OUT = "--out must end in .pdf, .html or .json; got '{out}'."
NO_OUT_FOLDER = "The folder for --out does not exist: {folder}."
NEEDS_PREDICTIONS = "Give --model FILE or --prediction COL (or --score COL): the audit needs predictions."
NOTES_UNREADABLE = "Cannot read --notes-file {path}: {reason}."


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = sub.add_parser(
        "report", help="write an audit report (PDF, HTML or JSON) for a model or logged predictions",
        description="Audit the data (a model's predictions, or logged ones) by group and write a report: "
                    "fingerprints of what was audited, per-group tables with intervals, disparities with "
                    "verdicts, charts, optional explanations, reviewer notes and sign-off fields.")
    add_source_options(p)
    p.add_argument("--model", metavar="FILE", help="model file (skops, ONNX, ...); else use --prediction")
    p.add_argument("--prediction", metavar="COL", help="column of logged predicted labels")
    p.add_argument("--score", metavar="COL", help="column of logged scores (AUC, calibration)")
    p.add_argument("--target", required=True, metavar="COL", help="the true outcome column")
    p.add_argument("--sensitive", required=True, nargs="+", metavar="COL",
                   help="sensitive column(s); several mean their intersection")
    p.add_argument("--threshold", type=float, metavar="T",
                   help="predict positive where score >= T (with --prediction alone: that column's score)")
    add_decision_options(p)
    add_group_options(p)
    p.add_argument("--out", required=True, metavar="FILE", help="audit.pdf, audit.html or audit.json")
    p.add_argument("--trust", action="store_true", help="allow pickle-based model files (runs their code)")
    p.add_argument("--title", default="", help="report title")
    p.add_argument("--version-label", default="", metavar="LABEL", help="model version, e.g. v2")
    p.add_argument("--notes", default="", help="reviewer notes (text)")
    p.add_argument("--notes-file", metavar="FILE", help="read the reviewer notes from a text file")
    p.add_argument("--reviewer", default="", help="reviewer name for the sign-off")
    p.add_argument("--explain", metavar="METHOD", help="add explanations: shap, lime, permutation_importance")
    p.add_argument("--rows", default="0", metavar="SPEC",
                   help="rows to explain: 7, 0:100 (end excluded), 5: or 0:3,7 (default 0)")
    p.add_argument("--fairness-check", nargs="?", const=True, default=False, metavar="GROUP",
                   help="add the fairness check: each group's rates over the reference group's (GROUP, as "
                        "the report labels it; default the largest), band 0.8-1.25")
    p.add_argument("--confusion-matrices", action="store_true",
                   help="add the confusion matrix of every group")
    _compare.add_options(p, adds="a section of the report", seeded="seed 0")
    p.add_argument("--burden", action="store_true",
                   help="add the recourse burden by group (counterfactuals of every refused row; needs "
                        "--model)")
    p.add_argument("--errors", action="store_true",
                   help="add the error analysis: the cohorts where the model fails most (glasswing errors)")
    p.add_argument("--save", action="store_true", help="also save this run in the audit history")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Audit, build the report and write it to ``--out``."""
    out = Path(args.out)
    if out.suffix.lower() not in OUT_SUFFIXES:
        raise GlasswingError(BAD_OUT.format(out=args.out))
    if not out.parent.is_dir():
        raise GlasswingError(NO_OUT_FOLDER.format(folder=out.parent))
    if not args.model and not args.prediction and not args.score:
        raise GlasswingError(NEEDS_PREDICTIONS)
    where = source_options(args)  # the source's options agree, before any work
    _compare.check(args)
    notes = args.notes
    if args.notes_file:
        try:
            notes = Path(args.notes_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise GlasswingError(NOTES_UNREADABLE.format(path=args.notes_file, reason=err)) from err
    from glasswing import _api, reports
    from glasswing.audits import open_history

    prediction, score = scored_column(args) if not args.model else (args.prediction, args.score)
    options = decision_options(args)
    report = _api.report(
        args.data, args.model, y_true=args.target, y_pred=prediction, y_score=score,
        sensitive_features=list(args.sensitive), threshold=args.threshold, pos_label=args.positive_label,
        use_scores=prediction is None and args.threshold is not None, label_map=options["label_map"],
        selected=args.selected, bins=options["bins"], merge_rare=args.merge_rare,
        min_group_size=args.min_group_size, include_small_groups=args.include_small_groups,
        four_fifths=args.four_fifths, trusted=args.trust, explain=args.explain if args.model else None,
        rows=args.rows, burden=args.burden, title=args.title, version_label=args.version_label, notes=notes,
        sign_off={"reviewer": args.reviewer}, fairness_check=args.fairness_check,
        confusion_matrices=args.confusion_matrices, compare_model=args.compare_model,
        compare_resamples=args.compare_resamples, errors=args.errors, **where)
    reports.export_report(report, out)
    headline = ("demographic_parity_ratio", "demographic_parity_difference", "equalized_odds_difference")
    for d in report.disparities():
        if d.name in headline:
            shown = "n/a" if d.value is None else f"{d.value:.3f}"
            print(f"{d.label}: {shown} ({d.verdict.lower()})")
    if args.save:
        with open_history() as history:
            run_id = history.save(report.to_run())
        print(f"Saved as run {run_id} in the audit history ({history.where})")
    print(f"Wrote {out}")
    return 0
