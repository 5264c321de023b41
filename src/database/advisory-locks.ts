/**
 * Every Postgres advisory-lock key embedgate takes, in one place: two jobs that picked the same key
 * by accident would silently exclude each other. Keys are 32-bit, spelled as four ASCII letters.
 */
export const ADVISORY_LOCK_KEYS = {
  /** Serializes `prisma migrate deploy` across instances starting together ("embg"). */
  migrations: 0x656d6267,
  /** The scheduled idle-seat reclamation: one instance at a time ("recl"). */
  seatReclaim: 0x7265636c,
  /** The scheduled purge of expired rows: one instance at a time ("rtnt"). */
  retention: 0x72746e74,
} as const;
