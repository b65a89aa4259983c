# syntax=docker/dockerfile:1
# Tessera's server image: a static-ish release binary on a slim base, running as a non-root user
# with nothing else in the image that it needs to write (the chart mounts /tmp and the data dir).

# The web console, built once here and embedded in the binary below.
FROM node:20-bookworm-slim AS console
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY schema /src/schema
COPY web ./
RUN npm run build

FROM rust:1.95-bookworm AS build
WORKDIR /src
ARG BUILD_SHA=dev
ENV TESSERA_BUILD_SHA=${BUILD_SHA}
COPY Cargo.toml Cargo.lock clippy.toml build.rs ./
COPY --from=console /src/web/dist /src/web-dist
ENV TESSERA_CONSOLE_DIST=/src/web-dist
COPY src src
COPY migrations migrations
RUN cargo build --release --locked --bin tessera \
    && strip target/release/tessera

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin tessera \
    && install -d -o 10001 -g 10001 /var/lib/tessera
COPY --from=build /src/target/release/tessera /usr/local/bin/tessera
USER 10001:10001
ENV TESSERA_LISTEN=0.0.0.0:8080 \
    TESSERA_DATA_DIR=/var/lib/tessera
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/tessera"]
CMD ["serve"]
