"""Kafka, and Event Hubs through its Kafka endpoint (port 9093, SASL PLAIN, `$ConnectionString`)
exactly as the original streamers connected."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast
from urllib.parse import urlparse

import pyarrow as pa

from playground.errors import PlaygroundError

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


def bootstrap_servers(spec: str) -> str:
    """The brokers of a kafka://host:port[,host:port…] spec, each checked to name a host and a port."""
    servers = spec.removeprefix("kafka://")
    for server in servers.split(","):
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            raise PlaygroundError(f"--bus {spec!r} does not name a broker: use kafka://host:port "
                                  "(several separated by commas), e.g. kafka://localhost:9092")
    return servers


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
            # log_level 0: the client's own log lines would come before the one clear error raised here
            self.producer = Producer({**PRODUCER_DEFAULTS, **config, "error_cb": self._on_error, "log_level": 0})
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
        left = 1
        for _second in range(30):  # up to 30 s for deliveries, unless the client already reports a failure
            left = self.producer.flush(1)
            if not left or self.errors:
                break
        del self.producer  # the client's threads end with it, not at interpreter exit
        self._raise_errors()
        if left:
            raise PlaygroundError(f"{left} events were not confirmed by Kafka within 30 s; "
                                  "check that the brokers are reachable")


READ_TIMEOUT_S = 10.0


class KafkaReader:
    """A topic's partitions read by offset range, as the bronze ingest and the streaming engine read
    the embedded log. Kafka's offset serves as both sequence number and offset, and a record's
    timestamp as its enqueued time (Event Hubs stamps it so). Offsets are kept by the reader's
    caller, committed with its output: no consumer group offsets are used."""

    def __init__(self, config: dict[str, Any], where: str):
        try:
            from confluent_kafka import Consumer
        except ModuleNotFoundError as exc:
            raise PlaygroundError("reading a Kafka bus needs the `kafka` extra (confluent-kafka)") from exc
        self.where = where
        # log_level 0: a broker that cannot be reached is reported once, by the error raised, not
        # logged by librdkafka every few milliseconds (a sensor asks every 5 s).
        self.consumer = Consumer({**config, "group.id": "data-playground", "enable.auto.commit": False,
                                  "enable.partition.eof": True, "auto.offset.reset": "earliest", "log_level": 0})

    def _failed(self, what: str, exc: object) -> PlaygroundError:
        return PlaygroundError(f"cannot {what} on {self.where}: {exc}. Check the bootstrap servers / "
                               "connection string and that the brokers are reachable")

    def partitions(self, topic: str) -> list[int]:
        from confluent_kafka import KafkaException

        try:
            found = self.consumer.list_topics(topic, timeout=READ_TIMEOUT_S).topics.get(topic)
        except KafkaException as exc:
            raise self._failed(f"list topic {topic!r}", exc) from exc
        if found is None or found.error is not None:  # not created yet: nothing to read
            return []
        return sorted(found.partitions)

    def end_sequences(self, topic: str) -> dict[int, int]:
        from confluent_kafka import KafkaException, TopicPartition

        try:
            return {p: self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=READ_TIMEOUT_S)[1]
                    for p in self.partitions(topic)}
        except KafkaException as exc:
            raise self._failed(f"read the end offsets of {topic!r}", exc) from exc

    def read_table(self, topic: str, partition: int, from_sequence: int, to_sequence: int) -> pa.Table:
        """Records [from_sequence, to_sequence) of one partition (fewer where Kafka left gaps)."""
        from confluent_kafka import KafkaError, TopicPartition

        offsets: list[int] = []
        times: list[int] = []
        bodies: list[bytes] = []
        if to_sequence > from_sequence:
            self.consumer.assign([TopicPartition(topic, partition, from_sequence)])
            try:
                position = from_sequence
                while position < to_sequence:
                    messages = self.consumer.consume(min(10_000, to_sequence - position), timeout=READ_TIMEOUT_S)
                    if not messages:
                        raise self._failed(f"read {topic}/{partition} from offset {position} (nothing came in "
                                           f"{READ_TIMEOUT_S:.0f} s)", "timed out")
                    for message in messages:
                        error = message.error()
                        if error is not None and error.code() == KafkaError._PARTITION_EOF:
                            position = to_sequence  # nothing more below the end we were given
                            break
                        if error is not None:
                            raise self._failed(f"read {topic}/{partition}", error)
                        offset = cast(int, message.offset())  # a consumed message has one
                        if offset >= to_sequence:
                            position = to_sequence
                            break
                        offsets.append(offset)
                        times.append(message.timestamp()[1])
                        bodies.append(message.value() or b"")
                        position = offset + 1
            finally:
                self.consumer.unassign()
        count = len(offsets)
        sequence = pa.array(offsets, pa.int64())
        return pa.table({"topic": pa.array([topic] * count, pa.string()),
                         "partition": pa.array([partition] * count, pa.int32()),
                         "sequence_number": sequence, "offset": sequence,
                         "enqueued_ms": pa.array(times, pa.int64()), "body": pa.array(bodies, pa.large_binary())})

    def close(self) -> None:
        self.consumer.close()
