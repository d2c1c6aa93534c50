/**
 * `npm run dlq -- <command>`: administer a consumer group's dead letters (`<group>.dlq`).
 *
 *   list   <group> [--limit N] [--from OFFSET] [--include-handled] [--json]
 *   replay <group> <id...> | --all      re-publish to the original topic, then mark handled
 *   drop   <group> <id...> | --all      mark handled without replaying
 *
 * Ids are `partition:offset` in the dead-letter topic, as `list` shows them. Brokers come from
 * KAFKA_BROKERS, else the native local stack's (which must be running: `npm run stack -- up`); it
 * authenticates as KAFKA_SASL_USERNAME, else, on the secure native stack, as its admin: replaying
 * writes to another context's topic, which no context's principal may.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { deadLetterTopicName } from '@contracts/topics';
import {
  createDeadLetterAdmin,
  type ActionResult,
  type DeadLetterAdmin,
  type DeadLetterView,
} from '@runtime/dead-letter-admin';
import { isPlatformError } from '@runtime/errors';
import { kafkaClientSecurity } from '@runtime/kafka-security';
import { readToolKafkaSecurity } from '@platform/config';
import { defaultKafkaBrokers } from './stack/config';

const usage = `usage: npm run dlq -- list <group> [--limit N] [--from OFFSET] [--include-handled] [--json]
       npm run dlq -- replay <group> <partition:offset...> | --all
       npm run dlq -- drop <group> <partition:offset...> | --all`;

class UsageError extends Error {}

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const [command, group, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(usage);
    return command === undefined ? 2 : 0;
  }
  if (!['list', 'replay', 'drop'].includes(command)) throw new UsageError(`unknown command ${command}`);
  if (group === undefined || group.startsWith('-')) throw new UsageError(`${command} needs a consumer group`);

  const brokers = defaultKafkaBrokers(env);
  const kafka = new Kafka({
    clientId: 'dead-letters-cli',
    brokers,
    logLevel: logLevel.ERROR,
    ...kafkaClientSecurity(readToolKafkaSecurity(env)),
  });
  const admin = createDeadLetterAdmin({ kafka, topic: deadLetterTopicName(group) });
  try {
    if (command === 'list') return await list(admin, rest);
    return await act(admin, command as 'replay' | 'drop', rest);
  } finally {
    await admin.close();
  }
}

async function list(admin: DeadLetterAdmin, args: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(args, {
    'include-handled': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    limit: { type: 'string' },
    from: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`list takes no ids: ${positionals.join(' ')}`);
  const { limit, from, json, 'include-handled': includeHandled } = values;
  if (limit !== undefined && !/^[1-9][0-9]*$/.test(limit))
    throw new UsageError('--limit must be a positive number');
  if (from !== undefined && !/^(0|[1-9][0-9]*)$/.test(from)) throw new UsageError('--from must be an offset');
  const result = await admin.list({
    limit: limit === undefined ? 100 : Number(limit),
    includeHandled,
    ...(from === undefined ? {} : { fromOffset: from }),
  });
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  if (result.letters.length === 0) {
    console.log(`no ${includeHandled ? '' : 'pending '}dead letters in ${result.topic}`);
    return 0;
  }
  console.log(
    table(
      includeHandled ? [...listHeader, 'STATE'] : listHeader,
      result.letters.map((letter) => row(letter, includeHandled)),
    ),
  );
  console.log(
    `\n${result.letters.length} dead letter(s) in ${result.topic}` +
      (result.more ? ` (more: --limit or --from ${nextFrom(result.letters)})` : ''),
  );
  return 0;
}

async function act(admin: DeadLetterAdmin, action: 'replay' | 'drop', args: string[]): Promise<number> {
  const { values, positionals: ids } = parseCommandArgs(args, { all: { type: 'boolean', default: false } });
  const all = values.all;
  if (all === ids.length > 0) throw new UsageError(`${action} needs either ids (partition:offset) or --all`);
  const perform = (ids: string[]): Promise<ActionResult[]> =>
    action === 'replay' ? admin.replay(ids) : admin.drop(ids);
  const results: ActionResult[] = [];
  if (all) {
    // Page through the pending letters: each page handled disappears from the next listing.
    for (;;) {
      const page = await admin.list({ limit: 500 });
      if (page.letters.length === 0) break;
      const handled = await perform(page.letters.map((letter) => letter.id));
      results.push(...handled);
      // Another admin handled them in the meantime: nothing more is moving.
      if (!page.more || handled.every((r) => r.outcome === 'already-handled')) break;
    }
  } else {
    results.push(...(await perform(ids)));
  }
  if (results.length === 0) {
    console.log(`no pending dead letters in ${admin.topic}`);
    return 0;
  }
  console.log(
    table(
      ['ID', 'OUTCOME', 'DETAIL'],
      results.map((r) => [
        r.id,
        r.outcome,
        r.replayedTo
          ? `→ ${r.replayedTo.topic}[${r.replayedTo.partition}]@${r.replayedTo.offset}`
          : r.handled
            ? `${r.handled.action} at ${r.handled.at}`
            : '',
      ]),
    ),
  );
  const counts = new Map<string, number>();
  for (const r of results) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
  console.log(`\n${[...counts].map(([outcome, n]) => `${n} ${outcome}`).join(', ')} (${admin.topic})`);
  return 0;
}

/** The next `--from` after a page: the highest offset listed plus one (every partition). */
function nextFrom(letters: readonly DeadLetterView[]): string {
  const highest = letters.reduce(
    (max, l) => (BigInt(l.deadLetter.offset) > max ? BigInt(l.deadLetter.offset) : max),
    -1n,
  );
  return (highest + 1n).toString();
}

function row(letter: DeadLetterView, withState: boolean): string[] {
  const { original, error } = letter;
  const cells = [
    letter.id,
    letter.deadLetteredAt ?? letter.deadLetter.timestamp,
    original.topic === null
      ? '?'
      : `${original.topic}[${original.partition ?? '?'}]@${original.offset ?? '?'}`,
    error.code ?? '?',
    error.category ?? '?',
    letter.schemaId === null ? '-' : String(letter.schemaId),
    letter.key === null
      ? '(null)'
      : shorten(letter.keyEncoding === 'base64' ? `b64:${letter.key}` : letter.key, 24),
    letter.valueSize === null ? 'tombstone' : `${letter.valueSize} B`,
    shorten(error.message ?? '', 60),
  ];
  if (withState) cells.push(letter.handled ? letter.handled.action : 'pending');
  return cells;
}

const listHeader = ['ID', 'DEAD-LETTERED', 'ORIGINAL', 'CODE', 'CATEGORY', 'SCHEMA', 'KEY', 'VALUE', 'ERROR'];

function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function shorten(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ');
  return line.length <= max ? line : `${line.slice(0, max - 1)}…`;
}

/** `node:util`'s parser, strict, with its complaints (unknown option, missing value) as usage errors. */
function parseCommandArgs<Options extends NonNullable<ParseArgsConfig['options']>>(
  args: string[],
  options: Options,
): ReturnType<typeof parseArgs<{ args: string[]; options: Options; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

// eslint-disable-next-line no-restricted-properties -- a command is a composition root
main(process.argv.slice(2), process.env).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`[dlq] ${error.message}\n${usage}`);
      process.exit(2);
    }
    const message = error instanceof Error ? error.message : String(error);
    console.error(`[dlq] ${isPlatformError(error) ? `${error.code}: ` : ''}${message}`);
    process.exit(1);
  },
);
