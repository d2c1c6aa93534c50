/**
 * Everything codegen produces, as a pure function of the schema files and the topic catalogue,
 * so that a unit test can prove the committed output is fresh (contracts/codegen.spec.ts) without
 * writing anything.
 */
import { emitDocs } from './emit-docs';
import { emitTypeScript } from './emit-types';
import {
  groupByType,
  lintSchemaSet,
  loadSchemaSet,
  type Problem,
  type SchemaFile,
  type SchemaSet,
} from './loader';
import { deadLetters, writerContexts, type TopicDeclaration } from './topics';

export interface Generated {
  /** Repository-relative path -> content. Empty when there are problems. */
  readonly files: ReadonlyMap<string, string>;
  readonly problems: readonly Problem[];
}

const catalogue = 'contracts/topics.ts';

/**
 * The rules that tie the catalogue to the schemas: every event type on exactly one topic, every
 * route naming a real event, its record and a key field present as a string in every version, and
 * one writer per topic.
 */
export function checkCatalogue(set: SchemaSet, topics: readonly TopicDeclaration[]): Problem[] {
  const problems: Problem[] = [];
  const report = (message: string): void => void problems.push({ path: catalogue, message });
  const groups = groupByType(set.events);

  for (const type of groups.keys()) {
    const carriers = topics
      .filter((topic) => topic.events.some((route) => route.type === type))
      .map((topic) => topic.name);
    if (carriers.length !== 1) {
      report(
        `${type} must be on exactly one topic, found ${carriers.length === 0 ? 'none' : carriers.join(', ')}`,
      );
    }
  }
  const seenTopics = new Set<string>();
  const seenWriters = new Map<string, string>();
  for (const topic of topics) {
    if (seenTopics.has(topic.name)) report(`topic ${topic.name} is declared twice`);
    seenTopics.add(topic.name);
    if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic.name)) report(`${topic.name} is not a valid Kafka topic name`);
    if (topic.name.endsWith(deadLetters.suffix))
      report(`${topic.name} ends with the dead-letter suffix ${deadLetters.suffix}`);
    if (!Number.isInteger(topic.partitions) || topic.partitions < 1)
      report(`${topic.name}: partitions must be a positive integer`);
    if (!writerContexts.some((writer) => writer === topic.writer))
      report(`${topic.name}: unknown writer ${topic.writer}`);
    const otherTopic = seenWriters.get(topic.writer);
    if (otherTopic !== undefined)
      report(`${topic.writer} writes both ${otherTopic} and ${topic.name}: one topic per writer`);
    seenWriters.set(topic.writer, topic.name);

    const routed = new Set<string>();
    for (const route of topic.events) {
      if (routed.has(route.type)) report(`${topic.name} lists ${route.type} twice`);
      routed.add(route.type);
      const versions = groups.get(route.type);
      if (versions === undefined) {
        report(`${topic.name} carries ${route.type}, which has no schema`);
        continue;
      }
      // All versions share one full name (the loader checks), so the first one speaks for all.
      const fullName = versions[0]?.fullName;
      if (fullName !== route.record)
        report(`${topic.name}: ${route.type} is ${fullName ?? '?'}, not ${route.record}`);
      for (const event of versions) {
        const data = event.resolved.fields.find((field) => field.name === 'data');
        const key =
          data?.type.kind === 'record'
            ? data.type.fields.find((field) => field.name === route.keyField)
            : undefined;
        if (key?.type.kind !== 'primitive' || key.type.type !== 'string') {
          report(
            `${topic.name}: ${route.type} v${event.version} has no string field data.${route.keyField} for the key`,
          );
        }
      }
    }
  }
  return problems;
}

export function generate(schemaFiles: readonly SchemaFile[], topics: readonly TopicDeclaration[]): Generated {
  const { set, problems: loadProblems } = loadSchemaSet(schemaFiles);
  const problems = [...loadProblems, ...lintSchemaSet(set), ...checkCatalogue(set, topics)];
  if (problems.length > 0) return { files: new Map(), problems };
  try {
    return { files: new Map([...emitTypeScript(set), ...emitDocs(set, topics)]), problems: [] };
  } catch (error) {
    return {
      files: new Map(),
      problems: [
        { path: 'contracts/codegen.ts', message: error instanceof Error ? error.message : String(error) },
      ],
    };
  }
}

/** Which outputs differ from what is on disk (`existing`), and which generated files should no longer exist. */
export function staleFiles(
  generated: ReadonlyMap<string, string>,
  existing: ReadonlyMap<string, string>,
  generatedDirectory: string,
): { readonly changed: readonly string[]; readonly obsolete: readonly string[] } {
  const changed = [...generated]
    .filter(([path, content]) => existing.get(path) !== content)
    .map(([path]) => path);
  const obsolete = [...existing.keys()].filter(
    (path) => path.startsWith(`${generatedDirectory}/`) && !generated.has(path),
  );
  return { changed: changed.sort(), obsolete: obsolete.sort() };
}
