// MetabaseSafety lives with the check it decides from (src/metabase-status, MetabaseStatusModule, which
// needs the tenants and resources); this path stays for its callers.
export { MetabaseSafety, type IsolationVerdict } from '../metabase-status/metabase-safety.service.js';
