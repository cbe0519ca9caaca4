# syntax=docker/dockerfile:1
# One image for every role: set ROLE=web, worker or all (the default) when you run it.

# ---- build: install everything, compile TypeScript, then drop the dev dependencies ----
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
COPY jobs ./jobs
# tsconfig.build.json compiles src/, commands/ and jobs/ with rootDir "." into dist/src, dist/commands, dist/jobs.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: compiled code and production dependencies only, as a non-root user ----
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The official image ships the unprivileged user "node" (uid 1000); the app writes no files.
USER node
# The targets file: the default CUTOVER_CONFIG (./cutover.yaml) is /app/cutover.yaml; mount it there
# or set CUTOVER_CONFIG to where you mount it.
EXPOSE 3000
# No curl in the slim image: node's fetch asks /healthz. ROLE=worker serves no HTTP at all, so there
# is nothing to ask and the check passes.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD node -e "if ((process.env.ROLE || '').trim().toLowerCase() === 'worker') process.exit(0); fetch('http://127.0.0.1:${PORT:-3000}/healthz', { signal: AbortSignal.timeout(4000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));"
# node is PID 1 and handles SIGTERM itself: it stops taking work, lets running steps finish, exits.
CMD ["node", "dist/src/main/index.js"]
