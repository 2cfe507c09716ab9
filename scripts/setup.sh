#!/usr/bin/env bash
# Makes this machine ready for camlight, doing only what is missing: Node dependencies (npm ci
# when node_modules is missing or stale), a WebGPU adapter (Mesa's lavapipe when Dawn finds
# none), and with --test-data the Debian data sets the tests read (and, under CI, Debian's
# chromium for the browser tests). Exits 1 saying exactly what
# to install when it cannot do it itself (not root, or no apt-get).
#
#   bash scripts/setup.sh [--test-data]
#
# CI=true or CAMLIGHT_STRICT=1 makes missing test data an error instead of a warning.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"

want_data=0
for arg in "$@"; do
  case "$arg" in
    --test-data) want_data=1 ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "setup: unknown option '$arg' (try --help)" >&2; exit 2 ;;
  esac
done
strict=0
if [ "${CI:-}" = true ] || [ "${CAMLIGHT_STRICT:-}" = 1 ]; then strict=1; fi

say() { echo "setup: $*"; }
die() { echo "setup: ERROR: $*" >&2; exit 1; }

# ---- apt helpers: `apt-get update` runs at most once, and only when something must be fetched.
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; }
apt_fresh=0
apt_update() {
  if [ "$apt_fresh" = 0 ]; then
    say "apt-get update"
    apt-get update -qq
    apt_fresh=1
  fi
}
apt_install() {
  apt_update
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# ---- Node.js 20.11+ (import.meta.dirname, --import).
command -v node >/dev/null 2>&1 ||
  die "Node.js is not installed. Install Node.js 20 or newer (for example from https://github.com/nodesource/distributions), then rerun."
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=11)?0:1)' ||
  die "Node.js $(node --version) is too old: camlight needs 20.11 or newer."

# ---- npm dependencies: stale when any locked package is missing or at another version.
deps_state() {
  node - <<'EOF'
const fs = require('fs');
const lock = JSON.parse(fs.readFileSync('package-lock.json', 'utf8'));
let hidden;
try {
  hidden = JSON.parse(fs.readFileSync('node_modules/.package-lock.json', 'utf8'));
} catch {
  console.log('node_modules is missing');
  process.exit(1);
}
const pkg = JSON.parse(fs.readFileSync('package.json', 'utf8'));
const root = lock.packages?.[''] ?? {};
for (const k of ['dependencies', 'devDependencies', 'optionalDependencies']) {
  const norm = (o) => JSON.stringify(Object.entries(o ?? {}).sort());
  if (norm(pkg[k]) !== norm(root[k])) {
    console.log(`package.json ${k} differ from package-lock.json`);
    process.exit(1);
  }
}
for (const [path, want] of Object.entries(lock.packages ?? {})) {
  if (!path || want.link) continue;
  const have = hidden.packages?.[path];
  if (!have) {
    if (want.optional || want.devOptional) continue; // other platforms' binaries
    console.log(`${path} is not installed`);
    process.exit(1);
  }
  if (have.version !== want.version) {
    console.log(`${path} is ${have.version}, the lock file wants ${want.version}`);
    process.exit(1);
  }
  if (!fs.existsSync(`${path}/package.json`)) {
    console.log(`${path} is missing from node_modules`);
    process.exit(1);
  }
}
EOF
}
if why=$(deps_state); then
  say "node_modules is up to date"
else
  say "$why: running npm ci"
  command -v npm >/dev/null 2>&1 || die "npm is missing; install Node.js with npm (20 or newer)."
  # onnxruntime-node (the ONNX tests' forward reference) ships its CPU binaries in the package;
  # its install script would only fetch optional GPU binaries, which need the internet.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi

