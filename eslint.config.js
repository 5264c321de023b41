// ESLint (flat config): typescript-eslint's recommended rules, a few type-aware rules that catch real
// bugs, and the layering of the codebase as import boundaries (import-x/no-restricted-paths, which
// checks the resolved file of every import, `import type` included). Prettier owns formatting
// (eslint-config-prettier turns off the rules that would fight it). test/unit/architecture.spec.ts
// shows that each boundary reports an offending import.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import prettier from 'eslint-config-prettier';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const root = path.dirname(fileURLToPath(import.meta.url));

// Every folder of src/ is a feature (or infrastructure) folder; new ones are picked up on their own.
const srcFolders = fs
  .readdirSync(path.join(root, 'src'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'generated')
  .map((entry) => entry.name);

// The files that may not reach the database: everything in src/ but repositories, src/database/**
// and the two entry points that build the app (src/main.ts, src/app.factory.ts).
const notDatabaseOwners = ['src/!(database|generated)/**/!(*.repository).ts', 'src/!(app.factory|main|*.repository).ts'];
// The same, less the CLI entry point, which applies migrations like src/main.ts does.
const notInfrastructure = [
  'src/!(database|generated|cli)/**/!(*.repository).ts',
  'src/cli/**/!(main|*.repository).ts',
  'src/!(app.factory|main|*.repository).ts',
];

const boundaries = [
  {
    target: notDatabaseOwners,
    from: ['src/database/prisma.service.ts', 'src/generated'],
    message: 'Only repositories (*.repository.ts) and src/database/** reach the database: use a repository, and the domain types of the feature folder.',
  },
  {
    target: notInfrastructure,
    from: 'src/database',
    // prisma.service.ts is reported by the zone above.
    except: ['./transactions.ts', './database-errors.ts', './database.module.ts', './advisory-locks.ts', './prisma.service.ts'],
    message: 'Outside repositories, only transactions, database-errors, database.module and advisory-locks of src/database may be imported.',
  },
  {
    target: 'src/policy',
    from: ['src/database', 'src/generated'],
    message: 'The policy engine is pure functions: no database, no Prisma types (callers pass plain data).',
  },
  {
    target: 'src/common',
    from: 'src',
    except: ['./common', './config', './database/database-errors.ts'],
    message: 'src/common knows no feature: it may import only src/common, src/config and src/database/database-errors.ts.',
  },
  // A feature does not reach into another feature's repositories or controllers: it uses its services
  // (exported by its module).
  ...srcFolders.map((feature) => ({
    target: `src/${feature}`,
    from: srcFolders.filter((other) => other !== feature).map((other) => `src/${other}/**/*.{repository,controller}.ts`),
    message: `A feature may not import another feature's repository or controller: use the other feature's service.`,
  })),
];

export default defineConfig([
  globalIgnores(['dist/', 'clients/typescript/dist/', 'node_modules/', 'src/generated/', 'bench/results/', 'coverage/', 'test/artifacts/', '.embedgate/']),
  {
    files: ['**/*.{ts,js,mjs}'],
    extends: [js.configs.recommended, tseslint.configs.recommended],
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          args: 'after-used',
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          caughtErrorsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // Type-aware rules, on the TypeScript sources (tsconfig.json includes src, test and bench).
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: root } },
    rules: {
      // `void promise` marks a deliberate fire-and-forget (the default ignoreVoid).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/no-for-in-array': 'error',
      '@typescript-eslint/no-implied-eval': 'error',
      '@typescript-eslint/no-array-delete': 'error',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: path.join(root, 'tsconfig.json') })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones: boundaries }],
    },
  },
  {
    // Packages by name (a type-only import of `pg` resolves to @types/pg, so names, not paths).
    files: ['src/policy/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@nestjs/*', '@prisma/*', 'pg', 'pg/*', 'ioredis', 'ioredis/*'],
              message: 'The policy engine is pure functions: no Nest, no database, no Redis.',
            },
          ],
        },
      ],
    },
  },
  {
    // The hostile-text rule matches control characters on purpose.
    files: ['src/common/text.ts'],
    rules: { 'no-control-regex': 'off' },
  },
  {
    // Tests reach into internals and untyped JSON bodies.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  prettier,
]);
