/**
 * The layer rules koubou holds itself to, checked by `npm run depcheck` (part of scripts/test):
 * no import cycles; the library (src/, apart from its entry points cli/ and demo/) never reaches
 * into the actors; machines stay pure; policy/, routing/ and pool/ are entered through their index.
 */
const onlyThroughIndex = (pkg) => ({
  name: `${pkg}-one-entry`,
  comment: `Outside src/${pkg}/, import src/${pkg}/index.ts, its one public entry.`,
  severity: 'error',
  from: { path: '^(src|actors|machines|bench)/', pathNot: `^src/${pkg}/` },
  to: { path: `^src/${pkg}/`, pathNot: `^src/${pkg}/index\\.ts$` },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'An import cycle.', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'library-not-on-actors',
      comment: 'The library (src/) is used by the actors, never the other way round; only the entry points src/cli and src/demo wire actors.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(cli|demo)/' },
      to: { path: '^actors/' },
    },
    {
      name: 'machines-are-pure',
      comment: 'machines/ import no NATS, SQLite, HTTP or node: modules, and of the library only its pure core.',
      severity: 'error',
      from: { path: '^machines/' },
      to: { path: '^(actors/|src/(?!core/)|node_modules/(@nats-io|nats|better-sqlite3|openai|ollama)/)|^node:|^(fs|http|https|net|child_process|path|os)$' },
    },
    onlyThroughIndex('policy'),
    onlyThroughIndex('routing'),
    onlyThroughIndex('pool'),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
