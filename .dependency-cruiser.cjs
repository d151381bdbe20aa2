// The layers of dioread, enforced in npm test (test/layers-hold.test.ts runs depcruise with this
// over the compiled dist/: the runtime import graph, which is what can cycle or cross a layer).
// docs/ARCHITECTURE.md draws the layers. No ext4 counterpart (the kernel's is review).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'modules form a DAG: a cycle means a layer calls back up', from: {}, to: { circular: true } },
    { name: 'engine-not-to-bench-or-cli', severity: 'error', comment: 'the engine (src/) is a library: it never imports the benchmark or the command line', from: { path: '^dist/src/' }, to: { path: '^dist/(bench|cli)/' } },
    { name: 'bench-not-to-cli', severity: 'error', comment: 'the benchmark is a module the command line calls, not the other way round', from: { path: '^dist/bench/' }, to: { path: '^dist/cli/' } },
    {
      name: 'workers-not-to-main-thread',
      severity: 'error',
      comment: 'worker entry points import thread-side modules and constants only (the piscina rule)',
      from: { path: '^dist/workers/' },
      to: { path: '^dist/src/(engine|engine-options|file-handle|mount|image-lock|index)\\.js$' },
    },
    {
      name: 'thread-side-not-to-main-thread',
      severity: 'error',
      comment: 'code that runs on every thread never imports the main-thread Engine',
      from: { path: '^dist/src/', pathNot: '^dist/src/(engine|file-handle|mount|index)\\.js$' },
      to: { path: '^dist/src/(engine|file-handle|mount|index)\\.js$' },
    },
    { name: 'no-test-from-product', severity: 'error', comment: 'nothing shipped imports tests', from: { path: '^dist/(src|workers|bench|cli)/' }, to: { path: '^dist/test/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^node_modules/|\\.map$|\\.d\\.ts$)' },
  },
};
