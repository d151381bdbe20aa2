// The CommonJS entry of dioread (package.json exports ".": "require"). dioread is an ES module;
// this file hands require('dioread') the same module that import('dioread') loads, through Node's
// require(esm): on by default from Node 20.19 and 22.12 (one module instance, no dual-package
// hazard). On an older Node (20.15-20.18), or with --no-experimental-require-module, it fails with
// an error that says to use import() instead. No ext4 counterpart.
'use strict';

try {
  module.exports = require('../dist/src/index.js');
} catch (err) {
  const code = err && err.code;
  if (code !== 'ERR_REQUIRE_ESM' && code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err;
  const e = new Error(
    `dioread is an ES module, and this Node (${process.version}) cannot require() it. ` +
      "Load it with import() instead: `const { Engine } = await import('dioread');` " +
      '(Node 20.19+ and 22.12+ can require() it when require(esm) is not turned off).',
    { cause: err },
  );
  e.code = 'ERR_REQUIRE_ESM';
  throw e;
}
