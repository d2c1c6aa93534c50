import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments, stringify } from 'yaml';
import { desiredTopic } from '@contracts/provision';
import { topics } from '@contracts/topics';
import { deploymentCatalogue, strimziAcls } from '@infra/k8s/catalogue';
import { loadCrdValidator, type CrdValidator } from '@infra/k8s/crd-validation';
import { ensureHelm, ensureKubernetesValidate } from '@infra/k8s/tools';
import { readStackConfig } from '@infra/stack/config';
import { platformVariables } from '@platform/config';
import { contextGrants } from '@platform/kafka-acls';

// The Helm chart checked without a cluster: helm lint, helm template over several sets of values,
// every rendered manifest validated offline — the Kubernetes API's own kinds by kubernetes-validate
// (strict: unknown fields refused) against the oldest Kubernetes the chart supports and the newest
// the tool knows, custom resources against their vendored CRDs — and the rendered objects held to
// what the code says (contexts, groups, partitions, ACLs). Helm and kubernetes-validate install on
// first use under STACK_INSTALL_DIR (a cold Helm build takes minutes; later runs reuse it).

const chart = path.resolve(__dirname, '..', '..', 'infra', 'k8s', 'scm-platform');
const release = 'scm';
const kubernetesVersions = ['1.29.0', '1.37.0'];
const catalogue = deploymentCatalogue();
/** The tests that run helm or kubernetes-validate many times: 40–60 s here on two busy cores. */
const slowTestMs = 5 * 60_000;

interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [key: string]: unknown };
  readonly [key: string]: unknown;
}

interface Outcome {
  readonly status: number | null;
  readonly output: string;
}

let helm: string;
let kubernetesValidate: string;
let crds: CrdValidator;
let work: string;

