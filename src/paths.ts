// Where the project's own files are: boards/, kernel-modules/, suites/, reports/.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
