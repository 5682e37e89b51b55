# The INFaaS image: controller (`serve`, the default) and worker (`worker`) in one, run from the TypeScript
# sources through tsx (as `npm start` and the CLI do). Build: docker build -t infaas-ts .
# For kind: kind load docker-image infaas-ts   (deploy/kubernetes uses infaas-ts:latest, imagePullPolicy IfNotPresent)
FROM node:20-bookworm-slim

ENV NODE_ENV=production
WORKDIR /app

# Dependencies first, so a source change does not reinstall them. .npmrc carries the project's npm settings.
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY bin ./bin
COPY src ./src
COPY zoo ./zoo
COPY tsconfig.json ./

# Run as the image's unprivileged `node` user (uid 1000); it owns only the data dir (./.infaas by default).
RUN mkdir -p /app/.infaas && chown node:node /app/.infaas
USER node

# 8080: the controller's REST API (`serve`); 7070: a worker's port (`worker --listen 0.0.0.0:7070`).
EXPOSE 8080 7070
ENTRYPOINT ["node", "bin/infaas.mjs"]
CMD ["serve", "--host", "0.0.0.0"]
