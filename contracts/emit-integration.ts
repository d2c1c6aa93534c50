/**
 * The integrators' section of docs/events.md: how a system in another language reads and writes
 * the topics with a Confluent client and nothing of ours. Pure (the topic catalogue in, Markdown
 * lines out), like the rest of the generated documentation. The header names are the runtime's
 * (runtime/event-writer.ts, runtime/dead-letters.ts); a unit spec there checks they all appear.
 */
import { deadLetters, subjectName, type TopicDeclaration } from './topics';

/** What the platform puts on every record, for filtering before decoding; never required. */
export const documentedEventHeaders = [
  'event-type',
  'event-version',
  'event-id',
  'correlation-id',
  'producer',
];

export const documentedReplayHeader = 'scm_dlt-replayed-for-group';

export function integrationSection(topics: readonly TopicDeclaration[]): string[] {
  const orderTopic = topics.find((topic) => topic.events.some((route) => route.type === 'OrderPlaced'));
  const readTopic = topics.find((topic) => topic.writer === 'delivery');
  const orderPlaced = orderTopic?.events.find((route) => route.type === 'OrderPlaced');
  if (orderTopic === undefined || readTopic === undefined || orderPlaced === undefined)
    throw new Error('the topic catalogue has no OrderPlaced or no delivery topic');
  const subject = subjectName(orderTopic.name, orderPlaced.record);
  return [
    '## Reading and writing from another language',
    '',
    "Any Confluent-compatible client reads and writes these topics with the registry alone: no code, header or library of this platform is needed. `test/interop.test.ts` proves it on every run with Confluent's Python client (`confluent-kafka` with its `AvroDeserializer` and `AvroSerializer`, `test/interop/confluent_client.py`): it decodes every record of every topic after a journey that writes every event type, and the `OrderPlaced` v1 and v2 it writes itself, without headers, are delivered.",
    '',
    '- **Registry**: the Confluent REST API. The native stack serves it at `http://127.0.0.1:18081/apis/ccompat/v7` (Apicurio; the base URL has a path, which Confluent clients accept as it is), docker-compose (Confluent Schema Registry) at `http://127.0.0.1:18081`.',
    '- **Value**: Confluent wire format (magic byte `0`, big-endian int32 schema id, Avro binary). Every registered schema is self-contained (shared types are inlined, no references), so a deserializer needs nothing but the id.',
    `- **Subject**: TopicRecordNameStrategy, \`<topic>-<record full name>\`, e.g. \`${subject}\`. Java: \`value.subject.name.strategy=io.confluent.kafka.serializers.subject.TopicRecordNameStrategy\`; Python: \`topic_record_subject_name_strategy\`. Subject version N is the event's version N: the platform registers them in order at start, under FULL_TRANSITIVE (\`npm run schemas:check:registry\` reports each subject's level).`,
    '- **Do not register**: the platform owns its subjects. Writers set `auto.register.schemas=false` and use a registered version (its text looked up, or `use.latest.version=true` for the newest).',
    '- **Key**: a UTF-8 string (`StringSerializer`), the field named in the topics table above: the storefront order id, which SCM keeps as the fulfilment id (the SKU for `StockReceived`). Every event of one order has the same key, so it stays in order on one partition.',
    `- **Headers**: optional. The platform writes ${documentedEventHeaders.map((name) => `\`${name}\``).join(', ')} (UTF-8) so that its consumers can filter before decoding; a record without them is typed by its schema id and handled exactly like one with them. A record that names no event (not the wire format, an unknown schema id, a schema that is no event of this catalogue) goes to the consuming group's dead-letter topic \`<group>${deadLetters.suffix}\` with the reason (\`scm_dlt-error-code\`: \`WRONG_MAGIC_BYTE\`, \`UNKNOWN_SCHEMA_ID\`, \`UNDECODABLE\`; \`kafka_dlt-exception-message\`), never dropped. A record carrying \`${documentedReplayHeader}\` is a dead letter re-sent for that one group: other readers saw the original and skip it.`,
    "- **Envelope** (`metadata`, see [EventMetadata](#eventmetadata)), when you write: `eventId` a new UUID per event, the same one when you retry the same event (consumers deduplicate on it); `eventType` the record's simple name; `occurredAt` when it happened; `correlationId` the storefront order id; `causationId` the `eventId` of the event that caused this one, or null when a command did (a person's request, or the platform acting on its own clock: auto-advance, retries of waiting reservations); `producer` your context's name; `schemaVersion` the N of the schema version you wrote with.",
    "- **Logical types** are what they say, for every value: `uuid` fields hold RFC 4122 text (strict readers such as fastavro and Java's `UUIDConversion` parse them; the platform refuses to write anything else), `timestamp-millis` UTC milliseconds (Java `Instant`, Python aware `datetime`), `decimal(15,2)` an exact amount (Java `BigDecimal`, Python `Decimal`, at most two decimals). Every enum has an `UNKNOWN` default for symbols added later.",
    '',
    '### Python',
    '',
    'confluent-kafka 2.16 (`pip install "confluent-kafka[avro]"`); the test pins every package in `test/interop/requirements.txt`.',
    '',
    '```python',
    'from confluent_kafka import Consumer, Producer',
    'from confluent_kafka.schema_registry import SchemaRegistryClient, topic_record_subject_name_strategy',
    'from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer',
    'from confluent_kafka.serialization import MessageField, SerializationContext, StringSerializer',
    '',
    'registry = SchemaRegistryClient({"url": "http://127.0.0.1:18081/apis/ccompat/v7"})',
    '',
    '# Read: the writer schema comes from the registry, by the id in each record.',
    'deserialize = AvroDeserializer(registry)',
    'consumer = Consumer({"bootstrap.servers": "127.0.0.1:19092", "group.id": "my-service", "auto.offset.reset": "earliest"})',
    `consumer.subscribe(["${readTopic.name}"])`,
    'while True:',
    '    message = consumer.poll(1.0)',
    '    if message is None or message.error():',
    '        continue',
    '    event = deserialize(message.value(), SerializationContext(message.topic(), MessageField.VALUE))',
    '    print(event["metadata"]["eventType"], message.key().decode(), event["metadata"]["eventId"])',
    '',
    '# Write: OrderPlaced v2, looked up (not registered) under its subject; no headers needed.',
    `subject = "${subject}"`,
    'serialize = AvroSerializer(',
    '    registry,',
    '    registry.get_version(subject, 2).schema.schema_str,',
    '    conf={"auto.register.schemas": False, "subject.name.strategy": topic_record_subject_name_strategy},',
    ')',
    'producer = Producer({"bootstrap.servers": "127.0.0.1:19092", "enable.idempotence": True, "acks": "all"})',
    '# order = {"metadata": {...}, "data": {...}}: datetime, Decimal and UUID values as above',
    'producer.produce(',
    `    "${orderTopic.name}",`,
    '    key=StringSerializer()(order["data"]["orderId"]),',
    `    value=serialize(order, SerializationContext("${orderTopic.name}", MessageField.VALUE)),`,
    ')',
    'producer.flush()',
    '```',
    '',
    '### Java',
    '',
    "Confluent's `io.confluent:kafka-avro-serializer` with `GenericRecord` (not run by the test suite; the Python client above is).",
    '',
    '```java',
    'Properties common = new Properties();',
    'common.put("bootstrap.servers", "127.0.0.1:19092");',
    'common.put("schema.registry.url", "http://127.0.0.1:18081/apis/ccompat/v7");',
    'common.put("avro.use.logical.type.converters", true); // UUID, Instant, BigDecimal',
    '',
    '// Read',
    'Properties read = new Properties();',
    'read.putAll(common);',
    'read.put("group.id", "my-service");',
    'read.put("auto.offset.reset", "earliest");',
    'read.put("key.deserializer", StringDeserializer.class.getName());',
    'read.put("value.deserializer", KafkaAvroDeserializer.class.getName());',
    'try (KafkaConsumer<String, GenericRecord> consumer = new KafkaConsumer<>(read)) {',
    `  consumer.subscribe(List.of("${readTopic.name}"));`,
    '  for (ConsumerRecord<String, GenericRecord> record : consumer.poll(Duration.ofSeconds(1))) {',
    '    GenericRecord metadata = (GenericRecord) record.value().get("metadata");',
    '    System.out.println(metadata.get("eventType") + " " + record.key());',
    '  }',
    '}',
    '',
    '// Write: the newest OrderPlaced under its subject, never registered by the client',
    'Properties write = new Properties();',
    'write.putAll(common);',
    'write.put("key.serializer", StringSerializer.class.getName());',
    'write.put("value.serializer", KafkaAvroSerializer.class.getName());',
    'write.put("value.subject.name.strategy", TopicRecordNameStrategy.class.getName());',
    'write.put("auto.register.schemas", false);',
    'write.put("use.latest.version", true);',
    'write.put("enable.idempotence", true);',
    'try (KafkaProducer<String, GenericRecord> producer = new KafkaProducer<>(write)) {',
    "  // order: a GenericRecord of the subject's latest OrderPlaced schema, its metadata and data records filled in",
    `  producer.send(new ProducerRecord<>("${orderTopic.name}", orderId, order)).get(); // key: the order id, as a string`,
    '}',
    '```',
    '',
  ];
}
