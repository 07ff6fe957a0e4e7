// Secrets (passwords, key passphrases) are named in the YAML by environment
// variable and read only when used, so a missing one fails where it matters.
import { HarnessError } from '../errors.ts';

/** Returns the value of the environment variable `envName`, or throws naming the board and the setting. */
export function readSecret(envName: string, where: { board: string; setting: string }): string {
  const value = process.env[envName];
  if (value === undefined) {
    throw new HarnessError(
      `board ${where.board}: ${where.setting} names environment variable ${envName}, which is not set; ` +
        `export ${envName}=... before running the harness`,
    );
  }
  return value;
}
