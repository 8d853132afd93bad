// Import rules checked by `npm run lint` (dependency-cruiser). Type-only imports are erased
// and cannot form a runtime cycle, so the graph is the one of the compiled JavaScript.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle among source files: break it (move the shared part down, or import a type only).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-relative-import-across-packages',
      severity: 'error',
      comment: 'Packages import each other by name (@hearsay/x), never by a relative path into another package.',
      from: { path: '^packages/([^/]+)/' },
      to: { dependencyTypes: ['local'], path: '^packages/', pathNot: '^packages/$1/' },
    },
    {
      name: 'no-other-package-tests',
      severity: 'error',
      comment: "Only a package's own files import its test files: other packages, root tests, benchmarks, examples and scripts share through src (a ./testing export) or test/helpers.",
      from: { path: '^(packages/([^/]+)/|test/|bench/|examples/|scripts/)' },
      to: { path: '^packages/[^/]+/test/', pathNot: '^packages/$2/test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: false,
    enhancedResolveOptions: { conditionNames: ['source', 'import', 'types', 'default'], exportsFields: ['exports'], extensions: ['.ts', '.js', '.json'] },
    combinedDependencies: true,
  },
}
