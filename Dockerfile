# syntax=docker/dockerfile:1
# Dockerfile — one image holding every Chorus binary, the web app and the games.
#
#   docker build -t chorus:dev .
#   docker run --rm chorus:dev chorus-bridge --help
#
# Stage 1 builds every chorus-* binary of the workspace (release, --locked). Stage 2 is a
# small Debian runtime: the binaries in /usr/local/bin, the web app (when web/ exists) in
# /usr/share/chorus/web, the games in /usr/share/chorus/games, nats/ configs in
# /usr/share/chorus/nats, the store catalog in /usr/share/chorus/store, and curl for health
# checks. It runs as the non-root user `chorus` (uid 10001). No entrypoint: compose.yaml and
# the Kubernetes Deployments name the binary to run as the command.

ARG RUST_VERSION=1.95
ARG DEBIAN_RELEASE=bookworm

FROM rust:${RUST_VERSION}-slim-${DEBIAN_RELEASE} AS build
WORKDIR /src
COPY . .
# Cache mounts keep the registry and target dir between builds; the binaries are copied out
# of the mounted target dir. chorus-bench (the load generator) is not shipped.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --workspace --bins \
 && mkdir -p /out/bin \
 && find target/release -maxdepth 1 -type f -executable -name 'chorus-*' ! -name chorus-bench \
      -exec cp {} /out/bin/ \; \
 && ls /out/bin
# What the binaries read at run time; web/ and the store catalog only where they exist.
RUN mkdir -p /out/share/web /out/share/games /out/share/nats /out/share/store \
 && if [ -d web ]; then cp -r web/. /out/share/web/ \
      && rm -rf /out/share/web/node_modules /out/share/web/test /out/share/web/package*.json; fi \
 && if [ -d games ]; then cp -r games/. /out/share/games/; fi \
 && cp -r nats/. /out/share/nats/ \
 && if [ -f workers/store/catalog.json ]; then cp workers/store/catalog.json /out/share/store/; fi

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 chorus \
 && useradd --system --uid 10001 --gid chorus --home-dir /var/lib/chorus --create-home \
      --shell /usr/sbin/nologin chorus \
 && mkdir -p /var/lib/chorus/keys \
 && chown -R chorus:chorus /var/lib/chorus
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/share/ /usr/share/chorus/
# Defaults for a container: listen on every interface; the rest comes from CHORUS_* env.
ENV CHORUS_HTTP_ADDR=0.0.0.0:8080 \
    CHORUS_TCP_ADDR=0.0.0.0:7070 \
    CHORUS_WORKER_HTTP_ADDR=0.0.0.0:9090 \
    CHORUS_SIGNING_KEY_DIR=/var/lib/chorus/keys \
    CHORUS_STORE_CATALOG=/usr/share/chorus/store/catalog.json \
    CHORUS_GAMES_DIR=/usr/share/chorus/games
WORKDIR /var/lib/chorus
USER 10001:10001
EXPOSE 8080 7070 9090
CMD ["chorus-bridge"]
