#!/usr/bin/env node
/** Entry point of the `nabla` command (bin/nabla.js runs the compiled copy of this file). */
import { main } from './run.js';

process.exitCode = await main(process.argv.slice(2));
