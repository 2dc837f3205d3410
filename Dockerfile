# Builds the manager (default) or the enforcer as a static, non-root image:
#   docker build -t xpod-quota-manager .
#   docker build --build-arg BINARY=enforcer -t xpod-quota-enforcer .
FROM golang:1.26 AS build
ARG BINARY=manager
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY api/ api/
COPY cmd/ cmd/
COPY controllers/ controllers/
COPY internal/ internal/
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/app ./cmd/${BINARY}

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/app /app
USER 65532:65532
ENTRYPOINT ["/app"]
