# embedgate's image: built on Debian's Node 20, run as an unprivileged user under an init process.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# The workspaces' manifests: npm ci checks the lockfile against them.
COPY clients/typescript/package.json clients/typescript/
COPY examples/host-app/package.json examples/host-app/
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
# tini as PID 1: forwards SIGTERM to node (the graceful shutdown) and reaps the processes it starts
# (the Prisma CLI that applies migrations at boot).
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json /app/prisma.config.ts ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/prisma ./prisma
# The image's `node` user, by number: Kubernetes can check runAsNonRoot against a number, not a name.
USER 1000:1000
# 8080: the API (PORT); 9464: /metrics when METRICS_PORT=9464.
EXPOSE 8080 9464
# Ready: the process answers and Postgres does (GET /health/ready).
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8080) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/main.js"]
