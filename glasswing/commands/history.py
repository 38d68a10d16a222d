"""``glasswing history list|show|compare|export``: the saved audit runs, from the command line."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from glasswing._errors import GlasswingError

BAD_OUT = "--out must end in .pdf, .html or .json; got '{out}'."
NO_OUT_FOLDER = "The folder for --out does not exist: {folder}."
ARROWS = {"improved": "▲ improved", "worse": "▼ worse", "unchanged": "= unchanged", "n/a": "  n/a"}


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``history`` subcommand and its actions."""
    p = sub.add_parser("history", help="list, show, compare and export saved audit runs",
                       description="The audit runs saved from the dashboard or with `glasswing report "
                                   "--save`. The history lives in the data folder (GLASSWING_DATA_DIR) "
                                   "unless GLASSWING_HISTORY_URL or --url names another database.")
    p.add_argument("--url", metavar="URL",
                   help="sqlite:///PATH or postgresql://... (default: the data folder)")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="one line per saved run, newest first")
    ls.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show = actions.add_parser("show", help="a saved run: what was audited and its disparities")
    show.add_argument("run_id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true", help="print the whole run as JSON")
    cmp = actions.add_parser("compare", help="disparities of two runs side by side: improved or worse")
    cmp.add_argument("before", type=int, metavar="ID_BEFORE")
    cmp.add_argument("after", type=int, metavar="ID_AFTER")
    exp = actions.add_parser("export", help="write a saved run's report (PDF, HTML or JSON)")
    exp.add_argument("run_id", type=int, metavar="ID")
    exp.add_argument("--out", required=True, metavar="FILE", help="run.pdf, run.html or run.json")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Dispatch to the chosen action."""
    if args.action == "export":
        out = Path(args.out)
        if out.suffix.lower() not in (".pdf", ".html", ".htm", ".json"):
            raise GlasswingError(BAD_OUT.format(out=args.out))
        if not out.parent.is_dir():
            raise GlasswingError(NO_OUT_FOLDER.format(folder=out.parent))
    from glasswing.audits import open_history

    with open_history(args.url) as history:
        action = {"list": _list, "show": _show, "compare": _compare, "export": _export}[args.action]
        return action(history, args)


def _list(history, args) -> int:
    table = history.list_runs()
    if args.json:
        print(table.to_json(orient="records", indent=2))
        return 0
    if table.empty:
        print(f"No saved runs yet in {history.where}.")
        return 0
    shown = table.assign(model_sha256=table["model_sha256"].str[:12],
                         dataset_sha256=table["dataset_sha256"].str[:12],
                         created_at=table["created_at"].str.replace("T", " ").str.replace("+00:00", ""))
    print(shown.to_string(index=False))
    return 0


def _show(history, args) -> int:
    from glasswing.audits import run_to_dict
    from glasswing.reports import Report

    saved = history.get(args.run_id)
    if args.json:
        print(json.dumps(run_to_dict(saved), indent=2))
        return 0
    report = Report.from_run(saved)
    print(f"Run {saved.id}: {saved.title}  ({saved.created_at})")
    if saved.model_name:
        model = f"{saved.model_name} {saved.version_label}".rstrip()
        print(f"  model    {model}  sha256 {saved.model_sha256}")
    print(f"  data     {saved.dataset_name}, {saved.n_rows:,} rows  sha256 {saved.dataset_sha256}")
    for g in report.groups():
        rates = "  ".join(f"{k}={v:.3f}" for k, v in g["values"].items() if v is not None)
        print(f"  group {g['label']}: n={g['n']}  {rates}")
    for d in report.disparities():
        shown = "n/a" if d.value is None else f"{d.value:.3f}"
        print(f"  {d.label}: {shown}  {d.status.upper()} ({d.verdict.lower()})")
    if saved.notes:
        print(f"  notes: {saved.notes}")
    if saved.reviewer:
        print(f"  reviewer: {saved.reviewer}")
    return 0


def _compare(history, args) -> int:
    from glasswing.audits import compare_runs

    before, after = history.get(args.before), history.get(args.after)
    table = compare_runs(before, after)
    print(f"Before: {before.label}\nAfter:  {after.label}")
    for row in table.itertuples():
        print(f"  {row.metric:<32} {row.before:>8.3f} -> {row.after:>8.3f}  ({row.delta:+.3f})  "
              f"{ARROWS[row.change]}")
    return 0


def _export(history, args) -> int:
    from glasswing.reports import Report, export_report

    path = export_report(Report.from_run(history.get(args.run_id)), args.out)
    print(f"Wrote {path}")
    return 0
