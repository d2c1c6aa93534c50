import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { parse, stringify } from 'yaml';
import { platformPrincipals, adminPrincipal } from '../../contracts/principals';
import { replication, replicationFor } from '../../contracts/topics';
import {
  kafkaCredentialsFile,
  kafkaNodes,
  readKafkaCredentials,
  type KafkaNode,
  type StackConfig,
} from './config';
import { ensurePythonEnv, pythonEnvOf } from '../python-env';
import { findJava, requireCommand, runLogged, which } from './prerequisites';
import { portIsOpen, type ProcessSpec } from './processes';

/**
 * One real component of the native stack: how to install it (once, cached under
 * `.stack/install`), how to start it, and how to tell that it is ready to serve.
 */
export interface Component {
  name: ComponentName;
  /** What it is, for progress lines: "Apache Kafka 4.1.1 (KRaft)". */
  title: string;
  ports: number[];
  endpoint: string;
  isInstalled(): boolean;
  install(log: string): Promise<void>;
  /** Prepares data directories (e.g. formats Kafka's log dir) and says what to run. */
  prepare(log: string): Promise<ProcessSpec>;
  isReady(): Promise<boolean>;
}

export const componentNames = ['kafka', 'registry', 'mongo', 'prometheus'] as const;
/** A cluster's Kafka nodes are `kafka-1` … `kafka-N`; `kafka` names the single node, or all of them. */
export type ComponentName = (typeof componentNames)[number] | `kafka-${number}`;

const mavenDependencyPlugin = 'org.apache.maven.plugins:maven-dependency-plugin:3.6.1';

/** An install directory counts only once its marker is written, so a half install is redone. */
function installDir(
  config: StackConfig,
  name: string,
): { dir: string; done: () => boolean; markDone: () => void } {
  const dir = path.join(config.installDir, name);
  const marker = path.join(dir, '.installed');
  return {
    dir,
    done: () => fs.existsSync(marker),
    markDone: () => fs.writeFileSync(marker, `${new Date().toISOString()}\n`),
  };
}

function freshDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
}

/**
 * The stack's Kafka, one component per node: a single combined broker+controller (`kafka`), or
 * `--brokers N` combined nodes (`kafka-1` … `kafka-N`) forming one KRaft quorum, all from the
 * same cached jars, each with its own data, log and pid file, so `status` shows each and `up`
 * restarts whichever was killed.
 */
export function kafkaComponents(config: StackConfig): Component[] {
  const nodes = kafkaNodes(config);
  return nodes.map((node) => kafkaNodeComponent(config, node, nodes));
}

