"""The data playground's dashboard: what the platform made, for a data engineer or a shop owner.
`make dashboard` (alone, on what `make demo` left) or `make up` (beside Dagster) serves it."""

import streamlit as st
from views import customers, freshness, live, model, products, ratings, sales

st.set_page_config(page_title="Data Playground", layout="wide")
pages = [
    st.Page(customers.render, title="Customers", default=True),  # at /
    st.Page(sales.render, title="Sales", url_path="sales"),
    st.Page(products.render, title="Products", url_path="products"),
    st.Page(ratings.render, title="Ratings", url_path="ratings"),
    st.Page(live.render, title="Live", url_path="live"),
    st.Page(model.render, title="Model", url_path="model"),
    st.Page(freshness.render, title="Freshness", url_path="freshness"),
]
shown = st.navigation(pages)
# Dagster's asset pages link to /?page=<url_path> (dagster_project/dashboard_links.py), not to /<url_path>: a
# page's own address opened directly makes Streamlit probe a base path there first (two 404s,
# streamlit/streamlit#7074); switching from / does not.
if wanted := st.query_params.pop("page", None):
    shown = next((page for page in pages if page.url_path == wanted), shown)
    if shown.url_path:
        st.switch_page(shown)
shown.run()
