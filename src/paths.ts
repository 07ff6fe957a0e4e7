// Where the project's own files are: boards/, kernel-modules/, suites/, reports/.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The project's driver tree: what `build`, `run`, `test` and `bench` build when no --modules is given. */
export const DEFAULT_MODULES_DIR = join(PROJECT_ROOT, 'kernel-modules', 'virt_net');
