#!/usr/bin/env bash
# Installs Prometheus and promtool for the tests without installing the Debian package: the .deb is
# downloaded and unpacked into .cache/prometheus inside the project, so no system daemon is started
# (the package's postinst would start one on :9090) and nothing outside the project changes except
# apt's package lists. Idempotent: does nothing when the binaries are already there, and unpacks a
# .deb already in .cache/debs without downloading it again.
#   .cache/prometheus/usr/bin/prometheus   .cache/prometheus/usr/bin/promtool
set -euo pipefail
cd "$(dirname "$0")/.."

dest=.cache/prometheus
debs=.cache/debs

if [ -x "$dest/usr/bin/prometheus" ] && [ -x "$dest/usr/bin/promtool" ]; then
  echo "install-prometheus: already in $dest ($("$dest/usr/bin/prometheus" --version 2>&1 | head -n1))"
  exit 0
fi

for tool in apt-get apt-cache dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "install-prometheus: $tool not found (Debian/Ubuntu only)" >&2; exit 1; }
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

deb=$(ls "$debs"/prometheus_*.deb 2>/dev/null | head -n1 || true)
if [ -n "$deb" ]; then
  echo "install-prometheus: using the cached $deb"
else
  # `apt-get download` needs a package list that knows the package; update only when it does not.
  candidate() { apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ {print $2}'; }
  if [ -z "$(candidate)" ] || [ "$(candidate)" = "(none)" ]; then
    echo "install-prometheus: apt-get update (no candidate for prometheus in the package lists)"
    as_root apt-get update -qq
  fi
  if [ -z "$(candidate)" ] || [ "$(candidate)" = "(none)" ]; then
    echo "install-prometheus: no prometheus package in the configured apt sources" >&2
    exit 1
  fi
  mkdir -p "$debs"
  # apt-get download writes to the current directory. As root it warns that the download is
  # "unsandboxed" when the _apt user cannot write there; harmless, so that line is dropped.
  (cd "$debs" && apt-get download -qq prometheus 2>&1 | grep -v 'unsandboxed' || true)
  deb=$(ls "$debs"/prometheus_*.deb 2>/dev/null | head -n1 || true)
  [ -n "$deb" ] || { echo "install-prometheus: apt-get download prometheus produced no .deb" >&2; exit 1; }
fi

rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
dpkg-deb -x "$deb" "$dest.tmp"
rm -rf "$dest"
mv "$dest.tmp" "$dest"
"$dest/usr/bin/promtool" --version >/dev/null
echo "install-prometheus: unpacked $(basename "$deb") into $dest ($("$dest/usr/bin/prometheus" --version 2>&1 | head -n1))"
