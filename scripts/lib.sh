# Shared steps of scripts/run and scripts/test: each one is skipped when already done, so that
# running a script again is fast. Sourced, not executed.

PROJECT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$PROJECT_DIR/.venv"
PYTHON="${PYTHON:-python3}"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
    if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi
}

# install_packages PKG...: apt-get installs the Debian packages that are missing.
install_packages() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
            || missing+=("$package")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    log "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The packages every use needs: PostGIS for the database, Node for the front-end assets.
install_base_packages() {
    local packages=(postgresql-15-postgis-3 postgresql-client-15)
    command -v npm >/dev/null || packages+=(nodejs npm)
    "$PYTHON" -c 'import ensurepip' 2>/dev/null || packages+=(python3-venv)
    install_packages "${packages[@]}"
}

check_python() {
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
        echo "foncier needs Python 3.11 or newer; set PYTHON=/path/to/python3.11" >&2
        exit 1
    }
}

# The virtualenv, reinstalled only when pyproject.toml changed since the last install.
install_python_env() {
    check_python
    local stamp="$VENV/.pyproject.sha1"
    local wanted
    wanted="$(sha1sum "$PROJECT_DIR/pyproject.toml" | cut -d' ' -f1)"
    if [[ -x "$VENV/bin/foncier" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
        return 0
    fi
    log "Installing the Python environment in .venv"
    [[ -x "$VENV/bin/python" ]] || "$PYTHON" -m venv "$VENV"
    # -qq: only errors; pip's warnings about this machine's package mirrors are noise here.
    "$VENV/bin/python" -m pip install -qq --upgrade pip
    "$VENV/bin/python" -m pip install -qq -e "$PROJECT_DIR[dev]"
    echo "$wanted" >"$stamp"
}

# Leaflet and friends from the npm registry, copied into the static folder (never committed).
build_assets() {
    local stamp="$PROJECT_DIR/node_modules/.package-lock.sha1"
    local wanted
    wanted="$(sha1sum "$PROJECT_DIR/package-lock.json" | cut -d' ' -f1)"
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" ]]; then
        log "Installing front-end packages (npm ci)"
        # --include=dev: ESLint too (scripts/test), even where NODE_ENV=production.
        (cd "$PROJECT_DIR" && npm ci --include=dev --silent --no-audit --no-fund)
        echo "$wanted" >"$stamp"
    fi
    (cd "$PROJECT_DIR" && npm run --silent build)
}

# Where the project's own PostGIS cluster lives. PostgreSQL runs as the postgres system user
# when we are root; if that user cannot reach the project folder (a checkout under /root, say),
# the cluster lives in its home instead, one per checkout.
local_cluster_dir() {
    if [[ -n "${FONCIER_PG_DIR:-}" ]]; then
        echo "$FONCIER_PG_DIR"
    elif [[ $EUID -eq 0 ]] && ! runuser -u postgres -- test -x "$PROJECT_DIR"; then
        echo "/var/lib/postgresql/foncier-$(echo "$PROJECT_DIR" | sha1sum | cut -c1-10)"
    else
        echo "$PROJECT_DIR/.local/pg"
    fi
}

# Start the persistent local cluster (created on first use) and export DATABASE_URL.
start_local_postgis() {
    local port="${FONCIER_PG_PORT:-54329}"
    log "Starting the local PostGIS cluster on 127.0.0.1:$port ($(local_cluster_dir))"
    DATABASE_URL="$("$VENV/bin/python" -m foncier.core.pgcluster start \
        --dir "$(local_cluster_dir)" --port "$port" --database foncier)"
    export DATABASE_URL
}

# A secret key kept in .local/ so that sessions survive restarts and every worker shares it.
ensure_secret_key() {
    [[ -n "${FONCIER_SECRET_KEY:-}" ]] && return 0
    local file="$PROJECT_DIR/.local/secret_key"
    if [[ ! -s "$file" ]]; then
        mkdir -p "$(dirname "$file")"
        (umask 077 && "$VENV/bin/python" -c 'import secrets; print(secrets.token_hex(32))' >"$file")
    fi
    FONCIER_SECRET_KEY="$(cat "$file")"
    export FONCIER_SECRET_KEY
}
