#!/usr/bin/env bash
# Installs what the project needs on Debian 12 / Ubuntu when run as root; otherwise prints the exact
# command to run. Usage: scripts/deps.sh [--test]   (--test adds what only the tests need)
set -euo pipefail

apt_pkgs=(pkg-config libzstd-dev zlib1g-dev libopenblas-dev dataset-fashion-mnist zstd)
# OpenMPI: data-parallel pretraining (mpirun -np N pretrain, make RANKS=N).
apt_pkgs+=(libopenmpi-dev openmpi-bin)
# libjpeg-turbo: Debian names the TurboJPEG API package libturbojpeg0-dev; djpeg comes with libjpeg-turbo-progs.
apt_pkgs+=(libturbojpeg0-dev libjpeg-turbo-progs)
if apt-cache show libjpeg62-turbo-dev >/dev/null 2>&1; then apt_pkgs+=(libjpeg62-turbo-dev); else apt_pkgs+=(libjpeg-turbo8-dev); fi
pip_pkgs=(numpy safetensors zstandard)
if [[ "${1:-}" == "--test" ]]; then
  apt_pkgs+=(chromium)
  pip_pkgs+=(pillow)
fi

missing_apt=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing_apt+=("$p")
done
missing_pip=()
for p in "${pip_pkgs[@]}"; do
  mod=$p; [[ $p == pillow ]] && mod=PIL
  python3 -c "import $mod" 2>/dev/null || missing_pip+=("$p")
done

if (( ${#missing_apt[@]} )); then
  if [[ $(id -u) == 0 ]]; then
    echo "deps: installing ${missing_apt[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing_apt[@]}" >/dev/null
  else
    echo "deps: missing Debian packages; run: sudo apt-get install -y ${missing_apt[*]}" >&2
    exit 1
  fi
fi
if (( ${#missing_pip[@]} )); then
  if [[ $(id -u) == 0 ]] || [[ -n "${VIRTUAL_ENV:-}" ]]; then
    echo "deps: installing Python packages ${missing_pip[*]}" >&2
    python3 -m pip install -q "${missing_pip[@]}" 2>&1 | grep -v -i "warning: running pip as" >&2 || true
    for p in "${missing_pip[@]}"; do
      mod=$p; [[ $p == pillow ]] && mod=PIL
      python3 -c "import $mod" || { echo "deps: pip could not install $p" >&2; exit 1; }
    done
  else
    echo "deps: missing Python packages; run: python3 -m pip install --user ${missing_pip[*]}" >&2
    exit 1
  fi
fi
