"""``glasswing audit``: a fairness audit of logged predictions or of a model, for people and for CI.

Prints a readable table; ``--json OUT`` writes ``GroupMetrics.to_dict()``; each ``--fail-if EXPR`` is a
threshold on a summary disparity (or an overall metric) that exits with code 1 when violated.
Parquet files and folders of logged predictions are audited out of core through DuckDB.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import re
import sys
from pathlib import Path

from glasswing._errors import GlasswingError

EXIT_OK, EXIT_VIOLATED = 0, 1
OPERATORS = {"<=": operator.le, ">=": operator.ge, "==": operator.eq, "!=": operator.ne, "<": operator.lt,
             ">": operator.gt}
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_EXPR = re.compile(rf"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*({_NUMBER})\s*$")
TABLE_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")

BAD_EXPRESSION = ("--fail-if {expr!r} is not a comparison like \"demographic_parity_ratio<0.8\" "
                  "(a name, one of < <= > >= == !=, and a number).")
UNKNOWN_NAME = "--fail-if {expr!r} names {name!r}, which is not a summary value; use one of: {names}."
NEEDS_PREDICTIONS = "Give either --prediction COL (logged predictions) or --model FILE, not both."
NO_JSON_FOLDER = "The folder for --json does not exist: {folder}."
VIOLATED = "glasswing audit: failed: {name} = {value} {op} {limit} ({expr})"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``audit`` subcommand."""
    p = sub.add_parser(
        "audit", help="audit predictions by group: rates with intervals, disparities, four-fifths rule",
        description="Audit a model's or logged predictions by sensitive group (several --sensitive columns "
                    "mean their intersection): rates with Wilson intervals, fairlearn's disparities with "
                    "bootstrap intervals, the four-fifths rule, and warnings for small groups. Parquet "
                    "files and folders of logged predictions are read out of core through DuckDB. Exit "
                    "codes: 0 ok, 1 a --fail-if was violated, 2 bad input.")
    p.add_argument("--data", required=True, metavar="FILE",
                   help="CSV or Parquet file (or a folder of Parquet files)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--prediction", metavar="COL", help="column of logged predicted labels (or scores, "
                                                            "with --threshold)")
    source.add_argument("--model", metavar="FILE", help="model file (skops, ONNX, ...) to predict with")
    p.add_argument("--target", required=True, metavar="COL", help="column of true outcomes")
    p.add_argument("--sensitive", required=True, nargs="+", metavar="COL", help="sensitive column(s)")
    p.add_argument("--score", metavar="COL", help="column of logged scores (adds AUC and calibration)")
    p.add_argument("--threshold", type=float, metavar="T", help="predict positive where score >= T")
    p.add_argument("--positive-label", metavar="LABEL",
                   help="the favourable outcome (needed for a multiclass target: audited one-vs-rest)")
    p.add_argument("--json", metavar="OUT", help="write the audit as JSON to this file")
    p.add_argument("--fail-if", action="append", default=[], metavar="EXPR",
                   help='exit 1 when true, e.g. "demographic_parity_ratio<0.8" (repeatable)')
    p.add_argument("--min-group-size", type=int, default=30, metavar="N",
                   help="flag groups with fewer rows as too small to conclude from (default 30)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap replicates (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--trust", action="store_true", help="allow pickle-based model files (runs their code)")
    p.set_defaults(func=run)


def parse_fail_if(expressions: list[str], names: list[str]) -> list[tuple[str, str, str, float]]:
    """Parse ``--fail-if`` expressions into (expression, name, operator, limit); raise for bad ones."""
    out = []
    for expr in expressions:
        m = _EXPR.match(expr)
        if not m:
            raise GlasswingError(BAD_EXPRESSION.format(expr=expr))
        name, op, limit = m.group(1), m.group(2), float(m.group(3))
        if name not in names:
            raise GlasswingError(UNKNOWN_NAME.format(expr=expr, name=name, names=", ".join(names)))
        out.append((expr, name, op, limit))
    return out


def _values(gm) -> dict[str, float]:
    """Every name ``--fail-if`` may use: the summary, then the overall metrics."""
    values = {k: float(v) if v is not None else math.nan for k, v in gm.summary().items()}
    values.update({k: float(v) for k, v in gm.overall.items() if k not in values})
    return values


def fail_names() -> list[str]:
    """Return the names ``--fail-if`` accepts (summary keys and overall metrics), without running an audit."""
    from glasswing.audits import DISPARITIES, METRICS

    names = [f"{d}_{k}" for d in DISPARITIES for k in ("difference", "ratio")] + ["four_fifths_rule_passed"]
    return names + list(METRICS) + ["auc", "brier_score", "calibration_error", "mean_score", "n"]


