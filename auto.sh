#!/usr/bin/env bash
# Manage pve-traffic on one host: set up, install, run and stop the exporter and the
# enforcer, under systemd (the Debian package's units) or, where systemd does not run, in the
# background with pid files (`nohup`). `./auto.sh help` lists the commands.
#
# Paths (the package's layout): config /etc/pve-traffic/config.yaml, data /var/lib/pve-traffic,
# units pve-traffic-exporter.service and pve-traffic-enforcer.service. Without the package
# (nohup, debug): binaries from target/ of this checkout (PVE_TRAFFIC_BIN_DIR overrides), the
# config from PVE_TRAFFIC_CONFIG or ./config.yaml, pid files and logs in PVE_TRAFFIC_RUN_DIR
# (default ./data/run).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DAEMONS=(exporter enforcer)
PACKAGE=pve-traffic
ETC_CONFIG=/etc/pve-traffic/config.yaml
SERVICE_USER=pve-traffic
RUN_DIR="${PVE_TRAFFIC_RUN_DIR:-$ROOT/data/run}"
STOP_TIMEOUT="${PVE_TRAFFIC_STOP_TIMEOUT:-30}"

say() { printf '%s\n' "$*"; }
die() { printf 'auto.sh: %s\n' "$*" >&2; exit 1; }

usage() {
  cat <<'EOF'
Usage: ./auto.sh COMMAND [ARGS]

Setup
  config [FILE]       guided setup (pve-traffic-exporter init); FILE defaults to
                      /etc/pve-traffic/config.yaml when installed, else ./config.yaml
  build               release build of both binaries
  install             build the Debian package and install it (root): system user
                      pve-traffic, hardened systemd units, /etc/pve-traffic, /var/lib/pve-traffic
  uninstall [--purge] remove the package; data and config stay unless --purge

Running (systemd when the units are installed, else the nohup daemons)
  start               start both daemons (systemd)
  stop                stop both: systemd units, or nohup daemons by pid (SIGTERM, then wait)
  restart             stop, then start
  enable | disable    start at boot, or not (systemd)
  status              whether each daemon runs (exit 0 = both run, 3 = not all)
  logs [-f]           recent log lines (journalctl, or the nohup log files)
  nohup               run both in the background without systemd, with pid files
  debug               run both in the foreground with debug logs; Ctrl-C stops them

Trying it
  demo                the demo against a simulated cluster (scripts/demo)
  test                the whole test suite (scripts/test)
  help                this text
EOF
}

# --- where things are ------------------------------------------------------------------

