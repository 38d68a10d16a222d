"""``glasswing explain``: attributions for table rows (CSV), batches (Parquet) or one image (a .npy map).

A Parquet ``--out`` explains every row of ``--data`` (or ``--rows``) in chunks, in this process, in
``--jobs`` worker processes, or on Spark (``--engine spark``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from glasswing._csv import neutralise
from glasswing._errors import GlasswingError

NO_OUT_FOLDER = "The folder for --out does not exist: {folder}."
OUT_SUFFIX = "--out must name a {suffix} file for {what}; got '{out}'."
NOT_WRITABLE = "Cannot write --out {out}: the folder {folder} is not writable; choose another folder."
NEEDS_PARQUET = ("--jobs and --engine spark write a batch output, one row per explained row: give --out "
                 "FILE.parquet; got '{out}'.")
SPARK_ROWS = ("--engine spark explains every row of --data; leave out --rows, or use the local engine "
              "for a selection.")
#: Suffixes that make ``--out`` a batch output (Parquet).
BATCH_SUFFIXES = (".parquet", ".pq")
NEEDS_ROWS = "--data needs --rows to say which rows to explain, e.g. --rows 0:100 or --rows 3,7,9."
WRONG_INPUT = "This is {article} {modality} model, so give {flag} instead."
BAD_PARAM = "--param takes NAME=VALUE, e.g. --param num_samples=2000; got '{text}'."
BAD_NUMBER = "--param {name} takes a number (its default is {default}); got '{value}'."
BAD_SIZE = "--input-size takes one size or height,width in pixels, e.g. 224 or 160,200; got '{text}'."
BAD_CHANNELS = "--{flag} takes one number per channel, separated by commas, e.g. {example}; got '{text}'."
NEEDS_SIZE = ("--mean, --std and --grayscale describe an image model's input, so give its size too, e.g. "
              "--input-size 224.")
PREPROCESS_UNREADABLE = "Cannot read --preprocess {path}: {reason}."
PREPROCESS_NOT_JSON = ("--preprocess {path} is not a JSON object ({reason}); write e.g. {{\"size\": "
                       "[224, 224], \"mean\": [0.485, 0.456, 0.406], \"std\": [0.229, 0.224, 0.225]}}.")
PREPROCESS_KEYS = ("--preprocess {path} has the unknown key(s) {keys}; it takes: size, mean, std, grayscale, "
                   "class_names.")
#: The keys a --preprocess file may hold: ``ImagePreprocess``'s fields and the class names.
PREPROCESS_FILE_KEYS = ("size", "mean", "std", "grayscale", "class_names")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``explain`` subcommand."""
    p = sub.add_parser(
        "explain", help="explain table rows (CSV of attributions) or an image (.npy heatmap)",
        description="Table rows: one CSV row per explained row, one column per original feature, plus "
                    "the target class, the base value and the model output (SHAP: base value + features = "
                    "output). Image: the H x W map scaled to [0, 1], saved with numpy.save.")
    p.add_argument("--model", required=True, metavar="FILE",
                   help="model file (.skops, .onnx, .pt, .safetensors)")
    given = p.add_mutually_exclusive_group(required=True)
    given.add_argument("--data", metavar="FILE", help="CSV or Parquet file holding the rows (tabular models)")
    given.add_argument("--image", metavar="FILE", help="image file (PNG, JPEG; image models)")
    p.add_argument("--rows", metavar="SPEC", help="rows of --data: 7, 0:100 (end excluded) or 3,7,9")
    p.add_argument("--features", nargs="+", metavar="COL",
                   help="the model's input columns of --data (default: the columns it names, matched as "
                        "given or with '-', spaces and dots read as '_'; for a one-matrix ONNX model, the "
                        "numeric columns)")
    p.add_argument("--method", required=True, metavar="NAME",
                   help="a registry name: shap, lime, permutation_importance, gradcam, ...")
    p.add_argument("--target", metavar="CLASS",
                   help="class to explain (default: each input's predicted class)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="a method parameter, e.g. --param algorithm=permutation (repeatable)")
    p.add_argument("--out", required=True, metavar="FILE",
                   help=".csv for --data, .parquet for every row of --data in a batch (row id, class "
                        "explained, one column per feature, base value, model output), .npy for --image")
    batch = p.add_argument_group(
        "batch explanations (--out FILE.parquet)", "every row of --data (or --rows), in chunks; the values "
        "equal a single-process run's: the background is drawn once from the whole table and each row is "
        "explained with a generator seeded --param seed")
    batch.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="worker processes (joblib) for the local engine (default 1)")
    batch.add_argument("--engine", choices=("local", "spark"), default="local",
                       help="local (default): this machine; spark: read --data with Spark and explain each "
                            "partition on the executors (mapInPandas); --out is then a folder of Parquet "
                            "part files")
    batch.add_argument("--spark-master", default="local[2]", metavar="URL",
                       help="Spark master for --engine spark: local[2] (default), spark://host:7077, yarn")
    p.add_argument("--architecture", metavar="NAME", help="architecture of a weights-only PyTorch file")
    p.add_argument("--class-names", metavar="NAMES",
                   help="names of an image model's classes in output order, e.g. 'cat,dog' (then --target "
                        "takes a name)")
    image = p.add_argument_group(
        "image preprocessing", "how an image becomes the input of a model whose file does not say "
        "(TorchScript, ONNX): resized to --input-size, scaled to [0, 1], then (x - mean) / std per channel")
    image.add_argument("--input-size", metavar="H[,W]", help="input size in pixels, e.g. 224 or 160,200")
    image.add_argument("--mean", metavar="M,M,M",
                       help="mean per channel (default ImageNet's 0.485,0.456,0.406)")
    image.add_argument("--std", metavar="S,S,S",
                       help="std per channel (default ImageNet's 0.229,0.224,0.225)")
    image.add_argument("--grayscale", action="store_true", help="the model takes one grey channel")
    image.add_argument("--preprocess", metavar="FILE.json",
                       help='all of these in one JSON file: {"size": [224, 224], "mean": [...], "std": '
                            '[...], "grayscale": false, "class_names": [...]}; the flags above override it')
    p.add_argument("--trust", action="store_true",
                   help="allow pickle-based model files (they can run code: only files you trust)")
    p.set_defaults(func=run)


