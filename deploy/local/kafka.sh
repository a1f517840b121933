#!/usr/bin/env bash
# kafka.sh start|stop|status|logs — a single-node Apache Kafka 4.x broker in
# KRaft mode on 127.0.0.1, for development and the integration tests.
#
# The broker jars come from Maven Central through `mvn` (deploy/local/pom.xml
# names them) and are cached outside the repository, so only the first start
# downloads anything. Settings (environment):
#   AGENTWATCH_STATE_DIR      cache and state root (default ~/.cache/agentwatch)
#   AGENTWATCH_KAFKA_VERSION  Kafka release from Maven Central (default 4.1.1)
#   AGENTWATCH_KAFKA_PORT     client listener port (default 9092)
#   AGENTWATCH_KAFKA_CONTROLLER_PORT  KRaft controller port (default 9093)
#   AGENTWATCH_KAFKA_PARTITIONS       default partitions of new topics (default 6)
#   AGENTWATCH_KAFKA_AUTO_CREATE      auto.create.topics.enable (default false)
#   AGENTWATCH_KAFKA_START_TIMEOUT    seconds to wait for readiness (default 90)
#   AGENTWATCH_KAFKA_HEAP             JVM heap flags (default "-Xms256m -Xmx768m")
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="${AGENTWATCH_KAFKA_VERSION:-4.1.1}"
root="${AGENTWATCH_STATE_DIR:-$HOME/.cache/agentwatch}/kafka"
port="${AGENTWATCH_KAFKA_PORT:-9092}"
cport="${AGENTWATCH_KAFKA_CONTROLLER_PORT:-9093}"
partitions="${AGENTWATCH_KAFKA_PARTITIONS:-6}"
autocreate="${AGENTWATCH_KAFKA_AUTO_CREATE:-false}"
timeout="${AGENTWATCH_KAFKA_START_TIMEOUT:-90}"
heap="${AGENTWATCH_KAFKA_HEAP:--Xms256m -Xmx768m}"

libs="$root/libs-$version"
data="$root/data"
logs="$root/logs"
conf="$root/server.properties"
log4j="$root/log4j2.properties"
pidfile="$root/kafka.pid"

die() { echo "kafka.sh: $*" >&2; exit 1; }

# pid prints the broker's pid when it is running, and fails otherwise.
pid() {
	[[ -f "$pidfile" ]] || return 1
	local p
	p="$(cat "$pidfile")"
	[[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && echo "$p"
}

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }

fetch() {
	[[ -f "$libs/.complete" ]] && return 0
	command -v mvn >/dev/null || die "mvn not found: install Maven (apt-get install maven)"
	echo "kafka.sh: fetching Apache Kafka $version jars from Maven Central into $libs"
	local tmp="$libs.tmp.$$"
	rm -rf "$tmp"
	if ! mvn -B -q -f "$here/pom.xml" -Dkafka.version="$version" \
		dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" >"$root/mvn.log" 2>&1; then
		tail -n 40 "$root/mvn.log" >&2
		rm -rf "$tmp"
		die "mvn could not fetch Kafka $version (full log: $root/mvn.log)"
	fi
	ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || die "mvn fetched no kafka_2.13 jar into $tmp"
	rm -rf "$libs"
	mv "$tmp" "$libs"
	touch "$libs/.complete"
}

write_config() {
	cat >"$conf" <<EOF
# Written by deploy/local/kafka.sh; rewritten on every start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$data
num.partitions=$partitions
auto.create.topics.enable=$autocreate
# One node: every internal topic has a single replica.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=3
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Groups form at once, and tests may use short session timeouts to see a
# killed worker's partitions move quickly.
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
log.retention.hours=168
EOF
	cat >"$log4j" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

format_storage() {
	[[ -f "$data/meta.properties" ]] && return 0
	mkdir -p "$data"
	# A cluster id is 16 random bytes in URL-safe base64 without padding.
	local id
	id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
	if ! java -cp "$libs/*" -Dlog4j2.configurationFile="$log4j" kafka.tools.StorageTool \
		format -t "$id" -c "$conf" >"$logs/format.log" 2>&1; then
		cat "$logs/format.log" >&2
		die "formatting storage in $data failed"
	fi
}

start() {
	if p="$(pid)"; then
		echo "kafka.sh: already running (pid $p) on 127.0.0.1:$port"
		return 0
	fi
	command -v java >/dev/null || die "java not found: Kafka $version needs Java 17+"
	mkdir -p "$root" "$logs"
	if listening; then
		die "127.0.0.1:$port is already taken by another process; set AGENTWATCH_KAFKA_PORT"
	fi
	fetch
	write_config
	format_storage
	: >"$logs/server.log"
	# setsid detaches the broker from this shell so it outlives it.
	# shellcheck disable=SC2086
	setsid java $heap -XX:+UseG1GC -Djava.awt.headless=true \
		-Dlog4j2.configurationFile="$log4j" -Dkafka.logs.dir="$logs" \
		-cp "$libs/*" kafka.Kafka "$conf" >"$logs/stdout.log" 2>&1 </dev/null &
	echo $! >"$pidfile"
	local deadline=$((SECONDS + timeout))
	while ((SECONDS < deadline)); do
		if ! pid >/dev/null; then
			echo "kafka.sh: the broker exited during start; last lines of its logs:" >&2
			tail -n 40 "$logs/server.log" "$logs/stdout.log" >&2 || true
			exit 1
		fi
		# Accepting connections is not enough: the broker must also have
		# finished starting (KRaft leader elected, metadata loaded).
		if listening && grep -q "Kafka Server started" "$logs/server.log" "$logs/stdout.log" 2>/dev/null; then
			echo "kafka.sh: Apache Kafka $version ready on 127.0.0.1:$port (pid $(cat "$pidfile"), state $root)"
			return 0
		fi
		sleep 0.5
	done
	echo "kafka.sh: the broker was not ready within ${timeout}s; last lines of its logs:" >&2
	tail -n 40 "$logs/server.log" "$logs/stdout.log" >&2 || true
	stop >/dev/null 2>&1 || true
	exit 1
}

stop() {
	local p
	if ! p="$(pid)"; then
		echo "kafka.sh: not running"
		rm -f "$pidfile"
		return 0
	fi
	kill -TERM "$p"
	local deadline=$((SECONDS + 30))
	while kill -0 "$p" 2>/dev/null; do
		if ((SECONDS >= deadline)); then
			echo "kafka.sh: broker did not stop within 30s; killing it" >&2
			kill -KILL "$p" 2>/dev/null || true
			break
		fi
		sleep 0.2
	done
	rm -f "$pidfile"
	echo "kafka.sh: stopped"
}

status() {
	local p
	if p="$(pid)" && listening; then
		echo "kafka.sh: running (pid $p) on 127.0.0.1:$port, Kafka $version, state $root"
		return 0
	fi
	if p="$(pid)"; then
		echo "kafka.sh: process $p exists but 127.0.0.1:$port does not accept connections"
		return 1
	fi
	echo "kafka.sh: not running"
	return 3
}

case "${1:-}" in
start) start ;;
stop) stop ;;
status) status ;;
restart) stop && start ;;
reset) stop && rm -rf "$data" && echo "kafka.sh: data in $data removed" ;;
logs) tail -n "${2:-100}" "$logs/server.log" ;;
*) echo "usage: $0 start|stop|status|restart|reset|logs [lines]" >&2; exit 2 ;;
esac
