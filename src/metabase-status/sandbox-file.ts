import { z } from 'zod';
import type { ProposedSandbox } from '../metabase/admin/sync-plan.js';

const name = z.string().min(1).max(500);

/** The operator's sandbox file (`metabase sandboxes propose` writes it, the operator edits it, `apply` reads it). */
export const sandboxFileSchema = z.array(
  z.object({
    group: name,
    databaseId: z.number().int().positive(),
    database: name,
    tableId: z.number().int().positive(),
    table: name,
    schema: name.nullable(),
    fieldId: z.number().int().positive().nullable(),
    field: name.nullable(),
    attribute: name,
    alsoBlock: z.array(name),
    why: z.array(z.string().max(2_000)),
  }),
) satisfies z.ZodType<ProposedSandbox[]>;
