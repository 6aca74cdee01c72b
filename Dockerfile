# syntax=docker/dockerfile:1
#
# Image of the participant service: two static binaries on distroless.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) \
#     --build-arg REVISION=$(git rev-parse HEAD) -t participant-service .
#
# The build stage runs on the build machine's platform and cross-compiles
# (CGO is off: the SQLite driver is pure Go), so multi-platform builds need
# no emulation.

ARG GO_VERSION=1.26.10

FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Modules first: this layer is reused until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY . .

# Stamped into internal/version (`participant-service version`,
# participant_build_info{version,revision}, /health).
ARG VERSION=dev
ARG REVISION=unknown
ARG TARGETOS
ARG TARGETARCH
# -trimpath: no build-machine paths in the binary; -s -w: no symbol table
# or DWARF (smaller image; panics still print file:line). No .git in the
# context (.dockerignore), so -buildvcs=false avoids a VCS lookup.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    set -eu; \
    ldflags="-s -w -X github.com/telegive/participant-service/internal/version.Version=${VERSION} -X github.com/telegive/participant-service/internal/version.Revision=${REVISION}"; \
    for cmd in participant-service participantctl; do \
      CGO_ENABLED=0 GOOS="${TARGETOS:-linux}" GOARCH="${TARGETARCH:-amd64}" \
        go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "/out/$cmd" "./cmd/$cmd"; \
    done

# static-debian12: CA certificates, tzdata and /etc/passwd, nothing else —
# no shell, no package manager. :nonroot runs as uid/gid 65532.
FROM gcr.io/distroless/static-debian12:nonroot

ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="participant-service" \
      org.opencontainers.image.description="Telegive participant service" \
      org.opencontainers.image.source="https://github.com/telegive/participant-service" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"

COPY --from=build /out/participant-service /participant-service
COPY --from=build /out/participantctl /participantctl

USER 65532:65532
# API (SERVICE_PORT) and Prometheus metrics (METRICS_PORT).
EXPOSE 8004 9090
ENTRYPOINT ["/participant-service"]
CMD ["serve"]
