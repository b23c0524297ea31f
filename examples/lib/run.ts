/** What every example shares: run `body`, print bad input as one line, exit non-zero. */
import { FastpathError, isLoadingConfig } from '@fastpath/control';

export function fail(name: string, message: string): never {
  console.error(`${name}: ${message}`);
  process.exit(1);
}

export function runExample(name: string, body: () => Promise<void>): void {
  // Imported as a config (`fastpath validate examples/x.ts`): a program's main never runs.
  if (isLoadingConfig()) return;
  body().catch((error: unknown) => {
    if (error instanceof FastpathError) fail(name, `${error.message} [${error.code}]`);
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) fail(name, error.message);
    throw error;
  });
}
