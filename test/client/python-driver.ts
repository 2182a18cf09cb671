/** Runs scenarios of test/client/python_client_check.py, the Python client's driver, against the repository's CLI. */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI_PATH, REPO_ROOT } from '../support/spawn-proxy.js';

const SCRIPT = join(REPO_ROOT, 'test/client/python_client_check.py');
const MODULE_DIR = join(REPO_ROOT, 'clients/python');

export const pythonAvailable = spawnSync('python3', ['--version']).status === 0;

/** Runs one scenario with the repository's CLI under this Node; answers what it printed as JSON. */
export function runScenario<T>(scenario: string, spec: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): T {
  const full = { command: [process.execPath, CLI_PATH], cwd: REPO_ROOT, args: ['--insecure-policy', '-q'], scenario, ...spec };
  const run = spawnSync('python3', [SCRIPT, MODULE_DIR, JSON.stringify(full)], { encoding: 'utf8', timeout: 30000, env });
  if (run.status !== 0) throw new Error(`python client scenario ${scenario} failed (${run.status}): ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
