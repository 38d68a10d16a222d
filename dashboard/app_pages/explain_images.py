"""Explain: images. Heatmaps from every applicable method side by side, each with its faithfulness."""

import streamlit as st

from glasswing import explainers, ingest
from glasswing.dashboard import _explain_images as xi
from glasswing.dashboard import _state
from glasswing.dashboard._text import md
from glasswing.reports import charts

P = xi.P
st.title("Explain: images")
model = _state.model()
if model is None or model.modality != "image":
    _state.need("an image model")

ok, why_not = explainers.registry.applicable(model)
loaded = _state.images()
sources = (["Loaded images"] if loaded is not None else []) + ["Upload images"]
source = st.radio("Images", sources, horizontal=True, key=P + "source", label_visibility="collapsed")
images = loaded
if source == "Upload images":
    files = st.file_uploader(
        "PNG or JPEG images, several at once (add a labels.csv with file, label and group columns)",
        type=["png", "jpg", "jpeg", "csv"], accept_multiple_files=True, key=P + "upload",
        help=f"Up to {ingest.MAX_FILE_MB} MB a file, {ingest.MAX_IMAGE_MEGAPIXELS} megapixels an image.")
    images = None
    with _state.guard("reading the uploaded images"):
        images = xi.uploaded(files)
if images is None:
    st.info("Upload one or more images to explain.", icon=":material/info:")
    st.stop()

proba = None
with _state.guard("predicting the images"):
    proba = xi.probabilities(model.sha256, images.sha256, model, images)
if proba is None:
    st.stop()
classes = model.classes_
index = st.selectbox("Image", range(len(images)), index=xi.default_image(images, proba, classes),
                     format_func=lambda i: xi.caption(images, proba, classes, i), key=P + "image")
left, right = st.columns([1, 2])
left.image(images.images[index], caption=md(images.names[index]), width=220)
right.plotly_chart(charts.top_predictions_figure(proba[index], classes, k=5), key=P + "fig.top")
predicted = int(proba[index].argmax())
target = st.selectbox("Class to explain", list(classes), index=predicted, key=f"{P}target.{index}",
                      format_func=lambda c: f"{c} (p = {proba[index][list(classes).index(c)]:.2f})")

names = [s.name for s in ok]
default = ["gradcam"] if "gradcam" in names else names[:1]
methods = st.multiselect("Methods", names, default=default, key=P + "methods",
                         format_func=lambda n: explainers.registry.get(n).label)
for name, why in why_not.items():
    if explainers.registry.get(name).modalities == ("image",):
        st.caption(f"*{md(explainers.registry.get(name).label)}* is not available: {md(why)}")
if not names:
    st.stop()
with st.expander("Display and method settings", icon=":material/tune:"):
    a, b, c = st.columns(3)
    opacity = a.slider("Heatmap opacity", 0.0, 1.0, 0.5, 0.05, key=P + "opacity")
    colormap = b.selectbox("Colour map", charts.COLORMAPS, key=P + "colormap")
    randomise = c.checkbox("Randomisation sanity check", key=P + "randomise",
                           help="Randomise the weights of the layers nearest the output and explain again: "
                                "a faithful map must change.", disabled=not model.differentiable)
    layers = int(c.number_input("Layers to randomise", 1, 20, 1, key=P + "layers", disabled=not randomise))
    params = {m: xi.param_widgets(explainers.registry.get(m), st) for m in methods}
if not methods:
    st.info("Choose at least one method.", icon=":material/info:")
    st.stop()

st.subheader(f"Why class {md(target)}?")
st.caption("Each map shows where the method finds evidence for the class (brighter: more). Beside it, the "
           "deletion curve: the pixels the map ranks highest are removed first; if the map is faithful the "
           "probability falls faster than when pixels are removed in random order.")
for column, method in zip(st.columns(len(methods)), methods, strict=True):
    spec = explainers.registry.get(method)
    with column, _state.guard(f"explaining with {spec.label}"):
        with st.spinner(f"{spec.label}..."):
            exp = xi.explanation(model.sha256, images.sha256, index, method, target, params[method], model,
                                 images)
        st.plotly_chart(charts.heatmap_figure(exp, opacity=opacity, colormap=colormap,
                                              title=f"{spec.label}"), key=f"{P}fig.map.{method}")
        curve = exp.extras["deletion_curve"]
        m1, m2 = st.columns(2)
        m1.metric("Deletion area", f"{curve.auc:.2f}", f"{curve.auc - curve.random_auc:+.2f} vs random",
                  delta_color="inverse", help="Area under the deletion curve: lower is better.")
        m2.metric("Random order", f"{curve.random_auc:.2f}")
        st.plotly_chart(charts.deletion_figure(curve), key=f"{P}fig.deletion.{method}")
        st.caption(md(curve.summary))
        stem = images.names[index].rsplit(".", 1)[0]
        d1, d2 = st.columns(2)
        d1.download_button("Heatmap PNG", xi.png(exp, opacity, colormap), f"{stem}_{method}.png",
                           "image/png", key=f"{P}png.{method}", icon=":material/download:")
        d2.download_button("Map .npy", xi.npy(exp), f"{stem}_{method}.npy", "application/octet-stream",
                           key=f"{P}npy.{method}", icon=":material/download:")
        st.caption(md(f"{exp.algorithm}; {exp.compute_time:.2f} s. {exp.reason}"))
        if randomise:
            with st.spinner("Randomising the top layers..."):
                check = xi.randomisation(model.sha256, images.sha256, index, method, target, params[method],
                                         layers, model, images)
            st.metric("Rank correlation after randomisation", f"{check.rank_correlation:.2f}",
                      help="1: the map did not change; near 0: it changed completely.")
            st.caption(md(check.summary))

if images.groups is not None and len(images.groups.columns):
    st.subheader("Groups")
    g1, g2, g3 = st.columns(3)
    column = g1.selectbox("Group attribute", list(images.groups.columns), key=P + "group.column")
    method = g2.selectbox("Method", names, index=names.index(default[0]) if default else 0,
                          key=P + "group.method", format_func=lambda n: explainers.registry.get(n).label)
    choices = [xi.PREDICTED, *classes]
    group_target = g3.selectbox("Class", choices, index=choices.index(target), key=P + "group.target")
    with _state.guard("explaining the groups"):
        maps, table = xi.group_view(model, images, proba, column, method,
                                    None if group_target == xi.PREDICTED else group_target,
                                    params.get(method) or xi.default_params(method))
        accuracy = table["accuracy"].to_dict() if "accuracy" in table else None
        st.plotly_chart(charts.group_maps_figure(maps, column=column, accuracy=accuracy,
                                                 counts=table["images"].to_dict(), colormap=colormap),
                        key=P + "fig.groups")
        st.dataframe(table, width="content")
        what = group_target if group_target == xi.PREDICTED else f"class {group_target}"
        st.caption(f"Does the model look at different places for different groups? Each panel averages the "
                   f"{md(explainers.registry.get(method).label)} maps of one group's images, for {md(what)}.")
