# mvad-stream service image (Node 24 LTS). Build: docker build -t mvad-stream:0.1.0 . (the tag k8s/ runs)
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY schemas ./schemas
# Downloads, unpacked zips and charts (MVAD_REST_DATA_DIR, MVAD_CHARTS_DIR) go under ./mvad-data: the service user
# must own it (the rest of /app is root's). Mount a volume here for more room or a read-only root filesystem.
RUN mkdir -p /app/mvad-data && chown node:node /app/mvad-data
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD node -e "fetch('http://127.0.0.1:'+(process.env.MVAD_HTTP_PORT||8080)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
ENTRYPOINT ["node", "dist/src/main.js"]
