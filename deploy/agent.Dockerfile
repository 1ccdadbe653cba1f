# medfcl site agent, CPU build (tfjs with the wasm backend). One per hospital. It only connects
# outbound, to the coordinator (gRPC 7443) and NATS (4222); it opens no port.
#
# Build context: the folder written by `node deploy/build-context.mjs` (compiled dist/, package.json,
# production-only node_modules, empty mount points). The image only adds files (no RUN step), so
# NODE_IMAGE can be any image with a `node` (>= 20.9) on its PATH: the official slim image, a
# distroless one, or a hospital's own mirror.
#   docker build -f deploy/build/context/agent.Dockerfile -t medfcl-agent deploy/build/context
ARG NODE_IMAGE=node:24-bookworm-slim
FROM ${NODE_IMAGE}

# A fixed numeric uid/gid: it needs no /etc/passwd entry, and volume permissions can be set for it.
ARG MEDFCL_UID=10001
ARG MEDFCL_GID=10001

# The same first layers as the coordinator image, so both share them: largest and least often changed first.
COPY node_modules/ /app/node_modules/
COPY package.json /app/package.json
COPY proto/ /app/proto/
COPY dist/ /app/dist/
COPY agent-healthcheck.mjs /app/healthcheck.mjs
# Mount points. Only /state is writable by the runtime user; data, certificates and config are read-only mounts.
COPY --chown=${MEDFCL_UID}:${MEDFCL_GID} skel/state/ /state/
COPY skel/certs/ /certs/
COPY skel/config/ /config/
COPY skel/data/ /data/

# Set MEDFCL_AGENT_SITE_ID and MEDFCL_AGENT_COORDINATOR at run time (or put them in a file mounted
# under /config and start with `agent --config /config/agent.yaml`).
ENV NODE_ENV=production \
    HOME=/tmp \
    MEDFCL_LOG_LEVEL=info \
    MEDFCL_AGENT_DATA=/data \
    MEDFCL_AGENT_STATE_DIR=/state \
    MEDFCL_AGENT_TLS_CA=/certs/ca.crt \
    MEDFCL_AGENT_TLS_CERT=/certs/site.crt \
    MEDFCL_AGENT_TLS_KEY=/certs/site.key

WORKDIR /app
USER ${MEDFCL_UID}:${MEDFCL_GID}
VOLUME ["/state"]

# Healthy while the agent's heartbeat file ($MEDFCL_AGENT_STATE_DIR/health.json) is fresh: the same
# check as `medfcl agent health` (written within the last 3 heartbeat intervals), run by a small
# script that does not load the whole CLI (≈0.3 s of CPU per probe instead of ≈1.4 s).
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs"]

ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["agent"]