def _params(texts: list[str], spec) -> dict:
    """``NAME=VALUE`` strings as typed values (the type of the parameter's default)."""
    defaults = {p.name: p.default for p in spec.params}
    params = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name:
            raise GlasswingError(BAD_PARAM.format(text=text))
        typed = _typed(value, defaults.get(name))
        default = defaults.get(name)
        if isinstance(default, int | float) and not isinstance(default, bool) and isinstance(typed, str):
            raise GlasswingError(BAD_NUMBER.format(name=name, default=default, value=value))
        params[name] = typed
    return params


def _typed(value: str, default):
    """``value`` as the type of ``default`` (numbers stay numbers where the default is unknown)."""
    if isinstance(default, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    for kind, applies in ((int, default is None or isinstance(default, int)),
                          (float, default is None or isinstance(default, int | float))):
        if applies:
            try:
                return kind(value)
            except ValueError:
                pass
    return value


def preprocess_options(args: argparse.Namespace) -> tuple[dict | None, object]:
    """Return (the image preprocessing the flags and ``--preprocess`` give, or None; the class names)."""
    import json

    spec: dict = {}
    class_names = args.class_names
    if args.preprocess:
        path = Path(args.preprocess)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            raise GlasswingError(PREPROCESS_UNREADABLE.format(path=path, reason=reason.rstrip("."))) from None
        try:
            spec = json.loads(text)
        except json.JSONDecodeError as err:
            raise GlasswingError(PREPROCESS_NOT_JSON.format(path=path, reason=err.msg)) from None
        if not isinstance(spec, dict):
            raise GlasswingError(PREPROCESS_NOT_JSON.format(path=path, reason=f"a {type(spec).__name__}"))
        unknown = sorted(set(spec) - set(PREPROCESS_FILE_KEYS))
        if unknown:
            raise GlasswingError(PREPROCESS_KEYS.format(path=path, keys=", ".join(map(repr, unknown))))
        names = spec.pop("class_names", None)
        class_names = class_names or names
        if isinstance(spec.get("size"), int):
            spec["size"] = [spec["size"], spec["size"]]
    if args.input_size:
        parts = args.input_size.replace("x", ",").split(",")
        try:
            size = [int(v) for v in parts]
        except ValueError:
            size = []
        if len(size) not in (1, 2) or min(size, default=0) < 1:
            raise GlasswingError(BAD_SIZE.format(text=args.input_size))
        spec["size"] = size * 2 if len(size) == 1 else size
    for flag, example in (("mean", "0.485,0.456,0.406"), ("std", "0.229,0.224,0.225")):
        text = getattr(args, flag)
        if text:
            try:
                spec[flag] = [float(v) for v in text.split(",")]
            except ValueError:
                raise GlasswingError(BAD_CHANNELS.format(flag=flag, example=example, text=text)) from None
    if args.grayscale:
        spec["grayscale"] = True
    if spec and "size" not in spec:
        raise GlasswingError(NEEDS_SIZE)
    return (spec or None), class_names


def _check_out(out: Path, suffix: str, what: str) -> None:
    if out.suffix.lower() != suffix:
        raise GlasswingError(OUT_SUFFIX.format(suffix=suffix, what=what, out=out))
    if not out.parent.is_dir():
        raise GlasswingError(NO_OUT_FOLDER.format(folder=out.parent))


def run(args: argparse.Namespace) -> int:
    """Load the model and the input, explain, and write the result to ``--out``."""
    out = Path(args.out)
    if args.data is not None and out.suffix.lower() in BATCH_SUFFIXES:
        return _explain_batch(args, out)
    if args.jobs != 1 or args.engine != "local":
        raise GlasswingError(NEEDS_PARQUET.format(out=out))
    if args.data is not None:
        if not args.rows:
            raise GlasswingError(NEEDS_ROWS)
        _check_out(out, ".csv", "table rows")
    else:
        _check_out(out, ".npy", "an image map")
    from glasswing import _api, explainers, ingest

    preprocess, class_names = preprocess_options(args)
    model = _api.load_model(args.model, trusted=args.trust, architecture=args.architecture,
                            class_names=class_names, preprocess=preprocess)
    if (args.data is not None) != (model.modality == "tabular"):
        flag = "--data FILE --rows SPEC" if model.modality == "tabular" else "--image FILE"
        article = "an" if model.modality[:1] in "aeiou" else "a"
        raise GlasswingError(WRONG_INPUT.format(article=article, modality=model.modality, flag=flag))
    spec = explainers.registry.get(args.method)
    params = _params(args.param, spec)
    if args.image is not None:
        return _explain_image(model, args, params, out)
    data = ingest.load_dataset(args.data, features=args.features)
    for note in (*data.notes, *ingest.input_notes(model, data)):  # the encoding read; how columns feed it
        print(f"Note: {note}")
    rows = explainers.rows_from_spec(args.rows, len(data))
    result = _api.explain(model, data, rows=rows, method=args.method, target=args.target, **params)
    index = rows if spec.scope == "local" else ["all"]
    table = explainers.attribution_frame(result, index=index)
    table.index.name = "row"
    neutralise(table).to_csv(out, float_format="%.17g")  # no cell or header can be a formula
    first = result[0]
    space = f", {first.output}" if first.output else ""
    print(f"{spec.label} ({first.algorithm}{space}): explained {len(rows):,} rows; wrote {out}")
    return 0


def _explain_image(model, args: argparse.Namespace, params: dict, out: Path) -> int:
    import numpy as np

    from glasswing import _api, explainers

    (exp,) = _api.explain(model, Path(args.image), method=args.method, target=args.target, **params)
    values = np.asarray(exp.values, dtype=np.float64)
    low, high = float(values.min()), float(values.max())
    scaled = (values - low) / (high - low) if high > low else np.zeros_like(values)
    np.save(out, scaled.astype(np.float32))
    print(f"{explainers.registry.get(args.method).label} for class {exp.target!r}: wrote a "
          f"{scaled.shape[0]} x {scaled.shape[1]} map scaled to [0, 1] to {out}")
    return 0


def _explain_batch(args: argparse.Namespace, out: Path) -> int:
    """Explain every row (or ``--rows``) of ``--data`` into a Parquet batch table, locally or on Spark."""
    from glasswing import _api, explainers, ingest
    from glasswing.explainers import _batch

    if isinstance(args.jobs, int) and args.jobs < 1:
        raise GlasswingError(_batch.BAD_JOBS.format(jobs=args.jobs))
    if args.engine == "spark" and args.rows:
        raise GlasswingError(SPARK_ROWS)
    if not (args.engine == "spark" and "://" in args.out):  # a cluster path is Spark's to check
        _check_writable(out)
    model = _api.load_model(args.model, trusted=args.trust)
    if model.modality != "tabular":
        raise GlasswingError(WRONG_INPUT.format(article="an", modality=model.modality, flag="--image FILE"))
    file = _batch.ModelFile(Path(args.model).read_bytes(), Path(args.model).name, args.trust)
    spec = explainers.registry.get(args.method)
    params = _params(args.param, spec)
    _batch.check_batch(model, args.method)
    if args.engine == "spark":
        return _explain_spark(args, out, file, spec, params)
    data = ingest.load_dataset(args.data, features=args.features)
    for note in (*data.notes, *ingest.input_notes(model, data)):
        print(f"Note: {note}")
    frame = model.input_frame(data.frame if model.feature_names else data.X, data=f"'{data.name}'")
    background = _batch.batch_background(frame, args.method, params)  # drawn from every row, as one call
    rows = rows_from(args.rows, len(frame))
    table = frame if rows is None else frame.iloc[rows]
    result = _batch.explain_batch(file, table, method=args.method, target=args.target, jobs=args.jobs,
                                  ids=rows, background=background, **params)
    _write(result, out)
    workers = "in this process" if args.jobs == 1 else f"with {args.jobs} worker processes"
    space = f", {result.attrs['output']}" if result.attrs.get("output") else ""
    print(f"{spec.label} ({result.attrs.get('algorithm', '')}{space}): explained {len(result):,} rows "
          f"{workers}; wrote {out}")
    return 0


def rows_from(spec: str | None, n_rows: int) -> list[int] | None:
    """Return the rows ``--rows`` selects, or None (every row) without it."""
    from glasswing import explainers

    return None if not spec else explainers.rows_from_spec(spec, n_rows)


def _check_writable(out: Path) -> None:
    """Refuse, before any work, an ``--out`` whose folder is missing or cannot take a new file."""
    import tempfile

    if not out.parent.is_dir():
        raise GlasswingError(NO_OUT_FOLDER.format(folder=out.parent))
    try:
        with tempfile.NamedTemporaryFile(dir=out.parent, prefix=".glasswing-", suffix=".probe"):
            pass
    except OSError:
        raise GlasswingError(NOT_WRITABLE.format(out=out, folder=out.parent)) from None


def _write(table, out: Path) -> None:
    try:
        table.to_parquet(out, index=False)
    except OSError as err:
        raise GlasswingError(NOT_WRITABLE.format(out=out, folder=out.parent) if err.errno in (13, 30)
                             else f"Cannot write --out {out}: {err.strerror or err}.") from None


def _explain_spark(args: argparse.Namespace, out: Path, file, spec, params: dict) -> int:
    from glasswing.explainers import _batch_spark
    from glasswing.ingest._spark import spark_session
    from glasswing.ingest._spark_table import spark_table

    _batch_spark.check_spark()
    session = spark_session(args.spark_master)
    session.sparkContext.setLogLevel("ERROR")
    frame = spark_table(session, args.data)
    if args.features:
        missing = [c for c in args.features if c not in frame.columns]
        if missing:
            from glasswing.ingest._errors import IngestError

            raise IngestError(f"Column(s) {', '.join(map(repr, missing))} of --features are not in "
                              f"{args.data}; it has: {', '.join(frame.columns[:20])}.")
        frame = frame.select(*[f"`{c}`" for c in args.features])
    result = _batch_spark.explain_spark(file, frame, method=args.method, target=args.target, **params)
    result.write.mode("overwrite").parquet(str(out))
    n = session.read.parquet(str(out)).count()
    print(f"{spec.label} on Spark ({args.spark_master}): explained {n:,} rows; wrote {out} (a folder of "
          "Parquet part files)")
    return 0
