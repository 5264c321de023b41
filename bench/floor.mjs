// The floor: a bare Fastify server answering {"ok":true} on one route, in a process of its own
// (as embedgate is), so the load generator does not share its event loop. Prints its port.
import Fastify from 'fastify';

const floor = Fastify({ logger: false });
floor.get('/', async () => ({ ok: true }));
await floor.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`${floor.server.address().port}\n`);
process.on('SIGTERM', () => floor.close().then(() => process.exit(0)));
