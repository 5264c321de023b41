/** The credential of an `Authorization: Bearer <credential>` header (scheme case-insensitive, surrounding spaces ignored), or null. */
export function bearerCredential(header: string | undefined): string | null {
  if (typeof header !== 'string') return null;
  return /^Bearer ([^\s]+)$/i.exec(header.trim())?.[1] ?? null;
}
