package ingest

import (
	"path"
	"strconv"
	"strings"
	"sync"

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
	fn func(c arnCtx) string
	// resourcesOnly: only the record's resources list can name it.
	resourcesOnly bool
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
	arnServices = func() map[string]*arnService {
		m := map[string]*arnService{}
		for i := range arnTable {
			s := &arnTable[i]
			m[s.prefix] = s
			for _, r := range s.rules {
				if r.typ != "" && awsiam.TypeNamed(r.typ) == nil {
					panic("ingest: arn table: unknown resource type " + r.typ)
				}
			}
		}
		return m
	}()
	// ruleCache maps an action ("glue:GetTable") to its rule; actions
	// repeat, globbing them on every record would not.
	ruleCache sync.Map
	ruleCount int64
	ruleMu    sync.Mutex
)

// noRule marks a covered service's action that no rule names (cannot
// happen while every service ends in "*", kept for safety) and an
// uncovered service.
var noRule = &arnRule{}

// ruleFor returns the rule for action of service svc, or nil when the
// service is not in the table.
func ruleFor(svc, eventName, action string) *arnRule {
	if v, ok := ruleCache.Load(action); ok {
		r := v.(*arnRule)
		if r == noRule {
			return nil
		}
		return r
	}
	r := noRule
	if s := arnServices[svc]; s != nil {
		for i := range s.rules {
			if matchEvent(s.rules[i].events, eventName) {
				r = &s.rules[i]
				break
			}
		}
	}
	// Bounded: event names come from records, and a flood of made-up
	// names must not grow the cache without end.
	ruleMu.Lock()
	if ruleCount < 1<<14 {
		ruleCount++
		ruleCache.Store(action, r)
	}
	ruleMu.Unlock()
	if r == noRule {
		return nil
	}
	return r
}

func matchEvent(globs []string, name string) bool {
	for _, g := range globs {
		if g == "*" || g == name {
			return true
		}
		if ok, _ := path.Match(g, name); ok {
			return true
		}
	}
	return false
}

// ctResource is one entry of a record's resources list.
type ctResource struct{ arn, typ, account string }

// nameResource returns the ARN IAM evaluates for the call, and its
// CloudFormation type, using rule r. An empty ARN means the call has no
// resource type or the record does not say which resource it was.
func nameResource(r *arnRule, c arnCtx, resources []ctResource) (string, string) {
	if r.typ == "" && r.fn == nil {
		return "", ""
	}
	var t *awsiam.ResourceType
	if r.typ != "" {
		t = awsiam.TypeNamed(r.typ)
		// The record's own list names resources exactly (with the
		// account that owns them), when it names one of this type.
		for _, res := range resources {
			if t.Fits(res.arn) {
				return res.arn, cfnOr(res.typ, t)
			}
		}
	}
	if r.resourcesOnly {
		return "", ""
	}
	if r.fn != nil {
		arn := r.fn(c)
		if arn == "" {
			return "", ""
		}
		if rt := awsiam.TypeOf(arn); rt != nil {
			return arn, rt.CFN
		}
		return arn, ""
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
	// Built in a stack buffer and interned: an agent names the same
	// resources over and over.
	var ab [maxInterned]byte
	b, ok := t.AppendARN(ab[:0], c.partition, c.region, c.account, vals...)
	if !ok {
		return "", ""
	}
	return c.in.get(b), t.CFN
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
type athenaCache struct {
	mu  sync.Mutex
	max int
	m   map[string]string
}

func newAthenaCache(max int) *athenaCache { return &athenaCache{max: max, m: map[string]string{}} }

func (a *athenaCache) put(id, workgroup string) {
	if a == nil || id == "" || workgroup == "" {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.m) >= a.max {
		i := 0
		for k := range a.m {
			if i%2 == 0 {
				delete(a.m, k)
			}
			i++
		}
	}
	a.m[id] = workgroup
}

func (a *athenaCache) get(id string) string {
	if a == nil || id == "" {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.m[id]
}
