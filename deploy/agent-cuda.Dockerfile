# medfcl site agent for NVIDIA GPUs: tfjs-node-gpu (libtensorflow with CUDA), started with
# `--backend tensorflow`. Same build context as agent.Dockerfile (node deploy/build-context.mjs).
#
# Needs a build host with internet access: the @tensorflow/tfjs-node-gpu install script downloads
# libtensorflow (GPU build) at image build time. It was NOT built in this project's CI, which has no
# registry and no GPU; the CPU images are the tested ones.
#   docker build -f deploy/build/context/agent-cuda.Dockerfile -t medfcl-agent-cuda deploy/build/context
#   docker run --gpus all ... medfcl-agent-cuda
#
# tfjs-node-gpu 4.x links libtensorflow 2.9 (CUDA 11.2, cuDNN 8.1 or newer 11.x/8.x). The host needs
# an NVIDIA driver and the NVIDIA container toolkit.
ARG NODE_IMAGE=node:24-bookworm-slim
ARG CUDA_IMAGE=nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04
ARG TFJS_NODE_GPU_VERSION=4.22.0

# Stage 1: tfjs-node-gpu and its dependencies in a folder of their own. Only this stage needs the
# network; its tfjs packages have the same versions as the ones in the context's node_modules.
FROM ${NODE_IMAGE} AS tfjs-gpu
ARG TFJS_NODE_GPU_VERSION
WORKDIR /tfjs-gpu
RUN npm init -y >/dev/null \
 && npm install --omit=dev --no-audit --no-fund "@tensorflow/tfjs-node-gpu@${TFJS_NODE_GPU_VERSION}" \
 && node -e "require('@tensorflow/tfjs-node-gpu/package.json')" \
 && rm -rf /root/.npm

# Stage 2: the CUDA runtime plus node. No npm, no compiler, no dev dependencies.
FROM ${NODE_IMAGE} AS node
FROM ${CUDA_IMAGE}
ARG MEDFCL_UID=10001
ARG MEDFCL_GID=10001
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY node_modules/ /app/node_modules/
COPY --from=tfjs-gpu /tfjs-gpu/node_modules/ /app/node_modules/
COPY package.json /app/package.json
COPY proto/ /app/proto/
COPY dist/ /app/dist/
COPY agent-healthcheck.mjs /app/healthcheck.mjs
COPY --chown=${MEDFCL_UID}:${MEDFCL_GID} skel/state/ /state/
COPY skel/certs/ /certs/
COPY skel/config/ /config/
COPY skel/data/ /data/

ENV NODE_ENV=production \
    HOME=/tmp \
    MEDFCL_LOG_LEVEL=info \
    MEDFCL_AGENT_DATA=/data \
    MEDFCL_AGENT_STATE_DIR=/state \
    MEDFCL_AGENT_TLS_CA=/certs/ca.crt \
    MEDFCL_AGENT_TLS_CERT=/certs/site.crt \
    MEDFCL_AGENT_TLS_KEY=/certs/site.key \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /app
USER ${MEDFCL_UID}:${MEDFCL_GID}
VOLUME ["/state"]

HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
  CMD ["node", "/app/healthcheck.mjs"]

ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["agent", "--backend", "tensorflow"]
