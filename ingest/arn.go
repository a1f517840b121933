package ingest

import (
	"hash/maphash"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/agentwatch/agentwatch/internal/awsiam"
)

// An AWS event's resource is the ARN IAM evaluates for the call, so that a
// playground can hold a policy's Resource list as it is. arnRules (in
// arn_table.go) say, per service and family of event names, which resource
// type the call is authorised against and where the record names it; this
// file applies them.

// arnRule names the resource of one family of events of one service.
type arnRule struct {
	// events are event-name globs; the first rule of a service whose glob
	// matches applies ("*" closes each service's list).
	events []string
	// typ is the resource type ("glue:table") in the awsiam catalogue,
	// or "" for calls IAM authorises against "*" (no resource type):
	// their resource stays empty.
	typ string
	// vars gives, per variable of the type's ARN template in order, the
	// record paths to try: a requestParameters member ("name"), a dotted
	// path ("tableInput.name", "names.0"), a responseElements path
	// ("@response.arn"), "@self" (the calling IAM user), or "=value" (a
	// constant default, such as Athena's "primary" workgroup). A value
	// that is already an ARN of the type is taken as it is.
	vars [][]string
	// fn, when set, names the resource instead of vars.
	fn func(c arnCtx) named
	// resourcesOnly: only the record's resources list can name it.
	resourcesOnly bool

	t       *awsiam.ResourceType // typ, looked up once
	account []string             // the service's account parameters
	exact   map[string]bool      // events without wildcards
	globs   []string             // the others
}

type arnService struct {
	prefix string
	// account lists requestParameters members that name the account
	// owning the resource (ECR's registryId, Glue's catalogId).
	account []string
	rules   []arnRule
}

// arnCtx is what a rule may read from one record.
type arnCtx struct {
	eventName                  string
	partition, region, account string
	params, resp               []byte
	principal                  string // userIdentity.arn
	athena                     *athenaCache
	ok                         bool // the call succeeded
	in                         *interner
}

var (
	s3Object    = awsiam.TypeNamed("s3:object")
	arnServices = func() map[string]*arnService {
		m := map[string]*arnService{}
		for i := range arnTable {
			s := &arnTable[i]
			m[s.prefix] = s
			for j := range s.rules {
				r := &s.rules[j]
				r.account = s.account
				r.exact = map[string]bool{}
				for _, e := range r.events {
					if strings.ContainsAny(e, "*?[") {
						r.globs = append(r.globs, e)
					} else {
						r.exact[e] = true
					}
				}
				if r.typ == "" {
					continue
				}
				if r.t = awsiam.TypeNamed(r.typ); r.t == nil {
					panic("ingest: arn table: unknown resource type " + r.typ)
				}
			}
		}
		return m
	}()
	// ruleSlots cache the rule of recently seen actions ("glue:GetTable"),
	// direct mapped like the interner: actions repeat, globbing them on
	// every record would not, and made-up event names cannot grow it.
	ruleSlots [1 << 13]atomic.Pointer[ruleSlot]
	ruleSeed  = maphash.MakeSeed()
)

type ruleSlot struct {
	action string
	r      *arnRule // nil: the service is not in the table
}

// ruleFor returns the rule for action of service svc, or nil when the
// service is not in the table.
func ruleFor(svc, eventName, action string) *arnRule {
	slot := &ruleSlots[maphash.String(ruleSeed, action)&uint64(len(ruleSlots)-1)]
	if e := slot.Load(); e != nil && e.action == action {
		return e.r
	}
	var r *arnRule
	if s := arnServices[svc]; s != nil {
		for i := range s.rules {
			if s.rules[i].matches(eventName) {
				r = &s.rules[i]
				break
			}
		}
	}
	slot.Store(&ruleSlot{action: action, r: r})
	return r
}

// matches reports whether the rule's event-name globs take eventName.
func (r *arnRule) matches(eventName string) bool {
	if r.exact[eventName] {
		return true
	}
	for _, g := range r.globs {
		if g == "*" {
			return true
		}
		if ok, _ := path.Match(g, eventName); ok {
			return true
		}
	}
	return false
}

// ctResource is one entry of a record's resources list. Its fields view
// the record's bytes (no copy: most entries are not the one named); keep
// one only through own.
type ctResource struct {
	arn, typ, account string
}

// view returns a JSON string's text without copying it, or a copy when it
// has escapes.
func view(v []byte) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return ""
	}
	body := v[1 : len(v)-1]
	for _, c := range body {
		if c == '\\' {
			return str(v)
		}
	}
	return unsafe.String(unsafe.SliceData(body), len(body))
}

