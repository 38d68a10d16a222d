"""``glasswing audit``: a fairness audit of logged predictions or of a model, for people and for CI.

Prints a readable table; ``--json OUT`` writes ``GroupMetrics.to_dict()``; each ``--fail-if EXPR`` is a
threshold on a summary disparity (or an overall metric) that exits with code 1 when violated.
Logged predictions are audited where they live (``--data`` a Parquet path, ``duckdb:///`` or
``postgresql://`` with ``--table``/``--sql``, ``--engine spark``): only per-group counts leave the engine.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

from glasswing._errors import GlasswingError
from glasswing.commands import _compare

EXIT_OK, EXIT_VIOLATED = 0, 1
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_EXPR = re.compile(rf"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|==|!=|<|>)\s*({_NUMBER})\s*$")
TABLE_METRICS = ("selection_rate", "true_positive_rate", "false_positive_rate", "precision", "accuracy")

BAD_EXPRESSION = ("--fail-if {expr!r} is not a comparison like \"demographic_parity_ratio<0.8\" "
                  "(a name, one of < <= > >= == !=, and a number).")
UNKNOWN_NAME = "--fail-if {expr!r} names {name!r}, which is not a summary value; use one of: {names}."
NEEDS_PREDICTIONS = "Give either --prediction COL (logged predictions) or --model FILE, not both."
NEEDS_SOURCE = ("Give the predictions: --prediction COL (labels, or scores with --threshold), --score COL "
                "--threshold T, or --model FILE.")
SCORE_NEEDS_THRESHOLD = ("--score COL alone needs --threshold T to turn the scores into decisions "
                         "(score >= T is positive).")
NO_JSON_FOLDER = "The folder for --json does not exist: {folder}."
NO_JUNIT_FOLDER = "The folder for --junit does not exist: {folder}."
JUNIT_NEEDS_RULES = ("--junit writes one test case per --fail-if rule; give at least one, e.g. "
                     "--fail-if \"demographic_parity_ratio<0.8\".")
MASTER_WITHOUT_SPARK = "--spark-master chooses Spark's master, so give --engine spark as well."
TABLE_AND_SQL = "Give either --table NAME or --sql QUERY, not both."
NEEDS_DATA = ("Give the data with --data FILE|URL (a CSV or Parquet file or folder, duckdb:///file.duckdb or "
              "postgresql://USER@HOST/DB), or a table of Spark's catalog with --engine spark --table NAME.")
VIOLATED = "glasswing audit: failed: {name} = {value} {op} {limit} ({expr})"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``audit`` subcommand."""
    p = sub.add_parser(
        "audit", help="audit predictions by group: rates with intervals, disparities, four-fifths rule",
        description="Audit a model's or logged predictions by sensitive group (several --sensitive columns "
                    "mean their intersection): rates with Wilson intervals, fairlearn's disparities with "
                    "bootstrap intervals, the four-fifths rule, and warnings for small groups. Logged "
                    "predictions in Parquet files and folders, DuckDB and PostgreSQL databases, or Spark "
                    "are audited where they live: only per-group counts leave the engine. Exit codes: 0 "
                    "ok, 1 a --fail-if was violated, 2 bad input.")
    add_source_options(p)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--prediction", metavar="COL", help="column of logged predicted labels, or of scores "
                                                            "of any range with --threshold (score >= T)")
    source.add_argument("--model", metavar="FILE", help="model file (skops, ONNX, ...) to predict with")
    p.add_argument("--features", nargs="+", metavar="COL",
                   help="the --model's input columns (default: the columns it names, matched as given or "
                        "with '-', spaces and dots read as '_'; for a one-matrix ONNX model, the numeric "
                        "columns other than the target, prediction and score)")
    p.add_argument("--target", required=True, metavar="COL", help="column of true outcomes")
    p.add_argument("--sensitive", required=True, nargs="+", metavar="COL", help="sensitive column(s)")
    p.add_argument("--score", metavar="COL", help="column of logged scores (adds AUC and calibration; with "
                                                  "--threshold and no --prediction, the decisions)")
    p.add_argument("--threshold", type=float, metavar="T", help="predict positive where score >= T")
    add_decision_options(p)
    p.add_argument("--json", metavar="OUT", help="write the audit as JSON to this file")
    p.add_argument("--fail-if", action="append", default=[], metavar="EXPR",
                   help='exit 1 when true, e.g. "demographic_parity_ratio<0.8" (repeatable)')
    p.add_argument("--junit", metavar="FILE.xml",
                   help="write a JUnit XML report with one test case per --fail-if rule (CI test reports)")
    p.add_argument("--format", choices=("text", "markdown"), default="text",
                   help="print a readable table (text, the default) or Markdown for a pull-request comment; "
                        "with markdown, the 'Wrote' lines go to stderr")
    add_group_options(p)
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="kept for scripts: intervals are now closed-form score intervals (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="kept for scripts (default 0)")
    p.add_argument("--trust", action="store_true", help="allow pickle-based model files (runs their code)")
    _compare.add_options(p)
    p.set_defaults(func=run)


