"""Event Hubs through its own SDK (AMQP), for namespaces without the Kafka endpoint (Basic tier)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from playground.errors import PlaygroundError
from playground.io.bus.kafka import parse_connection_string


class EventHubsBus:
    def __init__(self, connection: str):
        self.host = parse_connection_string(connection)["host"]  # a malformed string fails before any send
        try:
            import azure.eventhub  # noqa: F401
        except ModuleNotFoundError as exc:
            raise PlaygroundError("--bus eventhubs-amqp needs the `azure` extra (azure-eventhub)") from exc
        self.connection = connection
        self.producers: dict[str, Any] = {}

    def _producer(self, topic: str) -> Any:
        from azure.eventhub import EventHubProducerClient

        if topic not in self.producers:
            self.producers[topic] = EventHubProducerClient.from_connection_string(
                self.connection, eventhub_name=topic)
        return self.producers[topic]

    def send(self, topic: str, keys: Sequence[int], bodies: Sequence[bytes]) -> None:
        from azure.eventhub.exceptions import EventHubError

        try:
            self._send(topic, keys, bodies)
        except EventHubError as exc:  # the SDK has already retried what it deems transient
            reason = exc.message.splitlines()[0]
            raise PlaygroundError(f"cannot send to event hub {topic!r} on {self.host}: {reason}. Check that the "
                                  "namespace is reachable, the hub exists and the policy may send") from exc

    def _send(self, topic: str, keys: Sequence[int], bodies: Sequence[bytes]) -> None:
        from azure.eventhub import EventData

        producer = self._producer(topic)
        partitions = producer.get_partition_ids()
        # key % partitions, as the embedded log does, so one user's events stay in one partition
        by_partition: dict[str, list[bytes]] = {}
        for key, body in zip(keys, bodies, strict=True):
            by_partition.setdefault(partitions[key % len(partitions)], []).append(body)
        for partition, group in by_partition.items():
            batch = producer.create_batch(partition_id=partition)
            for body in group:
                try:
                    batch.add(EventData(body))
                except ValueError:  # the batch is full (1 MB): send it and start another
                    producer.send_batch(batch)
                    batch = producer.create_batch(partition_id=partition)
                    batch.add(EventData(body))
            producer.send_batch(batch)

    def close(self) -> None:
        for producer in self.producers.values():
            producer.close()
