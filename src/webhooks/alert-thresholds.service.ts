import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { CONFIG, type Config } from '../config/config.js';
import { AlertThresholdRepository } from './alert-threshold.repository.js';

/**
 * The thresholds of budget.threshold_crossed (ALERT_THRESHOLDS_PERCENT): written at boot into
 * alert_thresholds, which the database triggers read, so the crossing is computed in the transaction
 * that moves the count. Every instance writes its own setting: give them all the same one.
 */
@Injectable()
export class AlertThresholds implements OnModuleInit {
  private readonly logger = new Logger('AlertThresholds');

  constructor(
    private readonly thresholds: AlertThresholdRepository,
    @Inject(CONFIG) private readonly config: Pick<Config, 'alerts'>,
  ) {}

  async onModuleInit(): Promise<void> {
    const percents = this.config.alerts.thresholdsPercent;
    await this.thresholds.replaceAll(percents);
    this.logger.log(`alert thresholds: ${percents.join(', ')} % of the seat budget and of each tenant's seat cap`);
  }
}
