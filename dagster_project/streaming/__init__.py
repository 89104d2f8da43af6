"""Streaming: the Stream Analytics and Delta Live Tables scenarios, defined once (scenarios.py) and
computed locally in micro-batches over the event bus (engine.py)."""
