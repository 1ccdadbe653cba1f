# medfcl coordinator: gRPC for the site agents (7443), HTTP for /healthz, /metrics and the dashboard (8080).
#
# Build context: the folder written by `node deploy/build-context.mjs` (compiled dist/, package.json,
# production-only node_modules, empty mount points). The image only adds files (no RUN step), so
# NODE_IMAGE can be any image with a `node` (>= 20.9) on its PATH: the official slim image, a
# distroless one, or a hospital's own mirror.
#   docker build -f deploy/build/context/coordinator.Dockerfile -t medfcl-coordinator deploy/build/context
ARG NODE_IMAGE=node:24-bookworm-slim
FROM ${NODE_IMAGE}

# A fixed numeric uid/gid: it needs no /etc/passwd entry, and volume permissions can be set for it.
ARG MEDFCL_UID=10001
ARG MEDFCL_GID=10001

# The same first layers as the agent image, so both share them: largest and least often changed first.
COPY node_modules/ /app/node_modules/
COPY package.json /app/package.json
COPY proto/ /app/proto/
COPY dist/ /app/dist/
# Mount points. Only /state is writable by the runtime user; certificates and config are read-only mounts.
COPY --chown=${MEDFCL_UID}:${MEDFCL_GID} skel/state/ /state/
COPY skel/certs/ /certs/
COPY skel/config/ /config/
COPY skel/eval/ /eval/

ENV NODE_ENV=production \
    HOME=/tmp \
    MEDFCL_LOG_LEVEL=info \
    MEDFCL_COORDINATOR_LISTEN=0.0.0.0:7443 \
    MEDFCL_COORDINATOR_HTTP_LISTEN=0.0.0.0:8080 \
    MEDFCL_COORDINATOR_STATE_DIR=/state \
    MEDFCL_COORDINATOR_TLS_CA=/certs/ca.crt \
    MEDFCL_COORDINATOR_TLS_CERT=/certs/coordinator.crt \
    MEDFCL_COORDINATOR_TLS_KEY=/certs/coordinator.key

WORKDIR /app
USER ${MEDFCL_UID}:${MEDFCL_GID}
VOLUME ["/state"]
EXPOSE 7443 8080

# No curl in minimal images: node asks /healthz itself. The port follows MEDFCL_COORDINATOR_HTTP_LISTEN.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p=(process.env.MEDFCL_COORDINATOR_HTTP_LISTEN||':8080').split(':').pop();require('http').get({host:'127.0.0.1',port:p,path:'/healthz',timeout:4000},r=>process.exit(r.statusCode===200?0:1)).on('error',()=>process.exit(1)).on('timeout',()=>process.exit(1))"]

ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["coordinator"]
