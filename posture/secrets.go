package posture

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// secrets: long-lived keys in use, sessions past max_age, credentials
// shared by agents or networks, keys that stopped rotating, and agents
// whose credentials come from no vault.
func (c *checks) secrets() {
	for _, x := range c.sortedCreds() {
		agents := x.agents.sorted(0)
		agent, owner := "", ""
		if len(agents) == 1 {
			agent, owner = agents[0], c.owner(agents[0])
		}
		age, since := c.credAge(x)
		if x.typ == schemas.CredStaticKey {
			sev := schemas.SeverityHigh
			allowed := false
			if ag := c.inv.Get(agent); ag != nil && slices.Contains(ag.Playground.CredentialPolicy.AllowedTypes, schemas.CredStaticKey) {
				// The owner declared the exception; it stays on the list of
				// keys to retire, one step lower.
				sev, allowed = schemas.SeverityMedium, true
			}
			ageText := "unknown (first seen " + since.Format(time.DateOnly) + ", at least " + days(age) + ")"
			if x.issued != nil {
				ageText = days(age) + " (issued " + x.issued.UTC().Format(time.DateOnly) + ")"
			}
			who := strings.Join(agents, ", ")
			fix := fmt.Sprintf("Replace %s with short-lived credentials (an assumed role / workload identity, or a Vault dynamic secret with a lease), then deactivate and delete the key.", x.id)
			if strings.HasPrefix(x.id, "AKIA") {
				fix = fmt.Sprintf("Move %s to an IAM role it assumes (STS, or IAM Roles Anywhere / OIDC for workloads outside AWS), then `aws iam update-access-key --access-key-id %s --status Inactive` and delete it.", who, x.id)
			} else if strings.Contains(x.id, "serviceAccounts/") || strings.Contains(x.id, "/keys/") {
				fix = "Switch to workload identity federation or service-account impersonation (short-lived tokens), then `gcloud iam service-accounts keys delete` this key."
			}
			base := "no long-lived keys"
			if allowed {
				base = "allowed by credentials.allowed_types, still to retire"
			}
			c.add(newFinding(TLongLivedKey, sev, agent, owner, x.id,
				fmt.Sprintf("long-lived credential %s in use by %s: age %s, last used %s", x.id, who, ageText, x.last.Format(time.RFC3339)),
				fix,
				evidence("credential_type", x.typ, base),
				evidence("age", ageText, ""),
				evidence("last_used", x.last.Format(time.RFC3339), ""),
				evidence("events", fmt.Sprint(x.events), "")))
			rotate := c.cfg.RotateEvery
			if ag := c.inv.Get(agent); ag != nil && ag.Playground.CredentialPolicy.RotateEvery > 0 {
				rotate = time.Duration(ag.Playground.CredentialPolicy.RotateEvery)
			}
			if rotate > 0 && age > rotate {
				c.add(newFinding(TNotRotated, schemas.SeverityMedium, agent, owner, x.id,
					fmt.Sprintf("credential %s has not rotated for %s; the policy is every %s", x.id, days(age), days(rotate)),
					fmt.Sprintf("Rotate %s now (create a new key, deploy it, deactivate the old one) and automate rotation every %s, or better, move to short-lived credentials.", x.id, days(rotate)),
					evidence("key_age", days(age), "rotate every "+days(rotate)),
					evidence("in_use_since", since.Format(time.DateOnly), "")))
			}
		}
		if len(agents) > 1 {
			c.add(newFinding(TSharedCredential, schemas.SeverityHigh, "", c.owner(agents[0]), x.id,
				fmt.Sprintf("credential %s is used by %d agents or principals: %s", x.id, len(agents), x.agents.text(6)),
				fmt.Sprintf("Give each of %s its own credential, then revoke %s: a shared credential makes every action deniable and every revocation an outage.", x.agents.text(4), x.id),
				evidence("agents", x.agents.text(8), "1"),
				evidence("events", fmt.Sprint(x.events), "")))
		}
		if n := x.networks.len(); n > c.cfg.MaxNetworks {
			c.add(newFinding(TCredentialNetworks, schemas.SeverityMedium, agent, owner, x.id,
				fmt.Sprintf("credential %s was used from %d networks: %s", x.id, n, x.networks.text(5)),
				fmt.Sprintf("Confirm every network is %s's own; restrict the credential to them (aws:SourceIp / VPC endpoint conditions, Vault token bound_cidrs, CIDR-bound secret IDs) and rotate it if one is not.", orNone(strings.Join(agents, ", "))),
				evidence("networks", x.networks.text(8), fmt.Sprintf("at most %d", c.cfg.MaxNetworks))))
		}
	}
	for _, ag := range c.inv.Agents() {
		use := c.u.agents[ag.ID]
		if use == nil || use.unattributed || use.tooOld == 0 {
			continue
		}
		max := time.Duration(ag.Playground.CredentialPolicy.MaxAge)
		c.add(newFinding(TSessionTooOld, schemas.SeverityMedium, ag.ID, ag.Owner, "",
			fmt.Sprintf("agent %s used credentials older than its max_age %s in %d events (oldest %s, %s)", ag.ID, days(max), use.tooOld, days(use.oldestAge), use.oldestID),
			fmt.Sprintf("Shorten the session or token lifetime %s gets (role max session duration, token TTL, Vault token_max_ttl) to at most %s, or raise credentials.max_age if the longer sessions are intended.", ag.ID, days(max)),
			evidence("credential_age", days(use.oldestAge), "at most "+days(max)),
			evidence("events", fmt.Sprint(use.tooOld), "0")))
	}
	for _, s := range c.sources() {
		if s.Source != SourceStatic {
			continue
		}
		c.add(newFinding(TStaticSource, schemas.SeverityLow, s.AgentID, s.Owner, "",
			fmt.Sprintf("agent %s uses static credentials and takes none from a vault (no leased dynamic secrets)", s.AgentID),
			fmt.Sprintf("Have %s fetch short-lived credentials from Vault (database, aws or gcp secrets engines: leased, revoked at expiry) instead of holding a static key.", s.AgentID),
			evidence("credential_types", strings.Join(s.CredentialTypes, ", "), "leased (vault) or short-lived"),
			evidence("vault_leases", fmt.Sprint(s.VaultLeases), "> 0")))
	}
}

