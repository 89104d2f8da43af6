"""gold.engagements: who buys, VIP or not, and how browsing turns into orders."""

import lake
import streamlit as st


def render() -> None:
    users = lake.gold_page("Customers", "engagements")
    if users is None:
        return
    cities = st.multiselect("City", sorted(users["city"].dropna().unique()), placeholder="Every city")
    if cities:
        users = users[users["city"].isin(cities)]
    for column, (label, group) in zip(st.columns(2), (("VIP", users[users["is_vip"]]),
                                                      ("Not VIP", users[~users["is_vip"]])), strict=True):
        orders = int(group["orders"].sum())
        column.subheader(label)
        column.metric("Customers", f"{len(group):,}")
        column.metric("Revenue", f"{group['total_orders_value'].sum():,.2f}")
        column.metric("Average order value", f"{group['total_orders_value'].sum() / orders:,.2f}" if orders else "–")
        column.metric("Pageviews per customer", f"{group['pageviews'].mean():,.1f}" if len(group) else "–")
    st.subheader("Top customers by order value")
    top = users.nlargest(20, "total_orders_value")[
        ["id", "user_name", "city", "orders", "total_orders_value", "pageviews", "avg_stars", "is_vip"]]
    lake.table(top, {"total_orders_value": "{:,.2f}", "avg_stars": "{:.2f}"})
    st.subheader("Pageviews and orders per customer")
    st.scatter_chart(users, x="pageviews", y="orders", color="is_vip")
