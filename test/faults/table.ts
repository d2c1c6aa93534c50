import type { ScenarioResult } from './results';

/** The results as a Markdown table, as the README shows it. */
export function resultsTable(results: readonly ScenarioResult[]): string {
  const rows = results.map((result) => [
    result.scenario,
    String(result.inputs),
    String(result.lost),
    String(result.duplicateEffects),
    String(result.orderViolations),
    `${result.deadLetters.seen} / ${result.deadLetters.injected}`,
    result.recoverySeconds === null ? '–' : result.recoverySeconds.toFixed(1),
  ]);
  const header = [
    'scenario',
    'inputs',
    'lost',
    'duplicate effects',
    'order violations',
    'dead letters / injected',
    'recovery s',
  ];
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.join(' | ')} |`).join('\n');
}
