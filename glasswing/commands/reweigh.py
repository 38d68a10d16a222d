"""``glasswing reweigh``: write Kamiran & Calders reweighing weights, one per row of the data."""

from __future__ import annotations

import argparse
from pathlib import Path

from glasswing._csv import neutralise
from glasswing._errors import GlasswingError
from glasswing.commands.audit import add_group_options

NO_OUT_FOLDER = "The folder for --out does not exist: {folder}."
OUT_NOT_CSV = "--out must name a .csv file; got '{out}'."


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``reweigh`` subcommand."""
    p = sub.add_parser(
        "reweigh", help="write reweighing weights (Kamiran & Calders) that make label and group independent",
        description="Write one weight per row, w = P(group) P(label) / P(group, label), in the rows' order "
                    "(column 'weight'); train with them as sample_weight to reduce the demographic parity "
                    "difference. Several --sensitive columns mean their intersection.")
    p.add_argument("--data", required=True, metavar="FILE", help="CSV or Parquet file with the training rows")
    p.add_argument("--target", required=True, metavar="COL", help="the label column")
    p.add_argument("--sensitive", required=True, nargs="+", metavar="COL", help="sensitive column(s)")
    p.add_argument("--out", required=True, metavar="FILE", help="CSV file to write (one 'weight' per row)")
    add_group_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Compute the weights, write them to ``--out`` and print the weight of each (group, label)."""
    out = Path(args.out)
    if out.suffix.lower() != ".csv":
        raise GlasswingError(OUT_NOT_CSV.format(out=args.out))
    if not out.parent.is_dir():
        raise GlasswingError(NO_OUT_FOLDER.format(folder=out.parent))
    import pandas as pd

    from glasswing import ingest
    from glasswing.audits import Reweighing

    data = ingest.load_dataset(args.data, target=args.target, sensitive=tuple(args.sensitive))
    reweighing = Reweighing()
    groups, rule = ingest.group_frame(data.frame, list(data.roles.sensitive), ingest.parse_bins(args.bins),
                                      merge_below=args.merge_rare)
    for note in rule.notes:
        print(note)
    weights = reweighing.fit_transform(data.y_true, sensitive_features=groups)
    neutralise(pd.DataFrame({"weight": weights})).to_csv(out, index=False, float_format="%.17g")
    table = reweighing.weights_by_group_.reset_index()
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"Wrote {len(weights):,} weights to {out}")
    return 0
