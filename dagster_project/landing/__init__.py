"""Landing: where the generators put each source (lake files, the orders database, the event bus), as
Dagster assets that run them locally or report what they wrote in the cloud (assets.py)."""
