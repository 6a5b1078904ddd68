#!/usr/bin/env bash
# The offline base image: what the documented base (eclipse-temurin:25-jre, see packaging/README.md) provides, laid
# out the same way, assembled without a registry. Two layers in the tarball layout 'docker save' writes (the one Jib
# reads as a tar:// base):
#   1. a distroless-style Debian 12 userland: the files of a few Debian packages, unpacked as distroless does (no
#      package manager), with their control data in /var/lib/dpkg/status.d/ so image scanners see them; the one
#      shell is busybox's, linked only as the commands the gateway's launcher (src/main/sh/with-jvm-cache) runs;
#   2. the jlink runtime (runtime.sh) at /opt/java/openjdk, the JAVA_HOME of the Temurin images.
#   base-image.sh RUNTIME_DIR OUT_TAR WORK_DIR
# Needs apt-get (a Debian or Ubuntu build host with Debian 12 sources) to fetch the .debs; they are kept in WORK_DIR.
set -euo pipefail
runtime="$1"
out="$2"
work="$3"
packages=(base-files base-passwd netbase libc6 libgcc-s1 gcc-12-base busybox-static)
busybox_commands=(sh stat md5sum rm sleep)

stamp="$(cat "$runtime/.isthmus-runtime") | ${packages[*]} | ${busybox_commands[*]}"
if [ -f "$out" ] && [ -f "$work/stamp" ] && [ "$(cat "$work/stamp")" = "$stamp" ]; then
  echo "base-image.sh: $out is up to date"
  exit 0
fi
command -v apt-get >/dev/null 2>&1 || {
  echo "base-image.sh: apt-get is needed to assemble the offline base image from Debian packages; on another" \
    "host build against a registry base instead: -Disthmus.image.base=docker.io/library/eclipse-temurin:25-jre" >&2
  exit 1
}
mkdir -p "$work/debs"
missing=()
for p in "${packages[@]}"; do
  ls "$work/debs/${p}"_*.deb >/dev/null 2>&1 || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  (cd "$work/debs" && apt-get download -q "${missing[@]}") || {
    echo "base-image.sh: apt-get download ${missing[*]} failed; the package lists may be stale (apt-get update), or" \
      "build against a registry base: -Disthmus.image.base=docker.io/library/eclipse-temurin:25-jre" >&2
    exit 1
  }
fi

rm -rf "$work/os" "$work/java" "$work/image"
mkdir -p "$work/os/var/lib/dpkg/status.d" "$work/java/opt/java" "$work/image"
for deb in "$work"/debs/*.deb; do
  dpkg-deb -x "$deb" "$work/os"
  name=$(dpkg-deb -f "$deb" Package)
  dpkg-deb -f "$deb" > "$work/os/var/lib/dpkg/status.d/$name"
done
# What base-passwd's and libc-bin's maintainer scripts would have written (no scripts run in a distroless image).
cp "$work/os/usr/share/base-passwd/passwd.master" "$work/os/etc/passwd"
cp "$work/os/usr/share/base-passwd/group.master" "$work/os/etc/group"
printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' \
  > "$work/os/etc/nsswitch.conf"
for c in "${busybox_commands[@]}"; do
  ln -s busybox "$work/os/bin/$c"
done
mkdir -p "$work/os/tmp" "$work/os/proc" "$work/os/sys" "$work/os/dev" "$work/os/run"
chmod 1777 "$work/os/tmp"
cp -a "$runtime" "$work/java/opt/java/openjdk"
rm -f "$work/java/opt/java/openjdk/.isthmus-runtime"

layer() { # reproducible: sorted, owned by root, epoch mtimes
  tar -C "$1" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$work/image/$2" .
}
layer "$work/os" os.tar
layer "$work/java" java.tar
jdk=$(cut -d'|' -f1 "$runtime/.isthmus-runtime" | tr -d '"\\' | sed 's/ *$//')
os_id=$(sha256sum "$work/image/os.tar" | cut -d' ' -f1)
java_id=$(sha256sum "$work/image/java.tar" | cut -d' ' -f1)
cat > "$work/image/config.json" <<JSON
{"architecture":"amd64","os":"linux",
 "config":{"Env":["PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                  "JAVA_HOME=/opt/java/openjdk","LANG=C.UTF-8"]},
 "rootfs":{"type":"layers","diff_ids":["sha256:$os_id","sha256:$java_id"]},
 "history":[{"created_by":"isthmus base-image.sh: Debian 12 packages ${packages[*]}"},
            {"created_by":"isthmus runtime.sh: jlink of $jdk"}]}
JSON
printf '[{"Config":"config.json","RepoTags":["isthmus/offline-base:latest"],"Layers":["os.tar","java.tar"]}]\n' \
  > "$work/image/manifest.json"
mkdir -p "$(dirname "$out")"
tar -C "$work/image" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$out" manifest.json config.json os.tar java.tar
printf '%s' "$stamp" > "$work/stamp"
echo "base-image.sh: $out ($(du -h "$out" | cut -f1)): ${packages[*]} + $jdk"
