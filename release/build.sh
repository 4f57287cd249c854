#!/usr/bin/env bash
# Builds what a member installs: release/build.sh VERSION
#
# VERSION must be the workspace version in Cargo.toml (set it there first). Writes under dist/:
#   pmm-VERSION-x86_64-linux-gnu.tar.gz   the binary, README for members, the self-assessment
#                                          guide, LICENSE, the licences of every crate in the
#                                          binary (THIRD-PARTY-LICENSES.html), and VERSION
#   pmm_VERSION-1_amd64.deb                /usr/bin/pmm, docs and `pmm --help` text under
#                                          /usr/share/doc/pmm (cargo-deb)
#   pmm-VERSION.cdx.json                   CycloneDX SBOM of the crates in the binary
#   SHA256SUMS                             of the three files above
# and prints the build time and the sizes. Needs cargo-deb, cargo-about and cargo-cyclonedx
# (`cargo install --locked cargo-deb cargo-cyclonedx` and `cargo install --locked cargo-about
# --features cli`). The same script builds on macOS or Windows (Git Bash) with that host's
# target triple; the .deb is made on Linux only.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${1:?usage: release/build.sh VERSION (the workspace version in Cargo.toml)}"
declared=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
if [ "$version" != "$declared" ]; then
  echo "release/build.sh: VERSION $version is not the version in Cargo.toml ($declared); set it there first" >&2
  exit 2
fi
for tool in cargo-deb cargo-about cargo-cyclonedx; do
  command -v "$tool" >/dev/null || {
    echo "release/build.sh: $tool is missing: cargo install --locked $tool$([ "$tool" = cargo-about ] && echo ' --features cli')" >&2
    exit 2
  }
done

host=$(rustc -vV | sed -n 's/^host: //p')
case "$host" in
  x86_64-unknown-linux-gnu) platform=x86_64-linux-gnu ;;
  *) platform="$host" ;;
esac
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# `pmm --version`'s commit: crates/pmm-cli/build.rs asks git, or takes PMM_GIT_COMMIT when
# set (a build from a source archive, outside a repository).
# Reproducible archives: every file dated at the commit (the tarball and the package). Not
# seen by the build: the cc crate reruns the build script of every crate with C code in it
# (zstd, ring, jemalloc...) when SOURCE_DATE_EPOCH changes, which would rebuild nearly all of
# DataFusion for each commit.
epoch="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"

# The release profile as it is (docs/releases.md says why no LTO), the build `bench/run.sh`
# measures; symbols are stripped from the copy that ships (the tarball's and the package's are
# the same bytes).
started=$(date +%s)
env -u SOURCE_DATE_EPOCH cargo build --locked --release -p pmm-cli
built=$(date +%s)
export SOURCE_DATE_EPOCH="$epoch"
exe=""; case "$host" in *windows*) exe=".exe" ;; esac

dist=dist
stage="$dist/.stage"
rm -rf "$stage" && mkdir -p "$stage"
name="pmm-$version-$platform"
tree="$stage/$name"
mkdir -p "$tree"
binary="$stage/pmm$exe"
case "$host" in
  *windows*) cp "$target_dir/release/pmm$exe" "$binary" ;;  # symbols are in the .pdb beside it
  *) strip -o "$binary" "$target_dir/release/pmm$exe" ;;
esac
cp "$binary" "$tree/pmm$exe"
cp release/README-members.md "$tree/README.md"
cp docs/self-assessment.md "$tree/self-assessment.md"
cp LICENSE "$tree/LICENSE"
cargo about generate --locked --offline -c release/about.toml -m crates/pmm-cli/Cargo.toml \
  release/licenses.hbs -o "$tree/THIRD-PARTY-LICENSES.html"
{
  "$binary" --version
  if [ "$(uname -s)" = Linux ]; then
    echo "built for $host (glibc $(ldd --version 2>/dev/null | head -1 | awk '{print $NF}'))"
  else
    echo "built for $host"
  fi
} > "$tree/VERSION"
# The help of every command, for the package's docs (members read it offline).
{
  "$binary" --help
  for command in dry-run report review history run validate test synth serve gc indicators; do
    printf '\n\n==== pmm %s --help ====\n\n' "$command"
    "$binary" "$command" --help
  done
} > "$stage/pmm-help.txt"
cp "$tree/THIRD-PARTY-LICENSES.html" "$stage/THIRD-PARTY-LICENSES.html"

tarball="$dist/$name.tar.gz"
if tar --version 2>/dev/null | grep -q GNU; then
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C "$stage" -cf - "$name" | gzip -n -9 > "$tarball"
else
  tar -C "$stage" -cf - "$name" | gzip -n -9 > "$tarball"
fi

artefacts=("$(basename "$tarball")")
deb=""
if [ "$(uname -s)" = Linux ]; then
  cargo deb -p pmm-cli --no-build --no-strip --deb-version "$version-1" -o "$dist/"
  deb="$dist/pmm_${version}-1_amd64.deb"
  test -f "$deb"
  artefacts+=("$(basename "$deb")")
fi

cargo cyclonedx --manifest-path crates/pmm-cli/Cargo.toml --format json --spec-version 1.5 \
  --no-build-deps --target "$host" --override-filename "pmm-$version.cdx" >/dev/null
# cargo-cyclonedx writes one per workspace crate: pmm-cli's is the binary's.
mv "crates/pmm-cli/pmm-$version.cdx.json" "$dist/"
rm -f crates/*/"pmm-$version.cdx.json"

artefacts+=("pmm-$version.cdx.json")
checksum="sha256sum"; command -v sha256sum >/dev/null || checksum="shasum -a 256"
(cd "$dist" && $checksum "${artefacts[@]}" > SHA256SUMS)

echo "release $version for $platform: built in $((built - started)) s (cargo build --release)"
for f in "$binary" "$tarball" $deb "$dist/pmm-$version.cdx.json"; do
  printf '  %-48s %8s KiB\n' "$(basename "$f")" "$(( $(wc -c < "$f") / 1024 ))"
done
echo "  $dist/SHA256SUMS:"
sed 's/^/    /' "$dist/SHA256SUMS"
rm -rf "$stage"
