// CommonJS entry of the pool worker, loaded by piscina with require().
// Why it exists: piscina tries require() on its task file first; on Node 20.19+ that means
// require(esm), which aborts the whole process (V8 "ToLocalChecked Empty MaybeLocal", seen when a
// pool is destroyed while its workers are still loading). A CommonJS file never takes that path;
// it imports the real ES module worker with import().
// No ext4 counterpart.

type Task = Parameters<typeof import('./pool-worker.js').default>[0];
let loaded: Promise<typeof import('./pool-worker.js')> | null = null;

module.exports = async function run(task: Task): Promise<unknown> {
  loaded ??= import('./pool-worker.js');
  return (await loaded).default(task);
};
