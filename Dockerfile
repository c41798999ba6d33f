# syntax=docker/dockerfile:1
# One image for every Python process of the hall (docs/deploy.md): the command picks the process,
#   docker run IMAGE service auth | gateway | worker workflow,notify | heavy | beat | migrate | check ...
# and a second target, `proxy`, is Caddy with the gateway's static files (deploy/caddy/Caddyfile).
# Base images are pinned to exact versions; pin them by digest as well in your own registry.

ARG PYTHON_IMAGE=python:3.11.7-slim-bookworm
ARG NODE_IMAGE=node:22.12.0-bookworm-slim
ARG CADDY_IMAGE=caddy:2.8.4-alpine

# -- the browser assets from npm (package-lock.json: exact versions) -----------------------------------
FROM ${NODE_IMAGE} AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# -- the Python environment: every pinned requirement in a virtualenv, and the UKey agent's wheel --------
FROM ${PYTHON_IMAGE} AS python-build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
COPY requirements.txt /build/requirements.txt
RUN /opt/venv/bin/pip install --require-virtualenv -r /build/requirements.txt
WORKDIR /build
COPY hall_common hall_common
COPY deploy deploy
COPY ukey_agent ukey_agent
RUN HALL_VAR_DIR=/tmp/var HALL_UKEY_AGENT_DIST_DIR=/build/agent /opt/venv/bin/python -m deploy.agent_wheel

# -- the runtime: no compilers, no npm, a user without privileges ------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# The printed PDFs embed this Chinese font (HALL_PDF_FONT_PATH).
RUN apt-get update \
 && apt-get install -y --no-install-recommends fonts-wqy-microhei \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin hall \
 && mkdir -p /var/lib/hall && chown hall:hall /var/lib/hall
COPY --from=python-build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root hall_common hall_common
COPY --chown=root:root services services
COPY --chown=root:root gateway gateway
COPY --chown=root:root deploy deploy
COPY --chown=root:root ukey_agent ukey_agent
COPY --from=assets /build/node_modules/bpmn-js/dist node_modules/bpmn-js/dist
COPY --from=python-build /build/agent build/agent
# Compiled once here: the root file system may be read-only at run time (the Kubernetes manifests).
RUN python -m compileall -q hall_common services gateway deploy ukey_agent
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HALL_VAR_DIR=/var/lib/hall \
    HALL_UKEY_AGENT_DIST_DIR=/app/build/agent
USER 10001:10001
VOLUME ["/var/lib/hall"]
EXPOSE 8000 8101 8102 8103 8104 8105 8106
ENTRYPOINT ["python", "-m", "deploy.container"]
CMD ["gateway"]

# -- the reverse proxy: static files from disk, everything else to the gateway ---------------------------
FROM ${CADDY_IMAGE} AS proxy
COPY gateway/static /srv/hall/static
COPY --from=assets /build/node_modules/bpmn-js/dist /srv/hall/vendor/bpmn-js
COPY deploy/caddy/Caddyfile /etc/caddy/Caddyfile