def add_source_options(p: argparse.ArgumentParser) -> None:
    """Add ``--data`` and where it lives: ``--table``, ``--sql``, ``--engine``, ``--spark-master``."""
    p.add_argument("--data", metavar="FILE|URL",
                   help="CSV or Parquet file, a folder or glob of Parquet files, or a database URL: "
                        "duckdb:///file.duckdb or postgresql://USER@HOST[:PORT]/DB (the password comes from "
                        "GLASSWING_DB_PASSWORD or PGPASSWORD and is never printed); required, except for "
                        "a table or query of Spark's catalog (--engine spark --table NAME)")
    p.add_argument("--table", metavar="NAME",
                   help="the table of a database --data URL (with --engine spark and no --data: a table of "
                        "Spark's catalog, e.g. a Hive metastore's)")
    p.add_argument("--sql", metavar="QUERY", help="a query on the --data database instead of a table")
    p.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                   help="where files are audited: duckdb (embedded, the default) or spark; logged "
                        "predictions are audited inside the engine, only per-group counts come back")
    p.add_argument("--spark-master", metavar="URL",
                   help="with --engine spark: the master (default local[2]; spark://HOST:7077, yarn, ...)")


def source_options(args: argparse.Namespace) -> dict:
    """Return the API's ``table``, ``sql``, ``engine`` and ``spark_master`` from the source options."""
    if args.spark_master and args.engine != "spark":
        raise GlasswingError(MASTER_WITHOUT_SPARK)
    if args.table is not None and args.sql is not None:
        raise GlasswingError(TABLE_AND_SQL)
    if args.data is None and not (args.engine == "spark" and (args.table or args.sql)):
        raise GlasswingError(NEEDS_DATA)
    return {"table": args.table, "sql": args.sql, "engine": args.engine, "spark_master": args.spark_master}


def add_decision_options(p: argparse.ArgumentParser) -> None:
    """Add the options that state the decision rule (shared by ``audit`` and ``report``)."""
    p.add_argument("--positive-label", metavar="LABEL",
                   help="the favourable outcome (a multiclass target is audited one-vs-rest); with a model "
                        "whose classes differ from the target's values, it maps to the model's class 1")
    p.add_argument("--label-map", metavar="MAP",
                   help="how target values map to the model's classes, e.g. '<=50K=0,>50K=1'")
    p.add_argument("--selected", metavar="WORDS",
                   help="what a positive prediction means, in your words, e.g. 'predicted to reoffend'")


def add_group_options(p: argparse.ArgumentParser) -> None:
    """Add the options that define the groups and the headline (``audit``, ``report``, ``reweigh``)."""
    p.add_argument("--bins", nargs="+", metavar="COL=CUTS", default=None,
                   help="cut a numeric sensitive column into bands, e.g. age=25,45 (default: quartiles for "
                        "a numeric column with more than 10 values)")
    p.add_argument("--merge-rare", type=int, default=0, metavar="N",
                   help="merge categories with fewer than N rows into one 'other' group (stated)")
    if p.prog.endswith("reweigh"):
        return
    p.add_argument("--min-group-size", type=int, default=30, metavar="N",
                   help="headlines use groups with at least N rows (default 30); the rest are listed")
    p.add_argument("--include-small-groups", action="store_true",
                   help="put the groups under --min-group-size back into the headline and --fail-if")
    p.add_argument("--four-fifths", type=float, default=0.8, metavar="R",
                   help="the line of the four-fifths rule (default 0.8)")


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


def fail_names() -> list[str]:
    """Return the names ``--fail-if`` accepts (summary keys and overall metrics), without running an audit."""
    from glasswing.audits import DISPARITIES, METRICS

    names = [f"{d}_{k}" for d in DISPARITIES for k in ("difference", "ratio")] + ["four_fifths_rule_passed"]
    return names + list(METRICS) + ["auc", "brier_score", "calibration_error", "mean_score", "n"]


