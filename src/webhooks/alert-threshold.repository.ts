import { Injectable } from '@nestjs/common';
import { PrismaService } from '../database/prisma.service.js';

/** alert_thresholds: the percentages the threshold triggers compare usage with. */
@Injectable()
export class AlertThresholdRepository {
  constructor(private readonly prisma: PrismaService) {}

  /** Makes the table hold exactly these percentages, in one statement (the triggers never see it empty midway). */
  async replaceAll(percents: number[]): Promise<void> {
    await this.prisma.$executeRaw`
      WITH wanted AS (SELECT unnest(${percents}::int[]) AS percent),
           gone AS (DELETE FROM alert_thresholds a WHERE a.percent <> ALL (${percents}::int[]))
      INSERT INTO alert_thresholds (percent) SELECT percent FROM wanted ON CONFLICT (percent) DO NOTHING`;
  }
}
