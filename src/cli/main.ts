#!/usr/bin/env node
/** Entry point of the `nabla` command (bin/nabla.js runs the compiled copy of this file). */
import { main } from './run.js';

// `nabla train | head`: a closed pipe ends the command quietly, as other command-line tools do
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

process.exitCode = await main(process.argv.slice(2));
