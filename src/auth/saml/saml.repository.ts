import { Injectable } from '@nestjs/common';
import { isUniqueViolation } from '../../database/database-errors.js';
import { PrismaService } from '../../database/prisma.service.js';

/**
 * The SAML ids kept in Postgres, so that any instance can take a response: the AuthnRequest ids we
 * issued (saml_requests, for InResponseTo) and the request and assertion ids already accepted
 * (saml_consumed, for single use).
 */
@Injectable()
export class SamlRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Records an issued request id; a second save of the same id keeps the first. */
  async saveRequest(id: string, createdAt: Date): Promise<void> {
    await this.prisma.samlRequest.upsert({ where: { id }, create: { id, createdAt }, update: {} });
  }

  /** When the request was issued; null for an id we never issued (or already removed). */
  async requestIssuedAt(id: string): Promise<Date | null> {
    const row = await this.prisma.samlRequest.findUnique({ where: { id }, select: { createdAt: true } });
    return row?.createdAt ?? null;
  }

  /** Removes a request id; false when there was none. */
  async removeRequest(id: string): Promise<boolean> {
    const { count } = await this.prisma.samlRequest.deleteMany({ where: { id } });
    return count > 0;
  }

  /**
   * Marks a response's request id and assertion id as used, both or neither (one statement); false
   * when either was used already (the unique key refuses it).
   */
  async consumeOnce(inResponseTo: string, assertionId: string): Promise<boolean> {
    try {
      await this.prisma.samlConsumed.createMany({ data: [{ id: `request:${inResponseTo}` }, { id: `assertion:${assertionId}` }] });
      return true;
    } catch (error) {
      if (isUniqueViolation(error)) return false;
      throw error;
    }
  }
}
