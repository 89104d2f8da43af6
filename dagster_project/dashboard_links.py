"""Where each local asset is shown in the dashboard (dashboard/app.py's pages), for the link on its
asset page. The dashboard reads the local lake, so only the local playground's assets link to it."""

from __future__ import annotations

import os

from dagster import MetadataValue

PAGES = {"engagements": "", "daily_sales": "sales", "product_popularity": "products",
         "stars_distribution": "ratings", "streaming": "live", "order_value_model": "model",
         "order_value_scores": "model"}


def dashboard_link(page_of: str) -> dict[str, MetadataValue]:
    """{"dashboard": url} for a gold model, "streaming" or an ML asset, else nothing."""
    if page_of not in PAGES:
        return {}
    base = os.environ.get("PLAYGROUND_DASHBOARD_URL", "http://127.0.0.1:8501").rstrip("/")
    # Through the main page: Streamlit opened at a page's own path probes it as a base path first (two 404s).
    return {"dashboard": MetadataValue.url(f"{base}/?page={PAGES[page_of]}" if PAGES[page_of] else f"{base}/")}
