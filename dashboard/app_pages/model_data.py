"""Model & data: the samples, uploaded files or a database table or query; then the column roles."""

from __future__ import annotations

import streamlit as st

from glasswing import ingest
from glasswing._secrets import without_password
from glasswing.dashboard import _loading, _state
from glasswing.dashboard._text import md

P = "model_data."
NONE = "(none)"

st.title("Model & data")
st.caption("Load a model and the data to explain and audit. Uploads stay in this session's memory on "
           "this machine; nothing is sent anywhere.")


def model_uploader(col, key: str):
    """A model file uploader and, for a file that runs code, the trust checkbox; returns (file, trusted)."""
    model_file = col.file_uploader(
        "Model: .skops, .onnx, TorchScript .pt, .safetensors or a state dict", key=P + key,
        max_upload_size=ingest.MAX_FILE_MB, help=f"Up to {ingest.MAX_FILE_MB} MB.")
    trusted, needs = False, _loading.trust_needed(model_file) if model_file is not None else ()
    if needs:
        allowed = ", ".join(f"`{n.replace('`', chr(39))}`" for n in needs[:8])
        trusted = col.checkbox(
            "I trust this file", key=P + "trust",
            help="This file holds code that could read or write files or run programs when the model "
                 "loads or scores data. Tick this only for a file whose origin you trust.")
        col.caption(f"Trusting it allows: {allowed}{' ...' if len(needs) > 8 else ''}.")
    return model_file, trusted


def take_out_password():  # the URL field's own value must never keep a password
    url = st.session_state.get(P + "db_url", "")
    if ingest.has_password(url):
        st.session_state[P + "db_url"] = without_password(url)
        st.session_state[P + "db_refused"] = True


source = st.radio("Source", ["Samples", "Upload your own", "Connect to a database"], horizontal=True,
                  key=P + "source", label_visibility="collapsed")
if source == "Samples":
    choice = st.radio("Sample", list(_loading.SAMPLES), captions=_loading.SAMPLE_CAPTIONS, key=P + "sample")
    if st.button("Use the samples", type="primary", key=P + "use_samples", icon=":material/dataset:"):
        with _state.guard("loading the samples"):
            _loading.use_sample(choice)
            st.rerun()  # the sidebar, drawn before this page, shows what is now loaded
elif source == "Connect to a database":
    left, right = st.columns(2, gap="large")
    url = left.text_input("Database URL", key=P + "db_url", on_change=take_out_password,
                          placeholder="postgresql://user@host:5432/db or duckdb:///path/to/file.duckdb",
                          help="No password here: the server reads it from .streamlit/secrets.toml "
                               '([glasswing] db_password = "...") or from GLASSWING_DB_PASSWORD or '
                               "PGPASSWORD.")
    if st.session_state.pop(P + "db_refused", False):
        left.error(md(_loading.PASSWORD_IN_URL), icon=":material/error:")
    what = left.radio("Read", ["Table", "Query"], horizontal=True, key=P + "db_kind")
    if what == "Table":
        table, sql = left.text_input("Table", key=P + "db_table", placeholder="predictions"), None
    else:
        table, sql = None, left.text_area("SQL query", key=P + "db_sql", height=100,
                                          placeholder="SELECT * FROM predictions WHERE day >= '2026-01-01'")
    max_rows = left.number_input(
        "Row limit", 1, ingest.MAX_ROWS, _loading.DATABASE_ROWS, step=100_000, key=P + "db_max_rows",
        help="The rows are read into this session's memory for the pages; a larger table or query is "
             "refused (narrow it with a query).")
    model_file, trusted = model_uploader(right, "db_model_file")
    right.caption("The connection supplies the table; a model uploaded here is scored on it, else the "
                  "model loaded before is kept. A table read in the last minute is reused; after that, "
                  "Connect and load reads it again.")
    if st.button("Connect and load", type="primary", key=P + "load_database", icon=":material/database:",
                 disabled=not url.strip()):
        with _state.guard("reading from the database"):
            _loading.load_database(url, table=table, sql=sql, max_rows=max_rows, model_file=model_file,
                                   trusted=trusted)
            st.rerun()
    info, loaded = _state.get(_loading.CONNECTION), _state.get(_loading.BASE)
    if info and loaded is not None and loaded.sha256 == info["sha256"]:
        st.caption(md(_loading.connection_caption(info)))
else:
    left, right = st.columns(2, gap="large")
    model_file, trusted = model_uploader(left, "model_file")
    with left.expander("PyTorch weights and image preprocessing"):
        architecture = st.text_input("Architecture of a weights-only file", key=P + "architecture",
                                     placeholder="resnet18, or glasswing.digits_cnn")
        preprocess = None
        if st.checkbox("Set the image preprocessing", key=P + "set_preprocess"):
            size = st.number_input("Input size (pixels, square)", 8, 1024, 224, key=P + "size")
            mean = st.text_input("Mean per channel", "0.485, 0.456, 0.406", key=P + "mean")
            std = st.text_input("Std per channel", "0.229, 0.224, 0.225", key=P + "std")
            preprocess = {"size": (size, size), "mean": mean.split(","), "std": std.split(",")}
        class_names = st.text_input("Class names, in output order (comma-separated)",
                                    key=P + "upload_class_names", placeholder="cat, dog, ...",
                                    help="Image models often predict 0..k-1; name the classes to match the "
                                         "images' text labels.")
    kind = right.radio("Data", ["Table", "Images"], horizontal=True, key=P + "data_kind")
    if kind == "Table":
        data_files = right.file_uploader(
            "Table: CSV or Parquet", type=["csv", "tsv", "txt", "parquet", "pq"], key=P + "table_file",
            max_upload_size=ingest.MAX_FILE_MB, help=f"Up to {ingest.MAX_FILE_MB} MB.")
    else:
        data_files = right.file_uploader(
            "Images (PNG, JPEG, ...) or one .zip, with an optional labels.csv (file, label, groups...)",
            accept_multiple_files=True, key=P + "image_files", max_upload_size=ingest.MAX_FILE_MB,
            help=f"Up to {ingest.MAX_FILE_MB} MB a file, {ingest.MAX_IMAGE_MEGAPIXELS} megapixels an image, "
                 f"{ingest.MAX_TOTAL_MEGAPIXELS} megapixels in all.")
    if st.button("Load the uploaded files", type="primary", key=P + "load_uploads",
                 disabled=model_file is None and not data_files):
        with _state.guard("loading the uploaded files"):
            _loading.load_uploads(model_file, data_files, trusted=trusted, architecture=architecture,
                                  preprocess=preprocess, class_names=class_names)
            st.rerun()

