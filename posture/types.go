package posture

import "github.com/agentwatch/agentwatch/schemas"

// TypeDescription says what a finding type means and how to fix it; the
// README's posture table and the SARIF rules are written from these.
type TypeDescription struct {
	// Severity is the usual severity; some findings go up or down a step
	// with their evidence (see Means).
	Severity schemas.Severity
	Means    string
	Fix      string
}

// TypeDescriptions holds one entry per type in Types.
var TypeDescriptions = map[string]TypeDescription{
	TUnknownPrincipal: {schemas.SeverityMedium,
		"A principal acted (events in the window) but no attribution rule maps it to an inventory agent: an identity nobody owns. High when it used a long-lived key; low for records with no principal at all.",
		"Map it to an agent with an attribution rule, declare it as a known infrastructure or human principal, or revoke its credentials."},
	TNoOwner: {schemas.SeverityHigh,
		"An active or suspended agent has no owner in agents.yaml: nobody answers its alerts.",
		"Set owner: and contact: in agents.yaml, or decommission the agent."},
	TNoContact: {schemas.SeverityMedium,
		"An agent's owner has no contact (no Slack channel, PagerDuty service or e-mail): owner routing reaches nobody.",
		"Set contact.slack_channel and contact.pagerduty_service (or contact.email)."},
	TContactFailing: {schemas.SeverityHigh,
		"Alert notifications to an owner's destination failed for good (the alerts outbox's failed list): that owner would not hear about an incident.",
		"Fix the channel or service key (invite the bot, correct the channel), then `agentwatch alerts retry` the failed notifications."},
	TUnusedPermissions: {schemas.SeverityMedium,
		"Declared permissions the agent's own calls did not use in the look-back (posture.unused_after, 30 days): systems; each statement's actions and resources, judged as IAM pairs them (an action counts only through a statement whose resources match the call); the top-level lists; networks and client families. Standing privilege nobody needs. Low when only resources are unused, info when only networks or clients. Carries the policy change statement by statement for AWS (Kubernetes RBAC and GCP permissions likewise) and, for a playground of top-level lists, the smallest one covering what was used. Credentials a platform node makes for the agent are not its use.",
		"Remove the unused entries from the playground and make the same change to the role's policy (the finding's policy diff): whole statements, actions and resources go, wildcards narrow to the actions called through them."},
	TLongLivedKey: {schemas.SeverityHigh,
		"A long-lived credential is in use (AWS AKIA access key, GCP service-account key, static API token, a Vault token without TTL), with its age and last use. Medium when the agent's credentials.allowed_types allows static keys.",
		"Move the agent to short-lived credentials (assumed roles, workload identity, Vault dynamic secrets), then deactivate and delete the key."},
	TSessionTooOld: {schemas.SeverityMedium,
		"Sessions or tokens were used past the agent's credentials.max_age.",
		"Shorten the session or token lifetime (role max session duration, token TTL) or raise max_age if intended."},
	TSharedCredential: {schemas.SeverityHigh,
		"One credential is used by several agents or principals: their actions cannot be told apart and revoking it breaks all of them.",
		"Give each agent its own credential and revoke the shared one."},
	TCredentialNetworks: {schemas.SeverityMedium,
		"One credential is used from more networks (/24, /48) than posture.max_networks: copied, or stolen.",
		"Confirm the networks, bind the credential to them (source-IP conditions, bound CIDRs) and rotate it if one is foreign."},
	TNotRotated: {schemas.SeverityMedium,
		"A long-lived key has been in use longer than the rotation policy (credentials.rotate_every, else posture.rotate_every, 90 days).",
		"Rotate the key now and automate rotation, or replace it with short-lived credentials."},
	TStaticSource: {schemas.SeverityLow,
		"The agent holds static credentials and takes no leased secret from a vault: its credentials come from outside any vault.",
		"Fetch short-lived credentials from a Vault secrets engine (database, aws, gcp) with a lease instead."},
	TExpired: {schemas.SeverityMedium,
		"The agent is past its inventory expires: date and not decommissioned. High when it still acts after the date.",
		"Re-approve and move expires: forward, or decommission the agent and revoke its credentials."},
	TDecommissionedUsed: {schemas.SeverityCritical,
		"A decommissioned agent still acts with credentials, or credentials are still made for it (a platform node still assumes its role): they were never revoked.",
		"Revoke every credential and binding of the agent now (delete its role or its trust, revoke active sessions) and find who still runs it."},
	TDormant: {schemas.SeverityLow,
		"An active agent has not acted for longer than detect.dormant_after (30 days): access nobody uses. The evidence says when credentials are still made for it.",
		"Decommission it and revoke its credentials, or confirm with the owner it still needs access."},
	TInstances: {schemas.SeverityMedium,
		"The agent ran more instances at once than posture.instances_factor times its declared instances (redeployed pods replace each other; a copied credential runs beside them).",
		"Find and stop the extra instances (a copied credential?), or raise instances: if the fleet grew."},
	TUndeclaredDeleg: {schemas.SeverityHigh,
		"The agent acted on behalf of identities outside its declared delegators, or for anyone at all when it declares delegators: none.",
		"Add them to playground.delegators if legitimate, else fix the caller."},
	THumanDelegation: {schemas.SeverityMedium,
		"The agent acts on behalf of people (e-mail-like or user: identities) but declares no delegators.",
		"Declare whom it may act for in playground.delegators."},
}
