"""What runs where MLflow and scikit-learn live, not in Dagster: training and scoring the order value model
(order_value.py), launched through Pipes. Imports nothing of the project."""
