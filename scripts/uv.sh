# Sourced by scripts/bootstrap and scripts/lock: uv, pinned, inside .venv (the resolver of the lock files and
# the installer of their packages; pip installs it, then it does the rest in seconds).
uv_version=0.13.9  # pinned: two machines write the same lock files and install the same way

ensure_uv() {
  case "$(.venv/bin/uv --version 2>/dev/null || true)" in
    "uv $uv_version"|"uv $uv_version "*) return 0 ;;
  esac
  echo "$(basename "$0"): installing uv $uv_version into .venv"
  .venv/bin/python -m pip install --quiet "uv==$uv_version"
}
