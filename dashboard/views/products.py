"""gold.product_popularity: best sellers, and the products nobody bought."""

import lake
import streamlit as st


def render() -> None:
    products = lake.gold_page("Products", "product_popularity")
    if products is None:
        return
    sold = products[products["units_sold"] > 0]
    never = products[products["units_sold"] == 0]
    for column, (label, value) in zip(st.columns(3), (("Products", f"{len(products):,}"),
                                                      ("Sold at least once", f"{len(sold):,}"),
                                                      ("Never sold", f"{len(never):,}")), strict=True):
        column.metric(label, value)
    st.subheader("Best sellers")
    best = products.sort_values(["popularity_rank", "product_id"]).head(20)
    st.bar_chart(best, x="name", y="units_sold", horizontal=True, sort="-units_sold")
    lake.table(best[["popularity_rank", "product_id", "name", "units_sold", "orders", "revenue", "price"]],
               {"revenue": "{:,.2f}", "price": "{:,.2f}"})
    st.subheader("Never sold")
    if never.empty:
        st.write("Every product has sold at least once.")
    else:
        lake.table(never.sort_values("product_id").head(50)[["product_id", "name", "price"]], {"price": "{:,.2f}"})
