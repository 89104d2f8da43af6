"""Kafka, and Event Hubs through its Kafka endpoint (port 9093, SASL PLAIN, `$ConnectionString`)
exactly as the original streamers connected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from generators.errors import PlaygroundError

# Event Hubs caps a Kafka request at 1 MB; batching below it keeps the producer fast and valid.
PRODUCER_DEFAULTS = {"linger.ms": 20, "batch.size": 900_000, "compression.type": "none", "acks": "all"}


def parse_connection_string(connection: str) -> dict[str, str]:
    """The parts of an Event Hubs connection string, checked; the key is never echoed."""
    parts: dict[str, str] = {}
    for piece in connection.strip().strip(";").split(";"):
        name, sep, value = piece.partition("=")
        if not sep or not name:
            raise PlaygroundError("the Event Hubs connection string is malformed: expected "
                                  "'Endpoint=sb://<namespace>.servicebus.windows.net/;SharedAccessKeyName=<name>;"
                                  "SharedAccessKey=<key>' (copy it from the namespace's Shared access policies)")
        parts[name.strip()] = value.strip()
    missing = [k for k in ("Endpoint", "SharedAccessKeyName", "SharedAccessKey") if not parts.get(k)]
    if missing:
        raise PlaygroundError(f"the Event Hubs connection string lacks {', '.join(missing)}; copy the whole "
                              "string from the namespace's Shared access policies")
    endpoint = urlparse(parts["Endpoint"])
    if endpoint.scheme != "sb" or not endpoint.hostname:
        raise PlaygroundError(f"the Event Hubs connection string's Endpoint must look like "
                              f"sb://<namespace>.servicebus.windows.net/, got {parts['Endpoint']!r}")
    parts["host"] = endpoint.hostname
    return parts


def eventhubs_kafka_config(connection: str) -> dict[str, Any]:
    host = parse_connection_string(connection)["host"]
    return {
        "bootstrap.servers": f"{host}:9093",
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "PLAIN",
        "sasl.username": "$ConnectionString",
        "sasl.password": connection.strip(),
    }


class KafkaBus:
    def __init__(self, config: dict[str, Any]):
        try:
            from confluent_kafka import Producer
        except ModuleNotFoundError as exc:
            raise PlaygroundError("the Kafka bus needs the `kafka` extra (confluent-kafka)") from exc
        self.errors: list[str] = []
        try:
            self.producer = Producer({**PRODUCER_DEFAULTS, **config, "error_cb": self._on_error})
        except Exception as exc:
            raise PlaygroundError(f"cannot configure the Kafka producer: {exc}") from exc

    def _on_error(self, error: Any) -> None:
        self.errors.append(str(error))

    def _on_delivery(self, error: Any, _message: Any) -> None:
        if error is not None:
            self.errors.append(str(error))

    def send(self, topic: str, keys: Sequence[int], bodies: Sequence[bytes]) -> None:
        produce, poll = self.producer.produce, self.producer.poll
        for key, body in zip(keys, bodies, strict=True):
            while True:
                try:
                    produce(topic, value=body, key=str(key).encode(), on_delivery=self._on_delivery)
                    break
                except BufferError:  # local queue full: let deliveries drain
                    poll(0.05)
        poll(0)
        self._raise_errors()

    def _raise_errors(self) -> None:
        if self.errors:
            first = self.errors[0]
            self.errors.clear()
            raise PlaygroundError(f"Kafka delivery failed: {first}. Check the bootstrap servers / "
                                  "connection string and that the topic exists")

    def close(self) -> None:
        left = self.producer.flush(30)
        del self.producer  # the client's threads end with it, not at interpreter exit
        self._raise_errors()
        if left:
            raise PlaygroundError(f"{left} events were not confirmed by Kafka within 30 s; "
                                  "check that the brokers are reachable")
