package posture

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/agentwatch/agentwatch/schemas"
)

// Finding types: a closed set, so they are bounded metric labels. The
// README says what each means and how to fix it.
const (
	TUnknownPrincipal   = "owner.unknown_principal"
	TNoOwner            = "owner.missing"
	TNoContact          = "owner.no_contact"
	TContactFailing     = "owner.contact_failing"
	TUnusedPermissions  = "privilege.unused"
	TLongLivedKey       = "secrets.long_lived_key"
	TSessionTooOld      = "secrets.session_too_old"
	TSharedCredential   = "secrets.shared_credential"
	TCredentialNetworks = "secrets.many_networks"
	TNotRotated         = "secrets.not_rotated"
	TStaticSource       = "secrets.static_source"
	TExpired            = "lifecycle.expired"
	TDecommissionedUsed = "lifecycle.decommissioned_active"
	TDormant            = "lifecycle.dormant"
	TInstances          = "lifecycle.instances_over"
	TUndeclaredDeleg    = "delegation.undeclared"
	THumanDelegation    = "delegation.human_undeclared"
)

// Types lists every finding type, in report order.
var Types = []string{
	TUnknownPrincipal, TNoOwner, TNoContact, TContactFailing,
	TUnusedPermissions,
	TLongLivedKey, TSessionTooOld, TSharedCredential, TCredentialNetworks, TNotRotated, TStaticSource,
	TExpired, TDecommissionedUsed, TDormant, TInstances,
	TUndeclaredDeleg, THumanDelegation,
}

// Finding is one standing risk.
type Finding struct {
	// ID is stable: the same risk (type, agent, subject) has the same id
	// in every evaluation, so a digest can say new, fixed or still open.
	ID       string           `json:"id"`
	Type     string           `json:"type"`
	Severity schemas.Severity `json:"severity"`
	AgentID  string           `json:"agent_id"`
	Owner    string           `json:"owner"`
	// Subject is what the finding is about within the agent (a credential
	// id, a delegator, a principal); empty when it is the agent itself.
	Subject  string             `json:"subject,omitempty"`
	Summary  string             `json:"summary"`
	Evidence []schemas.Evidence `json:"evidence"`
	// Fix is the concrete change that makes the finding go away.
	Fix string `json:"fix"`
	// PolicyDiff, when set, is the change to the cloud policy (an AWS IAM
	// policy diff, Kubernetes RBAC rules, GCP role permissions).
	PolicyDiff string `json:"policy_diff,omitempty"`
}

// FindingID is the stable id of the finding (type, agent, subject).
func FindingID(typ, agent, subject string) string {
	h := sha256.Sum256([]byte(typ + "\x00" + agent + "\x00" + subject))
	return "pf-" + hex.EncodeToString(h[:8])
}

func newFinding(typ string, sev schemas.Severity, agent, owner, subject, summary, fix string, ev ...schemas.Evidence) Finding {
	if ev == nil {
		ev = []schemas.Evidence{}
	}
	return Finding{ID: FindingID(typ, agent, subject), Type: typ, Severity: sev, AgentID: agent, Owner: owner,
		Subject: subject, Summary: summary, Evidence: ev, Fix: fix}
}

func evidence(feature, observed, baseline string) schemas.Evidence {
	return schemas.Evidence{Feature: feature, Observed: observed, Baseline: baseline}
}

// ParseSeverity reads a severity name.
func ParseSeverity(s string) (schemas.Severity, error) {
	v := schemas.Severity(strings.ToLower(strings.TrimSpace(s)))
	if v.Rank() < 0 {
		names := make([]string, len(schemas.Severities))
		for i, x := range schemas.Severities {
			names[i] = string(x)
		}
		return "", fmt.Errorf("%q is not one of %s", s, strings.Join(names, ", "))
	}
	return v, nil
}
