// Types of the CommonJS entry (cjs/index.cjs): the same names as the ES module's.
export * from '../dist/src/index.js';
