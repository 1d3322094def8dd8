# The paritycheck image: `paritycheck` as its entry point, run as an unprivileged user, on Debian 12.
#
# `make image` builds it with no registry at hand (deploy/build-image.sh: the base is made from Debian's
# packages by mmdebstrap, then buildah builds this file on it). Where a registry is reachable,
# `docker build .` builds the same file on docker.io's debian:bookworm-slim, which that base equals.
# docs/image.md: size, signals, users, and how to run it.
ARG BASE=docker.io/library/debian:bookworm-slim

FROM ${BASE} AS build
# Packages are not pinned to versions: the build takes bookworm's current (security-updated) ones.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv binutils \
 && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md /src/
COPY paritycheck /src/paritycheck
# pip runs from a throwaway venv and installs into one without pip: the image gets neither pip nor
# setuptools nor a cache (should a dependency list pip, as sqlite-utils 4 did, it is removed again). Every dependency is a binary wheel (--only-binary), so no compiler
# is needed; the wheels' shared libraries lose their debug sections (binutils' strip, this stage only).
# Behind a TLS-inspecting proxy, pass its CA bundle as the build secret `ca` (deploy/build-image.sh
# does): it is mounted for this step only and never stored in a layer.
RUN --mount=type=secret,id=ca \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && python3 -m venv /opt/pip \
 && /opt/pip/bin/pip wheel --no-cache-dir --no-deps --wheel-dir /wheels /src \
 && python3 -m venv --without-pip /opt/paritycheck \
 && /opt/pip/bin/pip --python /opt/paritycheck/bin/python install --no-cache-dir --only-binary=:all: \
    /wheels/*.whl \
 && /opt/pip/bin/pip --python /opt/paritycheck/bin/python uninstall --yes pip \
 && find /opt/paritycheck -name '*.so*' -type f -exec strip --strip-debug {} +

FROM ${BASE}
ARG VERSION=unknown
LABEL org.opencontainers.image.title="paritycheck" \
      org.opencontainers.image.description="Shadow-traffic API parity tester" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT"
# python3 without -venv or -dev: no pip, no compiler. tini is PID 1: it forwards SIGTERM to paritycheck
# and reaps orphans (docs/image.md). ca-certificates: the trust store HTTPS backends are verified against.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 tini ca-certificates \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log \
 && useradd --uid 10001 --user-group --create-home --home-dir /home/paritycheck \
    --shell /usr/sbin/nologin paritycheck
COPY --from=build /opt/paritycheck /opt/paritycheck
ENV PATH=/opt/paritycheck/bin:$PATH \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /home/paritycheck
ENTRYPOINT ["/usr/bin/tini", "--", "paritycheck"]
CMD ["--help"]