# ---- A WebGPU adapter; on a machine without a GPU that is Mesa's lavapipe (Mesa 25; bookworm's
# own Mesa 22 is too old for Dawn).
check_adapter() { node --import tsx scripts/check-adapter.ts >"$1" 2>&1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if check_adapter "$log"; then
  say "$(grep '^WebGPU adapter:' "$log")"
else
  say "Dawn found no WebGPU adapter; trying to install Mesa's lavapipe (mesa-vulkan-drivers)"
  # shellcheck disable=SC1091
  . /etc/os-release 2>/dev/null || true
  if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    how="echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers"
  else
    how="apt-get update && apt-get install -y mesa-vulkan-drivers   (Mesa 24 or newer; on Debian bookworm take it from bookworm-backports)"
  fi
  can_apt || { cat "$log" >&2; die "no WebGPU adapter, and this user cannot install packages. As root, run:
  $how
then rerun. (A machine with a GPU needs its vendor's Vulkan driver instead.)"; }
  if [ "${ID:-}" = debian ] && [ "${VERSION_CODENAME:-}" = bookworm ]; then
    if ! grep -rqsE '^[^#]*bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
      echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/backports.list
      apt_fresh=0
    fi
    apt_install -t bookworm-backports mesa-vulkan-drivers
  else
    apt_install mesa-vulkan-drivers
  fi
  if check_adapter "$log"; then
    say "$(grep '^WebGPU adapter:' "$log")"
  else
    cat "$log" >&2
    mesa=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
    if [ -n "$mesa" ] && dpkg --compare-versions "$mesa" ge 24; then
      die "still no WebGPU adapter although mesa-vulkan-drivers $mesa is installed: the Vulkan loader found no working driver (is VK_ICD_FILENAMES or VK_DRIVER_FILES set? does 'vulkaninfo --summary' list llvmpipe?)."
    fi
    die "still no WebGPU adapter after installing mesa-vulkan-drivers (${mesa:-not installed}). Dawn needs Mesa 24 or newer; install it by hand:
  $how"
  fi
fi

[ "$want_data" = 1 ] || exit 0

# ---- Real test data nobody here made (DESIGN.md): Fashion-MNIST and skimage's photographs.
# python3-skimage itself would pull numpy, scipy and matplotlib, so only its .deb is fetched and
# unpacked: its skimage/data folder goes to .cache/skimage/data (test/real-data.ts looks there).
missing_data() {
  if [ "$strict" = 1 ]; then die "$1"; fi
  echo "setup: WARNING: $1 Tests that need it will fail or skip." >&2
}
if [ -n "${CAMLIGHT_FASHION_MNIST:-}" ] && [ -f "$CAMLIGHT_FASHION_MNIST/t10k-images-idx3-ubyte.gz" ]; then
  say "Fashion-MNIST found in $CAMLIGHT_FASHION_MNIST"
elif [ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] && installed dataset-fashion-mnist; then
  say "Fashion-MNIST is installed"
elif can_apt; then
  apt_install dataset-fashion-mnist
else
  missing_data "Fashion-MNIST is missing; as root run: apt-get install -y dataset-fashion-mnist."
fi

skimage_cache=.cache/skimage/data
skimage_data=(
  "${CAMLIGHT_SKIMAGE_DATA:-/nonexistent}"
  "$skimage_cache"
  /usr/lib/python3/dist-packages/skimage/data
)
have_photos=0
for d in "${skimage_data[@]}"; do [ -f "$d/chelsea.png" ] && have_photos=1 && break; done
if [ "$have_photos" = 1 ]; then
  say "skimage photographs found in $d"
elif command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
  if ! apt-cache show python3-skimage >/dev/null 2>&1; then
    if can_apt; then apt_update; else missing_data "python3-skimage is unknown to apt and this user cannot run apt-get update."; exit 0; fi
  fi
  say "fetching python3-skimage's .deb for its photographs into $skimage_cache"
  tmpdeb=$(mktemp -d)
  # As root apt warns that its _apt user cannot write here and downloads unsandboxed: harmless.
  (cd "$tmpdeb" && apt-get download -qq python3-skimage 2>&1 | grep -v 'unsandboxed' || true)
  deb=$(ls "$tmpdeb"/python3-skimage_*.deb 2>/dev/null | head -1)
  if [ -n "$deb" ]; then
    dpkg -x "$deb" "$tmpdeb/x"
    rm -rf "$skimage_cache"
    mkdir -p "$(dirname "$skimage_cache")"
    mv "$tmpdeb/x/usr/lib/python3/dist-packages/skimage/data" "$skimage_cache" 2>/dev/null || true
  fi
  rm -rf "$tmpdeb"
  if [ -f "$skimage_cache/chelsea.png" ]; then
    say "skimage photographs unpacked into $skimage_cache"
  else
    missing_data "could not get skimage's photographs (apt-get download python3-skimage; dpkg -x; skimage/data/chelsea.png)."
  fi
else
  missing_data "skimage's photographs are missing; install python3-skimage (apt-get install python3-skimage) or set CAMLIGHT_SKIMAGE_DATA to a folder holding chelsea.png."
fi

# ---- Chromium for the browser tests (test/package, test/report/gallery-browser): Debian's own package, driven by
# playwright-core; never a browser downloaded by a test tool. Installed when missing under CI.
chromium_bin="${CAMLIGHT_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$chromium_bin" ]; then
  say "Chromium found: $chromium_bin"
elif [ "$strict" = 1 ] && can_apt; then
  apt_install chromium   # under CI only: a 100 MB browser is not installed behind a developer's back
else
  missing_data "Chromium is missing (the browser test runs $chromium_bin); as root run: apt-get install -y chromium."
fi

# ---- PyTorch for the ONNX tests (test/nn/onnx-torchvision.test.ts): Debian's python3-torch and
# python3-torchvision export torchvision's models at test time and compute the references.
if /usr/bin/python3 -c 'import torch, torchvision' >/dev/null 2>&1; then
  say "python3-torch and python3-torchvision are installed"
elif can_apt; then
  apt_install python3-torch python3-torchvision
else
  missing_data "PyTorch is missing; as root run: apt-get install -y --no-install-recommends python3-torch python3-torchvision."
fi
