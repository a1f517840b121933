// Package posture reports standing risk: what is wrong with the fleet's
// identities even when no agent misbehaves. From the store (events, the
// learned playground) and the inventory it finds principals nobody owns,
// agents without an owner or reachable contact, declared permissions that
// go unused, long-lived or unrotated or shared credentials, agents past
// their lifecycle, undeclared delegation, and where each agent's
// credentials come from (a vault's leases or static keys). Each finding
// has a stable id, a severity, evidence and a concrete fix; the package
// renders them as a table, JSON, CSV or SARIF, keeps their state in the
// store (views posture_findings, agent_unused_permissions), exports a
// gauge per finding type, and sends each owner a weekly digest of what is
// new, fixed and still open.
package posture
