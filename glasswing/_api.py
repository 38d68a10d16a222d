"""The short Python API for notebooks and pipelines: the functions the command line calls too.

``glasswing.load_model``, ``load_data``, ``load_images``, ``audit``, ``explain``, ``mitigate`` and ``report``
are thin: each gathers its inputs and calls the packages' own functions (``ingest``, ``audits``,
``explainers``, ``reports``), so a notebook, the dashboard and ``glasswing audit`` give the same numbers
and the same sentences. Arguments are keyword-only where fairlearn's are, with fairlearn's names
(``y_true``, ``y_pred``, ``sensitive_features``, ``pos_label``); where a table is given, they name its
columns. Every problem a person can fix raises :class:`glasswing.GlasswingError` with one sentence.

Importing this module imports only the ground; the packages are imported when a function runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from glasswing._errors import GlasswingError

if TYPE_CHECKING:
    from glasswing.audits import ErrorAnalysis, GroupMetrics, MitigationResult
    from glasswing.explainers import Explanations
    from glasswing.ingest import Dataset, ImageSet, Model
    from glasswing.reports import Report

__all__ = ["audit", "error_analysis", "explain", "load_data", "load_images", "load_model", "mitigate",
           "report"]

NEEDS_TARGET = ("Give y_true (the true outcomes) and sensitive_features, or a dataset whose roles name a "
                "target and sensitive columns.")
NEEDS_PREDICTIONS = ("Give the predictions: y_pred= (labels, or scores with threshold=), y_score= with "
                     "threshold=, or model=.")
SCORE_NEEDS_THRESHOLD = ("y_score alone needs threshold= to turn the scores into decisions (score >= "
                         "threshold is positive).")
COLUMN_NAMES_NEED_DATA = ("{argument}={value!r} names a column, so give the table as well, e.g. "
                          "glasswing.audit(data, {argument}={value!r}).")
NOT_A_TABLE = ("Cannot audit a {kind}; give a Dataset (glasswing.load_data), a pandas DataFrame, a CSV or "
               "Parquet path, or arrays as y_true=, y_pred= and sensitive_features=.")
NOT_A_MODEL = "model= must be a loaded model (glasswing.load_model) or a model file's path; got a {kind}."
MITIGATE_DATA = ("Give either data= (split into training and held-out rows) or both train= and test=, "
                 "not neither or all three.")
NOT_EXPLAINABLE = ("Cannot explain a {kind}; give a Dataset or DataFrame of rows (tabular models), or an "
                   "image path, an RGB array, a list of them or an ImageSet (image models).")
COLUMN_NOT_A_NAME = "With a table, {argument}= names one of its columns; got a {kind}."
BURDEN_NEEDS_MODEL = ("The recourse burden needs the model that made the decisions, to search "
                      "counterfactuals; give model= (--model FILE) as well.")
EXPLAIN_NEEDS_MODEL = "explain={method!r} needs the model that made the predictions; give model= as well."
COMPARE_NEEDS_MODEL = ("compare_model= is compared with the audited model on the same rows; give model= as "
                       "well.")
ERRORS_NEED_TARGET = ("Give y_true= (the column of true outcomes) and y_pred=, y_score= with threshold=, or "
                      "model=; or a dataset whose roles name them.")
PARQUET_NEEDS_COLUMNS = ("A Parquet file or folder is audited through DuckDB by column name; give y_true= "
                         "and sensitive_features= as column names (and y_pred= or y_score=).")

SOURCE_OPTIONS_NEED_PATH = ("table=, sql= and engine= name where a file or a database URL lives (or, with "
                            "engine=\"spark\" and no data, a table of Spark's catalog); the data given is a "
                            "{kind}, so leave them out.")

_PARQUET_SUFFIXES = (".parquet", ".pq")


# ---------------------------------------------------------------------------------------------- loading
def load_model(source: Any, *, trusted: bool = False, architecture: str | None = None,
               class_names: Sequence[str] | str | None = None, name: str | None = None,
               preprocess: Any = None) -> Model:
    """Load a classifier from a model file, safely (no code runs unless ``trusted=True``).

    Parameters
    ----------
    source : str, os.PathLike, bytes or binary file object
        A ``.skops`` scikit-learn model, an ``.onnx`` graph, a TorchScript file, a ``.safetensors`` file or
        a weights-only PyTorch state dict (with ``architecture``). Pickle, joblib and whole-module
        ``torch.save`` files only with ``trusted=True``.
    trusted : bool, default False
        Allow formats whose loading runs code the file contains (the command line's ``--trust``). Only for
        files whose origin you trust.
    architecture : str, optional
        The torchvision architecture of a weights-only file (``"resnet18"``).
    class_names : sequence of str or str, optional
        Names of an image model's classes in output order (``["cat", "dog"]`` or ``"cat,dog"``).
    name : str, optional
        Display name; defaults to the file's name.
    preprocess : glasswing.ingest.ImagePreprocess or dict, optional
        How images become an image model's input, where the file does not say (``{"size": [224, 224],
        "mean": [...], "std": [...]}``; the command line's ``--input-size``, ``--mean``, ``--std``).

    Returns
    -------
    glasswing.ingest.Model

    Raises
    ------
    GlasswingError
        For a file that is missing, unreadable, of an unknown format, or that could run code without
        ``trusted=True``, with the same sentence as ``glasswing audit --model``.

    Examples
    --------
    >>> from glasswing._paths import sample_dir
    >>> model = load_model(sample_dir() / "models" / "german_gbm.skops")
    >>> model.kind, model.modality, model.classes_.tolist()
    ('sklearn', 'tabular', [0, 1])
    >>> load_model(b"not a model", name="upload.bin")
    Traceback (most recent call last):
    ...
    glasswing.ingest._errors.IngestError: 'upload.bin' is not a model file Glasswing can read; use .skops \
