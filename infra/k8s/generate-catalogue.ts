/**
 * `npm run k8s:catalogue`: writes the chart's `catalogue.yaml` from the code (see catalogue.ts);
 * `-- --check` only says whether it is current (exit 1 when not).
 */
import fs from 'node:fs';
import path from 'node:path';
import { renderCatalogue } from './catalogue';

export const catalogueFile = path.join(__dirname, 'scm-platform', 'catalogue.yaml');

function main(): void {
  const text = renderCatalogue();
  const current = fs.existsSync(catalogueFile) ? fs.readFileSync(catalogueFile, 'utf8') : '';
  if (process.argv.includes('--check')) {
    if (current === text) return console.log(`${catalogueFile} is current`);
    console.error(`${catalogueFile} is stale: run npm run k8s:catalogue`);
    process.exit(1);
  }
  fs.writeFileSync(catalogueFile, text);
  console.log(`${current === text ? 'unchanged' : 'wrote'} ${catalogueFile}`);
}

if (require.main === module) main();
