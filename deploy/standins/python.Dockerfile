# Stand-in for python:3.11-slim-bookworm: Debian's own Python 3.11 on the debootstrap image.
ARG DEBIAN_IMAGE=aegis-standin-debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
         python3 python3-venv python-is-python3 ca-certificates \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/*
ENV LANG=C.UTF-8
CMD ["python3"]
