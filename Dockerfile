# roomcast: the service (`start`), queue workers (`worker`) and the local Nostr
# relay (`relay`) from one image. Multi-stage: production dependencies are
# installed in the first stage; the image runs as the unprivileged `node`
# user, with its state (identity, store, token) in the /data volume.
FROM node:24-bookworm-slim AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# The local stand-in for matrix-bot-sdk's encryption package (package.json overrides).
COPY packages ./packages
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production \
    ROOMCAST_DATA_DIR=/data \
    ROOMCAST_HTTP_HOST=0.0.0.0
WORKDIR /app
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY packages ./packages
COPY bin ./bin
COPY config ./config
COPY src ./src
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# The operators' HTTP server (status page, queue dashboard, /metrics, /healthz).
EXPOSE 8470
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:8470/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
ENTRYPOINT ["node", "--max-semi-space-size=16", "bin/roomcast.js"]
CMD ["start"]
