"""The dashboard's navigation: sections of ``(page file in app_pages/, title, icon)``.

Plain data, without Streamlit, so tests can compare it with the page files on disk; ``app.py`` builds
``st.navigation`` from it, and a page declared here but missing fails loudly there.
"""

SECTIONS = {
    "Data": [("model_data.py", "Model & data", ":material/upload_file:")],
    "Explain": [
        ("explain_tabular.py", "Explain: tabular", ":material/table_chart:"),
        ("explain_images.py", "Explain: images", ":material/image_search:"),
    ],
    "Fairness": [
        ("fairness.py", "Fairness audit", ":material/balance:"),
        ("errors.py", "Error analysis", ":material/troubleshoot:"),
        ("mitigation.py", "Mitigation", ":material/tune:"),
    ],
    "Share": [
        ("report.py", "Report", ":material/picture_as_pdf:"),
        ("review.py", "Review", ":material/groups:"),
    ],
}
