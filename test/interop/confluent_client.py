"""An integrator's client of the platform's topics, written with Confluent's Python client only.

Nothing here comes from the platform: records are read and written with confluent-kafka's
AvroDeserializer and AvroSerializer through the schema registry (Confluent wire format,
TopicRecordNameStrategy subjects), the way a system in another stack would. test/interop.test.ts
runs it in a private virtual environment (infra/python-env.ts, pinned in requirements.txt).

    python confluent_client.py read  '{"bootstrap": "...", "registry": "...", "topics": ["..."]}'
    python confluent_client.py write '{"bootstrap": "...", "registry": "...", "topic": "...",
                                       "orders": [{"orderId": "...", "version": 1}]}'

Each command prints one JSON document on stdout: what it decoded (or could not), or what it wrote.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient, topic_record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer

KST = timezone(timedelta(hours=9))
ORDER_PLACED = "com.scmplatform.order.OrderPlaced"


def schema_id_of(value: bytes) -> int | None:
    """The writer schema id of a Confluent wire-format value (magic byte 0, big-endian int32)."""
    if len(value) < 5 or value[0] != 0:
        return None
    return int.from_bytes(value[1:5], "big")


def plain(value: Any) -> Any:
    """What fastavro returns (UUID, datetime, Decimal) as JSON text."""
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def registry_client(config: dict[str, Any]) -> SchemaRegistryClient:
    """The registry client with a timeout. Without one httpx waits forever on a stalled request,
    the only wait here with no limit (a read on a loaded CI machine was once killed after 120 s
    with nothing to show); with one, the client's own retries (3) take over."""
    return SchemaRegistryClient({"url": config["registry"], "timeout": 20})


