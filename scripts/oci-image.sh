# Sourced, not run: builds a one-layer OCI image tarball from a root file system, for
# `ctr images import` (no registry is reachable here). Used by scripts/demo.sh and
# scripts/bench-archive.sh.
#
#   oci_image_tar ROOTFS REFERENCE OUT.tar
#
# The layer is the uncompressed tar of ROOTFS (owner root); the config runs /bin/sh with
# PATH=/bin; the index names the image REFERENCE (containerd's io.containerd.image.name).
oci_image_tar() {
    local rootfs=$1 ref=$2 out=$3
    local work layer layer_size config config_size manifest manifest_size arch
    work=$(mktemp -d "${TMPDIR:-/tmp}/oci-image.XXXXXX")
    mkdir -p "$work/oci/blobs/sha256"
    # Moves a file into the layout's blobs; prints "<sha256 hex> <size>".
    _oci_blob() {
        local digest size
        digest=$(sha256sum "$1" | cut -d' ' -f1)
        size=$(stat -c %s "$1")
        mv "$1" "$work/oci/blobs/sha256/$digest"
        echo "$digest $size"
    }
    tar -C "$rootfs" --numeric-owner --owner=0 --group=0 -cf "$work/layer.tar" .
    read -r layer layer_size < <(_oci_blob "$work/layer.tar")
    arch=$(dpkg --print-architecture)
    printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/bin"],"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
        "$arch" "$layer" >"$work/config.json"
    read -r config config_size < <(_oci_blob "$work/config.json")
    printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
        "$config" "$config_size" "$layer" "$layer_size" >"$work/manifest.json"
    read -r manifest manifest_size < <(_oci_blob "$work/manifest.json")
    printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"platform":{"architecture":"%s","os":"linux"},"annotations":{"io.containerd.image.name":"%s","org.opencontainers.image.ref.name":"%s"}}]}' \
        "$manifest" "$manifest_size" "$arch" "$ref" "$ref" >"$work/oci/index.json"
    echo '{"imageLayoutVersion":"1.0.0"}' >"$work/oci/oci-layout"
    tar -C "$work/oci" -cf "$out" oci-layout index.json blobs
    rm -rf "$work"
}
