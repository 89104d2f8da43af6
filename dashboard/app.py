"""The data playground's dashboard: what the platform made, for a data engineer or a shop owner.
`make dashboard` (alone, on what `make demo` left) or `make up` (beside Dagster) serves it."""

import streamlit as st
from views import customers, freshness, live, model, products, ratings, sales

st.set_page_config(page_title="Data Playground", layout="wide")
# Dagster's asset metadata links to these paths (dagster_project/dashboard_links.py).
pages = [
    st.Page(customers.render, title="Customers", default=True),  # at /
    st.Page(sales.render, title="Sales", url_path="sales"),
    st.Page(products.render, title="Products", url_path="products"),
    st.Page(ratings.render, title="Ratings", url_path="ratings"),
    st.Page(live.render, title="Live", url_path="live"),
    st.Page(model.render, title="Model", url_path="model"),
    st.Page(freshness.render, title="Freshness", url_path="freshness"),
]
st.navigation(pages).run()
