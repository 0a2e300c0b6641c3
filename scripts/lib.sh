# Shared by scripts/up and scripts/test: a virtualenv in the state folder with the
# package installed, reinstalled only when pyproject.toml changes. Source it from the
# repository root.

IOC_STACK_DIR="${IOC_STACK_DIR:-.stack}"
export IOC_STACK_DIR
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$IOC_STACK_DIR/cache/pip}"
export PIP_DISABLE_PIP_VERSION_CHECK=1

ensure_venv() {  # ensure_venv [extra]
    local extra="${1:-}" venv="$IOC_STACK_DIR/venv" spec="." stamp
    [ -n "$extra" ] && spec=".[$extra]"
    local python="${PYTHON:-python3}"
    if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        echo "ioc: error: Python 3.11 or newer is needed as '$python' (set PYTHON=...)" >&2
        exit 1
    fi
    [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
    stamp="$(cat pyproject.toml | sha256sum | cut -c1-16)-$extra"
    if [ "$(cat "$venv/.ioc-installed" 2>/dev/null)" != "$stamp" ]; then
        echo "ioc: installing the package${extra:+ with [$extra]} into $venv" >&2
        if ! { "$venv/bin/python" -m pip install -q --upgrade pip \
               && "$venv/bin/python" -m pip install -q -e "$spec"; } > "$venv/install.log" 2>&1; then
            cat "$venv/install.log" >&2
            echo "ioc: error: installing the package failed (log above, and in $venv/install.log)" >&2
            exit 1
        fi
        echo "$stamp" > "$venv/.ioc-installed"
    fi
    export PATH="$PWD/$venv/bin:$PATH"
}
