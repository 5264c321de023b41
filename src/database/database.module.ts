import { Global, Module } from '@nestjs/common';
import { PrismaService } from './prisma.service.js';
import { Transactions } from './transactions.js';

/**
 * The database (infrastructure: available to every module). Only repositories use PrismaService;
 * services open transactions with Transactions and pass the opaque Tx to repositories.
 */
@Global()
@Module({ providers: [PrismaService, Transactions], exports: [PrismaService, Transactions] })
export class DatabaseModule {}
