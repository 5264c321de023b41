import { Inject, Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error.js';
import { CONFIG, type Config } from '../config/config.js';
import { DeactivationOutbox } from '../metabase/deactivation-outbox.service.js';
import { MetabaseApiClient, MetabaseApiError } from '../metabase/metabase-api.client.js';
import { SeatLedger } from '../seats/seat-ledger.service.js';

export interface Reconciliation {
  checkedAt: string;
  metabaseActiveUsers: number;
  seatsHeld: number;
  /** Active Metabase users with no seat: billed, but not licensed by embedgate (the money leak). */
  billedWithoutSeat: { metabaseUserId: number; email: string; isSuperuser: boolean; lastLogin: string | null }[];
  /** Seats whose Metabase user is missing (never logged in) or deactivated. */
  seatsWithoutActiveUser: { seatId: string; tenant: string; userId: string; email: string; problem: 'missing' | 'inactive' }[];
  deactivations: { pending: number; failed: number };
}

/** Compares the seat ledger with Metabase's users. Off when no Metabase API key is configured. */
@Injectable()
export class LicenseReconciliation {
  private readonly client?: MetabaseApiClient;

  constructor(
    private readonly ledger: SeatLedger,
    private readonly outbox: DeactivationOutbox,
    @Inject(CONFIG) config: { metabase: { api?: Config['metabase']['api'] } },
  ) {
    this.client = config.metabase.api ? new MetabaseApiClient(config.metabase.api) : undefined;
  }

  async reconcile(): Promise<Reconciliation> {
    if (!this.client) {
      throw new ApiError(409, 'metabase_api_not_configured', 'reconciliation needs METABASE_API_KEY (and METABASE_API_URL or METABASE_SITE_URL)');
    }
    let users;
    try {
      users = await this.client.listUsers({ status: 'all' });
    } catch (error) {
      if (error instanceof MetabaseApiError) throw new ApiError(502, 'metabase_unavailable', error.message);
      throw error;
    }
    const [seats, deactivations] = await Promise.all([this.ledger.allHeld(), this.outbox.counts()]);
    const seatEmails = new Set(seats.map((seat) => seat.email.toLowerCase()));
    const byEmail = new Map(users.map((user) => [user.email.toLowerCase(), user]));
    const active = users.filter((user) => user.is_active);
    return {
      checkedAt: new Date().toISOString(),
      metabaseActiveUsers: active.length,
      seatsHeld: seats.length,
      billedWithoutSeat: active
        .filter((user) => !seatEmails.has(user.email.toLowerCase()))
        .map((user) => ({ metabaseUserId: user.id, email: user.email, isSuperuser: user.is_superuser ?? false, lastLogin: user.last_login ?? null })),
      seatsWithoutActiveUser: seats.flatMap((seat) => {
        const user = byEmail.get(seat.email.toLowerCase());
        if (user?.is_active) return [];
        return [{ seatId: seat.id, tenant: seat.tenant, userId: seat.userId, email: seat.email, problem: user ? ('inactive' as const) : ('missing' as const) }];
      }),
      deactivations,
    };
  }
}
