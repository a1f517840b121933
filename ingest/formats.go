package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path"
	"strings"
	"time"

	"github.com/agentwatch/agentwatch/schemas"
)

// Format names, as used in the Kafka "format" header, the HTTP path
// /v1/ingest/{format}, ingest.files.format and dead letters.
const (
	FormatCloudTrail = "cloudtrail"
	FormatOkta       = "okta"
	FormatK8s        = "k8s"
	FormatGCP        = "gcp"
	FormatMCP        = "mcp"
	FormatCanonical  = "canonical"
	FormatAzure      = "azure"
	FormatVault      = "vault"
	// FormatUnknown marks dead letters whose format could not be told.
	FormatUnknown = "unknown"
)

// Formats lists the formats a caller may force.
var Formats = []string{FormatCloudTrail, FormatOkta, FormatK8s, FormatGCP, FormatMCP, FormatCanonical, FormatAzure, FormatVault}

func knownFormat(f string) bool {
	for _, x := range Formats {
		if x == f {
			return true
		}
	}
	return false
}

func formatList() string { return strings.Join(Formats, ", ") }

// parsed is what a format parser extracts from one record: the event
// without its agent, plus what attribution rules may look at.
type parsed struct {
	members     []member // top-level members, from detection
	in          *interner
	attrs       [maxParsedAttrs]kv // attributes, turned into a map at the end
	nattrs      int
	ev          schemas.AgentEvent
	sessionName string            // role session name or equivalent
	tags        map[string]string // session tags, user extras, labels
	// request is the record's request parameters as a raw JSON object
	// (CloudTrail requestParameters), read only by rules that ask.
	request []byte
	// issuedKey is the access key id of a credential the record created
	// (an STS AssumeRole* response), "" otherwise.
	issuedKey string
}

// eachTop walks the record's top-level members, from the detection pass
// when it has them.
func (p *parsed) eachTop(b []byte, fn func(k, v []byte) error) error {
	if p.members == nil {
		return objectEach(b, fn)
	}
	for _, m := range p.members {
		if err := fn(m.key, m.val); err != nil {
			return err
		}
	}
	return nil
}

func (p *parsed) setTag(k, v string) {
	if k == "" || v == "" {
		return
	}
	if p.tags == nil {
		p.tags = make(map[string]string, 4)
	}
	p.tags[k] = v
}

// onBehalfOf names whom the caller acts for, when the parser has not: the
// value of the first of keys (ingest.on_behalf_of_tags) among the record's
// tags. The delegation chain is then that one hop.
func (p *parsed) onBehalfOf(keys []string) {
	if p.ev.OnBehalfOf == "" {
		for _, k := range keys {
			if v := p.tags[k]; v != "" {
				p.ev.OnBehalfOf = v
				break
			}
		}
	}
	if p.ev.OnBehalfOf != "" {
		p.ev.DelegationChain = []string{p.ev.OnBehalfOf}
	}
}

// maxParsedAttrs bounds the attributes a parser sets (well under
// schemas.MaxAttributes).
const maxParsedAttrs = 8

type kv struct{ k, v string }

func (p *parsed) setAttr(k, v string) {
	if v == "" || p.nattrs == len(p.attrs) {
		return
	}
	p.attrs[p.nattrs] = kv{k, v}
	p.nattrs++
}

func (p *parsed) attr(k string) string {
	for _, a := range p.attrs[:p.nattrs] {
		if a.k == k {
			return a.v
		}
	}
	return ""
}

// parseTime reads the timestamps audit logs use: RFC 3339 with any
// fraction, with or without a zone designator (Azure writes 7 fractional
// digits; some exporters drop the Z).
func parseTime(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, fmt.Errorf("%s: is missing", field)
	}
	if t, ok := schemas.ParseUTC(s); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t.UTC(), nil
	}
	if t2, err2 := time.Parse("2006-01-02T15:04:05.999999999", s); err2 == nil {
		return t2.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is not an RFC 3339 time", field, s)
}

// rawID is the event id of a record whose source has none: a stable hash
// of the bytes, so a redelivered copy gets the same id.
func rawID(format string, raw []byte) string {
	sum := sha256.Sum256(raw)
	return format + ":sha256:" + hex.EncodeToString(sum[:12])
}

// srcIP keeps addresses and drops the names some sources write in the IP
// field ("AWS Internal", "s3.amazonaws.com", "private", "gce-internal-ip"),
// which are still useful, so they go to an attribute.
func (p *parsed) setSrcIP(v string) {
	if v == "" {
		return
	}
	if looksLikeIP(v) {
		p.ev.SrcIP = v
		return
	}
	p.setAttr("src_host", v)
}

func looksLikeIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}

// credTypeForAWSKey tells a temporary STS credential (ASIA...) from a
// long-lived access key (AKIA...).
func credTypeForAWSKey(id string) string {
	switch {
	case strings.HasPrefix(id, "ASIA"):
		return schemas.CredSTSSession
	case strings.HasPrefix(id, "AKIA"):
		return schemas.CredStaticKey
	case id == "":
		return ""
	default:
		return schemas.CredUnknown
	}
}

// pathMatchCheck reports a malformed glob (unbalanced "[").
func pathMatchCheck(pattern string) (bool, error) {
	return path.Match(pattern, "")
}
