#!/usr/bin/env node
// The `edgetron` command. The CLI is TypeScript compiled by `npm run build:ts` into dist/.
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('edgetron: dist/cli/main.js is missing; run `npm run build:ts` first\n');
  process.exit(1);
}
process.exitCode = await cli.main(process.argv.slice(2));
