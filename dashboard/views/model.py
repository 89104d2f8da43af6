"""The order value model: the champion's predictions for the newest orders against what they were worth,
and each training's held-out RMSE against the mean's (ml/order_value_scores, ml/order_value_history)."""

import lake
import streamlit as st


def render() -> None:
    scores = lake.gold_page("Model", "order_value_scores", asset="ml/order_value_scores")
    if scores is None:
        return
    try:
        history = lake.gold("order_value_history")
    except lake.LakeError as error:
        st.error(f"{error}: train again (materialize ml/order_value_model), then reload this page.")
        return
    if history is None:
        return
    history = history.sort_values("registered_version")
    latest = history.iloc[-1]
    champion = history[history["registered_version"] == latest["champion_version"]].iloc[0]
    error = (scores["predicted_value"] - scores["order_value"]).abs()
    for column, (label, value) in zip(st.columns(4), (
            ("Champion version", f"{int(latest['champion_version'])}"),
            ("Champion's held-out RMSE", f"{latest['champion_rmse']:,.2f}"),
            ("The mean's held-out RMSE", f"{latest['baseline_mean_rmse']:,.2f}"),
            ("Scored orders", f"{len(scores):,}")), strict=True):
        column.metric(label, value)
    st.caption(f"The champion is {champion['best']}, trained {champion['trained_at']:%Y-%m-%d %H:%M} UTC on orders "
               f"before {champion['cutoff']}; RMSEs on the orders from then on.")
    st.subheader("Predicted against actual value, newest orders")
    st.caption(f"Orders since {scores['order_date'].min():%Y-%m-%d}, scored by version "
               f"{int(scores['model_version'].iloc[0])}; mean absolute error {error.mean():,.2f}.")
    st.scatter_chart(scores, x="order_value", y="predicted_value")
    st.subheader("Held-out RMSE by training")
    st.bar_chart(history, x="registered_version", y=["champion_rmse", "baseline_mean_rmse"], stack=False)
    lake.table(history[["registered_version", "trained_at", "cutoff", "best", "champion_version",
                        "baseline_mean_rmse", "linear_regression_rmse", "gradient_boosting_rmse", "champion_rmse"]]
               .sort_values("registered_version", ascending=False),
               {name: "{:,.2f}" for name in ("baseline_mean_rmse", "linear_regression_rmse", "gradient_boosting_rmse",
                                             "champion_rmse")})
