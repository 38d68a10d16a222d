"""``glasswing audit --model A --compare-model B``: the paired comparison of two models on the same rows.

Kept apart from ``audit.py`` (which only hooks it in); imports only the standard library at module top.
"""

from __future__ import annotations

import argparse

from glasswing._errors import GlasswingError

NEEDS_MODEL = "--compare-model needs --model: the comparison scores both models on the same rows."


def add_options(p: argparse.ArgumentParser, *, adds: str = 'adds a "compare" block to --json',
                seeded: str = "seeded by --seed") -> None:
    """Add ``--compare-model`` (and the number of paired resamples) to ``glasswing audit`` or ``report``."""
    p.add_argument("--compare-model", metavar="FILE",
                   help="a second model to compare with --model on the same rows: every rate by group for "
                        "both, B - A with a paired bootstrap interval, and which groups the change helps or "
                        f"hurts ({adds})")
    p.add_argument("--compare-resamples", type=int, default=1000, metavar="N",
                   help=f"paired bootstrap resamples of the comparison (default 1000; {seeded})")


def check(args: argparse.Namespace) -> None:
    """Refuse ``--compare-model`` without ``--model`` (one sentence)."""
    if getattr(args, "compare_model", None) and not args.model:
        raise GlasswingError(NEEDS_MODEL)


def compare(args: argparse.Namespace, dataset, model):
    """Return the ``audits.ModelComparison`` of ``--model`` (A) and ``--compare-model`` (B) on ``dataset``."""
    from glasswing import _api, audits
    from glasswing.commands.audit import decision_options, scored_column

    other = _api.load_model(args.compare_model, trusted=args.trust)
    options = decision_options(args)
    _, score = scored_column(args)
    return audits.compare_models(
        dataset, model, other, sensitive=list(args.sensitive), threshold=args.threshold,
        pos_label=model_label(model, args.positive_label), bins=options["bins"], merge_below=args.merge_rare,
        label_map=options["label_map"], selected=args.selected, min_group_size=args.min_group_size,
        n_boot=args.compare_resamples, seed=args.seed)


def model_label(model, label):
    """``--positive-label`` as the model's class ("1" on a command line is the class 1)."""
    if label is None or model.modality != "tabular":
        return label
    return next((c for c in model.classes_.tolist() if str(c) == str(label)), label)


def render(cmp) -> str:
    """Return the comparison as plain text: headline sentences, every rate by group, the disparities."""
    a, b = cmp.names
    table = cmp.table()
    lines = [f"Model comparison: B = {b} against A = {a}", *cmp.sentences(), ""]
    lines += _text_table(table.drop(columns="small"))
    lines += ["", "Summary disparities (groups both headlines use):", *_text_table(cmp.disparity_table())]
    return "\n".join(lines)


def _text_table(frame) -> list[str]:
    header = [str(c) for c in frame.columns]
    rows = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in r] for r in frame.to_numpy().tolist()]
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=True)]

    def line(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), line(["-" * w for w in widths]), *map(line, rows)]
