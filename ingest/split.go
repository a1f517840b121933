package ingest

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// chunk is one record cut out of a stream, with the line it starts on.
type chunk struct {
	raw  []byte
	line int
}

// splitStream cuts a body or file into records: consecutive JSON values
// separated by whitespace. That covers NDJSON, a single (possibly
// pretty-printed) document such as a CloudTrail delivery object, and
// concatenated documents. A value that does not parse is cut at the end
// of its line, which becomes one malformed record, and reading resumes on
// the next line, so one bad line costs one dead letter.
func splitStream(data []byte) []chunk {
	var out []chunk
	line := 1
	i := 0
	for {
		for i < len(data) && isWS(data[i]) {
			if data[i] == '\n' {
				line++
			}
			i++
		}
		if i >= len(data) {
			return out
		}
		start := i
		end, err := skipValue(data, i)
		if err == nil && (data[start] == '{' || data[start] == '[' || data[start] == '"') {
			// A scalar glued to more text ("123abc") is a bad line, not a value.
			if end == len(data) || isWS(data[end]) || data[end] == '{' || data[end] == '[' {
				out = append(out, chunk{raw: data[start:end], line: line})
				line += bytes.Count(data[start:end], []byte{'\n'})
				i = end
				continue
			}
		}
		nl := bytes.IndexByte(data[start:], '\n')
		if nl < 0 {
			nl = len(data) - start
		}
		out = append(out, chunk{raw: data[start : start+nl], line: line})
		i = start + nl
	}
}

// Explain writes, per record of r, the format, principal, the attribution
// rule that matched (or why none did) and the resulting agent/instance.
func (n *Normalizer) Explain(w io.Writer, r io.Reader, source string) error {
	data, err := io.ReadAll(io.LimitReader(r, int64(n.cfg.MaxRecordBytes)*maxEnvelopeFactor+1))
	if err != nil {
		return fmt.Errorf("explain: read %s: %w", source, err)
	}
	if isGzip(data) {
		if data, err = gunzip(data, int64(n.cfg.MaxRecordBytes)*maxEnvelopeFactor); err != nil {
			return fmt.Errorf("explain: %s: %w", source, err)
		}
	}
	num := 0
	for _, c := range splitStream(data) {
		var trace []explained
		st := state{trace: &trace}
		n.normalize(Record{Raw: c.raw, Source: source, Line: c.line, Time: n.now()}, &st)
		for _, t := range trace {
			num++
			if err := writeExplained(w, num, c.line, t); err != nil {
				return fmt.Errorf("explain: write: %w", err)
			}
		}
	}
	if num == 0 {
		_, err = fmt.Fprintf(w, "%s: no records\n", source)
	}
	return err
}

func writeExplained(w io.Writer, num, line int, t explained) error {
	var b strings.Builder
	fmt.Fprintf(&b, "record %d (line %d) format=%s", num, line, t.format)
	if t.p != nil {
		fmt.Fprintf(&b, " principal=%q", t.p.ev.Principal)
		if t.p.sessionName != "" {
			fmt.Fprintf(&b, " session=%q", t.p.sessionName)
		}
		if t.p.ev.UserAgent != "" {
			fmt.Fprintf(&b, " user_agent=%q", t.p.ev.UserAgent)
		}
		if t.p.ev.Action != "" {
			fmt.Fprintf(&b, " action=%s", t.p.ev.Action)
		}
	}
	b.WriteByte('\n')
	for _, why := range t.attr.Why {
		fmt.Fprintf(&b, "  %s\n", why)
	}
	switch {
	case t.dead != nil:
		fmt.Fprintf(&b, "  -> dead letter: %s\n", t.dead.Reason)
	case t.ev != nil && t.ev.Unattributed && t.attr.Rule == "" && len(t.attr.Why) == 0 && t.format == FormatCanonical:
		fmt.Fprintf(&b, "  -> unattributed canonical event: agent=%q\n", t.ev.AgentID)
	case t.ev != nil && t.ev.Unattributed && t.ev.PrincipalKind != "":
		fmt.Fprintf(&b, "  -> %s principal, not an agent: agent=%q (the principal), stored with principal_kind=%s; raises no identity.unattributed\n",
			t.ev.PrincipalKind, t.ev.AgentID, t.ev.PrincipalKind)
	case t.ev != nil && t.ev.Unattributed:
		if len(t.attr.Why) == 0 {
			b.WriteString("  no attribution rules configured\n")
		}
		fmt.Fprintf(&b, "  -> unattributed: agent=%q (the principal); raises identity.unattributed\n", t.ev.AgentID)
	case t.ev != nil && t.attr.Rule == "":
		fmt.Fprintf(&b, "  -> canonical event names its agent: agent=%q instance=%q\n", t.ev.AgentID, t.ev.AgentInstance)
	case t.ev != nil && t.attr.ViaRequest:
		made := "no credential (the call did not succeed)"
		if t.ev.CredentialID != "" {
			made = "credential " + t.ev.CredentialID
		}
		fmt.Fprintf(&b, "  -> agent=%q instance=%q (rule %s, from request parameters): the record made %s for the agent", t.ev.AgentID, t.ev.AgentInstance, t.attr.Rule, made)
		if t.ev.PrincipalKind != "" {
			fmt.Fprintf(&b, "; the caller is %s (principal_kind=%s)", t.ev.PrincipalKind, t.ev.PrincipalKind)
		}
		b.WriteString("\n")
	case t.ev != nil:
		fmt.Fprintf(&b, "  -> agent=%q instance=%q (rule %s)\n", t.ev.AgentID, t.ev.AgentInstance, t.attr.Rule)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
