package console

import (
	"strings"

	"github.com/agentwatch/agentwatch/detect"
	"github.com/agentwatch/agentwatch/schemas"
)

// How an incident reads on its page: its scope in the words of its
// detector, its evidence with feature names people read, the times its
// severity rose apart from the evidence. The inventory change that would
// make it permanent is pipeline.Suggestion, which an accept records too.

// scopeRow is one distinct count of an incident.
type scopeRow struct {
	What     string
	N        int
	Examples string
}

// evidenceRow is one piece of evidence, its feature named for people.
type evidenceRow struct {
	Feature, Observed, Against string
}

// riseRow is one rise of an incident's severity.
type riseRow struct {
	To, From, Why string
}

// subjectNames names an incident's subjects by its detector.
var subjectNames = map[string]string{
	detect.DPlaygroundDeclared: "what crossed the playground",
	detect.DNetworkUndeclared:  "source networks", detect.DNewSource: "source networks",
	detect.DClientUndeclared: "client families", detect.DNewUserAgent: "user agents",
	detect.DCredNotRotated: "credentials", detect.DCredTooOld: "credentials", detect.DCredShared: "credentials",
	detect.DCredDisallowedType: "credential types",
	detect.DDelegNotAllowed:    "on behalf of", detect.DFirstDelegator: "on behalf of",
	detect.DFirstAction: "actions", detect.DFirstSystem: "systems", detect.DNovelResource: "resource patterns",
}

// featureNames are the evidence features in words.
var featureNames = map[string]string{
	"declared_playground": "declared playground", "src_ip": "source address", "source_network": "source network",
	"client_family": "client family", "user_agent": "user agent", "credential_age": "credential age",
	"credential_type": "credential type", "on_behalf_of": "on behalf of", "time": "time (UTC)",
	"distinct_resources": "distinct resources", "distinct_actions": "distinct actions",
}

func incidentScope(a *schemas.Alert) []scopeRow {
	var out []scopeRow
	if a.DistinctSubjects > 0 {
		what := subjectNames[a.Detector]
		if what == "" {
			what = "subjects (what crossed)"
		}
		ex := strings.Join(a.SubjectExamples, ", ")
		if ex == "" {
			ex = a.Subject
		}
		out = append(out, scopeRow{what, a.DistinctSubjects, ex})
	}
	// A count of none says nothing (a call naming no resource): left out.
	if a.DistinctActions > 0 {
		out = append(out, scopeRow{"actions", a.DistinctActions, strings.Join(a.ActionExamples, ", ")})
	}
	if a.DistinctResources > 0 {
		out = append(out, scopeRow{"resources", a.DistinctResources, strings.Join(a.ResourceExamples, ", ")})
	}
	return out
}

// incidentEvidence splits the evidence from the severity rises the engine
// keeps beside it (feature "severity": observed the new severity, baseline
// the old one and why).
func incidentEvidence(a *schemas.Alert) (ev []evidenceRow, rises []riseRow) {
	for _, e := range a.Evidence {
		if e.Feature == "severity" {
			from, why, _ := strings.Cut(e.Baseline, ": ")
			rises = append(rises, riseRow{To: e.Observed, From: strings.TrimPrefix(from, "was "), Why: why})
			continue
		}
		name := featureNames[e.Feature]
		if name == "" {
			name = strings.ReplaceAll(e.Feature, "_", " ")
		}
		ev = append(ev, evidenceRow{name, e.Observed, e.Baseline})
	}
	return ev, rises
}

// evidenceHeads names the evidence table's last column and title by the
// boundary the incident crossed.
func evidenceHeads(boundary string) (title, against string) {
	switch boundary {
	case schemas.BoundaryDeclared:
		return "Evidence: observed against the declared playground", "Declared"
	case schemas.BoundaryLearned:
		return "Evidence: observed against the learned baseline", "Learned baseline"
	}
	return "Evidence: observed against the declared playground and the learned baseline", "Declared or learned"
}
