#!/usr/bin/env node
// The `nabla` command: runs the bundled CLI (built by `npm install` through the prepare script).
import('../dist/nabla-cli.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/nabla-cli')) {
    console.error('nabla: the package is not built yet; run `npm install` (or `npm run build`) first');
    process.exit(1);
  }
  throw err;
});
