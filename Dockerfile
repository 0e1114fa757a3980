# The iotemu container images, built FROM scratch: no base image is pulled, so they build
# without any registry. The binaries are compiled on the host (CGO_ENABLED=0, static) and this
# file only copies them. Build with scripts/docker-build, which prepares the build context:
#
#   iotemu          the emulator: /iotemu serve on 443, 8883, 8443, SOCKS5 proxy 1080,
#                   admin 9081 (GET /health), config /etc/iotemu/iotemu.yaml, data /data
#   iotemu-example  the emulator plus examples/authorizer at /opt/authorizer/bootstrap
#   iotemu-device   the compose demo's device (cmd/iotemu-device)
#
# Every stage runs as root, which binding port 443 needs (or CAP_NET_BIND_SERVICE).

FROM scratch AS iotemu
# dirs.tar holds the empty directories: /tmp (mode 1777) for authorizers that write there, as
# Lambda allows, and /data for the CA and the generated signing keys (mount a volume to keep
# them across runs). ADD extracts it with its modes, which COPY of a directory would not keep.
ADD dirs.tar /
COPY iotemu /iotemu
COPY iotemu.yaml /etc/iotemu/iotemu.yaml
# IOTEMU_DATA_DIR: `docker exec CONTAINER /iotemu sign -token T` finds the generated keys in
# /data; IOTEMU_CONTAINER: the banner's commands copy the CA to the host first.
ENV IOTEMU_DATA_DIR=/data IOTEMU_CONTAINER=1
EXPOSE 443 8883 8443 1080 9081
ENTRYPOINT ["/iotemu"]
CMD ["serve", "-config", "/etc/iotemu/iotemu.yaml"]

FROM iotemu AS iotemu-example
COPY authorizer /opt/authorizer/bootstrap

FROM scratch AS iotemu-device
COPY iotemu-device /iotemu-device
ENTRYPOINT ["/iotemu-device"]