def run(args: argparse.Namespace) -> int:
    """Run the audit, print it, write ``--json``, and return 1 when a ``--fail-if`` is violated."""
    checks = parse_fail_if(args.fail_if, fail_names())
    where = source_options(args)  # the source's options agree, before any work
    if args.json and not Path(args.json).resolve().parent.is_dir():
        raise GlasswingError(NO_JSON_FOLDER.format(folder=Path(args.json).resolve().parent))
    if args.junit and not checks:
        raise GlasswingError(JUNIT_NEEDS_RULES)
    if args.junit and not Path(args.junit).resolve().parent.is_dir():
        raise GlasswingError(NO_JUNIT_FOLDER.format(folder=Path(args.junit).resolve().parent))
    if not (args.prediction or args.model or args.score):
        raise GlasswingError(NEEDS_SOURCE)
    if args.score and not (args.prediction or args.model) and args.threshold is None:
        raise GlasswingError(SCORE_NEEDS_THRESHOLD)
    _compare.check(args)
    started = time.perf_counter()
    gm, about, (dataset, model) = _audit(args, where)
    comparison = _compare.compare(args, dataset, model) if args.compare_model else None
    from glasswing.reports._ci import evaluate_gates, markdown_summary

    gates = evaluate_gates(gm, checks)  # the headline summary (adequate groups), then the overall metrics
    text = render(gm, about)
    print(markdown_summary(gm, about, gates) if args.format == "markdown" else text)
    if comparison is not None:
        print("\n" + _compare.render(comparison))
    status = sys.stderr if args.format == "markdown" else sys.stdout  # keep the Markdown on stdout clean
    if args.json:
        payload = gm.to_dict()
        payload["source"] = about
        if comparison is not None:
            payload["compare"] = comparison.to_dict()
        Path(args.json).write_text(json.dumps(payload, indent=2, allow_nan=False) + "\n")
        print(f"Wrote {args.json}", file=status)
    if args.junit:
        _write_junit(Path(args.junit), gm, about, gates, text, time.perf_counter() - started)
        print(f"Wrote {args.junit}", file=status)
    failed = 0
    for gate in gates:
        if gate.violated:
            failed += 1
            print(VIOLATED.format(name=gate.name, value=gate.shown, op=gate.op, limit=f"{gate.limit:g}",
                                  expr=gate.expr), file=sys.stderr)
    return EXIT_VIOLATED if failed else EXIT_OK


def _write_junit(path: Path, gm, about: dict, gates, text: str, elapsed: float) -> None:
    """Write the JUnit XML of the gates (whole or not at all), with what was audited as properties."""
    from glasswing import __version__
    from glasswing.reports._ci import junit_xml

    head = gm.headline()
    scope = ("every group" if head.include_small_groups else
             f"groups with at least {gm.min_group_size:,} rows and the counts each needs")
    properties = {"data": about.get("data"), "data_sha256": about.get("data_sha256"),
                  "model_sha256": about.get("model_sha256"), "rows": int(gm.overall["n"]),
                  "predictions": about.get("predictions"),
                  "decision_rule": decision_sentence(gm.decision_rule()), "headline": scope,
                  "glasswing_version": __version__}
    xml = junit_xml(gates, suite=f"fairness gates: {about.get('data', 'audit')}", properties=properties,
                    stdout=text, elapsed=elapsed)
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(xml, encoding="utf-8")
    tmp.replace(path)


