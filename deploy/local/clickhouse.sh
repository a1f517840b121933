#!/usr/bin/env bash
# Run a local ClickHouse server from Debian's packages for development and
# the integration tests: ./deploy/local/clickhouse.sh start|stop|status
#
# The server listens on 127.0.0.1 only (native port CLICKHOUSE_TCP_PORT,
# default 9000; HTTP port CLICKHOUSE_HTTP_PORT, default 8123) and keeps its
# configuration, data and logs in a state directory outside the repository:
# ${AGENTWATCH_STATE_DIR:-$HOME/.cache/agentwatch}/clickhouse.
set -euo pipefail

STATE_DIR="${AGENTWATCH_STATE_DIR:-$HOME/.cache/agentwatch}/clickhouse"
TCP_PORT="${CLICKHOUSE_TCP_PORT:-9000}"
HTTP_PORT="${CLICKHOUSE_HTTP_PORT:-8123}"
START_TIMEOUT="${CLICKHOUSE_START_TIMEOUT:-60}"
STOP_TIMEOUT="${CLICKHOUSE_STOP_TIMEOUT:-60}"
PID_FILE="$STATE_DIR/clickhouse.pid"
LOG_FILE="$STATE_DIR/log/clickhouse-server.log"
ERR_FILE="$STATE_DIR/log/clickhouse-server.err.log"
OUT_FILE="$STATE_DIR/log/stdout.log"

die() {
	echo "clickhouse.sh: $*" >&2
	exit 1
}

server_bin() {
	command -v clickhouse-server 2>/dev/null || { [ -x /usr/sbin/clickhouse-server ] && echo /usr/sbin/clickhouse-server; } || true
}

# install_packages installs the Debian packages once; it refuses to prompt.
install_packages() {
	if [ -n "$(server_bin)" ] && command -v clickhouse-client >/dev/null 2>&1; then
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 || die "clickhouse-server is not installed and apt-get is not available"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "clickhouse.sh: installing clickhouse-server and clickhouse-client with apt-get" >&2
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q >&2 || die "apt-get update failed"
	$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q clickhouse-server clickhouse-client >&2 ||
		die "apt-get install clickhouse-server clickhouse-client failed"
}

write_config() {
	mkdir -p "$STATE_DIR"/{data,tmp,user_files,format_schemas,log}
	cat >"$STATE_DIR/config.xml" <<XML
<?xml version="1.0"?>
<!-- Written by deploy/local/clickhouse.sh; rewritten on every start. -->
<yandex>
    <logger>
        <level>information</level>
        <log>$LOG_FILE</log>
        <errorlog>$ERR_FILE</errorlog>
        <size>100M</size>
        <count>3</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>$TCP_PORT</tcp_port>
    <http_port>$HTTP_PORT</http_port>
    <max_connections>256</max_connections>
    <max_concurrent_queries>64</max_concurrent_queries>
    <mark_cache_size>268435456</mark_cache_size>
    <uncompressed_cache_size>268435456</uncompressed_cache_size>
    <path>$STATE_DIR/data/</path>
    <tmp_path>$STATE_DIR/tmp/</tmp_path>
    <user_files_path>$STATE_DIR/user_files/</user_files_path>
    <format_schema_path>$STATE_DIR/format_schemas/</format_schema_path>
    <users_config>$STATE_DIR/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mlock_executable>false</mlock_executable>
</yandex>
XML
	cat >"$STATE_DIR/users.xml" <<XML
<?xml version="1.0"?>
<!-- Written by deploy/local/clickhouse.sh: passwordless users reachable
     from loopback only, for local development: "default" and "readonly". -->
<yandex>
    <profiles>
        <default>
            <max_memory_usage>2000000000</max_memory_usage>
        </default>
        <readonly>
            <readonly>1</readonly>
        </readonly>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
        <!-- For "agentwatch sql" and dashboards: may only read. -->
        <readonly>
            <password></password>
            <networks>
                <ip>127.0.0.1</ip>
                <ip>::1</ip>
            </networks>
            <profile>readonly</profile>
            <quota>default</quota>
        </readonly>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
XML
}

running_pid() {
	[ -f "$PID_FILE" ] || return 1
	local pid
	pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

ready() {
	clickhouse-client --host 127.0.0.1 --port "$TCP_PORT" --query 'SELECT 1' >/dev/null 2>&1
}

log_tail() {
	echo "---- last lines of $ERR_FILE ----" >&2
	tail -n 30 "$ERR_FILE" >&2 2>/dev/null || echo "(no error log)" >&2
	echo "---- last lines of $LOG_FILE ----" >&2
	tail -n 30 "$LOG_FILE" >&2 2>/dev/null || echo "(no log)" >&2
	echo "---- last lines of $OUT_FILE ----" >&2
	tail -n 20 "$OUT_FILE" >&2 2>/dev/null || echo "(no stdout log)" >&2
}

start() {
	if pid="$(running_pid)"; then
		if ready; then
			echo "clickhouse running (pid $pid) on 127.0.0.1:$TCP_PORT, state in $STATE_DIR"
			return 0
		fi
		die "a server (pid $pid) is running but does not answer on 127.0.0.1:$TCP_PORT; run '$0 stop' first"
	fi
	if ready; then
		die "something else already answers on 127.0.0.1:$TCP_PORT; stop it or set CLICKHOUSE_TCP_PORT"
	fi
	install_packages
	local bin
	bin="$(server_bin)"
	[ -n "$bin" ] || die "clickhouse-server not found after installing"
	write_config
	# setsid detaches the server from this shell's process group, so it
	# survives the script and a Ctrl-C in the terminal that started it.
	setsid "$bin" --config-file="$STATE_DIR/config.xml" >"$OUT_FILE" 2>&1 </dev/null &
	local pid=$!
	echo "$pid" >"$PID_FILE"
	local deadline=$((SECONDS + START_TIMEOUT))
	until ready; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "clickhouse.sh: clickhouse-server (pid $pid) exited during start-up" >&2
			rm -f "$PID_FILE"
			log_tail
			exit 1
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "clickhouse.sh: clickhouse-server (pid $pid) did not answer 'SELECT 1' on 127.0.0.1:$TCP_PORT within ${START_TIMEOUT}s; stopping it" >&2
			log_tail
			kill -KILL "$pid" 2>/dev/null || true
			rm -f "$PID_FILE"
			exit 1
		fi
		sleep 0.5
	done
	echo "clickhouse started (pid $pid) on 127.0.0.1:$TCP_PORT (http $HTTP_PORT), state in $STATE_DIR"
}

stop() {
	local pid
	if ! pid="$(running_pid)"; then
		rm -f "$PID_FILE"
		echo "clickhouse not running"
		return 0
	fi
	kill -TERM "$pid"
	local deadline=$((SECONDS + STOP_TIMEOUT))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			echo "clickhouse.sh: server (pid $pid) still running ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL" >&2
			kill -KILL "$pid" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	rm -f "$PID_FILE"
	echo "clickhouse stopped (pid $pid)"
}

status() {
	local pid
	if pid="$(running_pid)" && ready; then
		echo "clickhouse running (pid $pid) on 127.0.0.1:$TCP_PORT, state in $STATE_DIR"
		return 0
	fi
	if [ -n "${pid:-}" ]; then
		echo "clickhouse process $pid exists but does not answer on 127.0.0.1:$TCP_PORT"
	else
		echo "clickhouse not running"
	fi
	return 1
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
