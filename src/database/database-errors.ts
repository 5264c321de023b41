/** Postgres SQLSTATE codes and Prisma codes that mean "the database is unreachable right now". */
const UNAVAILABLE_PRISMA = new Set(['P1000', 'P1001', 'P1002', 'P1008', 'P1011', 'P1017', 'P2024', 'P2028']);
const UNAVAILABLE_NODE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND']);

function codesOf(error: unknown, depth = 0): string[] {
  if (!error || typeof error !== 'object' || depth > 4) return [];
  const e = error as Record<string, unknown>;
  const codes: string[] = [];
  for (const key of ['code', 'originalCode', 'kind']) if (typeof e[key] === 'string') codes.push(e[key] as string);
  const meta = e.meta as Record<string, unknown> | undefined;
  if (meta) {
    if (typeof meta.code === 'string') codes.push(meta.code);
    codes.push(...codesOf(meta.driverAdapterError, depth + 1));
  }
  codes.push(...codesOf(e.cause, depth + 1));
  return codes;
}

/** True when a Postgres unique constraint refused the write. */
export function isUniqueViolation(error: unknown): boolean {
  const codes = codesOf(error);
  return codes.includes('23505') || codes.includes('P2002') || codes.includes('UniqueConstraintViolation');
}

/** True when the error says the database could not be reached or dropped the connection. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const codes = codesOf(error);
  if (codes.some((c) => UNAVAILABLE_PRISMA.has(c) || UNAVAILABLE_NODE.has(c))) return true;
  // 08xxx connection exceptions, 57P0x operator intervention (shutdown, terminated backend).
  if (codes.some((c) => /^08\d{3}$/.test(c) || /^57P0\d$/.test(c))) return true;
  // 57014: the statement timeout (DATABASE_STATEMENT_TIMEOUT_MS) cancelled a statement stuck on locks or
  // load; Postgres rolled it (and its transaction) back, so a retry is safe: unavailable, not a bug.
  if (codes.includes('57014')) return true;
  if (codes.includes('DatabaseNotReachable') || codes.includes('ConnectionClosed') || codes.includes('SocketTimeout')) return true;
  const message = error instanceof Error ? error.message : '';
  // "Query read timeout": pg's client-side bound, past the statement timeout, on a server that did not answer.
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Can't reach database|Client has encountered a connection error|Query read timeout/i.test(
    message,
  );
}
