package posture

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/agentwatch/agentwatch/internal/inventory"
	"github.com/agentwatch/agentwatch/schemas"
)

// Output formats of `agentwatch posture`.
var Formats = []string{"table", "json", "csv", "sarif"}

// Filter keeps the findings of one agent and/or one owner.
func (r *Report) Filter(agent, owner string) {
	keep := func(a, o string) bool { return (agent == "" || a == agent) && (owner == "" || o == owner) }
	out := r.Findings[:0]
	for _, f := range r.Findings {
		if keep(f.AgentID, f.Owner) {
			out = append(out, f)
		}
	}
	r.Findings = out
	var src []CredentialSource
	for _, s := range r.Sources {
		if keep(s.AgentID, s.Owner) {
			src = append(src, s)
		}
	}
	r.Sources = src
}

// AtLeast counts the findings at or above sev.
func (r *Report) AtLeast(sev schemas.Severity) int {
	n := 0
	for _, f := range r.Findings {
		if f.Severity.Rank() >= sev.Rank() {
			n++
		}
	}
	return n
}

// WriteOptions tell the writers where findings point.
type WriteOptions struct {
	// InventoryPath is the agents.yaml the SARIF locations point at.
	InventoryPath string
	Inventory     *inventory.Inventory
}

// Write renders the report in format.
func (r *Report) Write(w io.Writer, format string, opt WriteOptions) error {
	switch format {
	case "table":
		return r.writeTable(w)
	case "json":
		return writeJSON(w, r)
	case "csv":
		return r.writeCSV(w)
	case "sarif":
		return r.writeSARIF(w, opt)
	}
	return fmt.Errorf("posture: format %q is not one of %s", format, strings.Join(Formats, ", "))
}

