#!/usr/bin/env bash
# Installs the parts the multi-instance tests run for real, without installing Debian packages and so
# without starting any system daemon: HAProxy (load balancer), OpenSSH's sshd (a loopback SSH server
# the tests start themselves), sshfs (a FUSE network filesystem) and libfaketime (an LD_PRELOAD library
# that sets one instance's wall clock an hour ahead, for the clock skew test). Each .deb is downloaded
# into .cache/debs and unpacked into .cache/<tool>, together with the shared libraries it needs that
# the machine lacks (binaries run with LD_LIBRARY_PATH pointing there). Idempotent and quick: does
# nothing when every binary (or library) is in place and finds its libraries; a .deb already in
# .cache/debs is not downloaded again.
#   .cache/haproxy/usr/sbin/haproxy
#   .cache/sshfs/usr/bin/sshfs   .cache/sshfs/usr/sbin/sshd   .cache/sshfs/bin/fusermount3
#   .cache/faketime/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1
# Outside the project it changes only apt's package lists (when they do not know a package) and, as
# root, adds the unprivileged system user `sshd` that OpenSSH's privilege separation needs (what the
# openssh-server package's own install does).
set -euo pipefail
cd "$(dirname "$0")/.."

debs=.cache/debs

for tool in apt-get apt-cache dpkg-deb dpkg-query ldd; do
  command -v "$tool" >/dev/null || { echo "install-cluster-tools: $tool not found (Debian/Ubuntu only)" >&2; exit 1; }
done

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo -n "$@"; fi
}

installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

cached_deb() { ls "$debs/${1}"_*.deb 2>/dev/null | head -n1 || true; }

# Downloads into .cache/debs the packages that are not there yet, in one apt-get call (each call
# costs about a second); runs apt-get update once if the package lists do not know one of them.
fetch_debs() {
  local missing=() pkg
  for pkg in "$@"; do [ -n "$(cached_deb "$pkg")" ] || missing+=("$pkg"); done
  [ "${#missing[@]}" -gt 0 ] || return 0
  mkdir -p "$debs"
  # As root apt-get warns that the download is "unsandboxed" when _apt cannot write here; harmless.
  if ! (cd "$debs" && apt-get download -qq "${missing[@]}" 2>&1 | grep -v 'unsandboxed' >&2; exit "${PIPESTATUS[0]}"); then
    echo "install-cluster-tools: apt-get update (the package lists do not know ${missing[*]})" >&2
    as_root apt-get update -qq >&2
    (cd "$debs" && apt-get download -qq "${missing[@]}" 2>&1 | grep -v 'unsandboxed' >&2; exit "${PIPESTATUS[0]}") || {
      echo "install-cluster-tools: cannot download ${missing[*]}" >&2
      return 1
    }
  fi
}

# Library packages (Debian names them lib*) a .deb depends on, first alternative of each, names only.
lib_depends() {
  { dpkg-deb -f "$1" Depends; dpkg-deb -f "$1" Pre-Depends; } 2>/dev/null |
    tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:any//' -e 's/[[:space:]]//g' |
    grep '^lib' || true
}

libdirs() {
  local dest=$1
  echo "$PWD/$dest/usr/lib/x86_64-linux-gnu:$PWD/$dest/lib/x86_64-linux-gnu:$PWD/$dest/usr/lib:$PWD/$dest/lib"
}

# True when the file is there: executable for a program; a shared library (*.so*) need only exist.
present() {
  case $1 in
    *.so | *.so.*) [ -f "$1" ] ;;
    *) [ -x "$1" ] ;;
  esac
}

# True when every binary exists and ldd finds all of its libraries.
complete() {
  local dest=$1
  shift
  local bin
  for bin in "$@"; do
    present "$dest/$bin" || return 1
    if LD_LIBRARY_PATH=$(libdirs "$dest") ldd "$dest/$bin" 2>/dev/null | grep -q 'not found'; then return 1; fi
  done
}

# unpack DEST "BIN BIN..." PKG...: the packages plus the library packages they need that are not
# installed on this machine, unpacked into DEST (replaced whole, so a failed run leaves no half tree).
unpack() {
  local dest=$1 bins=$2
  shift 2
  # shellcheck disable=SC2086
  if complete "$dest" $bins; then
    echo "install-cluster-tools: $dest is complete ($bins)"
    return 0
  fi
  rm -rf "$dest.tmp"
  mkdir -p "$dest.tmp"
  # Breadth first, one download per level: the packages, then the library packages they depend on
  # that this machine lacks, and so on.
  local level=("$@") seen=" " next pkg deb dep
  while [ "${#level[@]}" -gt 0 ]; do
    fetch_debs "${level[@]}"
    next=()
    for pkg in "${level[@]}"; do seen="$seen$pkg "; done
    for pkg in "${level[@]}"; do
      deb=$(cached_deb "$pkg")
      dpkg-deb -x "$deb" "$dest.tmp"
      for dep in $(lib_depends "$deb"); do
        case "$seen ${next[*]:-} " in *" $dep "*) continue ;; esac
        installed "$dep" || next+=("$dep")
      done
    done
    level=("${next[@]}")
  done
  local bin
  for bin in $bins; do
    present "$dest.tmp/$bin" || { echo "install-cluster-tools: $bin is not in the packages $*" >&2; return 1; }
    if LD_LIBRARY_PATH=$(libdirs "$dest.tmp") ldd "$dest.tmp/$bin" | grep 'not found' >&2; then
      echo "install-cluster-tools: $bin still misses the libraries above" >&2
      return 1
    fi
  done
  rm -rf "$dest"
  mv "$dest.tmp" "$dest"
  echo "install-cluster-tools: unpacked${seen% } into $dest"
}

unpack .cache/haproxy "usr/sbin/haproxy" haproxy
# Captured first: with pipefail, `| head -n1` could fail on the SIGPIPE of the lines it did not read.
version=$(LD_LIBRARY_PATH=$(libdirs .cache/haproxy) .cache/haproxy/usr/sbin/haproxy -v 2>&1)
echo "install-cluster-tools: ${version%%$'\n'*}"

# sshfs needs ssh (the client) to reach the server; take OpenSSH's client from the cache only when the
# machine has none.
ssh_pkgs=()
ssh_bins=()
if ! command -v ssh >/dev/null || ! command -v ssh-keygen >/dev/null; then
  ssh_pkgs=(openssh-client)
  ssh_bins=(usr/bin/ssh usr/bin/ssh-keygen)
fi
unpack .cache/sshfs "usr/bin/sshfs usr/sbin/sshd bin/fusermount3${ssh_bins[*]:+ ${ssh_bins[*]}}" \
  sshfs libfuse3-3 fuse3 openssh-server "${ssh_pkgs[@]}"
version=$(LD_LIBRARY_PATH=$(libdirs .cache/sshfs) .cache/sshfs/usr/bin/sshfs --version 2>&1)
echo "install-cluster-tools: ${version%%$'\n'*}"

# libfaketime: preloaded into one test instance to set its wall clock ahead (LD_PRELOAD, no daemon).
unpack .cache/faketime "usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1" libfaketime

# sshd started as root insists on its privilege-separation user, created here as the package would.
if ! getent passwd sshd >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v useradd >/dev/null; then
    useradd --system --no-create-home --home-dir /run/sshd --shell /usr/sbin/nologin sshd
    echo "install-cluster-tools: added the system user sshd (OpenSSH privilege separation)"
  else
    echo "install-cluster-tools: no user sshd and not root: the sshfs tests will be skipped" >&2
  fi
fi
