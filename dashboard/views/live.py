"""The streaming outputs as they arrive: it reads the parts again every few seconds."""

import lake
import streamlit as st

REFRESH_S = 3


def render() -> None:
    st.title("Live")
    st.caption(f"Streaming outputs, read again every {REFRESH_S} s while `make up` streams events.")
    _outputs()


@st.fragment(run_every=REFRESH_S)
def _outputs() -> None:
    alerts = lake.streaming("alert_high_latency_enriched")
    vip = lake.streaming("raw_vip_only")
    methods = lake.streaming("agg_http_method")
    pairs = lake.streaming("pageviews_stars_correlation")
    if alerts.empty and vip.empty and methods.empty and pairs.empty:
        st.info("No streaming output yet: run `make demo`, or `make up` to stream events live.")
        return
    for column, (label, frame) in zip(st.columns(3), (("High-latency alerts", alerts), ("VIP accesses", vip),
                                                      ("Pageview → star pairs", pairs)), strict=True):
        column.metric(label, f"{len(frame):,}")
    st.subheader("High-latency alerts, newest first")
    if not alerts.empty:
        newest = alerts.sort_values(["event_timestamp", "event_id"], ascending=False).head(15)
        lake.table(newest[["event_id", "event_timestamp", "latency", "http_method", "uri", "user_id", "user_name",
                           "city"]], {"latency": "{:,.0f}"})
    st.subheader("Pageviews per HTTP method, 5-minute windows")
    if methods.empty:
        st.write("No window has closed yet.")
    else:
        st.bar_chart(methods.sort_values("window_end").tail(60), x="window_end", y="pageviews", color="http_method")
    left, right = st.columns(2)
    left.subheader("VIP accesses")
    if not vip.empty:
        lake.table(vip.sort_values("event_timestamp", ascending=False).head(10)[
            ["event_timestamp", "user_id", "http_method", "uri"]], where=left)
    right.subheader("Pageview → star within 15 minutes")
    if not pairs.empty:
        lake.table(pairs.tail(10)[["user_id", "uri", "stars", "seconds_between"]], {"seconds_between": "{:,.0f}"},
                   where=right)