(scikit-learn), .onnx, TorchScript .pt, .safetensors or a PyTorch state dict (.pt/.pth).
    """
    from glasswing import ingest

    model = ingest.load_model(source, name=name, trusted=trusted, architecture=architecture,
                              preprocess=preprocess)
    if class_names:
        names = ingest.parse_class_names(class_names) if isinstance(class_names, str) else list(class_names)
        model = ingest.with_class_names(model, names)
    return model


def load_data(source: Any, *, y_true: str | None = None, y_pred: str | None = None,
              y_score: str | None = None, sensitive_features: str | Sequence[str] = (),
              features: Sequence[str] | None = None, pos_label: Any = None,
              name: str | None = None) -> Dataset:
    r"""Read a table (CSV, Parquet or a DataFrame) and name the role of its columns.

    Parameters
    ----------
    source : str, os.PathLike, bytes, binary file object or pandas.DataFrame
        The table. Files are read without running anything they contain; the digest of their bytes is
        the data's fingerprint in reports.
    y_true, y_pred, y_score : str, optional
        The columns of true outcomes, logged predicted labels and logged scores.
    sensitive_features : str or sequence of str
        The columns that define the groups (several mean their intersection).
    features : sequence of str, optional
        A model's inputs; default every column except the outcome, prediction and score.
    pos_label : optional
        The favourable outcome (a target with more than two values is then audited one-vs-rest).
    name : str, optional
        Display name; defaults to the file's name.

    Returns
    -------
    glasswing.ingest.Dataset

    Raises
    ------
    GlasswingError
        For an unreadable file or a column that does not exist or cannot take its role (one sentence).

    Examples
    --------
    >>> data = load_data(b"age,sex,y,p\n31,F,1,1\n45,M,0,1\n52,F,0,0\n", y_true="y", y_pred="p",
    ...                  sensitive_features="sex", name="people.csv")
    >>> data.roles.target, data.roles.sensitive, data.roles.features
    ('y', ('sex',), ('age', 'sex'))
    >>> load_data(b"age,sex,y\n31,F,1\n45,M,0\n", y_true="income", name="people.csv")
    Traceback (most recent call last):
    ...
    glasswing.ingest._errors.IngestError: Column 'income' is not in 'people.csv'; it has: age, sex, y.
    """
    from glasswing import ingest

    return ingest.load_dataset(source, target=y_true, prediction=y_pred, score=y_score,
                               sensitive=sensitive_features, features=features, positive_label=pos_label,
                               name=name)


def load_images(source: Any, *, labels: Any = None, name: str | None = None) -> ImageSet:
    """Read images (a folder, a zip read in memory, one image, or a list of (name, bytes)) with labels.

    Parameters
    ----------
    source : folder path, zip (path, bytes or binary file), one image, or list of (filename, bytes)
        Images are checked against a pixel budget before they are decoded.
    labels : path, bytes, binary file or pandas.DataFrame, optional
        A table with a ``file`` column, an optional ``label`` column and group columns; default a
        ``labels.csv`` among the files.
    name : str, optional
        Display name.

    Returns
    -------
    glasswing.ingest.ImageSet

    Examples
    --------
    >>> from glasswing._paths import sample_dir
    >>> images = load_images(sample_dir() / "images")
    >>> len(images), images.labels[:2], list(images.groups.columns)
    (20, ['0', '0'], ['watermark'])
    """
    from glasswing import ingest

    return ingest.load_images(source, labels=labels, name=name)


# ---------------------------------------------------------------------------------------------- audit
def audit(data: Any = None, model: Any = None, *, y_true: Any = None, y_pred: Any = None, y_score: Any = None,
          sensitive_features: Any = None, threshold: float | None = None, pos_label: Any = None,
          label_map: Mapping | str | None = None, selected: str | None = None,
          bins: Mapping | Sequence[str] | str | None = None, merge_rare: int = 0, min_group_size: int = 30,
          include_small_groups: bool = False, four_fifths: float = 0.8, confidence: float = 0.95,
          trusted: bool = False, table: str | None = None, sql: str | None = None, engine: str = "duckdb",
          spark_master: str | None = None) -> GroupMetrics:
    """Audit predictions by group: rates with intervals, disparities, the four-fifths verdict.

    The same audit as ``glasswing audit`` and the dashboard's Fairness page (``audits.audit_dataset``, or
    DuckDB for Parquet): the headline uses the groups with at least ``min_group_size`` rows and lists
    the rest; numeric sensitive columns are cut into named bands by the one rule.

    Parameters
    ----------
    data : Dataset, pandas.DataFrame, str or os.PathLike, optional
        The audited rows. A Dataset brings its roles; with a DataFrame or a file, ``y_true``, ``y_pred``,
        ``y_score`` and ``sensitive_features`` name its columns. A Parquet file or folder without a model
        is audited out of core through DuckDB; so are a database URL (``duckdb:///file.duckdb``,
        ``postgresql://USER@HOST/DB`` with ``table`` or ``sql``) and, with ``engine="spark"``, Parquet
        paths or a Spark table: only the per-group aggregates leave the engine. Without ``data``, give
        those four as arrays (fairlearn's way).
    model : Model or path, optional
        Predict with this model instead of logged predictions (a path is loaded with ``load_model``).
    y_true, y_pred, y_score : column name or array-like, optional
        True outcomes, predicted labels (or scores with ``threshold``), scores (add AUC and calibration).
    sensitive_features : column name(s) or array-like, Series, DataFrame or dict, optional
        Several columns mean their intersection.
    threshold : float, optional
        Predict positive where the score is at least this.
    pos_label : optional
        The favourable outcome (one-vs-rest for a multiclass target); with a model whose classes differ
        from the target's values, it maps to the model's positive class.
    label_map : mapping or str, optional
        Target value -> model class (``{"<=50K": 0, ">50K": 1}`` or ``"<=50K=0,>50K=1"``).
    selected : str, optional
        What a positive prediction means, in your words ("predicted to reoffend").
    bins : mapping or sequence of str, optional
        Cut points of numeric sensitive columns (``{"age": (25, 45)}`` or ``["age=25,45"]``); quartiles by
        default.
    merge_rare : int, default 0
        Merge categories with fewer rows than this into one "other" group (stated in the notes).
    min_group_size : int, default 30
        Headlines use groups with at least this many rows.
    include_small_groups : bool, default False
        Put the smaller groups back into the headline.
    four_fifths : float, default 0.8
        The line of the four-fifths rule.
    confidence : float, default 0.95
        Level of every interval (Wilson, Newcombe, Katz).
    trusted : bool, default False
        Allow a pickle-based model file given as a path (it runs code).
    table, sql : str, optional
        The table, or the query, of a database URL (or of Spark).
    engine : {"duckdb", "spark"}, default "duckdb"
        The engine for files; database URLs use their own.
    spark_master : str, optional
        With ``engine="spark"``: the master URL (``local[2]`` by default).

    Returns
    -------
    glasswing.audits.GroupMetrics
        ``.by_group``, ``.overall``, ``.headline()``, ``.decision_rule()``, ``.to_dict()``; shows itself as
        tables and charts in a notebook.

    Raises
    ------
    GlasswingError
        For missing or unusable inputs, with the command line's sentence where the problem is the same.

    Examples
    --------
    Arrays, as with fairlearn:

    >>> gm = audit(y_true=[1, 0, 1, 0, 1, 0], y_pred=[1, 0, 1, 1, 0, 0],
    ...            sensitive_features=["F", "F", "F", "M", "M", "M"], min_group_size=1)
    >>> gm.by_group["selection_rate"].round(3).tolist()
    [0.667, 0.333]

    The German credit sample's logged predictions (its roles name the columns):

    >>> from glasswing.ingest import samples
    >>> gm = audit(samples.german_dataset("test"))
    >>> round(gm.headline().summary["demographic_parity_ratio"], 3)
    0.903
    """
    gm, _, _, _ = _audit(data, model, y_true=y_true, y_pred=y_pred, y_score=y_score,
                         sensitive_features=sensitive_features, threshold=threshold, pos_label=pos_label,
                         label_map=label_map, selected=selected, bins=bins, merge_rare=merge_rare,
                         min_group_size=min_group_size, include_small_groups=include_small_groups,
                         four_fifths=four_fifths, confidence=confidence, trusted=trusted, table=table,
                         sql=sql, engine=engine, spark_master=spark_master)
    return gm


def _audit(data, model=None, *, y_true=None, y_pred=None, y_score=None, sensitive_features=None,
           threshold=None, pos_label=None, label_map=None, selected=None, bins=None, merge_rare=0,
           min_group_size=30, include_small_groups=False, four_fifths=0.8, confidence=0.95, trusted=False,
           use_scores=None, n_boot=1000, seed=0, fit_model=False, duckdb=True, features=None, table=None,
           sql=None, engine="duckdb", spark_master=None):
    """Return (GroupMetrics, dataset or None, model or None, about): ``audit`` and the command line's audit.

    ``about`` says what was audited (data name and digest, rows, engine, where predictions came from), as
    ``glasswing audit --json`` writes it under ``"source"``. ``fit_model`` maps the target onto the
    model's classes and checks that the model fits the data first, and ``duckdb=False`` reads Parquet into
    pandas. ``features`` names the model's input columns (``glasswing audit --features``). ``table``,
    ``sql``, ``engine`` and ``spark_master`` name a source where it lives (``ingest.open_source``): logged
    predictions are audited there; a model's audit reads its rows (``ingest.read_source``, bounded).
    """
    from dataclasses import replace

    from glasswing import audits, ingest

    if model is None and y_pred is not None and threshold is not None and y_score is None:
        y_pred, y_score, use_scores = None, y_pred, True  # one column of scores at a threshold
    if model is None and y_pred is None and y_score is None and not _is_dataset(data):
        raise GlasswingError(NEEDS_PREDICTIONS)
    if model is None and y_pred is None and y_score is not None and threshold is None \
            and not _is_dataset(data):
        raise GlasswingError(SCORE_NEEDS_THRESHOLD)
    if use_scores is None:
        use_scores = model is None and threshold is not None and y_pred is None
    options = {"min_group_size": min_group_size, "confidence": confidence, "n_boot": n_boot, "seed": seed}
    where = {"table": table, "sql": sql, "engine": engine, "spark_master": spark_master}
    remote = _is_remote(data, where)
    if duckdb and model is None and (remote or _is_parquet(data)):
        gm, about = _audit_parquet(data, y_true=y_true, y_pred=y_pred, y_score=y_score,
                                   sensitive_features=sensitive_features, threshold=threshold,
                                   pos_label=pos_label, selected=selected, **options, **where)
        return replace(gm, include_small_groups=include_small_groups, four_fifths_threshold=four_fifths), \
            None, None, about
    name = None
    if remote:  # a model scores the rows here: bring them over, bounded
        data, name = _read_remote(data, where)
    dataset = _dataset(data, y_true=y_true, y_pred=y_pred, y_score=y_score,
                       sensitive_features=sensitive_features,
                       pos_label=None if model is not None else pos_label, features=features, name=name)
    model = _model(model, trusted)
    fed = ingest.input_notes(model, dataset) if model is not None and model.modality == "tabular" else ()
    if model is None:  # the label as the data holds it ("1" is 1; a binarised target's is 1)
        pos_label = dataset.roles.positive_label
    elif pos_label is not None and model.modality == "tabular":  # "1" from a command line is the class 1
        pos_label = next((c for c in model.classes_.tolist() if str(c) == str(pos_label)), pos_label)
    label_map = ingest.parse_label_map(label_map) if isinstance(label_map, str) else label_map
    mapping = None
    if fit_model and model is not None:
        dataset, mapping = ingest.map_target(dataset, list(model.classes_), positive=pos_label,
                                             label_map=label_map or None)
        ingest.check_model_fits(model, dataset)
        if model.feature_names:  # the report lists the model's inputs, not every other column of the file
            dataset = dataset.with_roles(features=tuple(model.input_frame(dataset.frame).columns))
        pos_label = dataset.roles.positive_label
    bins = bins if isinstance(bins, Mapping) or bins is None else ingest.parse_bins(bins)
    gm = audits.audit_dataset(dataset, model, threshold=threshold, pos_label=pos_label, use_scores=use_scores,
                              bins=bins, merge_below=merge_rare, include_small_groups=include_small_groups,
                              four_fifths=four_fifths, selected=selected, label_map=label_map or None,
                              **options)
    if mapping:  # mapped above (the model must fit the data first): say so in the decision rule
        gm = replace(gm, decision={**gm.decision, "label_map": {str(k): v for k, v in mapping.items()}})
    roles = dataset.roles
    about = {"data": dataset.name, "data_sha256": dataset.sha256, "rows": len(dataset), "engine": "pandas",
             "predictions": f"model {model.name}" if model is not None
             else f"column {roles.prediction if roles.prediction and not use_scores else roles.score}",
             "notes": list(dataset.notes)}  # what the table reader noted (renamed columns)
    about["notes"] += fed  # how the columns feed the model (inputs spelt otherwise, numeric columns)
    if model is not None:
        about["model_sha256"] = model.sha256
    return gm, dataset, model, about


def _audit_parquet(path, *, y_true, y_pred, y_score, sensitive_features, threshold, pos_label, selected,
                   table=None, sql=None, engine="duckdb", spark_master=None, **options):
    from dataclasses import replace

    from glasswing import audits, ingest

    names = [y_true, y_pred, y_score]
    sensitive = [sensitive_features] if isinstance(sensitive_features, str) else sensitive_features
    if not isinstance(y_true, str) or not sensitive or not all(isinstance(s, str) for s in sensitive) \
            or not all(n is None or isinstance(n, str) for n in names):
        raise GlasswingError(PARQUET_NEEDS_COLUMNS)
    where = {"table": table, "sql": sql, "engine": engine}
    gm = audits.group_metrics_parquet(path, y_true=y_true, y_pred=y_pred, sensitive=list(sensitive),
                                      y_score=y_score, threshold=threshold, pos_label=pos_label,
                                      spark_master=spark_master, **where, **options)
    column = y_pred or y_score
    decision = {"source": f"logged {'predictions' if y_pred else 'scores'} (column {column})",
                "score": y_score if y_pred is None else None, "selected": selected or ""}
    backend = "postgresql" if str(path).startswith("postgres") else "spark" if engine == "spark" else "duckdb"
    return replace(gm, decision=decision), {"data": ingest.source_name(path, **where), "engine": backend,
                                            "rows": int(gm.overall["n"]), "predictions": f"column {column}"}


def _is_remote(data, where: Mapping) -> bool:
    """Whether ``data`` lives in an engine (a database URL, or Spark) rather than in a file read here."""
    from glasswing import ingest

    engine = where.get("engine", "duckdb")  # not DuckDB: Spark (another name gets open_source's sentence)
    named = bool(where.get("table") or where.get("sql"))
    if data is None and engine == "spark" and named:
        return True  # a table or a query of the Spark session's catalog
    if not isinstance(data, str | Path):
        if named or engine != "duckdb":
            raise GlasswingError(SOURCE_OPTIONS_NEED_PATH.format(kind=_kind(data)))
        return False
    return ingest.is_database(str(data)) or engine != "duckdb" or named


def _read_remote(data, where: Mapping):
    """Return (rows, name) of a database or Spark source, bounded by ``ingest.read_source``."""
    from glasswing import ingest

    frame = ingest.read_source(data, **where, purpose="an audit with a model")
    return frame, ingest.source_name(data, table=where.get("table"), sql=where.get("sql"),
                                     engine=where.get("engine", "duckdb"))


def _is_dataset(data) -> bool:
    from glasswing.ingest import Dataset

    return isinstance(data, Dataset)


def _is_parquet(data) -> bool:
    if not isinstance(data, str | Path):
        return False
    path = Path(data)
    return path.is_dir() or path.suffix.lower() in _PARQUET_SUFFIXES or any(c in str(data) for c in "*?[")


def _model(model, trusted: bool):
    from glasswing.ingest import Model

    if model is None or isinstance(model, Model):
        return model
    if isinstance(model, str | Path | bytes):
        return load_model(model, trusted=trusted)
    raise GlasswingError(NOT_A_MODEL.format(kind=type(model).__name__))


def _kind(value) -> str:
    return type(value).__name__


def _dataset(data, *, y_true=None, y_pred=None, y_score=None, sensitive_features=None, pos_label=None,
             features=None, name=None):
    """Return ``data`` as an ``ingest.Dataset``.

    A Dataset gets the roles given here, a table's columns are named, arrays go into a table of their own.
    """
    import pandas as pd

    from glasswing import ingest

    if data is None:
        return _arrays_dataset(y_true, y_pred, y_score, sensitive_features, pos_label)
    for argument, value in (("y_true", y_true), ("y_pred", y_pred), ("y_score", y_score)):
        if value is not None and not isinstance(value, str):
            raise GlasswingError(COLUMN_NOT_A_NAME.format(argument=argument, kind=_kind(value)))
    sensitive = ((sensitive_features,) if isinstance(sensitive_features, str)
                 else tuple(sensitive_features) if sensitive_features is not None else None)
    if isinstance(data, ingest.Dataset):
        given = (("target", y_true), ("prediction", y_pred), ("score", y_score), ("sensitive", sensitive),
                 ("positive_label", pos_label), ("features", None if features is None else tuple(features)))
        changes = {k: v for k, v in given if v is not None}
        if y_score is not None and y_pred is None:
            changes["prediction"] = None
        return data.with_roles(**changes) if changes else data
    if not isinstance(data, str | Path | bytes | pd.DataFrame) and not hasattr(data, "read"):
        raise GlasswingError(NOT_A_TABLE.format(kind=_kind(data)))
    if y_true is None:
        raise GlasswingError(NEEDS_TARGET)
    return ingest.load_dataset(data, target=y_true, prediction=y_pred, score=y_score,
                               sensitive=sensitive or (), positive_label=pos_label, features=features,
                               name=name)


def _arrays_dataset(y_true, y_pred, y_score, sensitive_features, pos_label):
    """Put fairlearn-style arrays into a table (columns y_true, y_pred, y_score and the sensitive ones)."""
    import pandas as pd

    from glasswing import ingest
    from glasswing.audits._validate import as_array, check_length, sensitive_columns

    if y_true is None or sensitive_features is None:
        raise GlasswingError(NEEDS_TARGET)
    for argument, value in (("y_true", y_true), ("y_pred", y_pred), ("y_score", y_score)):
        if isinstance(value, str):
            raise GlasswingError(COLUMN_NAMES_NEED_DATA.format(argument=argument, value=value))
    if isinstance(sensitive_features, str) or (isinstance(sensitive_features, Sequence)
                                               and sensitive_features
                                               and all(isinstance(s, str) for s in sensitive_features)
                                               and len(sensitive_features) != len(as_array(y_true, "y"))):
        value = sensitive_features
        raise GlasswingError(COLUMN_NAMES_NEED_DATA.format(argument="sensitive_features", value=value))
    truth = as_array(y_true, "y_true")
    frame = {"y_true": truth}
    for argument, value in (("y_pred", y_pred), ("y_score", y_score)):
        if value is not None:
            arr = as_array(value, argument)
            check_length(arr, argument, len(truth), "y_true")
            frame[argument] = arr
    for column, values in sensitive_columns(sensitive_features, len(truth)).items():
        frame[column] = values.to_numpy() if isinstance(values, pd.Series) else values
    table = pd.DataFrame(frame)
    sensitive = [c for c in table.columns if c not in ("y_true", "y_pred", "y_score")]
    return ingest.load_dataset(table, target="y_true", prediction="y_pred" if y_pred is not None else None,
                               score="y_score" if y_score is not None else None, sensitive=sensitive,
                               features=(), positive_label=pos_label, name="arrays")


# ---------------------------------------------------------------------------------------------- errors
def error_analysis(data: Any, model: Any = None, *, y_true: str | None = None, y_pred: str | None = None,
                   y_score: str | None = None, threshold: float | None = None,
                   features: Sequence[str] | None = None, max_depth: int = 4, min_rows: int = 30,
                   alpha: float = 0.05, trusted: bool = False) -> ErrorAnalysis:
    """Find the cohorts where the predictions are wrong most often, as readable rules.

    The same analysis as ``glasswing errors`` and the dashboard's Error analysis page
    (``audits.error_analysis_dataset``): a shallow decision tree fitted to the error indicator, each cohort
    with its rule, error rate and Wilson interval, share of all errors (coverage) and rows.

    Parameters
    ----------
    data : Dataset, pandas.DataFrame or path
        The rows; with a table, ``y_true``, ``y_pred`` and ``y_score`` name its columns.
    model : Model or path, optional
        Predict with this model instead of logged predictions.
    y_true, y_pred, y_score : str, optional
        The target, logged predicted labels, logged scores (with ``threshold``).
    threshold : float, optional
        With scores and no predictions: ``score >= threshold`` predicts the positive label.
    features : sequence of str, optional
        Columns the rules are written in (default: every column but the target, prediction and score).
    max_depth, min_rows, alpha
        Tree depth, smallest cohort, and the level of the test that keeps a split (1 keeps them all).
    trusted : bool, default False
        Allow a pickle-based model file given as a path.

    Returns
    -------
    glasswing.audits.ErrorAnalysis
        ``.cohorts`` (worst first), ``.top``, ``.table()``, ``.to_dict()``.

    Examples
    --------
    >>> from glasswing.ingest import samples
    >>> result = error_analysis(samples.german_dataset("all", predictions=None), samples.german_model("gbm"))
    >>> result.top.rule, result.errors, result.n
    ('checking_account != not_known', 156, 1000)
    """
    from glasswing import audits

    if y_true is None and not _is_dataset(data):
        raise GlasswingError(ERRORS_NEED_TARGET)
    dataset = _dataset(data, y_true=y_true, y_pred=y_pred, y_score=y_score)
    return audits.error_analysis_dataset(dataset, _model(model, trusted), features=features,
                                         max_depth=max_depth, min_rows=min_rows, alpha=alpha,
                                         threshold=threshold)


# ---------------------------------------------------------------------------------------------- explain
def explain(model: Model, inputs: Any, *, method: str, target: Any = None, rows: Any = None,
            **params) -> Explanations:
    """Explain table rows or images with a registered method; return the batch of explanations.

    Parameters
    ----------
    model : glasswing.ingest.Model
        The model to explain.
    inputs : Dataset, pandas.DataFrame, ImageSet, image path, RGB array or list of arrays
        Rows (tabular models: a Dataset's feature columns, or the model's named features of a frame) or
        images (image models).
    method : str
        A registry name: ``"shap"``, ``"lime"``, ``"permutation_importance"``, ``"gradcam"``, ...
        (``glasswing.explainers.registry``).
    target : optional
        The class to explain; default each input's predicted class.
    rows : str or sequence of int, optional
        Which rows (or images) of ``inputs`` to explain: ``"0:3,7"`` or ``[0, 1, 2, 7]``; default all.
    **params
        The method's parameters. Methods that take a ``background`` get every row of ``inputs`` unless
        one is given (as ``glasswing explain`` does).

    Returns
    -------
    glasswing.explainers.Explanations
        A list of ``Explanation`` (one per input; one for a global method) that shows itself as charts and
        tables in a notebook; ``.frame()`` gives the attribution table of tabular explanations.

    Raises
    ------
    GlasswingError
        For an unknown method or parameter, a method that does not apply to the model, rows outside the
        data, or inputs of the wrong kind.

    Examples
    --------
    >>> from glasswing.ingest import samples
    >>> model, data = samples.german_model("logreg"), samples.german_dataset("test")
    >>> batch = explain(model, data, rows="0:2", method="shap")
    >>> len(batch), batch[0].algorithm, batch[0].output
    (2, 'LinearExplainer', 'log-odds')
    >>> e = batch[0]
    >>> bool(abs(e.base_value + e.values.sum() - e.prediction) < 1e-9)  # SHAP's additivity
    True
    """
    import numpy as np
    import pandas as pd

    from glasswing import explainers, ingest

    spec = explainers.registry.get(method)
    if model.modality == "image":
        if isinstance(inputs, ingest.ImageSet):
            images = list(inputs.images)
        elif isinstance(inputs, str | Path | bytes):
            images = [ingest.load_image(inputs)]
        elif isinstance(inputs, np.ndarray) and inputs.ndim == 3:
            images = [inputs]
        elif isinstance(inputs, list | tuple):
            images = list(inputs)
        else:
            raise GlasswingError(NOT_EXPLAINABLE.format(kind=_kind(inputs)))
        if rows is not None:
            images = [images[r] for r in _rows(rows, len(images))]
        return explainers.Explanations(explainers.explain(model, images, method=method, target=target,
                                                          **params))
    if isinstance(inputs, ingest.Dataset):
        frame = model.input_frame(inputs.frame if model.feature_names else inputs.X, data=f"'{inputs.name}'")
    elif isinstance(inputs, pd.DataFrame):
        frame = inputs
    else:
        raise GlasswingError(NOT_EXPLAINABLE.format(kind=_kind(inputs)))
    if any(p.name == "background" for p in spec.params):
        params.setdefault("background", frame)
    chosen = frame.iloc[_rows(rows, len(frame))] if rows is not None else frame
    return explainers.Explanations(explainers.explain(model, chosen, method=method, target=target, **params))


def _rows(rows, n: int) -> list[int]:
    from glasswing import explainers

    if isinstance(rows, str | int):
        return explainers.rows_from_spec(rows, n)
    return explainers.rows_from_spec(",".join(str(int(r)) for r in rows), n)


# ---------------------------------------------------------------------------------------------- mitigate
def mitigate(model: Model, data: Any = None, *, train: Any = None, test: Any = None,
             method: str = "reweighing", constraint: str = "demographic_parity",
             sensitive_features: str | Sequence[str] | None = None, test_size: float = 0.3, seed: int = 0,
             bins: Mapping | Sequence[str] | None = None, min_group_size: int = 30,
             include_small_groups: bool = False, progress=None) -> MitigationResult:
    """Try a bias mitigation and compare it with the model on the same held-out rows.

    Parameters
    ----------
    model : glasswing.ingest.Model
        A binary tabular classifier (reweighing and exponentiated gradient retrain a scikit-learn clone;
        the threshold optimizer needs only scores).
    data : Dataset, optional
        Split into training and held-out rows (``test_size``, stratified by the target, ``seed``).
    train, test : Dataset, optional
        Or give the two parts yourself.
    method : {"reweighing", "threshold_optimizer", "exponentiated_gradient"}
        Pre-processing, post-processing or reductions (``glasswing.audits.METHODS``).
    constraint : str
        ``"demographic_parity"``, ``"equalized_odds"``, ... (``glasswing.audits.CONSTRAINTS``).
    sensitive_features : str or sequence of str, optional
        Override the datasets' sensitive columns.
    test_size, seed
        The split, and the seed of the retrained model and of randomised predictions.
    bins, min_group_size, include_small_groups
        Bands of numeric sensitive columns and the headline of the comparison, as for :func:`audit`.
    progress : callable, optional
        Called as ``progress(fraction, message)``.

    Returns
    -------
    glasswing.audits.MitigationResult
        ``.before`` and ``.after`` (GroupMetrics on the held-out rows), accuracies, the mitigated
        predictor; shows itself as a before/after table and chart in a notebook.

    Examples
    --------
    >>> from glasswing.ingest import samples
    >>> result = mitigate(samples.german_model("logreg"), train=samples.german_dataset("train"),
    ...                   test=samples.german_dataset("test"), method="reweighing")
    >>> [round(v, 2) for v in result.disparity("demographic_parity_difference")]  # before, after
    [0.19, 0.06]
    """
    from glasswing import audits, ingest

    split, parts = data is not None, (train is not None, test is not None)
    if not ((split and parts == (False, False)) or (not split and parts == (True, True))):
        raise GlasswingError(MITIGATE_DATA)
    if data is not None:
        train, test = audits.holdout_split(_dataset(data), test_size=test_size, seed=seed)
    else:
        train, test = _dataset(train), _dataset(test)
    if sensitive_features is not None:
        sensitive = ((sensitive_features,) if isinstance(sensitive_features, str)
                     else tuple(sensitive_features))
        train, test = train.with_roles(sensitive=sensitive), test.with_roles(sensitive=sensitive)
    bins = bins if isinstance(bins, Mapping) or bins is None else ingest.parse_bins(bins)
    return audits.mitigate(model, train, test, method=method, constraint=constraint, seed=seed,
                           progress=progress, bins=bins, min_group_size=min_group_size,
                           include_small_groups=include_small_groups)


# ---------------------------------------------------------------------------------------------- report
def report(data: Any, model: Any = None, *, audit: Any = None, explanations: Sequence = (),
           explain: str | None = None, rows: Any = (0,), mitigation: Any = None, burden: Any = False,
           title: str = "",
           version_label: str = "", notes: str = "", sign_off: Mapping | None = None,
           trusted: bool = False, fairness_check: bool | str = False, confusion_matrices: bool = False,
           compare_model: Any = None, compare_resamples: int = 1000,
           errors: bool = False, **audit_options) -> Report:
    """Gather an audit report: what was audited (fingerprints), findings, explanations, mitigation, sign-off.

    The same ``reports.Report`` the dashboard's Report page and ``glasswing report`` export; one model,
    three renderings: ``.to_html(path)``, ``.to_pdf(path)``, ``.to_json()``, and a notebook display.

    Parameters
    ----------
    data : Dataset, pandas.DataFrame, path or database URL
        The audited rows (columns named by ``audit_options`` as for :func:`audit`, which also take
        ``table``, ``sql``, ``engine`` and ``spark_master``). Logged predictions in a database or Spark are
        audited there and the report fingerprints the per-group counts it returned; with a model (or
        ``errors``), at most 2,000,000 rows are read.
    model : Model or path, optional
        The audited model (None: the data's logged predictions).
    audit : GroupMetrics, optional
        An audit already run on ``data``; by default :func:`audit` runs with ``audit_options``.
    explanations : sequence of Explanation, optional
        Explanations to include (e.g. from :func:`explain`).
    explain : str, optional
        Or a method to explain ``rows`` with (``"shap"``; a global method explains the whole data).
    rows : str or sequence of int, default (0,)
        The rows ``explain`` explains.
    mitigation : MitigationResult, optional
        A mitigation tried (from :func:`mitigate`), shown before and after.
    burden : bool or RecourseBurden, default False
        Add the recourse burden by group: True computes it (``audits.recourse_burden_of``) over the audited
        rows with the model, the sensitive columns and the audit's bands; or give one already computed.
    title, version_label, notes : str
        Heading, the model's version label ("v2") and the reviewer's notes.
    sign_off : mapping, optional
        ``reviewer``, ``role``, ``decision``, ``date``.
    trusted : bool, default False
        Allow a pickle-based model file given as a path.
    fairness_check : bool or str, default False
        Add the fairness check: ratios to the largest group (True) or to the group named, band 0.8 to 1.25.
    confusion_matrices : bool, default False
        Add the confusion matrix of every group.
    compare_model : Model, path or ModelComparison, optional
        Add a second model compared with ``model`` on the same rows (``audits.compare_models``).
    compare_resamples : int, default 1000
        Paired bootstrap resamples of the comparison (seeded by ``seed``).
    errors : bool, default False
        Add the error analysis (``audits.error_analysis_dataset`` with its defaults): the cohorts where the
        predictions are wrong most often.
    **audit_options
        The keyword arguments of :func:`audit` (``y_true``, ``sensitive_features``, ``threshold``, ...).

    Returns
    -------
    glasswing.reports.Report

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from glasswing.ingest import samples
    >>> rep = report(samples.german_dataset("test"), title="German credit, logged GBM predictions")
    >>> rep.disparities()[0].label, rep.disparities()[0].verdict
    ('Demographic parity difference', 'Within 0.1')
    >>> json.loads(rep.to_json())["dataset"]["name"]
    'german_test_predictions.csv'
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = rep.to_html(Path(folder) / "audit.html")
    ...     path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    True
    """
    from glasswing import reports
    from glasswing.audits import ModelComparison

    model = _model(model, trusted)
    if model is None:  # what needs the model's scores, said before any work
        if explain:
            raise GlasswingError(EXPLAIN_NEEDS_MODEL.format(method=explain))
        if burden is True:
            raise GlasswingError(BURDEN_NEEDS_MODEL)
        if compare_model is not None and not isinstance(compare_model, ModelComparison):
            raise GlasswingError(COMPARE_NEEDS_MODEL)
    where = {k: audit_options.pop(k) for k in ("table", "sql", "engine", "spark_master")
             if k in audit_options}
    rows_needed = errors or burden or compare_model is not None  # sections computed from the rows
    if audit is None and model is None and not rows_needed and _is_remote(data, where):
        return _remote_report(data, where, audit_options, title=title, version_label=version_label,
                              notes=notes, sign_off=sign_off, fairness_check=fairness_check,
                              confusion_matrices=confusion_matrices)
    if audit is None:
        audit, dataset, model, _ = _audit(data, model, trusted=trusted, fit_model=True, duckdb=False,
                                          **audit_options, **where)
    else:
        dataset = _dataset(data, **{k: audit_options[k] for k in ("y_true", "y_pred", "y_score",
                                                                  "sensitive_features")
                                    if audit_options.get(k) is not None})
    figures = list(explanations)
    if explain:
        figures += reports.report_explanations(model, dataset, method=explain, rows=_rows(rows, len(dataset)))
    comparison = None
    if compare_model is not None:
        comparison = _comparison(dataset, model, compare_model, trusted, compare_resamples, audit_options)
    if burden is True:
        from glasswing import audits, ingest

        bins = audit_options.get("bins")
        burden = audits.recourse_burden_of(
            model, dataset, favourable=audit_options.get("pos_label"),
            threshold=audit_options.get("threshold"),
            bins=bins if isinstance(bins, Mapping) else ingest.parse_bins(bins),
            merge_below=audit_options.get("merge_rare") or 0,
            min_group_size=audit_options.get("min_group_size") or 30)
    analysis = None
    if errors:
        from glasswing import audits

        scored = model is None and dataset.roles.prediction is None
        analysis = audits.error_analysis_dataset(
            dataset, model, threshold=audit_options.get("threshold") if scored else None)
    return reports.build_report(dataset, model, metrics=audit, explanations=figures, mitigation=mitigation,
                                burden=burden or None, title=title, version_label=version_label, notes=notes,
                                sign_off=dict(sign_off) if sign_off else None, fairness_check=fairness_check,
                                confusion_matrices=confusion_matrices, comparison=comparison,
                                errors=analysis)


def _remote_report(data, where: Mapping, options: Mapping, *, sign_off, **sections) -> Report:
    """Return the report of logged predictions audited where they live: only aggregates leave the engine.

    The data's fingerprint is the SHA-256 of the source's name and the per-group counts it returned (the
    rows are never read here), and the report says so.
    """
    import hashlib
    import json

    from glasswing import reports

    gm, _, _, about = _audit(data, None, duckdb=True, **options, **where)
    counts = gm.confusion.reset_index().astype(str).to_dict("list")
    digest = hashlib.sha256(json.dumps([about["data"], counts], sort_keys=True).encode()).hexdigest()
    engine = {"duckdb": "DuckDB", "postgresql": "PostgreSQL", "spark": "Apache Spark"}[about["engine"]]
    artifact = reports.Artifact(
        name=about["data"], sha256=digest, kind="table", rows=int(gm.overall["n"]),
        details={"Engine": f"{engine}; audited where the data lives, only per-group counts left it",
                 "Fingerprint": "SHA-256 of the source's name and the per-group counts it returned"})
    sensitive = options.get("sensitive_features")
    roles = {"target": options.get("y_true"), "prediction": options.get("y_pred"),
             "score": options.get("y_score"), "positive_label": gm.pos_label,
             "sensitive": [sensitive] if isinstance(sensitive, str) else list(sensitive or ())}
    return reports.build_report(artifact, None, metrics=gm, roles=roles,
                                sign_off=dict(sign_off) if sign_off else None, **sections)


def _comparison(dataset, model, other, trusted: bool, n_boot: int, options: Mapping):
    """``audits.compare_models`` of ``model`` and ``other`` on the audited rows, with the audit's options.

    The dataset's target is already mapped onto the model's classes, so no label map is applied again.
    """
    from glasswing import audits, ingest

    if isinstance(other, audits.ModelComparison):
        return other
    other = _model(other, trusted)  # ``report`` checked that there is a model to compare it with
    bins = options.get("bins")
    bins = bins if isinstance(bins, Mapping) or bins is None else ingest.parse_bins(bins)
    return audits.compare_models(
        dataset, model, other, threshold=options.get("threshold"), pos_label=dataset.roles.positive_label,
        bins=bins, merge_below=options.get("merge_rare", 0), selected=options.get("selected"),
        min_group_size=options.get("min_group_size", 30), n_boot=n_boot, seed=options.get("seed", 0))
