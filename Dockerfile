# Tether from Debian 12 packages: built with scripts/setup's toolchain, run on a slim image
# with only the shared libraries the binary links.
#   docker build -t tether .
#   docker run --rm -p 5683:5683/udp -p 5683:5683 -p 5684:5684/udp -p 5684:5684 \
#     -p 8080:8080 -v tether-data:/var/lib/tether tether
# The API listens on all addresses inside the container; give it --api-token-file (a mounted
# secret) before publishing port 8080 beyond the host.
FROM debian:12 AS build
WORKDIR /src
COPY scripts/setup scripts/setup
COPY tools/registry/package.json tools/registry/package-lock.json tools/registry/
RUN ./scripts/setup && rm -rf /var/lib/apt/lists/*
COPY . .
RUN rm -rf build && ./scripts/build release && \
    cmake --install build/release --prefix /opt/tether

FROM debian:12-slim
RUN apt-get update && \
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgnutls30 libcbor0.8 libhttp-parser2.9 libpugixml1v5 libsqlite3-0 ca-certificates && \
    rm -rf /var/lib/apt/lists/* && \
    useradd --system --home-dir /var/lib/tether --create-home tether
COPY --from=build /opt/tether/bin/tether /usr/local/bin/tether
USER tether
WORKDIR /var/lib/tether
VOLUME /var/lib/tether
EXPOSE 5683/udp 5683/tcp 5684/udp 5684/tcp 8080/tcp
ENTRYPOINT ["/usr/local/bin/tether"]
CMD ["server", "--data-dir", "/var/lib/tether", "--http-host", "0.0.0.0"]