def scored_column(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """Return (prediction, score) columns: ``--prediction COL --threshold T`` makes COL the score."""
    if args.prediction and args.threshold is not None and not args.score:
        return None, args.prediction
    return args.prediction, args.score


def decision_options(args: argparse.Namespace) -> dict:
    """``audit_dataset`` options from the decision and group options."""
    from glasswing import ingest

    return {"bins": ingest.parse_bins(args.bins), "merge_below": args.merge_rare,
            "include_small_groups": getattr(args, "include_small_groups", False),
            "four_fifths": getattr(args, "four_fifths", 0.8), "selected": args.selected,
            "label_map": ingest.parse_label_map(args.label_map) or None}


def _audit(args: argparse.Namespace, where: dict):
    """Run the audit through the Python API (``glasswing.audit``); return (GroupMetrics, about, inputs).

    ``inputs`` is the (dataset, model) audited, which ``--compare-model`` scores again with a second model;
    ``where`` is :func:`source_options`.
    """
    from glasswing import _api

    prediction, score = scored_column(args)
    options = decision_options(args)
    gm, dataset, model, about = _api._audit(
        args.data, args.model, y_true=args.target, y_pred=prediction, y_score=score,
        sensitive_features=list(args.sensitive), threshold=args.threshold, pos_label=args.positive_label,
        use_scores=prediction is None and args.threshold is not None, label_map=options["label_map"],
        selected=args.selected, bins=options["bins"], merge_rare=args.merge_rare,
        min_group_size=args.min_group_size, include_small_groups=args.include_small_groups,
        four_fifths=args.four_fifths, trusted=args.trust, n_boot=args.bootstrap, seed=args.seed,
        features=args.features, **where)
    if not args.model:  # the column as given (``--prediction COL --threshold T`` audits COL as a score)
        about["predictions"] = f"column {args.prediction or score}"
    return gm, about, (dataset, model)


def render(gm, about: dict) -> str:
    """Return the audit as plain text: decision rule, table by group, headline, disparities, warnings."""
    metrics = list(TABLE_METRICS) + (["auc"] if "auc" in gm.metrics else [])
    table = gm.table(metrics)
    groups = [f"{g} *" if small else str(g) for g, small in zip(table.index, table["small"], strict=True)]
    table = table.drop(columns="small")
    confusion = gm.confusion
    for c in ("TP", "FP", "FN", "TN"):
        table[c] = [f"{v:,.0f}" for v in confusion[c]]
    header = [table.index.name or "group", *table.columns]
    rows = [[g, *map(str, r)] for g, r in zip(groups, table.to_numpy().tolist(), strict=True)]
    totals = confusion[["TP", "FP", "FN", "TN"]].sum()
    rows.append(["overall", str(int(gm.overall["n"])), *(f"{gm.overall[m]:.3f}" for m in metrics),
                 *(f"{totals[c]:,.0f}" for c in ("TP", "FP", "FN", "TN"))])
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    rule = gm.decision_rule()
    out = [f"Fairness audit of {about['data']} ({int(gm.overall['n']):,} rows; predictions: "
           f"{about['predictions']}; positive label {gm.pos_label!r})", "",
           "Decision rule: " + decision_sentence(rule), "",
           line(header), line(["-" * w for w in widths]), *map(line, rows),
           f"Rates with {gm.confidence:.0%} Wilson intervals. * fewer than {gm.min_group_size:,} rows: too "
           "small to conclude from.", ""]
    head = gm.headline()
    scope = ("every group" if head.include_small_groups else
             f"groups with at least {gm.min_group_size:,} rows and the counts each needs")
    out += [f"Headline ({scope}; {gm.confidence:.0%} intervals: Newcombe for differences, Katz for ratios):",
            *_disparity_lines(head), "", head.sentence, "",
            "All groups (fairlearn's definitions; intervals as above):", *_disparity_lines(gm), "",
            gm.to_dict()["four_fifths"]["context"]]
    if about.get("notes"):
        out += ["", "Notes on the data:", *(f"  - {n}" for n in about["notes"])]
    if gm.warnings:
        out += ["", "Warnings:", *(f"  - {w}" for w in gm.warnings)]
    return "\n".join(out)


def decision_sentence(rule: dict) -> str:
    """Return the decision rule in one line: favourable label, threshold, source, "selected", AUC."""
    parts = [f"positive outcome {rule['favourable']!r}; {rule['rule']}"]
    if rule.get("source"):
        parts.append(f"predictions from {rule['source']}")
    parts.append(f"\"selected\" means {rule['selected']}")
    perf = f"overall accuracy {rule['accuracy']:.3f}"
    if rule.get("auc") is not None:
        perf += f", AUC {rule['auc']:.3f}"
    parts.append(perf)
    return "; ".join(parts) + "."


def _disparity_lines(source) -> list[str]:
    """One line per disparity of ``GroupMetrics.disparity_table()`` or of a headline."""
    from glasswing.audits._verdicts import disparity_rows, interval_text

    if hasattr(source, "disparity_table"):
        table = source.disparity_table()
        entries = [(name, r["value"], r.iloc[2], r["verdict"], r["note"], r["between"])
                   for name, r in table.iterrows()]
    else:
        detail = {n: r.to_dict() for n, r in source.disparities.iterrows()}
        rows = disparity_rows(source.summary, detail)
        entries = [(r["name"], r["value"], interval_text(r["low"], r["high"]), r["verdict"], r["note"],
                    " vs ".join(r["groups"])) for r in rows]
    width = max(len(e[0]) for e in entries)
    out = []
    for name, value, span, verdict, note, between in entries:
        shown = "undefined" if value is None else f"{value:.3f}"
        extra = f"; {note}" if note else ""
        where = f"  [{between}]" if between else ""
        out.append(f"  {name.ljust(width)}  {shown}  ({span})  {verdict.lower()}{extra}{where}")
    return out
