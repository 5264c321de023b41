// A reference, not a target: an empty NestJS route on the Fastify adapter (what embedgate is built
// on), taking a JSON body like POST /v1/embeds and answering {"ok":true}. The distance from the
// floor to this is the framework's; from this to embedgate, the work. Prints its port.
import 'reflect-metadata';
import { Body, Controller, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';

class EmptyController {
  ok() {
    return { ok: true };
  }
}
Controller()(EmptyController);
Post()(EmptyController.prototype, 'ok', Object.getOwnPropertyDescriptor(EmptyController.prototype, 'ok'));
Body()(EmptyController.prototype, 'ok', 0);
class EmptyModule {}
Module({ controllers: [EmptyController] })(EmptyModule);

const app = await NestFactory.create(EmptyModule, new FastifyAdapter(), { logger: false });
await app.listen(0, '127.0.0.1');
process.stdout.write(`${app.getHttpServer().address().port}\n`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
