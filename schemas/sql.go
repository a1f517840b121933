package schemas

import "embed"

// SQL holds the versioned DDL migrations of both store backends:
// sql/sqlite/NNN_name.sql and sql/clickhouse/NNN_name.sql. The binary
// carries them so `agentwatch migrate` needs no files on disk.
//
//go:embed sql/sqlite/*.sql sql/clickhouse/*.sql
var SQL embed.FS
