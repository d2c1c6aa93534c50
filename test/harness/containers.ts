/**
 * The Docker column of the test stack: the same images as docker-compose.yml, started by
 * testcontainers. Used only when a Docker engine answers; our own machines have none, so
 * this path is exercised by developers with Docker, not by CI here.
 */
import net from 'node:net';

export interface StartedContainers {
  endpoints: Record<string, string>;
  stop: () => Promise<void>;
}

const images = {
  kafka: 'apache/kafka:4.1.1',
  registry: 'confluentinc/cp-schema-registry:7.9.1',
  mongo: 'mongo:7.0',
} as const;

export async function startContainers(): Promise<StartedContainers> {
  // Imported here so that machines without Docker never load the Docker client.
  const { GenericContainer, Network, Wait } = await import('testcontainers');
  const network = await new Network().start();
  // Kafka must advertise the address clients on the host use, which has to be known before
  // the broker starts: pick a free host port and bind it explicitly.
  const kafkaHostPort = await freePort();
  const kafka = await new GenericContainer(images.kafka)
    .withNetwork(network)
    .withNetworkAliases('kafka')
    .withExposedPorts({ container: 19092, host: kafkaHostPort })
    .withEnvironment({
      KAFKA_NODE_ID: '1',
      KAFKA_PROCESS_ROLES: 'broker,controller',
      KAFKA_LISTENERS: 'INTERNAL://:9092,EXTERNAL://:19092,CONTROLLER://:9093',
      KAFKA_ADVERTISED_LISTENERS: `INTERNAL://kafka:9092,EXTERNAL://127.0.0.1:${kafkaHostPort}`,
      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT',
      KAFKA_INTER_BROKER_LISTENER_NAME: 'INTERNAL',
      KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@kafka:9093',
      KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
      KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
      KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
      KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
      KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
      KAFKA_NUM_PARTITIONS: '6',
    })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  const registry = await new GenericContainer(images.registry)
    .withNetwork(network)
    .withExposedPorts(8081)
    .withEnvironment({
      SCHEMA_REGISTRY_HOST_NAME: 'schema-registry',
      SCHEMA_REGISTRY_LISTENERS: 'http://0.0.0.0:8081',
      SCHEMA_REGISTRY_KAFKASTORE_BOOTSTRAP_SERVERS: 'PLAINTEXT://kafka:9092',
    })
    .withWaitStrategy(Wait.forHttp('/subjects', 8081))
    .start();
  const mongo = await new GenericContainer(images.mongo)
    .withExposedPorts(27017)
    .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
    .start();

  return {
    endpoints: {
      KAFKA_BROKERS: `127.0.0.1:${kafkaHostPort}`,
      SCHEMA_REGISTRY_URL: `http://${registry.getHost()}:${registry.getMappedPort(8081)}`,
      MONGO_URL: `mongodb://${mongo.getHost()}:${mongo.getMappedPort(27017)}/`,
    },
    stop: async () => {
      await Promise.all([mongo.stop(), registry.stop()]);
      await kafka.stop();
      await network.stop();
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
