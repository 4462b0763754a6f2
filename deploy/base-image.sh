#!/bin/sh
# Makes the image's base, debian:bookworm-slim, without a registry: a minimal Debian bookworm root
# file system from debootstrap, imported into podman under the exact name the Dockerfile's FROM uses.
# Skipped when podman already has that image (it is cached between runs).
set -eu
name="debian:bookworm-slim"
if podman image exists "$name"; then
  echo "base-image: $name already present"
  exit 0
fi
root=$(mktemp -d /var/tmp/vibi-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base-image: debootstrap --variant=minbase bookworm (about a minute)"
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
# As in Debian's own slim images: security updates enabled, no apt caches or docs kept.
cat > "$root/etc/apt/sources.list" <<'LIST'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
LIST
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | podman import --change 'CMD ["bash"]' - "$name" >/dev/null
echo "base-image: imported $name"
