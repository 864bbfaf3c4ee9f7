# The one image behind every Switchboard service: `docker run switchboard pack slack`, `... all`.
FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
# The image's Node is already 24, so the pinned `node` devDependency (and its install script) is not needed.
RUN npm ci --omit=dev --ignore-scripts && npm cache clean --force
COPY shared ./shared
COPY cli ./cli
COPY packs ./packs
COPY flows ./flows
COPY engine ./engine
COPY console ./console
# The flow schema is read at run time, not only published.
COPY docs/flow.schema.json ./docs/flow.schema.json
RUN mkdir -p /var/lib/switchboard && chown node:node /var/lib/switchboard
USER node
ENV HEALTH_PORT=9090 SWITCHBOARD_STATE_DIR=/var/lib/switchboard SWITCHBOARD_DATA_DIR=/var/lib/switchboard
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "cli/switchboard.ts"]
CMD ["all"]
