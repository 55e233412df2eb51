# footfall's container image. Three build stages run deploy/docker/build-steps.sh, the same
# script tests/deploy/test_image_steps.py runs in a scratch directory:
#   assets   Node: the tracker and (once frontend/ exists) the dashboard, from their lockfiles
#   wheel    Python: the write path compiled with mypyc, then a wheel that carries it and the assets
#   install  a virtual environment with that wheel, checked to report the compiled write path
# and the runtime stage copies that environment onto a slim Python image.
#
#   docker build -t registry.example.com/footfall:0.2.0 .
#   docker run --read-only --tmpfs /tmp -v footfall-data:/data -p 8000:8000 \
#     -e BASE_URL=http://localhost:8000 registry.example.com/footfall:0.2.0
#
# Base images are pinned to exact versions. Pin their digests too where you build
# (`docker buildx imagetools inspect python:3.11.13-slim-bookworm`, then
# `FROM python:3.11.13-slim-bookworm@sha256:...`); deploy/README.md says more.

FROM node:20.19.5-bookworm-slim AS assets
WORKDIR /src
COPY . .
RUN deploy/docker/build-steps.sh assets

FROM python:3.11.13-bookworm AS wheel
WORKDIR /src
ENV PIP_NO_CACHE_DIR=1
COPY . .
COPY --from=assets /src/src/footfall/web/static src/footfall/web/static
RUN deploy/docker/build-steps.sh wheel /dist /opt/build

FROM python:3.11.13-slim-bookworm AS install
ENV PIP_NO_CACHE_DIR=1
COPY --from=wheel /src/deploy/docker/build-steps.sh /usr/local/bin/build-steps.sh
COPY --from=wheel /dist /dist
RUN build-steps.sh install /dist /opt/footfall

FROM python:3.11.13-slim-bookworm AS runtime
LABEL org.opencontainers.image.title="footfall" \
      org.opencontainers.image.description="Privacy-first web analytics that speaks Plausible Analytics' protocol" \
      org.opencontainers.image.licenses="AGPL-3.0-or-later"
# A fixed, unprivileged uid/gid: Kubernetes' runAsUser/fsGroup in deploy/kubernetes match it.
RUN groupadd --system --gid 10001 footfall \
    && useradd --system --uid 10001 --gid footfall --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin footfall \
    && mkdir /data \
    && chown footfall:footfall /data
COPY --from=install /opt/footfall /opt/footfall
COPY deploy/docker/entrypoint.sh /usr/local/bin/footfall-entrypoint
# The root filesystem may be read-only: nothing is written outside /data (and /tmp).
ENV PATH="/opt/footfall/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data \
    LISTEN_IP=0.0.0.0 \
    HTTP_PORT=8000
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["footfall-entrypoint", "healthcheck"]
ENTRYPOINT ["footfall-entrypoint"]
CMD ["serve"]
