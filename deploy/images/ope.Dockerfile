# syntax=docker/dockerfile:1
# The `ope` image: the one OPE binary, its Swift runtime linked in, on Debian 12 slim. The kustomize
# base (deploy/kubernetes) runs it as `ope operator`; `ope serve --backend kubernetes` will use it too.
# Build from the repository's root (ope.Dockerfile.dockerignore beside this file keeps .build and other
# local state out of the context):
#   docker build -f deploy/images/ope.Dockerfile -t ghcr.io/ope-dev/ope:0.1.0 .

# --- build: the Swift toolchain's official Debian 12 image, the same Swift as CI (it already has git,
# libsqlite3-dev and libxml2-dev, which GRDB and FoundationXML build against).
FROM swift:6.3-bookworm AS build
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
# SwiftPM checks that every target in Package.swift has its folder, the test targets' too.
COPY Tests ./Tests
# --static-swift-stdlib: the Swift runtime and Foundation are linked into the binary, so the runtime
# stage needs no toolchain. The cache mount keeps resolved dependencies and objects between builds;
# since it is not part of the image, what the runtime needs is copied out in the same step: the
# binary, the resource bundles SwiftPM puts beside it (the gateway's pages and scripts are read from
# ope_OPEGateway.resources next to the executable), and the static backtracer for readable crashes.
RUN --mount=type=cache,target=/src/.build \
    swift build -c release --product ope --static-swift-stdlib \
    && mkdir -p /out \
    && cp .build/release/ope /out/ \
    && cp -R .build/release/*.resources /out/ \
    && cp /usr/libexec/swift/linux/swift-backtrace-static /out/

# --- runtime
FROM debian:bookworm-slim
# Only what the binary links dynamically (ldd of a build: SQLite for GRDB, libxml2 for FoundationXML's
# Bazaar plan import, libstdc++, zlib) and what it runs: git (and ssh for git@ URLs) to sync
# OPERepositories; ca-certificates for https git remotes; tzdata for time zones in plans and logs.
# Versions are not pinned: Debian's stable archive replaces a package's version with each security
# fix, so pinned versions would stop building within weeks; the base image tag pins the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates git libsqlite3-0 libstdc++6 libxml2 openssh-client tzdata zlib1g \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 ope \
    && useradd --uid 10001 --gid 10001 --home-dir /home/ope --create-home --shell /usr/sbin/nologin ope
COPY --from=build /out/ /opt/ope/
# The crash backtracer prints every thread's stack to the log and never waits for a debugger.
ENV PATH=/opt/ope:$PATH \
    SWIFT_BACKTRACE=enable=yes,sanitize=yes,threads=all,images=all,interactive=no,swift-backtrace=/opt/ope/swift-backtrace-static
# A numeric user, so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
USER 10001:10001
WORKDIR /home/ope
ENTRYPOINT ["ope"]
CMD ["--help"]