model, data, images, base = _state.model(), _state.dataset(), _state.images(), _state.get(_loading.BASE)
if data is not None and (base is None or base.sha256 != data.sha256):  # stored by another page
    base = data
if model is None and data is None and images is None:
    st.info("Nothing is loaded yet: use the samples or upload your own files.", icon=":material/info:")
    st.stop()
st.divider()
left, right = st.columns([3, 2], gap="large")
if model is not None:
    left.subheader("Model")
    left.markdown(_loading.model_facts(model))
    if model.modality == "image":
        with _state.guard("naming the classes"):
            model = _loading.name_classes(model, left.text_input(
                "Class names, in output order (comma-separated)", key=P + "class_names",
                placeholder=", ".join(map(str, model.classes_[:4])) + ", ...",
                help="Image models often predict 0..k-1; name the classes to match text labels."))
scores_box = right.container()

if data is not None:
    st.subheader("Data")
    gen, columns, roles = st.session_state.get(_loading.GENERATION, 0), list(base.frame.columns), data.roles
    st.caption(f"**{md(data.name)}**: {len(data):,} rows, {len(columns)} columns · SHA-256 `{data.sha256}`")
    for note in base.notes:
        st.caption(md(note))

    def drop_from_features(key):  # a column that becomes the target, prediction or score is no feature
        features_key = f"{P}features.{gen}"
        if st.session_state.get(key) in st.session_state.get(features_key, []):
            st.session_state[features_key] = [f for f in st.session_state[features_key]
                                              if f != st.session_state[key]]

    def pick(col, label, current, options, key):
        opts, key = [NONE, *options], f"{P}{key}.{gen}"
        index = opts.index(current) if current in opts else 0
        value = col.selectbox(label, opts, index=index, key=key, on_change=drop_from_features, args=(key,))
        return None if value == NONE else value

    a, b, c, d = st.columns(4)
    target = pick(a, "Target (true outcome)", roles.target, columns, "target")
    prediction = pick(b, "Logged prediction", roles.prediction, columns, "prediction")
    score = pick(c, "Logged score", roles.score, columns, "score")
    values = sorted(base.frame[target].dropna().unique().tolist(), key=str) if target else []
    current = data.positive_label if values else None
    positive = pick(d, "Positive class", current, values, f"positive.{target}")
    sensitive = st.multiselect("Sensitive columns (groups to audit)", columns, default=list(roles.sensitive),
                               key=f"{P}sensitive.{gen}")
    features_key = f"{P}features.{gen}"
    features = st.multiselect("Features (model inputs)", columns, key=features_key,
                              default=None if features_key in st.session_state else list(roles.features))
    chosen = dict(target=target, prediction=prediction, score=score, sensitive=tuple(sensitive),
                  features=tuple(features), positive_label=positive)
    if st.session_state.get(f"{P}applied.{gen}") != chosen:
        with _state.guard("setting the column roles"):
            data = base.with_roles(**chosen)
            _state.put(_state.DATASET, data)
            st.session_state[f"{P}applied.{gen}"] = chosen
    st.dataframe(base.frame.head(100), height=260, hide_index=True)

if images is not None:
    st.subheader("Images")
    st.caption(f"**{md(images.name)}**: {len(images)} images · SHA-256 `{images.sha256}`")
    for note in images.notes:
        st.caption(md(note))
    shown = min(len(images), 12)
    labels = images.labels or [""] * len(images)
    captions = [md(f"{n} ({lab})" if lab else n) for n, lab in zip(images.names, labels, strict=True)]
    st.image(images.images[:shown], width=96, caption=captions[:shown])

scored = data if data is not None and data.roles.target else None
if images is not None and images.labels:
    scored = images
if model is not None:
    with scores_box:
        st.subheader("On this data")
        if scored is None:
            st.caption("Choose a target column (or load labelled images) to see accuracy and AUC.")
            st.stop()
        with _state.guard("scoring the model on the data"):
            for note in ingest.check_model_fits(model, scored):
                st.caption(note)
            roles_key = data.roles if scored is data else None
            result = _loading.performance(model.sha256, scored.sha256, roles_key, model, scored)
            a, b = st.columns(2)
            a.metric("Accuracy", f"{result['accuracy']:.3f}", border=True)
            short = "AUC" if result["auc_name"] == "AUC" else "AUC (macro OvR)"  # named in full below
            b.metric(short, f"{result['auc']:.3f}" if result["auc"] is not None else "n/a", border=True,
                     help=md(result["auc_note"]))
            st.caption(f"The model's predictions on {result['n']:,} labelled "
                       f"{'rows' if scored is data else 'images'}. {md(result['auc_note'])}")