// own returns the entry's ARN and type as strings of their own (the type
// interned: there are few).
func (e *ctResource) own(in *interner) (string, string) {
	return strings.Clone(e.arn), in.get(unsafe.Slice(unsafe.StringData(e.typ), len(e.typ)))
}

// nameResource returns the ARN IAM evaluates for the call, and its
// CloudFormation type, using rule r. An empty ARN means the call has no
// resource type or the record does not say which resource it was.
func nameResource(r *arnRule, c arnCtx, resources []ctResource) (string, string) {
	if r.typ == "" && r.fn == nil {
		return "", ""
	}
	t := r.t
	if t != nil {
		// The record's own list names resources exactly (with the
		// account that owns them), when it names one of this type.
		for _, res := range resources {
			if t.Fits(res.arn) {
				arn, typ := res.own(c.in)
				return arn, cfnOr(typ, t)
			}
		}
	}
	if r.resourcesOnly {
		return "", ""
	}
	if r.fn != nil {
		n := r.fn(c)
		return n.arn, n.cfn
	}
	var buf [4]string
	vals := buf[:0]
	for i, paths := range r.vars {
		v := c.value(paths)
		if v == "" {
			return "", ""
		}
		if i == 0 && len(r.vars) == 1 && strings.HasPrefix(v, "arn:") {
			// Already an ARN (secretId, roleArn, policyArn, a trail's
			// name given as its ARN).
			return v, cfnOr("", t)
		}
		vals = append(vals, v)
	}
	n := buildType(c, t, c.region, c.account, vals...)
	return n.arn, n.cfn
}

// buildType renders an ARN of type t, built in a stack buffer and
// interned: an agent names the same resources over and over.
func buildType(c arnCtx, t *awsiam.ResourceType, region, account string, vals ...string) named {
	var ab [maxInterned]byte
	b, ok := t.AppendARN(ab[:0], c.partition, region, account, vals...)
	if !ok {
		return named{}
	}
	if t == s3Object {
		// Object keys rarely repeat: interning them would only churn
		// the interner.
		return named{string(b), t.CFN}
	}
	return named{c.in.get(b), t.CFN}
}

func cfnOr(typ string, t *awsiam.ResourceType) string {
	if typ != "" || t == nil {
		return typ
	}
	return t.CFN
}

// value returns the first non-empty value among paths.
func (c arnCtx) value(paths []string) string {
	for _, p := range paths {
		var v string
		switch {
		case strings.HasPrefix(p, "="):
			v = p[1:]
		case p == "@self":
			if a, ok := awsiam.Parse(c.principal); ok && a.Service == "iam" && strings.HasPrefix(a.Resource, "user/") {
				v = strings.TrimPrefix(a.Resource, "user/")
			}
		case strings.HasPrefix(p, "@response."):
			v = c.in.jsonPath(c.resp, p[len("@response."):])
		default:
			v = c.in.jsonPath(c.params, p)
		}
		if v != "" {
			return v
		}
	}
	return ""
}

// param returns one requestParameters path.
func (c arnCtx) param(p string) string { return c.in.jsonPath(c.params, p) }

// jsonPath reads a dotted path ("tableInput.name", "names.0") from a JSON
// object and returns the string (or number) there, interned, or "".
func (in *interner) jsonPath(b []byte, p string) string {
	for len(b) > 0 && p != "" {
		key, rest, _ := strings.Cut(p, ".")
		p = rest
		switch b[0] {
		case '{':
			b = objGet(b, key)
		case '[':
			n, err := strconv.Atoi(key)
			if err != nil || n < 0 {
				return ""
			}
			var got []byte
			i := 0
			_ = arrayEach(b, func(v []byte) error {
				if i == n {
					got = v
					return errStop
				}
				i++
				return nil
			})
			b = got
		default:
			return ""
		}
	}
	if len(b) == 0 {
		return ""
	}
	if b[0] == '"' {
		if len(b) > 66 {
			return str(b) // long values (object keys) rarely repeat
		}
		return in.str(b)
	}
	if b[0] >= '0' && b[0] <= '9' {
		return string(b)
	}
	return ""
}

// athenaCache remembers the workgroup each Athena query ran in, from the
// StartQueryExecution call that created it: the later calls about the
// query (GetQueryExecution, GetQueryResults) name only its id, yet IAM
// authorises them against the workgroup. Bounded, in memory, per process.
type athenaCache = boundedMap[string]

func newAthenaCache(max int) *athenaCache { return newBoundedMap[string](max) }
