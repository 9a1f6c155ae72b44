# syntax=docker/dockerfile:1
#
# ikq: one static binary, every command (`ikq api`, `ikq worker`, `ikq emulator`, ...).
#
#   docker build -t ikq:local .
#   docker run --rm ikq:local help
#   docker run --rm -p 9090:9090 ikq:local emulator --listen :9090
#
# docker-compose.yml runs the whole stack from this image. The final stage is
# distroless: no shell, no package manager, a non-root user and CA certificates for
# https://upload.imagekit.io. Health checks therefore use the binary itself:
# `ikq healthcheck URL` (2xx) or `ikq healthcheck worker` (see docker-compose.yml).

ARG GO_VERSION=1.26

# ---- build ------------------------------------------------------------------
# Runs on the builder's own platform and cross-compiles (CGO is off), so
# `docker buildx build --platform linux/amd64,linux/arm64 .` needs no emulation.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Dependencies first: this layer is rebuilt only when go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /out/ikq ./cmd/ikq

# An empty /data owned by the nonroot user (65532): a named volume mounted there
# starts with this ownership, so `ikq emulator --data /data` can write to it.
RUN mkdir -p /out/data

# ---- run --------------------------------------------------------------------
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
LABEL org.opencontainers.image.title="ikq" \
      org.opencontainers.image.description="Durable, scalable uploads to ImageKit.io on Redis (asynq): API, workers and an ImageKit emulator" \
      org.opencontainers.image.source="https://github.com/ikq-dev/ikq" \
      org.opencontainers.image.url="https://github.com/ikq-dev/ikq" \
      org.opencontainers.image.documentation="https://github.com/ikq-dev/ikq#readme" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="gcr.io/distroless/static-debian12:nonroot"

COPY --from=build /out/ikq /ikq
COPY --from=build --chown=65532:65532 /out/data /data

USER nonroot:nonroot
# 8080: `ikq api` (REST API, webhooks, dashboard, metrics, health); 9090: `ikq emulator`.
EXPOSE 8080 9090
ENTRYPOINT ["/ikq"]
CMD ["help"]
