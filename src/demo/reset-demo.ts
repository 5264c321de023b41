// `npm run demo:reset`: forgets the demo's data (its embedded database) so the next `npm start` seeds
// afresh. The generated secrets and the demo IdP's key stay (a local Metabase may use the secrets):
// `rm -rf .embedgate` forgets them too.
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { processEnv } from '../config/config.js';
import { demoDirOf, demoPaths } from '../config/demo-defaults.js';
import { pidFileHolder } from '../common/pid-file.js';

const projectRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const paths = demoPaths(demoDirOf(processEnv(), join(projectRoot, '.embedgate')));
const holder = pidFileHolder(paths.databaseLock);
if (holder !== null) {
  process.stderr.write(`the demo is running (pid ${holder}) on ${paths.database}: stop it first\n`);
  process.exit(1);
}
if (!existsSync(paths.database)) {
  process.stderr.write(`no demo data in ${paths.database}: nothing to reset\n`);
} else {
  rmSync(paths.database, { recursive: true, force: true });
  rmSync(paths.databaseLock, { force: true });
  process.stderr.write(`demo data removed (${paths.database}); the next npm start seeds a fresh demo\n`);
}
