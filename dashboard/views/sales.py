"""gold.daily_sales: revenue and orders per day over a chosen range."""

import lake
import streamlit as st


def render() -> None:
    days = lake.gold_page("Sales", "daily_sales")
    if days is None:
        return
    days = days.sort_values("order_day")
    first, last = days["order_day"].min(), days["order_day"].max()
    chosen = st.date_input("Days", value=(max(first, last - (days["order_day"].max() - first) / 4), last),
                           min_value=first, max_value=last)
    start, end = (chosen[0], chosen[-1]) if isinstance(chosen, tuple) else (chosen, chosen)
    days = days[(days["order_day"] >= start) & (days["order_day"] <= end)]
    total, orders = days["revenue"].sum(), int(days["orders"].sum())
    for column, (label, value) in zip(st.columns(3), (("Revenue", f"{total:,.2f}"), ("Orders", f"{orders:,}"),
                                                      ("Average order value",
                                                       f"{total / orders:,.2f}" if orders else "–")), strict=True):
        column.metric(label, value)
    st.subheader("Revenue per day")
    st.line_chart(days, x="order_day", y="revenue")
    st.subheader("Orders per day")
    st.bar_chart(days, x="order_day", y="orders")
    st.subheader("The last days of the range")
    lake.table(days.tail(14).sort_values("order_day", ascending=False),
               {"revenue": "{:,.2f}", "avg_order_value": "{:,.2f}"})
