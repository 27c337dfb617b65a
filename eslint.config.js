import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';

const promiseRules = {
  '@typescript-eslint/no-floating-promises': 'error',
  '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
};

/** Layer rules (docs/architecture.md): what each layer may import. */
const layers = [
  {
    // the engine runs in the CLI and serve mode too: Electron belongs to the shell
    files: ['src-main/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'core/ runs without Electron; the shell (src-main/shell) owns it.' },
          ],
        },
      ],
    },
  },
  {
    // the contract is shared with every client: it may not pull the engine in
    files: ['src-main/common/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'common/ is the contract; it imports no runtime.' }],
          patterns: [
            {
              group: ['**/core/**', '**/cli/**', '**/shell/**'],
              message: 'common/ imports nothing from core/, cli/ or shell/.',
            },
          ],
        },
      ],
    },
  },
  {
    // the browser bundle: the contract's types only (zod and the engine never ship to it)
    files: ['src-renderer/**/*.ts', 'src-renderer/**/*.svelte'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [{ name: 'electron', message: 'The renderer talks to the app through lib/api.ts only.' }],
          patterns: [
            {
              group: ['**/src-main/common/**'],
              allowTypeImports: true,
              message: 'The renderer imports only types from src-main/common (import type).',
            },
            {
              group: ['**/src-main/core/**', '**/src-main/cli/**', '**/src-main/shell/**'],
              message: 'The renderer never imports the engine.',
            },
            {
              group: ['zod'],
              allowTypeImports: true,
              message: 'zod stays out of the browser bundle (import type only).',
            },
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  { ignores: ['out/', 'dist/', 'node_modules/', 'resources/', 'test-results/', 'tests/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...svelte.configs['flat/recommended'],
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    // type-aware rules where a dropped promise is a real bug (an unhandled rejection, a job nobody awaits)
    files: ['src-main/**/*.ts', 'tests/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: promiseRules,
  },
  {
    // the renderer's own program (bundler resolution); .svelte components are checked by svelte-check
    files: ['src-renderer/**/*.ts'],
    languageOptions: {
      parserOptions: { project: './tsconfig.renderer.json', tsconfigRootDir: import.meta.dirname },
    },
    rules: promiseRules,
  },
  ...layers,
);
