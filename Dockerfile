# syntax=docker/dockerfile:1
# accord's container image: the static (musl) `accord` on distroless, run as a
# non-root user (65532, distroless's "nonroot"), `accord` as the entrypoint.
#
#   docker build -t accord .                     # from source, for this machine's platform
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/work" accord plan config/
#
# The release workflow (.github/workflows/release.yml) builds the `prebuilt` target
# instead: the release's own static binaries (dist/linux/amd64/accord and
# dist/linux/arm64/accord), so the image holds the same bytes as the release assets.

ARG RUST_VERSION=1.95

# --- build: a static binary with the Rust toolchain for musl ----------------------
FROM rust:${RUST_VERSION}-alpine AS build
SHELL ["/bin/ash", "-eo", "pipefail", "-c"]
# musl-dev: the C headers for SQLite (bundled) and ring. Alpine's packages are not
# pinned: a rebuild takes the current patch release of each.
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
# The musl target links statically by default; the check fails the build otherwise.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin accord \
    && cp target/release/accord /usr/local/bin/accord \
    && /usr/local/bin/accord --version \
    && if readelf -l /usr/local/bin/accord | grep -q 'INTERP'; then echo "accord is not static" >&2; exit 1; fi

# --- the runtime: no shell, no package manager, a non-root user ------------------
FROM gcr.io/distroless/static-debian12:nonroot AS base
LABEL org.opencontainers.image.title="accord" \
      org.opencontainers.image.description="Keep a software account in git as YAML and make the live account match it" \
      org.opencontainers.image.source="https://github.com/accord-rs/accord" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
USER 65532:65532
# Mount the configuration repository here (plans, runs and the embedded store are
# written under .accord/ of the working directory).
WORKDIR /work
# `accord serve --listen 0.0.0.0:8080 ...`
EXPOSE 8080
ENTRYPOINT ["accord"]
CMD ["--help"]

# --- the release image: the release's binary for the target platform ------------
FROM base AS prebuilt
ARG TARGETPLATFORM
COPY --chmod=755 dist/${TARGETPLATFORM}/accord /usr/local/bin/accord

# --- the default image: built from this source ------------------------------------
FROM base AS source
COPY --from=build /usr/local/bin/accord /usr/local/bin/accord