function kafkaNodeComponent(config: StackConfig, node: KafkaNode, nodes: readonly KafkaNode[]): Component {
  const { version, heapMb, security } = config.kafka;
  const { port, controllerPort } = node;
  const cluster = nodes.length > 1;
  const credentialsFile = kafkaCredentialsFile(config);
  const install = installDir(config, `kafka-${version}`);
  const libs = path.join(install.dir, 'libs');
  const dataDir = kafkaNodeDataDir(config, node);
  const logDirs = path.join(dataDir, 'log');
  return {
    name: node.name,
    title: cluster
      ? `Apache Kafka ${version} (KRaft, node ${node.id} of ${nodes.length}, broker+controller)`
      : `Apache Kafka ${version} (KRaft, single node)`,
    ports: [port, controllerPort],
    endpoint: `127.0.0.1:${port}`,
    isInstalled: install.done,
    async install(log) {
      // The nodes of a cluster share one install: the first one's install serves the others.
      if (install.done()) return;
      const mvn = requireCommand('mvn', "install Maven ('apt-get install maven')");
      freshDir(install.dir);
      // The broker's POMs bring no SLF4J binding: without one it starts but logs nothing.
      fs.writeFileSync(path.join(install.dir, 'pom.xml'), kafkaPom(version));
      await runLogged(
        mvn,
        ['-B', '-q', '-f', 'pom.xml', 'dependency:copy-dependencies', `-DoutputDirectory=${libs}`],
        log,
        { cwd: install.dir },
      );
      if (!fs.existsSync(path.join(libs, `kafka_2.13-${version}.jar`))) {
        throw new Error(`Maven finished but kafka_2.13-${version}.jar is not in ${libs}`);
      }
      install.markDone();
    },
    async prepare(log) {
      const java = findJava(17, `Apache Kafka ${version}`);
      fs.mkdirSync(dataDir, { recursive: true });
      const properties = path.join(dataDir, 'server.properties');
      const formatted = fs.existsSync(path.join(logDirs, 'meta.properties'));
      if (security === 'sasl' && formatted && !fs.existsSync(credentialsFile))
        throw new Error(
          `the broker's log in ${logDirs} was formatted without SCRAM users; start it secure from no data: ` +
            `\`npm run stack -- up --secure --fresh${cluster ? ` --brokers ${nodes.length}` : ''}\` (STACK_KAFKA_SECURITY=sasl)`,
        );
      // A log dir without meta.properties was never formatted, or its format was cut short: a
      // secure single node gets new passwords, written before the format that stores them. The
      // nodes of a cluster share one set (each formats its own log with the same users), so
      // there the first node to prepare writes it and the others read it; nodes prepare one at a
      // time (this runs without a pause up to here), so they never write it twice.
      const credentials =
        security !== 'sasl'
          ? undefined
          : formatted || (cluster && fs.existsSync(credentialsFile))
            ? readCredentials()
            : newCredentials();
      writePrivate(
        properties,
        kafkaServerProperties({
          logDirs,
          node,
          voters: nodes,
          adminPassword: credentials?.users[adminPrincipal],
        }),
      );
      const log4j = path.join(dataDir, 'log4j2.properties');
      fs.writeFileSync(log4j, kafkaLog4j);
      const classpath = `${libs}/*`;
      const jvmFlags = [`-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath];
      if (!formatted) {
        fs.rmSync(logDirs, { recursive: true, force: true });
        // kafkajs cannot create SCRAM users (no AlterUserScramCredentials): the format does.
        const scram = Object.entries(credentials?.users ?? {}).flatMap(([name, password]) => [
          '--add-scram',
          `SCRAM-SHA-512=[name=${name},password=${password}]`,
        ]);
        await runLogged(
          java,
          [
            // A one-off tool of a few seconds: the quick compiler and the serial collector
            // spare the CPU that three formats at once (a cluster) would otherwise compete for.
            '-XX:TieredStopAtLevel=1',
            '-XX:+UseSerialGC',
            ...jvmFlags,
            'kafka.tools.StorageTool',
            'format',
            '-t',
            kafkaClusterId(config, cluster),
            '-c',
            properties,
            ...scram,
          ],
          log,
          { secrets: Object.values(credentials?.users ?? {}) },
        );
      }
      return {
        name: node.name,
        command: java,
        args: [`-Xmx${heapMb}m`, `-Xms${Math.min(heapMb, 256)}m`, ...jvmFlags, 'kafka.Kafka', properties],
      };
    },
    async isReady() {
      if (!(await portIsOpen(port))) return false;
      const admin = new Kafka({
        clientId: 'stack-readiness',
        brokers: [`127.0.0.1:${port}`],
        ...(kafkaRunsSecure(config)
          ? {
              sasl: {
                mechanism: 'scram-sha-512' as const,
                username: adminPrincipal,
                password: readCredentials().users[adminPrincipal] ?? '',
              },
            }
          : {}),
        logLevel: logLevel.NOTHING,
        retry: { retries: 0 },
        connectionTimeout: 2_000,
      }).admin();
      try {
        await admin.connect();
        const described = await admin.describeCluster();
        // A cluster's node is ready once the quorum has registered it as a broker.
        if (!described.brokers.some((broker) => broker.nodeId === node.id) || described.controller === null)
          return false;
        // Ready means consumer groups work too: asking for a group makes the broker create
        // and load its offsets topic, which otherwise greets the first test with
        // "coordinator is loading". In a cluster that topic has three replicas, so the first
        // start is ready once three nodes are.
        const { groups } = await admin.describeGroups(['stack-readiness']);
        return groups.length === 1;
      } catch {
        return false;
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    },
  };

  function readCredentials(): ReturnType<typeof readKafkaCredentials> {
    return readKafkaCredentials(credentialsFile);
  }

  function newCredentials(): ReturnType<typeof readKafkaCredentials> {
    // Base64url: no character SCRAM's `[name=…,password=…]` syntax or a JAAS string would quote.
    const users = Object.fromEntries(
      platformPrincipals.map((name) => [name, randomBytes(24).toString('base64url')]),
    );
    fs.mkdirSync(path.dirname(credentialsFile), { recursive: true });
    writePrivate(credentialsFile, `${JSON.stringify({ mechanism: 'scram-sha-512', users }, null, 2)}\n`);
    return { mechanism: 'scram-sha-512', users };
  }
}

/** A single node keeps its data where it always did (`data/kafka`); a cluster's node n in `data/kafka/node-n`. */
function kafkaNodeDataDir(config: Pick<StackConfig, 'dir'>, node: KafkaNode): string {
  const kafkaData = path.join(config.dir, 'data', 'kafka');
  return node.name === 'kafka' ? kafkaData : path.join(kafkaData, `node-${node.id}`);
}

/**
 * The cluster id the log is formatted with: Kafka's are 16 random bytes in URL-safe base64
 * without padding. A single node makes a new one at each format; the nodes of a cluster must
 * share one, kept in `data/kafka/cluster-id` (created by whichever node formats first, within
 * the same pause-free stretch of `prepare` as the credentials above).
 */
function kafkaClusterId(config: Pick<StackConfig, 'dir'>, cluster: boolean): string {
  if (!cluster) return newKafkaClusterId();
  const file = path.join(config.dir, 'data', 'kafka', 'cluster-id');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `${newKafkaClusterId()}\n`);
  return fs.readFileSync(file, 'utf8').trim();
}

/**
 * A new cluster id that never starts with '-', as Kafka's own `Uuid.randomUuid` ensures: the
 * format tool would read one that does as an option (one id in 64; a CI run lost its secure
 * broker to "argument --cluster-id/-t: expected one argument").
 */
export function newKafkaClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/**
 * Whether the stack's broker was last started secure (its configuration is written at every
 * start): what `status`, readiness and a platform joining a running stack go by, whatever
 * STACK_KAFKA_SECURITY says now.
 */
export function kafkaRunsSecure(config: Pick<StackConfig, 'dir' | 'kafka'>): boolean {
  const [first] = kafkaNodes(config);
  if (first === undefined) return false;
  try {
    const properties = fs.readFileSync(
      path.join(kafkaNodeDataDir(config, first), 'server.properties'),
      'utf8',
    );
    return properties.includes('SASL_PLAINTEXT://') && fs.existsSync(kafkaCredentialsFile(config));
  } catch {
    return false;
  }
}

/**
 * The node that leads the KRaft quorum (the active controller) of the stack's running Kafka, as
 * Kafka's own `kafka-metadata-quorum describe --status` reports it. A client cannot ask a broker:
 * in KRaft a broker names a random live broker as "the controller". About 2 s (a JVM start).
 */
export async function kafkaQuorumLeader(config: StackConfig): Promise<KafkaNode> {
  const nodes = kafkaNodes(config);
  const java = findJava(17, 'the Kafka quorum tool');
  const libs = path.join(installDir(config, `kafka-${config.kafka.version}`).dir, 'libs');
  // A secure stack's controllers take PLAIN from the admin (see kafkaServerProperties).
  const secure = kafkaRunsSecure(config);
  const commandConfig = path.join(config.dir, 'run', `quorum-tool-${process.pid}.properties`);
  if (secure) {
    const password = readKafkaCredentials(kafkaCredentialsFile(config)).users[adminPrincipal] ?? '';
    fs.mkdirSync(path.dirname(commandConfig), { recursive: true });
    writePrivate(
      commandConfig,
      `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${adminPrincipal}" password="${password}";\n`,
    );
  }
  try {
    const { stdout } = await promisify(execFile)(
      java,
      [
        '-XX:TieredStopAtLevel=1',
        '-XX:+UseSerialGC',
        '-cp',
        `${libs}/*`,
        'org.apache.kafka.tools.MetadataQuorumCommand',
        '--bootstrap-controller',
        nodes.map((node) => `127.0.0.1:${node.controllerPort}`).join(','),
        ...(secure ? ['--command-config', commandConfig] : []),
        'describe',
        '--status',
      ],
      { timeout: 60_000 },
    ).catch((error: { code?: number | string; signal?: string; killed?: boolean; stderr?: string }) => {
      const how = error.killed ? `killed (${error.signal}) after 60 s` : `exit ${error.code ?? error.signal}`;
      throw new Error(
        `Kafka's quorum tool failed (${how}): ${error.stderr?.trim().split('\n').slice(-3).join(' ') ?? ''}`,
      );
    });
    const leaderId = Number(/^LeaderId:\s*(-?\d+)/m.exec(stdout)?.[1]);
    const leader = nodes.find((node) => node.id === leaderId);
    if (leader === undefined) throw new Error(`the quorum has no leader now:\n${stdout}`);
    return leader;
  } finally {
    fs.rmSync(commandConfig, { force: true });
  }
}

/** A file only the stack's owner can read: it holds passwords. */
function writePrivate(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

function kafkaPom(version: string): string {
  return `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.stack</groupId>
  <artifactId>kafka-broker</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>${version}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.17</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId><version>2.24.3</version></dependency>
  </dependencies>
</project>
`;
}

/**
 * The broker's configuration. Every listener is on loopback. With an admin password (the secure
 * stack): clients authenticate with SCRAM-SHA-512 on SASL_PLAINTEXT, the broker reaches its own
 * controller with PLAIN as the admin (SCRAM credentials live in the metadata log, which the
 * controller must serve before it could check them), and the StandardAuthorizer refuses whatever
 * no ACL allows; the admin is the only super user.
 */
export function kafkaServerProperties({
  logDirs,
  node,
  voters,
  adminPassword,
}: {
  logDirs: string;
  node: Pick<KafkaNode, 'id' | 'port' | 'controllerPort'>;
  /** Every node of the quorum, this one included (one for a single node). */
  voters: readonly Pick<KafkaNode, 'id' | 'controllerPort'>[];
  adminPassword?: string | undefined;
}): string {
  const { port, controllerPort } = node;
  const listeners =
    adminPassword === undefined
      ? `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
`
      : `listeners=SASL_PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_PLAINTEXT
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="${adminPrincipal}" password="${adminPassword}";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="${adminPrincipal}" password="${adminPassword}" user_${adminPrincipal}="${adminPassword}";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:${adminPrincipal}
allow.everyone.if.no.acl.found=false
`;
  return `# Written by infra/stack on every start; edit infra/stack/components.ts instead.
process.roles=broker,controller
node.id=${node.id}
controller.quorum.voters=${voters.map((voter) => `${voter.id}@127.0.0.1:${voter.controllerPort}`).join(',')}
${listeners}log.dirs=${logDirs}
num.partitions=6
${replicationSettings(voters.length)}# Tests create many short-lived groups; waiting for more members only slows them.
group.initial.rebalance.delay.ms=0
# Topics come from the catalogue, never from a typo in a consumer.
auto.create.topics.enable=false
delete.topic.enable=true
log.retention.hours=168
`;
}

/**
 * Replication of internal topics and the defaults for topics created without settings (the
 * dead-letter admin's handled markers): what the catalogue's rule gives for this many brokers
 * (contracts/topics.ts, `replicationFor`), so a cluster's offsets and markers survive a broker's
 * loss as the platform's topics do. The platform reads `default.replication.factor` back to choose
 * its topics' replication (contracts/provision.ts, `clusterReplicationFactor`).
 */
function replicationSettings(brokers: number): string {
  // Never more than the cluster profile's three copies: a fourth or fifth node adds capacity.
  const { replicationFactor, minInSyncReplicas } = replicationFor(
    Math.min(brokers, replication.cluster.replicationFactor),
  );
  const comment =
    brokers === 1
      ? `# A single node: every internal topic must have replication factor 1, or the group
# coordinator is never available.`
      : `# ${brokers} nodes: ${replicationFactor} replicas of everything, a write needs ${minInSyncReplicas} of them, so one
# node may die without losing an acknowledged write or stopping writes.`;
  return `${comment}
default.replication.factor=${replicationFactor}
offsets.topic.replication.factor=${replicationFactor}
offsets.topic.num.partitions=6
transaction.state.log.replication.factor=${replicationFactor}
transaction.state.log.min.isr=${minInSyncReplicas}
share.coordinator.state.topic.replication.factor=${replicationFactor}
share.coordinator.state.topic.min.isr=${minInSyncReplicas}
min.insync.replicas=${minInSyncReplicas}
`;
}

const kafkaLog4j = `status = warn
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = WARN
`;

export function registryComponent(config: StackConfig): Component {
  const { version, port, managementPort, heapMb } = config.registry;
  const install = installDir(config, `apicurio-registry-${version}`);
  const appDir = path.join(install.dir, 'app');
  const dataDir = path.join(config.dir, 'data', 'registry');
  const baseUrl = `http://127.0.0.1:${port}/apis/ccompat/v7`;
  return {
    name: 'registry',
    title: `Apicurio Registry ${version} (Confluent-compatible API)`,
    ports: [port, managementPort],
    endpoint: baseUrl,
    isInstalled: install.done,
    async install(log) {
      const mvn = requireCommand('mvn', "install Maven ('apt-get install maven')");
      freshDir(install.dir);
      // The release attaches the runnable server as a tar.gz classifier `all` (a Quarkus
      // fast-jar); Maven fetches it from Central like any artifact.
      await runLogged(
        mvn,
        [
          '-B',
          '-q',
          `${mavenDependencyPlugin}:copy`,
          `-Dartifact=io.apicurio:apicurio-registry-app:${version}:tar.gz:all`,
          `-DoutputDirectory=${install.dir}`,
        ],
        log,
        { cwd: install.dir },
      );
      fs.mkdirSync(appDir);
      const archive = path.join(install.dir, `apicurio-registry-app-${version}-all.tar.gz`);
      await runLogged('tar', ['xzf', archive, '-C', appDir], log);
      fs.rmSync(archive);
      if (!fs.existsSync(path.join(appDir, 'quarkus-run.jar'))) {
        throw new Error(`the Apicurio archive has no quarkus-run.jar under ${appDir}`);
      }
      install.markDone();
    },
    async prepare() {
      const java = findJava(21, `Apicurio Registry ${version}`);
      fs.mkdirSync(dataDir, { recursive: true });
      return {
        name: 'registry',
        command: java,
        args: [`-Xmx${heapMb}m`, '-jar', path.join(appDir, 'quarkus-run.jar')],
        cwd: dataDir,
        env: {
          QUARKUS_HTTP_HOST: '127.0.0.1',
          QUARKUS_HTTP_PORT: String(port),
          QUARKUS_MANAGEMENT_HOST: '127.0.0.1',
          QUARKUS_MANAGEMENT_PORT: String(managementPort),
          // Its default store is in-memory H2: schemas would vanish on restart while the
          // broker still holds records that name their ids. A file database keeps them.
          APICURIO_DATASOURCE_URL: `jdbc:h2:file:${path.join(dataDir, 'registry')};DB_CLOSE_ON_EXIT=FALSE`,
          // Tests delete the subjects they made; Confluent's registry allows it by default.
          APICURIO_REST_DELETION_ARTIFACT_ENABLED: 'true',
          APICURIO_REST_DELETION_ARTIFACT_VERSION_ENABLED: 'true',
          APICURIO_REST_DELETION_GROUP_ENABLED: 'true',
        },
      };
    },
    async isReady() {
      try {
        const response = await fetch(`${baseUrl}/subjects`, { signal: AbortSignal.timeout(2_000) });
        return response.ok && Array.isArray(await response.json());
      } catch {
        return false;
      }
    },
  };
}

/** The requirements that pin the document store and its dependencies. */
export const documentStoreRequirements = path.join(__dirname, 'document-store.requirements.txt');

/** The document store's server executable inside its Python environment. */
export function documentStoreBinary(config: Pick<StackConfig, 'installDir'>): string {
  return path.join(pythonEnvOf(config, 'document-store', documentStoreRequirements).dir, 'bin', 'nx-27017');
}

/**
 * The document store's command line: one SQLite file per logical database under `dataDir`, in
 * WAL mode, on loopback only.
 */
export function documentStoreArgs(dataDir: string, port: number): string[] {
  return [
    '--data-dir',
    dataDir,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--log-file',
    path.join(dataDir, 'nx-27017.log'),
    '--pid-file',
    path.join(dataDir, 'nx-27017.pid'),
  ];
}

export function mongoComponent(config: StackConfig): Component {
  const { port } = config.mongo;
  const dataDir = path.join(config.dir, 'data', 'document-store');
  const url = `mongodb://127.0.0.1:${port}/`;
  return {
    name: 'mongo',
    title: 'nx-27017 0.8.1 on SQLite (MongoDB wire protocol)',
    ports: [port],
    endpoint: url,
    isInstalled: () => pythonEnvOf(config, 'document-store', documentStoreRequirements).installed,
    async install() {
      await ensurePythonEnv(config, 'document-store', documentStoreRequirements);
    },
    async prepare() {
      fs.mkdirSync(dataDir, { recursive: true });
      return { name: 'mongo', command: documentStoreBinary(config), args: documentStoreArgs(dataDir, port) };
    },
    async isReady() {
      if (!(await portIsOpen(port))) return false;
      const client = new MongoClient(url, { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000 });
      try {
        await client.connect();
        const reply = await client.db('admin').command({ ping: 1 });
        return reply.ok === 1;
      } catch {
        return false;
      } finally {
        await client.close().catch(() => undefined);
      }
    },
  };
}

/**
 * Where processes started outside the stack (a test's platform) are announced to the stack's
 * Prometheus: a file_sd target file in `targets/` (`[{"targets": ["127.0.0.1:PORT"], "labels":
 * {...}}]`) is scraped every second, without a reload; a rule file in `rules/` is loaded on
 * `POST /-/reload`. Both under the stack's run directory, so two stacks never see each other's.
 */
export function prometheusRunPaths(config: StackConfig): {
  targetsDir: string;
  rulesDir: string;
  configFile: string;
} {
  const runDir = path.join(config.dir, 'run', 'prometheus');
  return {
    targetsDir: path.join(runDir, 'targets'),
    rulesDir: path.join(runDir, 'rules'),
    configFile: path.join(runDir, 'prometheus.yml'),
  };
}

/** The job that scrapes the announced targets; a target file's labels may override `job`. */
export const announcedTargetsJob = 'announced';

/**
 * The configuration Prometheus runs with: the repository's (`STACK_PROMETHEUS_CONFIG`, by
 * default prometheus.native.yml) with its rule files made absolute, plus the announced rule
 * files and targets. Written at every start, so edits of the source apply on the next one.
 */
export function prometheusRunConfig(config: StackConfig): string {
  const { scrapeConfig } = config.prometheus;
  const { targetsDir, rulesDir } = prometheusRunPaths(config);
  const source: unknown = parse(fs.readFileSync(scrapeConfig, 'utf8'));
  if (!isMapping(source)) throw new Error(`${scrapeConfig} is not a YAML mapping`);
  const listed = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
  const ruleFiles = listed(source.rule_files).map((file) =>
    typeof file === 'string' ? path.resolve(path.dirname(scrapeConfig), file) : file,
  );
  return stringify({
    ...source,
    rule_files: [...ruleFiles, path.join(rulesDir, '*.yml')],
    scrape_configs: [
      ...listed(source.scrape_configs),
      {
        job_name: announcedTargetsJob,
        // Tests wait on what Prometheus saw: a second between scrapes keeps them short.
        scrape_interval: '1s',
        scrape_timeout: '1s',
        file_sd_configs: [{ files: [path.join(targetsDir, '*.json')], refresh_interval: '1s' }],
      },
    ],
  });
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function prometheusComponent(config: StackConfig): Component {
  const { port } = config.prometheus;
  const dataDir = path.join(config.dir, 'data', 'prometheus');
  const url = `http://127.0.0.1:${port}`;
  return {
    name: 'prometheus',
    title: 'Prometheus (Debian package)',
    ports: [port],
    endpoint: url,
    isInstalled: () => which('prometheus') !== undefined,
    async install(log) {
      const aptGet = which('apt-get');
      if (!aptGet || process.getuid?.() !== 0) {
        throw new Error(
          "Prometheus is not on PATH. Install it ('apt-get install prometheus' as root, or a release binary) and run again.",
        );
      }
      // Debian's lists may be missing or stale on a new machine.
      await runLogged(aptGet, ['update', '-q'], log);
      await runLogged(aptGet, ['install', '-y', '-q', '--no-install-recommends', 'prometheus'], log, {
        env: { DEBIAN_FRONTEND: 'noninteractive' },
      });
    },
    async prepare() {
      fs.mkdirSync(dataDir, { recursive: true });
      const run = prometheusRunPaths(config);
      for (const dir of [run.targetsDir, run.rulesDir]) fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(run.configFile, prometheusRunConfig(config));
      return {
        name: 'prometheus',
        command: which('prometheus') ?? 'prometheus',
        args: [
          `--config.file=${run.configFile}`,
          `--storage.tsdb.path=${dataDir}`,
          `--web.listen-address=127.0.0.1:${port}`,
          '--storage.tsdb.retention.time=2d',
          // `POST /-/reload` loads announced rule files (as in docker-compose.yml); loopback only.
          '--web.enable-lifecycle',
        ],
      };
    },
    async isReady() {
      try {
        const response = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2_000) });
        return response.ok;
      } catch {
        return false;
      }
    },
  };
}

export function allComponents(config: StackConfig): Component[] {
  return [
    ...kafkaComponents(config),
    registryComponent(config),
    mongoComponent(config),
    prometheusComponent(config),
  ];
}