systemd_runs() { [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; }

units_installed() {
  systemd_runs && systemctl cat pve-traffic-exporter.service >/dev/null 2>&1
}

package_installed() {
  command -v dpkg-query >/dev/null &&
    [[ "$(dpkg-query -W -f='${Status}' "$PACKAGE" 2>/dev/null)" == "install ok installed" ]]
}

need_root() { [[ $(id -u) -eq 0 ]] || die "$1 needs root: run it with sudo"; }

# The directory holding both binaries of this checkout; builds them when none does.
bin_dir() {
  if [[ -n "${PVE_TRAFFIC_BIN_DIR:-}" ]]; then
    [[ -x "$PVE_TRAFFIC_BIN_DIR/pve-traffic-exporter" && -x "$PVE_TRAFFIC_BIN_DIR/pve-traffic-enforcer" ]] ||
      die "PVE_TRAFFIC_BIN_DIR=$PVE_TRAFFIC_BIN_DIR holds no pve-traffic-exporter and pve-traffic-enforcer"
    echo "$PVE_TRAFFIC_BIN_DIR"
    return
  fi
  for d in "$ROOT/target/release" "$ROOT/target/debug"; do
    if [[ -x "$d/pve-traffic-exporter" && -x "$d/pve-traffic-enforcer" ]]; then
      echo "$d"
      return
    fi
  done
  cmd_build >&2
  echo "$ROOT/target/release"
}

# Absolute, as the daemons run from the checkout's root (relative paths in the config, like
# the default ./data/pve_traffic.db, are relative to it).
local_config() { realpath -m "${PVE_TRAFFIC_CONFIG:-$ROOT/config.yaml}"; }

pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$RUN_DIR/$1.log"; }

# The pid of a nohup daemon if it is alive, else nothing.
live_pid() {
  local f pid
  f="$(pid_file "$1")"
  [[ -f "$f" ]] || return 0
  pid="$(cat "$f")"
  # Alive and still ours: a stale pid file may name a pid reused by another program.
  if [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "pve-traffic-$1"; then
    echo "$pid"
  fi
}

any_nohup_running() {
  local d
  for d in "${DAEMONS[@]}"; do [[ -n "$(live_pid "$d")" ]] && return 0; done
  return 1
}

units() { local d; for d in "${DAEMONS[@]}"; do echo "pve-traffic-$d.service"; done; }

# --- commands ---------------------------------------------------------------------------

cmd_config() {
  local file="${1:-}" bin
  if [[ -z "$file" ]]; then
    if package_installed && [[ $(id -u) -eq 0 ]]; then file="$ETC_CONFIG"; else file="$(local_config)"; fi
  fi
  if command -v pve-traffic-exporter >/dev/null && package_installed; then
    bin="$(command -v pve-traffic-exporter)"
  else
    bin="$(bin_dir)/pve-traffic-exporter"
  fi
  "$bin" --config "$file" init
  # The services run as their own user and must read the file (it stays 0600).
  if [[ "$file" == /etc/pve-traffic/* ]] && id "$SERVICE_USER" >/dev/null 2>&1; then
    chown "$SERVICE_USER:$SERVICE_USER" "$file"
    say "owner of $file: $SERVICE_USER (the services' user)"
  fi
}

cmd_build() {
  command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"
  say "==> cargo build --release (pve-traffic-exporter, pve-traffic-enforcer)"
  (cd "$ROOT" && cargo build --release --locked -p pve-traffic-exporter -p pve-traffic-enforcer)
}

cmd_install() {
  need_root install
  command -v dpkg >/dev/null ||
    die "install builds and installs the Debian package; without dpkg, copy target/release/* to /usr/bin and deploy/systemd/*.service to /etc/systemd/system by hand"
  "$ROOT/scripts/build-deb"
  local deb
  deb="$(ls -t "$ROOT"/target/debian/"$PACKAGE"_*.deb | head -n1)"
  say "==> dpkg -i $deb"
  dpkg -i "$deb"
  say "Installed. Next: ./auto.sh config (writes $ETC_CONFIG), then ./auto.sh enable && ./auto.sh start"
}

cmd_uninstall() {
  need_root uninstall
  local purge=""
  case "${1:-}" in
    --purge) purge=1 ;;
    "") ;;
    *) die "uninstall: unknown option $1 (only --purge)" ;;
  esac
  any_nohup_running && stop_nohup
  package_installed || die "the $PACKAGE package is not installed"
  if [[ -n "$purge" ]]; then
    say "==> dpkg -P $PACKAGE (removes /etc/pve-traffic and /var/lib/pve-traffic too)"
    dpkg -P "$PACKAGE"
  else
    say "==> dpkg -r $PACKAGE (config and data stay; ./auto.sh uninstall --purge removes them)"
    dpkg -r "$PACKAGE"
  fi
}

need_units() {
  units_installed && return 0
  if systemd_runs; then
    die "the systemd units are not installed: ./auto.sh install (or run without systemd: ./auto.sh nohup)"
  fi
  die "systemd does not run here: use ./auto.sh nohup to run both daemons in the background"
}

cmd_start() {
  if any_nohup_running; then die "the nohup daemons run already (./auto.sh status)"; fi
  need_units
  systemctl start $(units)
  say "started: $(units | tr '\n' ' ')"
}

cmd_stop() {
  local stopped=""
  if any_nohup_running; then stop_nohup; stopped=1; fi
  if units_installed; then systemctl stop $(units); say "stopped: $(units | tr '\n' ' ')"; stopped=1; fi
  [[ -n "$stopped" ]] || say "nothing runs (no nohup daemon, no systemd unit)"
}

cmd_restart() {
  if any_nohup_running; then
    stop_nohup
    cmd_nohup
    return
  fi
  need_units
  systemctl restart $(units)
  say "restarted: $(units | tr '\n' ' ')"
}

cmd_enable() { need_units; systemctl enable $(units); }
cmd_disable() { need_units; systemctl disable $(units); }

cmd_status() {
  local d pid all=0
  if any_nohup_running || ! units_installed; then
    for d in "${DAEMONS[@]}"; do
      pid="$(live_pid "$d")"
      if [[ -n "$pid" ]]; then
        say "pve-traffic-$d: running (nohup, pid $pid, log $(log_file "$d"))"
      else
        say "pve-traffic-$d: stopped"
        all=3
      fi
    done
    return "$all"
  fi
  systemctl status --no-pager $(units) || all=3
  return "$all"
}

cmd_logs() {
  local follow=""
  [[ "${1:-}" == "-f" ]] && follow=1
  if any_nohup_running || ! units_installed; then
    local files=() d
    for d in "${DAEMONS[@]}"; do [[ -f "$(log_file "$d")" ]] && files+=("$(log_file "$d")"); done
    [[ ${#files[@]} -gt 0 ]] || die "no logs: neither the units nor the nohup daemons have run"
    if [[ -n "$follow" ]]; then tail -n 50 -F "${files[@]}"; else tail -n 50 "${files[@]}"; fi
    return
  fi
  local args=(--no-pager -n 100)
  [[ -n "$follow" ]] && args+=(-f)
  for u in $(units); do args+=(-u "$u"); done
  journalctl "${args[@]}"
}

cmd_nohup() {
  if units_installed && systemctl is-active --quiet $(units) 2>/dev/null; then
    die "the systemd units run: use ./auto.sh stop first, or start/stop/status through systemd"
  fi
  local bin config d pid
  bin="$(bin_dir)"
  config="$(local_config)"
  [[ -f "$config" ]] || die "no config at $config: run ./auto.sh config (or set PVE_TRAFFIC_CONFIG)"
  cd "$ROOT"
  local check
  check="$("$bin/pve-traffic-exporter" --config "$config" check-config 2>&1 >/dev/null)" ||
    die "$check"
  mkdir -p "$RUN_DIR"
  for d in "${DAEMONS[@]}"; do
    pid="$(live_pid "$d")"
    if [[ -n "$pid" ]]; then say "pve-traffic-$d: runs already (pid $pid)"; continue; fi
    nohup "$bin/pve-traffic-$d" --config "$config" >>"$(log_file "$d")" 2>&1 </dev/null &
    echo $! >"$(pid_file "$d")"
  done
  # A bad start (port taken, database not writable) ends the process at once.
  sleep 1
  local failed=""
  for d in "${DAEMONS[@]}"; do
    pid="$(live_pid "$d")"
    if [[ -n "$pid" ]]; then
      say "pve-traffic-$d: running (pid $pid, log $(log_file "$d"))"
    else
      say "pve-traffic-$d: exited at start; last log lines:" >&2
      tail -n 5 "$(log_file "$d")" >&2 || true
      rm -f "$(pid_file "$d")"
      failed=1
    fi
  done
  [[ -z "$failed" ]] || die "not every daemon started"
  say "stop them with ./auto.sh stop"
}

# SIGTERM to each nohup daemon, then wait for it to finish its cycle and exit; SIGKILL only
# after PVE_TRAFFIC_STOP_TIMEOUT seconds (default 30).
stop_nohup() {
  local d pid waited
  local -A pids=()
  for d in "${DAEMONS[@]}"; do
    pid="$(live_pid "$d")"
    if [[ -n "$pid" ]]; then
      pids[$d]="$pid"
      kill -TERM "$pid"
    fi
  done
  for d in "${DAEMONS[@]}"; do
    pid="${pids[$d]:-}"
    rm -f "$(pid_file "$d")"
    [[ -n "$pid" ]] || continue
    waited=0
    while kill -0 "$pid" 2>/dev/null && ((waited < STOP_TIMEOUT * 10)); do
      sleep 0.1
      waited=$((waited + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "pve-traffic-$d (pid $pid) did not stop within ${STOP_TIMEOUT}s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "pve-traffic-$d: stopped (pid $pid)"
  done
}

cmd_debug() {
  local bin config pids=()
  bin="$(bin_dir)"
  config="$(local_config)"
  [[ -f "$config" ]] || die "no config at $config: run ./auto.sh config (or set PVE_TRAFFIC_CONFIG)"
  cd "$ROOT"
  export RUST_LOG="${RUST_LOG:-debug}"
  trap 'kill -TERM "${pids[@]}" 2>/dev/null || true' INT TERM
  "$bin/pve-traffic-exporter" --config "$config" serve & pids+=($!)
  "$bin/pve-traffic-enforcer" --config "$config" run & pids+=($!)
  say "debug: exporter pid ${pids[0]}, enforcer pid ${pids[1]}; Ctrl-C stops both"
  wait "${pids[@]}" || true
}

main() {
  local cmd="${1:-help}"
  [[ $# -gt 0 ]] && shift
  case "$cmd" in
    config) cmd_config "$@" ;;
    build) cmd_build ;;
    install) cmd_install ;;
    uninstall) cmd_uninstall "$@" ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart) cmd_restart ;;
    enable) cmd_enable ;;
    disable) cmd_disable ;;
    status) cmd_status ;;
    logs) cmd_logs "$@" ;;
    nohup) cmd_nohup ;;
    debug) cmd_debug ;;
    demo) exec "$ROOT/scripts/demo" "$@" ;;
    test) exec "$ROOT/scripts/test" "$@" ;;
    help | -h | --help) usage ;;
    *) usage >&2; die "unknown command: $cmd" ;;
  esac
}

main "$@"
