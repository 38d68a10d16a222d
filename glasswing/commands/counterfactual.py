"""``glasswing counterfactual``: the smallest changes that flip rows' decisions, or the burden by group."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glasswing._csv import neutralise
from glasswing._errors import GlasswingError

OUT_SUFFIX = "--out must name a .csv file; got '{out}'."
NO_OUT_FOLDER = "The folder for --out does not exist: {folder}."
NEEDS_ROWS = "Give --rows to say which rows to change, e.g. --rows 7 or --rows 0:20 (or --burden)."
BURDEN_NEEDS_SENSITIVE = ("--burden needs --sensitive COL to say which groups to compare, e.g. --sensitive "
                          "sex.")
BAD_RANGE = "--range takes COL=LOW:HIGH with two numbers, e.g. --range duration=6:48; got '{text}'."
NONE_FOUND = "None of the {n:,} rows got a counterfactual; the first says: {reason}"


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``counterfactual`` subcommand."""
    p = sub.add_parser(
        "counterfactual", help="what would have to change to flip rows' decisions, or the burden by group",
        description="For each row: up to --count diverse counterfactuals (Growing Spheres, Laugel et al. "
                    "2018), each scored again by the model; the CSV holds the changed features only (the "
                    "original row first). With --burden: the average distance of each unfavourable row's "
                    "cheapest counterfactual per --sensitive group, with bootstrap intervals (CERTIFAI's "
                    "burden). Distance: each numeric change divided by its feature's MAD, plus 1 per "
                    "category changed.")
    p.add_argument("--model", required=True, metavar="FILE", help="a tabular model file (.skops, .onnx)")
    p.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet file holding the rows")
    p.add_argument("--rows", metavar="SPEC", help="rows: 7, 0:100 (end excluded) or 3,7,9 (--burden: all)")
    p.add_argument("--immutable", nargs="+", metavar="COL", default=None,
                   help="features that never change (default: the --sensitive columns)")
    p.add_argument("--increase-only", nargs="+", metavar="COL", default=[],
                   help="numeric features that can only go up, e.g. age")
    p.add_argument("--range", action="append", default=[], metavar="COL=LOW:HIGH", dest="ranges",
                   help="keep a numeric feature within LOW..HIGH (default: the range in the data); "
                        "repeatable")
    p.add_argument("--count", type=int, default=3, metavar="N", help="counterfactuals per row (default 3)")
    p.add_argument("--desired", metavar="CLASS",
                   help="the class to reach (default: any other class; --burden: the model's last class)")
    p.add_argument("--threshold", type=float, metavar="T",
                   help="binary models: the desired class needs probability >= T (default: the most likely)")
    p.add_argument("--seed", type=int, default=0, help="seed of the search and the bootstrap (default 0)")
    p.add_argument("--burden", action="store_true", help="write the recourse burden by --sensitive group")
    p.add_argument("--sensitive", nargs="+", metavar="COL", default=[],
                   help="the group column(s) of --burden; several mean their intersection")
    p.add_argument("--bins", nargs="+", metavar="COL=CUTS", default=None,
                   help="cut a numeric sensitive column into bands, e.g. age=25,45 (default: quartiles)")
    p.add_argument("--min-group-size", type=int, default=30, metavar="N",
                   help="the burden's headline uses groups with at least N rows with a counterfactual")
    p.add_argument("--out", required=True, metavar="FILE", help="the .csv file to write")
    p.add_argument("--trust", action="store_true",
                   help="allow pickle-based model files (they can run code: only files you trust)")
    p.set_defaults(func=run)


def _ranges(texts: list[str]) -> dict[str, tuple[float, float]]:
    out = {}
    for text in texts:
        name, sep, span = text.partition("=")
        low, colon, high = span.partition(":")
        try:
            if not (sep and colon and name):
                raise ValueError
            out[name] = (float(low), float(high))
        except ValueError:
            raise GlasswingError(BAD_RANGE.format(text=text)) from None
    return out


def run(args: argparse.Namespace) -> int:
    """Load the model and the rows, search, and write the counterfactuals (or the burden) to ``--out``."""
    out = Path(args.out)
    if out.suffix.lower() != ".csv":
        raise GlasswingError(OUT_SUFFIX.format(out=args.out))
    if not out.parent.is_dir():
        raise GlasswingError(NO_OUT_FOLDER.format(folder=out.parent))
    if args.burden and not args.sensitive:
        raise GlasswingError(BURDEN_NEEDS_SENSITIVE)
    if not args.burden and not args.rows:
        raise GlasswingError(NEEDS_ROWS)
    ranges = _ranges(args.ranges)
    from glasswing import _api, explainers

    model = _api.load_model(args.model, trusted=args.trust)
    if model.modality != "tabular":
        raise GlasswingError(explainers._counterfactual.NOT_TABULAR.format(name=model.name,
                                                                           modality=model.modality))
    data = _api.load_data(args.data, sensitive_features=args.sensitive)
    rows = explainers.rows_from_spec(args.rows, len(data)) if args.rows else None
    immutable = args.immutable if args.immutable is not None else \
        [c for c in args.sensitive if c in (model.feature_names or data.frame.columns)]
    options = {"immutable": immutable, "increase_only": args.increase_only, "ranges": ranges,
               "threshold": args.threshold, "seed": args.seed}
    if args.burden:
        return _burden(model, data, rows, args, options, out)
    found = explainers.counterfactuals(model, data.frame.iloc[rows], reference=data.frame, count=args.count,
                                       desired=args.desired, **options)
    shown = [f for f in found if len(f)]
    for f in found:
        if f.reason:
            print(f"Row {f.row}: {f.reason}")
    if not shown:
        raise GlasswingError(found[0].reason if len(found) == 1 else
                             NONE_FOUND.format(n=len(found), reason=found[0].reason))
    import pandas as pd

    table = pd.concat({f.row: f.changes() for f in shown}, names=["row", "counterfactual"])
    ends = ["distance", "prediction", "probability"]
    table = table[[c for c in model.feature_names or data.frame.columns if c in table.columns] + ends]
    neutralise(table).to_csv(out, float_format="%.17g")
    total = sum(len(f) for f in shown)
    print(f"{total:,} counterfactuals for {len(shown):,} of {len(found):,} rows, each scored again by the "
          f"model; wrote {out}")
    print(explainers._counterfactual.DISTANCE)
    return 0


def _burden(model, data, rows, args: argparse.Namespace, options: dict, out: Path) -> int:
    from glasswing import audits, ingest

    def progress(i: int, n: int) -> None:
        if i == n or i % 25 == 0:
            print(f"Searched {i:,} of {n:,} rows with an unfavourable decision", file=sys.stderr)

    burden = audits.recourse_burden_of(
        model, data, sensitive=list(args.sensitive), favourable=args.desired, rows=rows,
        bins=ingest.parse_bins(args.bins), min_group_size=args.min_group_size, progress=progress, **options)
    neutralise(burden.table(digits=6)).to_csv(out, index=False, float_format="%.17g")
    o = burden.overall
    print(f"Recourse burden over {o['n_unfavourable']:,} rows with an unfavourable decision "
          f"({o['n_found']:,} with a counterfactual): {burden.sentence}")
    print(burden.distance)
    print(f"Wrote {out}")
    return 0
