// Package ingest turns raw audit records into canonical agent events: it
// detects each record's format (CloudTrail, Okta System Log, Kubernetes
// audit, GCP and Azure audit logs, MCP tool-call logs, canonical JSON),
// parses it with one file per format, attributes it to an agent and
// instance with the configured rules, validates it, and sends what it
// cannot use to the dead-letter topic with the reason. The HTTP, Kubernetes
// webhook, file and Kafka collectors all feed this one path.
package ingest