function run(command: string, args: readonly string[]): Outcome {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${command} failed to run: ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

function valuesFile(name: string, values: object): string {
  const file = path.join(work, `${name}.values.yaml`);
  fs.writeFileSync(file, stringify(values));
  return file;
}

function template(values: object, name = 'values'): Outcome & { readonly manifests: Manifest[] } {
  // The newest version validated; the templates do not branch on it.
  const kubeVersion = kubernetesVersions[kubernetesVersions.length - 1] ?? '';
  const args = ['template', release, chart, '--namespace', release, '--kube-version', kubeVersion];
  args.push('-f', valuesFile(name, values));
  const result = spawnSync(helm, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`helm failed to run: ${result.error.message}`);
  const manifests =
    result.status === 0
      ? parseAllDocuments(result.stdout)
          .map((document) => document.toJSON() as Manifest | null)
          .filter((manifest): manifest is Manifest => manifest !== null)
      : [];
  return { status: result.status, output: `${result.stdout}${result.stderr}`, manifests };
}

const builtIn = (manifest: Manifest): boolean =>
  !manifest.apiVersion.includes('.') || /\.k8s\.io\//.test(manifest.apiVersion);

/** kubernetes-validate's verdict on these manifests for every supported Kubernetes version. */
function validateBuiltIn(
  name: string,
  manifests: readonly Manifest[],
): { failures: string[]; passed: number } {
  const file = path.join(work, `${name}.manifests.yaml`);
  fs.writeFileSync(file, manifests.map((manifest) => stringify(manifest)).join('---\n'));
  const failures: string[] = [];
  let passed = 0;
  for (const version of kubernetesVersions) {
    const { status, output } = run(kubernetesValidate, ['--strict', '-k', version, file]);
    const lines = output.split('\n').filter((line) => line.trim() !== '');
    failures.push(...lines.filter((line) => !line.startsWith('INFO')).map((line) => `[${version}] ${line}`));
    if (status !== 0 && failures.length === 0) failures.push(`[${version}] exit ${status}: ${output}`);
    passed += lines.filter((line) => line.startsWith('INFO') && line.includes(' passed ')).length;
  }
  return { failures, passed };
}

function validateAll(name: string, manifests: readonly Manifest[]): string[] {
  const core = manifests.filter(builtIn);
  const custom = manifests.filter((manifest) => !builtIn(manifest));
  const { failures, passed } = validateBuiltIn(name, core);
  // Every built-in object must have been checked against every version, not skipped.
  if (passed !== core.length * kubernetesVersions.length)
    failures.push(
      `kubernetes-validate passed ${passed} of ${core.length * kubernetesVersions.length} checks`,
    );
  for (const manifest of custom)
    failures.push(
      ...crds.validate(manifest).map((error) => `${manifest.kind}/${manifest.metadata.name}${error}`),
    );
  return failures;
}

const ofKind = (manifests: readonly Manifest[], kind: string): Manifest[] =>
  manifests.filter((manifest) => manifest.kind === kind);

function named(manifests: readonly Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} among the rendered manifests`);
  return found;
}

// Typed views of the parts the assertions read.
interface Container {
  readonly name: string;
  readonly args: string[];
  readonly command: string[];
  readonly ports: { name: string; containerPort: number }[];
  readonly env: { name: string; value?: string }[];
  readonly livenessProbe: { httpGet: { path: string; port: string } };
  readonly readinessProbe: { httpGet: { path: string; port: string } };
  readonly resources: { requests?: Record<string, string>; limits?: Record<string, string> };
}
interface DeploymentSpec {
  readonly replicas?: number;
  readonly selector: { matchLabels: Record<string, string> };
  readonly template: {
    metadata: { labels: Record<string, string>; annotations: Record<string, string> };
    spec: { containers: Container[] };
  };
}
interface Trigger {
  readonly type: string;
  readonly metadata: Record<string, string>;
}

const spec = <T>(manifest: Manifest): T => manifest.spec as T;

/** Scenarios the chart must render valid objects for. */
const everyOption = {
  topicNamespace: 'staging.',
  strimzi: { topics: true, users: true, namespace: 'kafka' },
  metrics: { serviceMonitor: { enabled: true, labels: { release: 'prometheus' } } },
  credentials: {
    apiKeysFile: { secretName: 'scm-api-keys', key: 'api-keys' },
    jwtPublicKey: { configMapName: 'scm-jwt', key: 'public.pem' },
  },
  config: { HTTP_JWT_ISSUER: 'https://id.example.com/' },
  contexts: {
    order: { env: { ORDER_PLACED_VERSION: '2' } },
    tracking: { maxReplicas: 3, resources: { requests: { cpu: '250m', memory: '256Mi' } } },
  },
};
const withoutKeda = {
  autoscaling: { keda: { enabled: false } },
  kafka: { sasl: { enabled: false }, tls: { enabled: false } },
  networkPolicy: { enabled: false },
};
const fixedReplicas = {
  topicNamespace: 'qa.',
  provisionJob: { enabled: true, adminSecret: { name: 'kafka-admin' } },
  autoscaling: { keda: { enabled: false }, hpa: { enabled: false } },
  podDisruptionBudget: { enabled: false },
  contexts: { inventory: { replicas: 2 }, tracking: { enabled: false } },
};

beforeAll(async () => {
  const config = readStackConfig(process.env);
  // A cold Helm build is minutes on two busy cores; once built, both are found at once.
  helm = await ensureHelm(config);
  kubernetesValidate = await ensureKubernetesValidate(config);
  crds = loadCrdValidator();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'scm-k8s-'));
}, 25 * 60_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('the Helm chart', () => {
  it(
    'passes helm lint --strict with the defaults and with every option',
    () => {
      for (const [name, values] of Object.entries({ defaults: {}, everyOption, withoutKeda })) {
        const { status, output } = run(helm, [
          'lint',
          '--strict',
          chart,
          '-f',
          valuesFile(`lint-${name}`, values),
        ]);
        expect({ name, status, output }).toEqual({
          name,
          status: 0,
          output: expect.stringContaining('0 chart(s) failed'),
        });
      }
    },
    slowTestMs,
  );

  it(
    'renders only objects that validate against the Kubernetes and CRD schemas, in every scenario',
    () => {
      for (const [name, values] of Object.entries({
        defaults: {},
        everyOption,
        withoutKeda,
        fixedReplicas,
      })) {
        const { status, output, manifests } = template(values, name);
        expect({ name, status, output: status === 0 ? '' : output }).toEqual({ name, status: 0, output: '' });
        expect(manifests.length).toBeGreaterThan(catalogue.contexts.length);
        expect({ name, failures: validateAll(name, manifests) }).toEqual({ name, failures: [] });
      }
    },
    slowTestMs,
  );

  it('knows the schema of every custom resource it renders', () => {
    expect(crds.kinds).toEqual(
      expect.arrayContaining([
        'keda.sh/v1alpha1 ScaledObject',
        'keda.sh/v1alpha1 TriggerAuthentication',
        'kafka.strimzi.io/v1 KafkaTopic',
        'kafka.strimzi.io/v1 KafkaUser',
        'monitoring.coreos.com/v1 ServiceMonitor',
      ]),
    );
  });

  it('runs every context as its own Deployment of the one image, probed on /health and /ready', () => {
    const { manifests } = template({}, 'deployments');
    const deployments = ofKind(manifests, 'Deployment');
    expect(deployments.map(({ metadata }) => metadata.name).sort()).toEqual(
      catalogue.contexts.map(({ name }) => `${release}-${name}`).sort(),
    );
    const images = new Set<string>();
    for (const context of catalogue.contexts) {
      const deployment = spec<DeploymentSpec>(named(manifests, 'Deployment', `${release}-${context.name}`));
      const [container, ...others] = deployment.template.spec.containers;
      expect(others).toHaveLength(0);
      if (container === undefined) throw new Error('no container');
      images.add(String((container as unknown as { image: string }).image));
      expect(container.command).toEqual(['node', '--import', 'tsx', 'platform/main.ts']);
      expect(container.args).toEqual(['--context', context.name]);
      expect(container.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
      expect(container.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
      expect(container.ports).toEqual([
        { name: 'http', containerPort: platformVariables.PORT.fallback },
        { name: 'metrics', containerPort: platformVariables.METRICS_PORT.fallback },
      ]);
      expect(container.env).toContainEqual({ name: 'KAFKA_SASL_USERNAME', value: context.principal });
      expect(container.resources.requests).toEqual({ cpu: '100m', memory: '192Mi' });
      // Replicas belong to the autoscaler when there is one.
      expect(deployment.replicas).toBeUndefined();
      expect(deployment.template.metadata.annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(platformVariables.METRICS_PORT.fallback),
      });
      const budget = spec<{ selector: { matchLabels: Record<string, string> } }>(
        named(manifests, 'PodDisruptionBudget', `${release}-${context.name}`),
      );
      expect(budget.selector.matchLabels).toEqual(deployment.selector.matchLabels);
      expect(deployment.template.metadata.labels).toMatchObject(deployment.selector.matchLabels);
    }
    expect(images.size).toBe(1);
    // The metrics listener binds the pod's interfaces; the NetworkPolicy keeps its port to Prometheus.
    const config = named(manifests, 'ConfigMap', `${release}-config`) as unknown as {
      data: Record<string, string>;
    };
    expect(config.data).toMatchObject({
      METRICS_HOST: '0.0.0.0',
      HTTP_HOST: '0.0.0.0',
      KAFKA_PROVISION: 'false',
    });
    expect(ofKind(manifests, 'NetworkPolicy')).toHaveLength(1);
  });

  it('scales each context on its consumer group’s lag, one trigger per input topic, at most its partitions', () => {
    const { manifests } = template(everyOption, 'scaling');
    const partitions = new Map<string, number>(topics.map((topic) => [topic.name, topic.partitions]));
    for (const context of catalogue.contexts) {
      const scaled = spec<{ maxReplicaCount: number; triggers: Trigger[]; scaleTargetRef: { name: string } }>(
        named(manifests, 'ScaledObject', `${release}-${context.name}`),
      );
      expect(scaled.scaleTargetRef.name).toBe(`${release}-${context.name}`);
      expect(scaled.triggers.map(({ metadata }) => metadata.topic)).toEqual(
        context.inputs.map((topic) => `staging.${topic}`),
      );
      for (const trigger of scaled.triggers) {
        expect(trigger.type).toBe('kafka');
        expect(trigger.metadata).toMatchObject({
          consumerGroup: `staging.${context.group}`,
          offsetResetPolicy: 'earliest',
          sasl: 'scram_sha512',
          tls: 'enable',
        });
      }
      const most = Math.max(...context.inputs.map((topic) => partitions.get(topic) ?? 0));
      expect(scaled.maxReplicaCount).toBe(context.name === 'tracking' ? 3 : most);
    }
    // KEDA makes its own HPA: no second one may target the Deployment.
    expect(ofKind(manifests, 'HorizontalPodAutoscaler')).toHaveLength(0);
  });

  it('falls back to a CPU HPA per context without KEDA, and to fixed replicas without either', () => {
    const hpa = template(withoutKeda, 'hpa').manifests;
    expect(ofKind(hpa, 'ScaledObject')).toHaveLength(0);
    for (const context of catalogue.contexts) {
      const autoscaler = spec<{ maxReplicas: number; metrics: { resource: { name: string } }[] }>(
        named(hpa, 'HorizontalPodAutoscaler', `${release}-${context.name}`),
      );
      expect(autoscaler.maxReplicas).toBe(context.maxReplicas);
      expect(autoscaler.metrics.map(({ resource }) => resource.name)).toEqual(['cpu']);
    }
    const fixed = template(fixedReplicas, 'fixed').manifests;
    expect(ofKind(fixed, 'HorizontalPodAutoscaler')).toHaveLength(0);
    expect(spec<DeploymentSpec>(named(fixed, 'Deployment', `${release}-inventory`)).replicas).toBe(2);
    expect(ofKind(fixed, 'Deployment').map(({ metadata }) => metadata.name)).not.toContain(
      `${release}-tracking`,
    );
  });

  it('provisions the catalogue’s topics and the derived ACLs as Strimzi resources', () => {
    const { manifests } = template(everyOption, 'strimzi');
    const kafkaTopics = ofKind(manifests, 'KafkaTopic').map((manifest) =>
      spec<{ topicName: string; partitions: number; replicas: number; config: Record<string, string> }>(
        manifest,
      ),
    );
    for (const topic of topics) {
      const desired = desiredTopic(topic, 3);
      expect(kafkaTopics).toContainEqual({
        topicName: `staging.${topic.name}`,
        partitions: desired.partitions,
        replicas: 3,
        config: desired.config,
      });
    }
    expect(kafkaTopics.map(({ topicName }) => topicName)).toEqual(
      expect.arrayContaining(catalogue.contexts.map(({ group }) => `staging.${group}.dlq`)),
    );
    expect(ofKind(manifests, 'KafkaTopic').every(({ metadata }) => metadata.namespace === 'kafka')).toBe(
      true,
    );
    for (const context of catalogue.contexts) {
      const user = spec<{ authorization: { acls: unknown[] } }>(
        named(manifests, 'KafkaUser', context.principal),
      );
      const expected = strimziAcls(contextGrants([context.name], context.principal, 'staging.')).map(
        (rule) => ({
          ...rule,
          host: '*',
        }),
      );
      expect(user.authorization.acls).toEqual(expected);
    }
  });

  it('provisions without Strimzi through a hook Job running kafka:provision as the admin', () => {
    const { manifests } = template(fixedReplicas, 'provision-job');
    const job = named(manifests, 'Job', `${release}-kafka-provision`);
    expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade' });
    const [container] = spec<{ template: { spec: { containers: Container[] } } }>(job).template.spec
      .containers;
    expect(container?.command).toEqual(['node', '--import', 'tsx', 'platform/provision.ts']);
    expect(container?.args).toEqual(['--namespace=qa.', '--replication-factor=3']);
    const both = template({ ...fixedReplicas, strimzi: { topics: true } }, 'provision-both');
    expect(both.status).not.toBe(0);
    expect(both.output).toContain('provisionJob and strimzi.topics/users both provision');
  });

  it('computes min.insync.replicas from the replication factor as the code does', () => {
    const { manifests } = template({ kafka: { replicationFactor: 1 }, strimzi: { topics: true } }, 'single');
    const first = topics[0];
    const rendered = ofKind(manifests, 'KafkaTopic')
      .map((manifest) => spec<{ topicName: string; config: Record<string, string> }>(manifest))
      .find(({ topicName }) => topicName === first.name);
    expect(rendered?.config).toEqual(desiredTopic(first, 1).config);
  });

  it('refuses values the code rules out: more instances than partitions, a misspelt setting, an unknown context', () => {
    const tooMany = template({ contexts: { inventory: { maxReplicas: 7 } } }, 'too-many');
    expect(tooMany.status).not.toBe(0);
    expect(tooMany.output).toContain(
      'contexts.inventory.maxReplicas is 7, but its consumer group inventory can share at most 6 partitions',
    );
    // values.schema.json: a misspelt setting is refused, not silently ignored.
    const misspelt = template({ autoscaling: { keda: { enabeld: false } } }, 'misspelt');
    expect(misspelt.status).not.toBe(0);
    expect(misspelt.output).toContain("at '/autoscaling/keda': additional properties 'enabeld' not allowed");
    const typo = template({ contexts: { invntory: {} } }, 'typo');
    expect(typo.status).not.toBe(0);
    expect(typo.output).toContain('contexts.invntory: no such context');
  });

  it(
    'fails the check on a broken manifest',
    () => {
      const { manifests } = template(everyOption, 'broken');
      const deployment = named(manifests, 'Deployment', `${release}-inventory`);
      const broken = JSON.parse(JSON.stringify(deployment)) as {
        spec: DeploymentSpec & { template: { spec: { containers: object[] } } };
      };
      const [container] = broken.spec.template.spec.containers;
      Object.assign(container ?? {}, {
        livenessProbe: { httpGet: { path: '/health', port: 'http' }, periodSecond: 10 },
      });
      const built = validateBuiltIn('broken-deployment', [broken as unknown as Manifest]);
      expect(built.failures.join('\n')).toContain("'periodSecond' was unexpected");

      const user = JSON.parse(JSON.stringify(named(manifests, 'KafkaUser', 'scm-inventory'))) as Manifest & {
        spec: { authorization: { acls: { operations: string[] }[] } };
      };
      const [rule] = user.spec.authorization.acls;
      if (rule) rule.operations = ['Reed'];
      expect(crds.validate(user).join('\n')).toContain('/spec/authorization/acls/0/operations/0');

      const scaled = JSON.parse(
        JSON.stringify(named(manifests, 'ScaledObject', `${release}-inventory`)),
      ) as Manifest & {
        spec: Record<string, unknown>;
      };
      scaled.spec.maxReplicas = 6;
      expect(crds.validate(scaled).join('\n')).toContain('must NOT have additional properties');
    },
    slowTestMs,
  );
});