// writeJSON writes v indented, as the json and sarif formats print.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func (r *Report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "Posture as of %s (activity %s to %s): %d findings\n\n", r.GeneratedAt.Format("2006-01-02 15:04Z"),
		r.From.Format("2006-01-02"), r.To.Format("2006-01-02"), len(r.Findings))
	fmt.Fprintln(tw, "SEVERITY\tTYPE\tAGENT\tOWNER\tID\tSUMMARY")
	for _, f := range r.Findings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.ToUpper(string(f.Severity)), f.Type, dash(f.AgentID), dash(f.Owner), f.ID, f.Summary)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, f := range r.Findings {
		fmt.Fprintf(w, "\n%s %s  %s\n  %s\n", strings.ToUpper(string(f.Severity)), f.ID, f.Type, f.Summary)
		for _, e := range f.Evidence {
			if e.Baseline != "" {
				fmt.Fprintf(w, "  - %s: %s (expected: %s)\n", e.Feature, e.Observed, e.Baseline)
			} else {
				fmt.Fprintf(w, "  - %s: %s\n", e.Feature, e.Observed)
			}
		}
		fmt.Fprintf(w, "  Fix: %s\n", f.Fix)
		if f.PolicyDiff != "" {
			fmt.Fprintf(w, "  Policy change:\n")
			for _, l := range strings.Split(strings.TrimRight(f.PolicyDiff, "\n"), "\n") {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	if len(r.Sources) > 0 {
		fmt.Fprintln(w, "\nWhere credentials come from:")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "AGENT\tOWNER\tSOURCE\tVAULT LEASES\tVAULT KV READS\tVAULT AUTH\tOTHER CREDENTIALS")
		for _, s := range r.Sources {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", s.AgentID, dash(s.Owner), s.Source, s.VaultLeases, s.VaultKVReads,
				dash(strings.Join(s.VaultAuth, ",")), dash(strings.Join(s.CredentialTypes, ",")))
		}
		return tw.Flush()
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// CSVHeader is the CSV output's first line.
var CSVHeader = []string{"id", "severity", "type", "agent_id", "owner", "subject", "summary", "fix", "evidence", "policy_diff"}

func (r *Report) writeCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, f := range r.Findings {
		ev, err := json.Marshal(f.Evidence)
		if err != nil {
			return err
		}
		if err := cw.Write([]string{f.ID, string(f.Severity), f.Type, f.AgentID, f.Owner, f.Subject, f.Summary, f.Fix, string(ev), f.PolicyDiff}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// SARIF 2.1.0, the format code-scanning UIs (GitHub, GitLab, Azure DevOps)
// read: one rule per finding type, one result per finding, located at the
// agent's entry in agents.yaml when known, so a CI check on an inventory
// change annotates the line.
const (
	SARIFVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
)

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool    sarifTool     `json:"tool"`
	Results []sarifResult `json:"results"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name           string      `json:"name"`
	InformationURI string      `json:"informationUri,omitempty"`
	Rules          []sarifRule `json:"rules"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifRule struct {
	ID                   string         `json:"id"`
	Name                 string         `json:"name"`
	ShortDescription     sarifText      `json:"shortDescription"`
	Help                 sarifText      `json:"help"`
	DefaultConfiguration map[string]any `json:"defaultConfiguration"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Locations           []sarifLocation   `json:"locations,omitempty"`
	Properties          map[string]any    `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation map[string]string `json:"artifactLocation"`
	Region           map[string]int    `json:"region,omitempty"`
}

// sarifLevel maps severities onto SARIF's three levels.
func sarifLevel(s schemas.Severity) string {
	switch s {
	case schemas.SeverityCritical, schemas.SeverityHigh:
		return "error"
	case schemas.SeverityMedium:
		return "warning"
	}
	return "note"
}

func (r *Report) writeSARIF(w io.Writer, opt WriteOptions) error {
	run := sarifRun{Tool: sarifTool{Driver: sarifDriver{Name: "agentwatch posture"}}, Results: []sarifResult{}}
	index := map[string]int{}
	for i, t := range Types {
		index[t] = i
		run.Tool.Driver.Rules = append(run.Tool.Driver.Rules, sarifRule{
			ID: t, Name: ruleName(t), ShortDescription: sarifText{TypeDescriptions[t].Means},
			Help: sarifText{TypeDescriptions[t].Fix}, DefaultConfiguration: map[string]any{"level": sarifLevel(TypeDescriptions[t].Severity)},
		})
	}
	for _, f := range r.Findings {
		res := sarifResult{RuleID: f.Type, RuleIndex: index[f.Type], Level: sarifLevel(f.Severity),
			Message:             sarifText{f.Summary + ". Fix: " + f.Fix},
			PartialFingerprints: map[string]string{"agentwatchFindingId/v1": f.ID},
			Properties: map[string]any{"severity": f.Severity, "agent_id": f.AgentID, "owner": f.Owner,
				"subject": f.Subject, "evidence": f.Evidence, "fix": f.Fix}}
		if f.PolicyDiff != "" {
			res.Properties["policy_diff"] = f.PolicyDiff
		}
		if opt.InventoryPath != "" {
			loc := sarifLocation{PhysicalLocation: sarifPhysical{ArtifactLocation: map[string]string{"uri": opt.InventoryPath}}}
			if ag := opt.Inventory.Get(f.AgentID); ag != nil && ag.Line > 0 {
				loc.PhysicalLocation.Region = map[string]int{"startLine": ag.Line}
			}
			res.Locations = []sarifLocation{loc}
		}
		run.Results = append(run.Results, res)
	}
	return writeJSON(w, sarifLog{Schema: sarifSchema, Version: SARIFVersion, Runs: []sarifRun{run}})
}

// ruleName turns "secrets.long_lived_key" into "SecretsLongLivedKey".
func ruleName(t string) string {
	var b strings.Builder
	up := true
	for _, c := range t {
		if c == '.' || c == '_' {
			up = true
			continue
		}
		if up && c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		up = false
		b.WriteRune(c)
	}
	return b.String()
}
