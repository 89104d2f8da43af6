"""gold.stars_distribution: how customers rate."""

import lake
import streamlit as st


def render() -> None:
    stars = lake.gold_page("Ratings", "stars_distribution")
    if stars is None:
        return
    stars = stars.sort_values("stars")
    st.metric("Ratings", f"{int(stars['ratings'].sum()):,}")
    st.bar_chart(stars, x="stars", y="ratings")
    shown = stars.assign(stars=stars["stars"].map(lambda n: f"{n} ★"), share=stars["share"] * 100)
    lake.table(shown, {"share": "{:.1f} %"})
