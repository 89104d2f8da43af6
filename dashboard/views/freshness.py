"""When each published table was last written: the sensors and schedules at work."""

import lake
import pandas as pd
import streamlit as st


def render() -> None:
    st.title("Freshness")
    st.caption("Gold is published after each dbt build; streaming parts every 10 s while the consumer runs.")
    rows = lake.freshness()
    if all(r.last_published is None for r in rows):
        st.info(lake.WHAT_TO_RUN)
    table = pd.DataFrame([{"table": r.table, "rows": r.rows, "files": r.files,
                           "last published (UTC)": r.last_published.strftime("%Y-%m-%d %H:%M:%S")
                           if r.last_published else "never", "where": r.location} for r in rows])
    lake.table(table, {"rows": lambda v: "–" if pd.isna(v) else f"{int(v):,}"})
