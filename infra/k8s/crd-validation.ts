/**
 * Validation of custom resources (KEDA, Strimzi, prometheus-operator) against the schemas of
 * their CustomResourceDefinitions, vendored in `infra/k8s/crds/` (see its update.sh), without a
 * cluster. kubernetes-validate knows only the Kubernetes API's own kinds.
 *
 * A CRD's `openAPIV3Schema` is close to JSON Schema; the differences are bridged here:
 * - the API server prunes fields a structural schema does not declare, silently; a check must
 *   refuse them instead (as `kubernetes-validate --strict` does for built-in kinds), so every
 *   object that lists `properties` and does not preserve unknown fields gets
 *   `additionalProperties: false`;
 * - `x-kubernetes-int-or-string` becomes "integer or string", `nullable` adds `null`;
 * - `x-kubernetes-validations` (CEL rules) and `format` are not evaluated: what they check is
 *   named in the README as what this does not validate.
 */
import fs from 'node:fs';
import path from 'node:path';
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

export const crdDirectory = path.join(__dirname, 'crds');

type Schema = { [key: string]: unknown };

const isObject = (value: unknown): value is Schema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** The openAPIV3Schema of a CRD version as a strict JSON Schema (draft-07, Ajv's default). */
export function strictJsonSchema(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-') || key === 'nullable' || key === 'format') continue;
    if (key === 'properties' && isObject(value)) {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, child]) => [
          name,
          isObject(child) ? strictJsonSchema(child) : child,
        ]),
      );
    } else if ((key === 'items' || key === 'additionalProperties' || key === 'not') && isObject(value)) {
      out[key] = strictJsonSchema(value);
    } else if ((key === 'anyOf' || key === 'oneOf' || key === 'allOf') && Array.isArray(value)) {
      out[key] = value.map((child: unknown) => (isObject(child) ? strictJsonSchema(child) : child));
    } else {
      out[key] = value;
    }
  }
  if (schema['x-kubernetes-int-or-string'] === true) {
    delete out.type;
    out.anyOf = [{ type: 'integer' }, { type: 'string' }];
  }
  if (schema.nullable === true && typeof out.type === 'string') out.type = [out.type, 'null'];
  const preserves = schema['x-kubernetes-preserve-unknown-fields'] === true;
  if (isObject(schema.properties) && !preserves && schema.additionalProperties === undefined)
    out.additionalProperties = false;
  return out;
}

interface CrdVersion {
  readonly name: string;
  readonly served?: boolean;
  readonly schema?: { readonly openAPIV3Schema?: Schema };
}

interface Crd {
  readonly kind: string;
  readonly spec: {
    readonly group: string;
    readonly names: { readonly kind: string };
    readonly versions: CrdVersion[];
  };
}

/** A custom resource's apiVersion and kind, e.g. `keda.sh/v1alpha1 ScaledObject`. */
const keyOf = (apiVersion: string, kind: string): string => `${apiVersion} ${kind}`;

/** Where the resource's name must fit: a DNS-1123 subdomain, as for every object (ObjectMeta is not in a CRD's schema). */
const objectName = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export interface CrdValidator {
  /** `apiVersion kind` of every custom resource it knows. */
  readonly kinds: readonly string[];
  knows(apiVersion: string, kind: string): boolean;
  /** Errors, each `<where>: <what>`; empty when the resource is valid. */
  validate(resource: { readonly apiVersion: string; readonly kind: string } & Schema): string[];
}

function yamlFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((entry) =>
      entry.isDirectory()
        ? yamlFiles(path.join(dir, entry.name))
        : entry.name.endsWith('.yaml')
          ? [path.join(dir, entry.name)]
          : [],
    )
    .sort();
}

function describe(error: ErrorObject): string {
  const detail = Object.keys(error.params).length > 0 ? ` ${JSON.stringify(error.params)}` : '';
  return `${error.instancePath || '/'}: ${error.message ?? error.keyword}${detail}`;
}

export function loadCrdValidator(dir: string = crdDirectory): CrdValidator {
  // strict off: CRD schemas carry annotations (`description`, `default`) beside keywords Ajv's
  // strict mode would want typed; formats are not checked (see above).
  const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
  const validators = new Map<string, ValidateFunction>();
  for (const file of yamlFiles(dir)) {
    for (const document of parseAllDocuments(fs.readFileSync(file, 'utf8'))) {
      const crd = document.toJSON() as Crd | null;
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      for (const version of crd.spec.versions) {
        const schema = version.schema?.openAPIV3Schema;
        if (version.served === false || schema === undefined) continue;
        validators.set(
          keyOf(`${crd.spec.group}/${version.name}`, crd.spec.names.kind),
          ajv.compile(strictJsonSchema(schema)),
        );
      }
    }
  }
  return {
    kinds: [...validators.keys()],
    knows: (apiVersion, kind) => validators.has(keyOf(apiVersion, kind)),
    validate(resource) {
      const validate = validators.get(keyOf(resource.apiVersion, resource.kind));
      if (validate === undefined) return [`no CRD schema for ${keyOf(resource.apiVersion, resource.kind)}`];
      const errors = validate(resource) ? [] : (validate.errors ?? []).map(describe);
      const metadata = isObject(resource.metadata) ? resource.metadata : {};
      const name = metadata.name;
      if (typeof name !== 'string' || name.length > 253 || !objectName.test(name))
        errors.push(`/metadata/name: ${JSON.stringify(name)} is not a DNS-1123 subdomain`);
      return errors;
    },
  };
}