def progress(text: str) -> None:
    """A line on stderr, so that a slow or failed run shows where its time went."""
    print(f"[confluent-client {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def read(config: dict[str, Any]) -> dict[str, Any]:
    """Every record of every topic named, from the start to the current end of each partition.

    All partitions are assigned at once and read together, under one deadline: the report says
    which partitions did not reach their end, and where they stood, rather than being killed.
    """
    started = time.monotonic()
    deadline = started + float(config.get("deadlineSeconds", 90))
    registry = registry_client(config)
    deserialize = AvroDeserializer(registry)
    consumer = Consumer(
        {
            "bootstrap.servers": config["bootstrap"],
            "group.id": f"interop-reader-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    records: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    names: dict[int, str] = {}
    # (topic, partition) -> the offset one past the last record present when the read began.
    ends: dict[tuple[str, int], int] = {}
    positions: dict[tuple[str, int], int] = {}
    try:
        metadata = consumer.list_topics(timeout=20)
        assignment = []
        for topic in config["topics"]:
            for partition in metadata.topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=20)
                if high > low:
                    ends[(topic, partition)] = high
                    positions[(topic, partition)] = low
                    assignment.append(TopicPartition(topic, partition, low))
        total = sum(ends[key] - positions[key] for key in ends)
        progress(f"{total} records in {len(ends)} partitions of {len(config['topics'])} topics")
        consumer.assign(assignment)
        reported = time.monotonic()
        while ends:
            now = time.monotonic()
            if now > deadline:
                unfinished = {f"{t}[{p}]": f"at {positions[(t, p)]} of {end}" for (t, p), end in ends.items()}
                raise TimeoutError(f"not read to their end in {now - started:.0f} s: {unfinished}")
            if now - reported > 10:
                progress(f"{len(records) + len(failures)} of {total} read, {len(ends)} partitions to go")
                reported = now
            message: Message | None = consumer.poll(1.0)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            where = {"topic": topic, "partition": partition, "offset": offset}
            positions[(topic, partition)] = offset + 1
            value = message.value()
            try:
                if value is None:
                    raise ValueError("a record without a value")
                context = SerializationContext(topic, MessageField.VALUE, message.headers())
                event = deserialize(value, context)
                schema_id = schema_id_of(value)
                if schema_id is not None and schema_id not in names:
                    schema = json.loads(registry.get_schema(schema_id).schema_str)
                    names[schema_id] = f"{schema['namespace']}.{schema['name']}"
                envelope = event["metadata"]
                records.append(
                    {
                        **where,
                        "key": message.key().decode("utf-8") if message.key() else None,
                        "schemaId": schema_id,
                        "record": names.get(schema_id) if schema_id is not None else None,
                        "eventType": envelope["eventType"],
                        "schemaVersion": envelope["schemaVersion"],
                        # fastavro parses uuid fields: these are uuid.UUID objects (or None).
                        "eventId": plain(envelope["eventId"]),
                        "causationId": None if envelope["causationId"] is None else plain(envelope["causationId"]),
                        "uuidTypes": [
                            type(envelope["eventId"]).__name__,
                            type(envelope["causationId"]).__name__,
                        ],
                        "occurredAt": plain(envelope["occurredAt"]),
                        "headers": sorted(name for name, _ in (message.headers() or [])),
                    }
                )
            except Exception as error:  # noqa: BLE001 - every failure is the report's subject
                failures.append({**where, "error": f"{type(error).__name__}: {error}"})
            if offset + 1 >= ends.get((topic, partition), 0):
                ends.pop((topic, partition), None)
        progress(f"{len(records)} decoded, {len(failures)} failed, in {time.monotonic() - started:.1f} s")
    finally:
        consumer.close()
    return {"records": records, "failures": failures}


def dawn_slot(day: date) -> dict[str, datetime]:
    """The storefront's DAWN slot (00:00-07:00 KST) of a day, as the contract's instants."""
    starts = datetime(day.year, day.month, day.day, tzinfo=KST)
    return {"startsAt": starts, "endsAt": starts + timedelta(hours=7)}


def order_placed(order_id: str, version: int) -> dict[str, Any]:
    """An OrderPlaced as a storefront in another stack would write it."""
    price = {"amount": Decimal("9500.00"), "currency": "KRW"}
    data: dict[str, Any] = {
        "orderId": order_id,
        "customerId": "CUST-PYTHON",
        "lines": [{"productCode": "PRD-BIBIMBAP", "productName": "돌솥비빔밥", "quantity": 1, "unitPrice": price}],
        "totalAmount": price,
        "deliveryAddress": {
            "recipientName": "이서연",
            "phone": "010-9876-5432",
            "postalCode": "06236",
            "roadAddress": "서울특별시 강남구 테헤란로 123",
            "detailAddress": None,
        },
        "deliverySlot": dawn_slot(datetime.now(KST).date() + timedelta(days=1)),
    }
    if version >= 2:
        data["deliveryMemo"] = "경비실에 맡겨주세요"
        data["salesChannel"] = "PARTNER"
    return {
        "metadata": {
            "eventId": str(uuid.uuid4()),
            "eventType": "OrderPlaced",
            "occurredAt": datetime.now(timezone.utc),
            "correlationId": order_id,
            "causationId": None,
            "producer": "order",
            "schemaVersion": version,
        },
        "data": data,
    }


def write(config: dict[str, Any]) -> dict[str, Any]:
    """One OrderPlaced per entry, in the schema version asked for, without any header."""
    registry = registry_client(config)
    topic = config["topic"]
    subject = f"{topic}-{ORDER_PLACED}"
    producer = Producer({"bootstrap.servers": config["bootstrap"], "enable.idempotence": True, "acks": "all"})
    key = StringSerializer("utf_8")
    errors: list[str] = []
    written: list[dict[str, Any]] = []

    def delivered(error: Any, message: Message) -> None:
        if error is not None:
            errors.append(str(error))

    for order in config["orders"]:
        version = int(order["version"])
        # The subject's version N is the event's schema version N: the platform registers them in order.
        registered = registry.get_version(subject, version)
        serialize = AvroSerializer(
            registry,
            registered.schema.schema_str,
            conf={
                # Look the schema up rather than register it: the platform owns its subjects.
                "auto.register.schemas": False,
                "subject.name.strategy": topic_record_subject_name_strategy,
            },
        )
        value = serialize(order_placed(order["orderId"], version), SerializationContext(topic, MessageField.VALUE))
        producer.produce(topic, key=key(order["orderId"]), value=value, on_delivery=delivered)
        written.append({"orderId": order["orderId"], "version": version, "schemaId": schema_id_of(value)})
    remaining = producer.flush(30)
    if remaining or errors:
        raise RuntimeError(f"{remaining} record(s) not delivered; errors: {errors}")
    return {"written": written, "subject": subject}


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("read", "write"):
        print(__doc__, file=sys.stderr)
        return 2
    config = json.loads(argv[2])
    result = read(config) if argv[1] == "read" else write(config)
    json.dump(result, sys.stdout, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
