#!/usr/bin/env bash
# Assembles a release in OUT_DIR from what the build made:
#   isthmus-VERSION.tar.gz       bin/ (isthmus CLI, isthmus-agent, isthmus-gateway), gateway/ (the application),
#                                agent/, terraform/ (modules and example), sbom/ (CycloneDX), SHA256SUMS of every file
#   isthmus-gateway_*.deb, isthmus-agent_*.deb, isthmus-gateway-image-VERSION.oci.tar, isthmus-VERSION.cdx.json
#   SHA256SUMS                   of each artifact above (sha256sum -c SHA256SUMS)
#   release.sh VERSION REPO_ROOT MODULE_DIR TARGET_DIR OUT_DIR
set -euo pipefail
version="$1"
repo="$2"
module="$3"
target="$4"
out="$5"
name="isthmus-$version"
rm -rf "$out"
mkdir -p "$out/$name"
tree="$out/$name"

mkdir -p "$tree/bin" "$tree/gateway" "$tree/agent" "$tree/terraform" "$tree/sbom"
cp -p "$module/src/release/bin/"* "$tree/bin/"
cp -a "$repo/federation-gateway/target/quarkus-app/." "$tree/gateway/"
cp -p "$repo/vm-agent/target/isthmus-agent.jar" "$tree/agent/"
# The modules and the example, without local Terraform state a developer may have left. Symbolic links (files the
# repository shares between modules) become the files they name (-h): every released file is a regular file that
# SHA256SUMS covers.
(cd "$repo/terraform" && tar -h --exclude=.terraform --exclude='*.tfstate*' --exclude=.terraform.lock.hcl -cf - modules examples) \
  | tar -xf - -C "$tree/terraform"
cp -p "$target/isthmus-sbom.json" "$tree/sbom/isthmus.cdx.json"
(cd "$tree" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum > SHA256SUMS)
tar -C "$out" --sort=name --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz" "$name"
rm -rf "$tree"

# Large artifacts are hard-linked when the file system allows it (same bytes, no copy).
for f in "$target"/debs/*.deb; do ln -f "$f" "$out/" 2>/dev/null || cp -p "$f" "$out/"; done
ln -f "$target/image/isthmus-gateway-image.oci.tar" "$out/isthmus-gateway-image-$version.oci.tar" 2>/dev/null \
  || cp -p "$target/image/isthmus-gateway-image.oci.tar" "$out/isthmus-gateway-image-$version.oci.tar"
cp -p "$target/isthmus-sbom.json" "$out/$name.cdx.json"
(cd "$out" && find . -maxdepth 1 -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum > SHA256SUMS)
echo "release.sh: $out"
(cd "$out" && ls -l)
