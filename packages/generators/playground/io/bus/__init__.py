"""The event bus: the embedded log by default, Kafka / Event Hubs by setting.

Every bus takes batches of (partition key, body) per topic; a key always lands in the same
partition, so one user's events stay in order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from playground.errors import PlaygroundError

if TYPE_CHECKING:
    import pyarrow as pa

EVENTHUBS_SETTING = "EVENTHUBS_CONNECTION_STRING"


class EventBus(Protocol):
    def send(self, topic: str, keys: Sequence[int], bodies: Sequence[bytes]) -> None: ...

    def close(self) -> None: ...


class BusReader(Protocol):
    """What bronze and the streaming engine read: per partition, the end (next sequence number) and
    events by sequence range as Arrow columns topic, partition, sequence_number, offset, enqueued_ms, body."""

    def end_sequences(self, topic: str) -> dict[int, int]: ...

    def read_table(self, topic: str, partition: int, from_sequence: int, to_sequence: int) -> pa.Table: ...

    def close(self) -> None: ...


def embedded_log_path(spec: str) -> str | None:
    """The file of an embedded-log spec (a path or sqlite:///path); None for any other bus."""
    if spec.startswith("sqlite:///"):
        return spec.removeprefix("sqlite:///")
    return None if "://" in spec or spec in ("eventhubs", "eventhubs-amqp") else spec


def _embedded_path(spec: str) -> str:
    path = embedded_log_path(spec)
    if path is None:
        raise PlaygroundError(f"unknown bus {spec!r}: use a file path or sqlite:///path (embedded log), "
                              "kafka://host:port, eventhubs or eventhubs-amqp")
    return path


def _eventhubs_connection(spec: str) -> str:
    connection = os.environ.get(EVENTHUBS_SETTING, "")
    if not connection:
        raise PlaygroundError(f"--bus {spec} needs the Event Hubs namespace connection string in {EVENTHUBS_SETTING}")
    return connection


def open_bus(spec: str, partitions: int = 2) -> EventBus:
    """A bus from its spec: a file path or sqlite:/// URL (embedded log), kafka://host:port[,…],
    `eventhubs` (Event Hubs' Kafka endpoint) or `eventhubs-amqp` (azure-eventhub); the Event Hubs
    connection string comes from EVENTHUBS_CONNECTION_STRING."""
    if spec.startswith("kafka://"):
        from playground.io.bus.kafka import KafkaBus, bootstrap_servers

        return KafkaBus({"bootstrap.servers": bootstrap_servers(spec)})
    if spec in ("eventhubs", "eventhubs-amqp"):
        connection = _eventhubs_connection(spec)
        if spec == "eventhubs":
            from playground.io.bus.kafka import KafkaBus, eventhubs_kafka_config

            return KafkaBus(eventhubs_kafka_config(connection))
        from playground.io.bus.eventhubs import EventHubsBus

        return EventHubsBus(connection)
    from playground.io.bus.embedded import EmbeddedLog

    return EmbeddedLog(_embedded_path(spec), partitions=partitions)


def open_reader(spec: str) -> BusReader:
    """A reader of the bus `spec` names (as open_bus): the embedded log, or Kafka / Event Hubs through
    the Kafka protocol. Event Hubs is read through its Kafka endpoint whichever way it was written."""
    if spec.startswith("kafka://"):
        from playground.io.bus.kafka import KafkaReader, bootstrap_servers

        return KafkaReader({"bootstrap.servers": bootstrap_servers(spec)}, spec)
    if spec in ("eventhubs", "eventhubs-amqp"):
        from playground.io.bus.kafka import KafkaReader, eventhubs_kafka_config

        return KafkaReader(eventhubs_kafka_config(_eventhubs_connection(spec)), "Event Hubs' Kafka endpoint")
    from playground.io.bus.embedded import EmbeddedLog

    return EmbeddedLog(_embedded_path(spec), readonly=True)