// credAge is how long the credential has existed as far as agentwatch can
// tell: from its issue time when the source records one, else from the
// first time it was seen (the learned playground outlives event
// retention).
func (c *checks) credAge(x *credUse) (time.Duration, time.Time) {
	since := x.first
	if f, ok := c.u.credFirst[x.id]; ok && !f.IsZero() && f.Before(since) {
		since = f
	}
	if x.issued != nil && x.issued.Before(since) {
		since = *x.issued
	}
	return c.now.Sub(since), since.UTC()
}

// sources says, per agent that acted in the window, where its credentials
// come from.
func (c *checks) sources() []CredentialSource {
	var out []CredentialSource
	for _, a := range c.sortedAgents() {
		ag := c.inv.Get(a.id)
		if a.unattributed || ag == nil || a.events == 0 {
			continue // no activity of its own (credentials made for it only)
		}
		s := CredentialSource{AgentID: a.id, Owner: ag.Owner, VaultLeases: a.vaultLeases, VaultKVReads: a.vaultKV,
			VaultAuth: a.vaultAuth.sorted(0), VaultPaths: a.vaultPaths.sorted(8), CredentialTypes: a.credTypes.sorted(0)}
		sort.Strings(s.CredentialTypes)
		static := a.credTypes.vals[schemas.CredStaticKey] > 0
		switch {
		case a.vaultLeases > 0:
			s.Source = SourceVaultDynamic
		case static:
			s.Source = SourceStatic
		case a.vaultKV > 0:
			s.Source = SourceVaultKV
		case a.credTypes.len() > 0 || a.vaultAuth.len() > 0:
			s.Source = SourceShortLived
		default:
			s.Source = SourceNone
		}
		out = append(out, s)
	}
	return out
}