def run(args: argparse.Namespace) -> int:
    """Run the audit, print it, write ``--json``, and return 1 when a ``--fail-if`` is violated."""
    checks = parse_fail_if(args.fail_if, fail_names())
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise GlasswingError(NO_JSON_FOLDER.format(folder=Path(args.json).resolve().parent))
    gm, about = _audit(args)
    print(render(gm, about))
    if args.json:
        payload = gm.to_dict()
        payload["source"] = about
        Path(args.json).write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
        print(f"Wrote {args.json}")
    values = _values(gm)
    failed = 0
    for expr, name, op, limit in checks:
        value = values[name]
        if math.isnan(value) or OPERATORS[op](value, limit):
            failed += 1
            shown = "undefined" if math.isnan(value) else f"{value:.4g}"
            print(VIOLATED.format(name=name, value=shown, op=op, limit=f"{limit:g}", expr=expr),
                  file=sys.stderr)
    return EXIT_VIOLATED if failed else EXIT_OK


def _audit(args: argparse.Namespace):
    from glasswing import audits, ingest
    from glasswing.audits._duckdb import parquet_source

    options = {"min_group_size": args.min_group_size, "n_boot": args.bootstrap, "seed": args.seed}
    data = Path(args.data)
    parquet = data.is_dir() or data.suffix.lower() in (".parquet", ".pq")
    if parquet and args.model is None:
        parquet_source(data)  # one sentence when the folder holds no Parquet file
        gm = audits.group_metrics_parquet(data, y_true=args.target, y_pred=args.prediction,
                                          sensitive=args.sensitive, y_score=args.score,
                                          threshold=args.threshold, pos_label=args.positive_label, **options)
        return gm, {"data": str(data), "engine": "duckdb", "predictions": f"column {args.prediction}"}
    dataset = ingest.load_dataset(data, target=args.target, prediction=args.prediction, score=args.score,
                                  sensitive=tuple(args.sensitive), positive_label=args.positive_label)
    model = ingest.load_model(args.model, trusted=args.trust) if args.model else None
    gm = audits.audit_dataset(dataset, model, threshold=args.threshold,
                              use_scores=args.prediction is None and args.threshold is not None, **options)
    about = {"data": dataset.name, "data_sha256": dataset.sha256, "rows": len(dataset), "engine": "pandas",
             "predictions": f"model {model.name}" if model else f"column {args.prediction}"}
    if model is not None:
        about["model_sha256"] = model.sha256
    return gm, about


def render(gm, about: dict) -> str:
    """Return the audit as plain text: the table by group with intervals, disparities, verdict, warnings."""
    metrics = list(TABLE_METRICS) + (["auc"] if "auc" in gm.metrics else [])
    table = gm.table(metrics)
    groups = [f"{g} *" if small else str(g) for g, small in zip(table.index, table["small"], strict=True)]
    table = table.drop(columns="small")
    header = [table.index.name or "group", *table.columns]
    rows = [[g, *map(str, r)] for g, r in zip(groups, table.to_numpy().tolist(), strict=True)]
    rows.append(["overall", str(int(gm.overall["n"])), *(f"{gm.overall[m]:.3f}" for m in metrics)])
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [f"Fairness audit of {about['data']} ({int(gm.overall['n']):,} rows; predictions: "
           f"{about['predictions']}; positive label {gm.pos_label!r})", "",
           line(header), line(["-" * w for w in widths]), *map(line, rows),
           f"Rates with {gm.confidence:.0%} Wilson intervals. * fewer than {gm.min_group_size:,} rows: too "
           "small to conclude from.", "",
           f"Disparities (between groups; {gm.confidence:.0%} bootstrap intervals, {gm.n_boot:,} replicates, "
           f"seed {gm.seed}):"]
    disp = gm.disparity_table()
    interval = disp.columns[2]
    width = max(len(n) for n in disp.index)
    for name, row in disp.iterrows():
        value = "undefined" if row["value"] is None else f"{row['value']:.3f}"
        note = f"  {row['note']}" if row["note"] else ""
        out.append(f"  {name.ljust(width)}  {value}  ({row[interval]})  {row['verdict'].lower()}{note}")
    out += ["", gm.four_fifths().sentence]
    if gm.warnings:
        out += ["", "Warnings:", *(f"  - {w}" for w in gm.warnings)]
    return "\n".join(out)
