import { Injectable } from '@nestjs/common';
import { PrismaService, type Db } from './prisma.service.js';

declare const TX: unique symbol;

/**
 * An open database transaction, opaque outside the repositories: services pass it from one
 * repository call to the next so that their writes commit or roll back together, without ever
 * touching the database themselves. Repositories turn it back into a client with `clientOf`.
 */
export type Tx = { readonly [TX]: true };

export interface TransactionOptions {
  /** How long to wait for a connection (ms). */
  maxWait?: number;
  /** How long the transaction may take before it is rolled back (ms). */
  timeout?: number;
}

/** The one way services open a transaction (the unit of work); everything else goes through repositories. */
@Injectable()
export class Transactions {
  constructor(private readonly prisma: PrismaService) {}

  run<T>(work: (tx: Tx) => Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.prisma.$transaction((client) => work(client as unknown as Tx), options);
  }
}

/** For repositories only: the client of a transaction, or the plain client outside one. */
export function clientOf(prisma: PrismaService, tx?: Tx): Db {
  return (tx as unknown as Db | undefined) ?? prisma;
}
