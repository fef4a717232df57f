#!/bin/sh
# A minimal Debian bookworm root file system imported as a local image, the root of the stand-in base
# images (where no container registry is reachable). Needs root, debootstrap and a Debian mirror.
#   deploy/standins/debian.sh IMAGE [MIRROR]
set -eu
image=${1:?usage: debian.sh IMAGE [MIRROR]}
mirror=${2:-http://deb.debian.org/debian}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || {
  tail -20 "$root.log" >&2; rm -f "$root.log"; echo "debootstrap failed (mirror $mirror)" >&2; exit 1; }
rm -f "$root.log"
# Package caches, documentation and translations are not needed in a base image.
rm -rf "$root"/var/cache/apt/* "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* \
       "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/usr/share/info/*
tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$image" >/dev/null
echo "$image"
