# syntax=docker/dockerfile:1
# data-feeder: the TypeScript sources are compiled to dist/ in a build stage; the
# runtime image holds dist/, bin/ and production dependencies only.

# ---- deps: production dependencies only, from the lock file ----
FROM node:20-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# No lifecycle scripts here: the sources are not copied yet (dist/ is built below).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# ---- build: src/ → dist/ with esbuild (a production dependency) ----
FROM deps AS build
COPY tsconfig.json ./
COPY bin ./bin
COPY scripts/build.mjs ./scripts/build.mjs
COPY src ./src
RUN node scripts/build.mjs

# ---- runtime ----
# esbuild comes along as a production dependency (an install from a checkout builds dist/ with it)
# but is never loaded here: with no src/ beside it, the bin always runs dist/. tsx is a
# development dependency and not installed.
# pino-pretty is a development dependency and not installed here: LOG_FORMAT=pretty writes JSON
# lines with one LOG_PRETTY_UNAVAILABLE warning; read them pretty with `docker logs … | npx pino-pretty`.
FROM node:20-slim AS runtime
ENV NODE_ENV=production \
    DATA_DIR=/data \
    HEALTH_CHECK_HOST=0.0.0.0 \
    HEALTH_CHECK_PORT=8080 \
    LOG_FORMAT=json
WORKDIR /app
# Code and dependencies are owned by root and read-only for the service user.
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY bin ./bin
# Without src/ beside it, the bin runs dist/ as shipped.
COPY --from=build /app/dist ./dist
# DATA_DIR holds the embedded database (when no DATABASE_URL/DB_HOST) and the spool.
RUN mkdir -p /data && chown 1000:1000 /data
# The image's "node" user, by number so that Kubernetes' runAsNonRoot can verify it.
USER 1000:1000
EXPOSE 8080
VOLUME /data
# No curl in -slim: Node's own fetch asks /live.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.HEALTH_CHECK_PORT||8080)+'/live').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM reaches node directly (exec form, PID 1): it flushes and exits within SHUTDOWN_TIMEOUT_MS.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "bin/data-feeder.js"]
CMD ["run"]
