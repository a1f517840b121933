package awsfleet

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// File is one delivered CloudTrail object, before compression.
type File struct {
	Region string
	// Key is the object key: AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<name>.
	Key string
	// Delivered is the time in the object's name (when CloudTrail wrote it).
	Delivered time.Time
	// JSON is the object's content, {"Records":[...]}.
	JSON    []byte
	Records int
	// Labels are the file's attack and drift records, by eventID.
	Labels []LabeledEvent
	// First and Last are the earliest and latest eventTime in the file.
	First, Last time.Time
}

// LabeledEvent is one line of labels.jsonl.
type LabeledEvent struct {
	EventID string `json:"eventID"`
	Label
}

// pending is a record waiting for its delivery.
type pending struct {
	rec      *Record
	delivery time.Time
	region   string
	label    Label
	seq      int64 // generation order, to keep sorts stable
}

// deliveryEvery is how often CloudTrail writes an object per region.
const deliveryEvery = 5 * time.Minute

// maxPerFile splits a busy five minutes into several objects, as AWS does.
const maxPerFile = 400

// bucketKey is one region's five-minute delivery slot.
type bucketKey struct {
	slot   int64 // unix seconds / 300
	region string
}

// gen is one run of the generator.
type gen struct {
	f       *Fleet
	cfg     Config
	pending map[bucketKey][]*pending
	seq     int64
	deliver func(*File, []*Record) error
	stats   Stats
	// trail is CloudTrail itself, which asks KMS for a data key for every
	// object it writes (the trail is encrypted with SSE-KMS).
	trail *caller
	// horizon: every slot ending at or before it has been delivered.
	horizon time.Time
}

// Stats counts what a delivery held.
type Stats struct {
	Records, Files int
	Attack, Drift  int // labelled records
	ByRegion       map[string]int
	First, Last    time.Time // event times
}

// rngFor returns a source that depends only on the seed and the labels.
func rngFor(seed int64, labels ...string) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), hash64(labels...)))
}

func hash64(labels ...string) uint64 {
	h := fnv.New64a()
	for _, l := range labels {
		h.Write([]byte(l))
		h.Write([]byte{0})
	}
	return h.Sum64()
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// rec starts a record of call svc:name by c at t, with the members every
// record has. The caller fills parameters, response and resources, then
// hands it to emit.
func (g *gen) rec(c *caller, t time.Time, svc, name string) *Record {
	region := c.region
	switch svc {
	case "iam", "signin", "ce", "organizations":
		region = HomeRegion // global services log in us-east-1
	}
	r := &Record{
		EventVersion: "1.10", UserIdentity: c.id, EventTime: ctStamp(t), EventSource: svc + ".amazonaws.com",
		EventName: name, AWSRegion: region, UserAgent: c.ua, RequestID: newUUID(c.r), EventID: newUUID(c.r),
		ReadOnly: readOnly(name), EventType: "AwsApiCall", ManagementEvent: true, RecipientAccountID: Account,
		EventCategory: "Management", time: t.Truncate(time.Second),
	}
	if e := c.vpce[svc]; e != "" {
		r.SourceIPAddress, r.VPCEndpointID = c.privIP, e
	} else {
		r.SourceIPAddress = c.ip
	}
	if c.id.InvokedBy == "" && svc != "signin" {
		r.TLSDetails = &TLSDetails{TLSVersion: "TLSv1.3", CipherSuite: "TLS_AES_128_GCM_SHA256", ClientProvidedHostHeader: host(svc, region)}
		if c.r.IntN(20) == 0 {
			r.TLSDetails.TLSVersion, r.TLSDetails.CipherSuite = "TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256"
		}
	}
	if c.console {
		r.SessionCredentialFromConsole = "true"
	}
	return r
}

// host is the endpoint a client names for svc in region.
func host(svc, region string) string {
	switch svc {
	case "iam":
		return "iam.amazonaws.com"
	case "bedrock":
		return "bedrock-runtime." + region + ".amazonaws.com"
	case "s3":
		return "s3." + region + ".amazonaws.com"
	}
	return svc + "." + region + ".amazonaws.com"
}

// readOnly tells a read from a write by the API's verb, as CloudTrail does.
func readOnly(name string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Head", "Lookup", "BatchGet", "BatchCheck", "Search", "Decrypt",
		"GenerateDataKey", "AssumeRole", "InvokeModel", "Converse", "ConsoleLogin", "Select", "Filter"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// emit queues a record for delivery: CloudTrail writes it to an object
// one to six minutes after the call, rarely up to fifteen.
func (g *gen) emit(c *caller, r *Record) {
	delay := time.Minute + time.Duration(c.r.Int64N(int64(5*time.Minute)))
	if c.r.IntN(40) == 0 {
		delay += time.Duration(c.r.Int64N(int64(9 * time.Minute)))
	}
	g.queue(r, r.time.Add(delay), c.label)
}

func (g *gen) queue(r *Record, delivery time.Time, l Label) {
	if !delivery.After(g.horizon) {
		// A record must never land in an object already written.
		delivery = g.horizon.Add(time.Second)
	}
	g.seq++
	p := &pending{rec: r, delivery: delivery, region: r.AWSRegion, label: l, seq: g.seq}
	k := bucketKey{slot: delivery.Unix() / int64(deliveryEvery/time.Second), region: p.region}
	g.pending[k] = append(g.pending[k], p)
}

// deny turns r into the refusal AWS logs when no policy allows the call.
func deny(r *Record, resource string) {
	action := strings.TrimSuffix(r.EventSource, ".amazonaws.com") + ":" + r.EventName
	r.ResponseElements = nil
	if r.EventSource == "ec2.amazonaws.com" {
		r.ErrorCode, r.ErrorMessage = "Client.UnauthorizedOperation", "You are not authorized to perform this operation. User: "+
			r.UserIdentity.ARN+" is not authorized to perform: "+action+" because no identity-based policy allows the "+action+" action"
		return
	}
	r.ErrorCode = "AccessDenied"
	if strings.HasPrefix(r.EventSource, "secretsmanager") || strings.HasPrefix(r.EventSource, "ssm") {
		r.ErrorCode = "AccessDeniedException"
	}
	r.ErrorMessage = "User: " + r.UserIdentity.ARN + " is not authorized to perform: " + action + " on resource: " + resource +
		" because no identity-based policy allows the " + action + " action"
}

// fail marks r failed with code and message.
func fail(r *Record, code, msg string) {
	r.ErrorCode, r.ErrorMessage, r.ResponseElements = code, msg, nil
}

// flush delivers every slot that ends at or before until, in time order.
func (g *gen) flush(until time.Time) error {
	for {
		var ready []bucketKey
		for k := range g.pending {
			if !time.Unix((k.slot+1)*int64(deliveryEvery/time.Second), 0).After(until) {
				ready = append(ready, k)
			}
		}
		if len(ready) == 0 {
			return nil
		}
		slices.SortFunc(ready, func(a, b bucketKey) int {
			if a.slot != b.slot {
				return int(a.slot - b.slot)
			}
			return strings.Compare(a.region, b.region)
		})
		// Deliver the earliest slot only, then look again: delivering it
		// queues CloudTrail's own KMS call, which may fall in a slot that
		// is also ready.
		k := ready[0]
		ps := g.pending[k]
		delete(g.pending, k)
		end := time.Unix((k.slot+1)*int64(deliveryEvery/time.Second), 0).UTC()
		if end.After(g.horizon) {
			g.horizon = end
		}
		if err := g.deliverSlot(k, end, ps); err != nil {
			return err
		}
	}
}

func (g *gen) deliverSlot(k bucketKey, end time.Time, ps []*pending) error {
	slices.SortFunc(ps, func(a, b *pending) int {
		if c := a.rec.time.Compare(b.rec.time); c != 0 {
			return c
		}
		return int(a.seq - b.seq)
	})
	r := rngFor(g.cfg.Seed, "delivery", k.region, itoa(k.slot))
	for len(ps) > 0 {
		n := min(len(ps), maxPerFile)
		part := ps[:n]
		ps = ps[n:]
		// Objects are named after their five-minute slot.
		written := end
		name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", Account, k.region, written.Format("20060102T1504Z"),
			randString(r, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 16))
		key := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s", Account, k.region, written.Format("2006/01/02"), name)
		f := &File{Region: k.region, Key: key, Delivered: written, Records: n}
		recs := make([]*Record, n)
		for i, p := range part {
			recs[i] = p.rec
			if p.label.Kind != "" {
				f.Labels = append(f.Labels, LabeledEvent{EventID: p.rec.EventID, Label: p.label})
				if p.label.Kind == LabelAttack {
					g.stats.Attack++
				} else {
					g.stats.Drift++
				}
			}
			if t := p.rec.time; f.First.IsZero() || t.Before(f.First) {
				f.First = t
			}
			if t := p.rec.time; t.After(f.Last) {
				f.Last = t
			}
		}
		g.stats.Records += n
		g.stats.Files++
		g.stats.ByRegion[k.region] += n
		if g.stats.First.IsZero() || f.First.Before(g.stats.First) {
			g.stats.First = f.First
		}
		if f.Last.After(g.stats.Last) {
			g.stats.Last = f.Last
		}
		if written.Before(g.f.end) {
			g.trailDataKey(written, key)
		}
		if err := g.deliver(f, recs); err != nil {
			return err
		}
	}
	return nil
}

// trailDataKey is CloudTrail's own call to KMS for the data key that
// encrypts the object it just wrote: an AWS service principal in the log.
// The trail's key lives beside its bucket in the home region, so every
// region's objects ask it there.
func (g *gen) trailDataKey(t time.Time, key string) {
	c := *g.trail
	r := g.rec(&c, t, "kms", "GenerateDataKey")
	r.RequestParameters = map[string]any{"keySpec": "AES_256", "encryptionContext": map[string]any{
		"aws:cloudtrail:arn": "arn:aws:cloudtrail:" + HomeRegion + ":" + Account + ":trail/" + TrailName,
		"aws:s3:arn":         "arn:aws:s3:::" + TrailBucket + "/" + key}}
	r.Resources = []Resource{{AccountID: Account, Type: "AWS::KMS::Key", ARN: kmsKey(HomeRegion, "cloudtrail")}}
	r.SharedEventID = newUUID(c.r)
	// Written with the next objects: at least one delivery later.
	g.queue(r, t.Add(deliveryEvery+time.Duration(c.r.IntN(120))*time.Second), Label{})
}

// kmsKey is the ARN of one of the account's customer managed keys.
func kmsKey(region, purpose string) string {
	return "arn:aws:kms:" + region + ":" + Account + ":key/" + stableUUID("kms", region, purpose)
}

// stableUUID is a UUID derived from labels alone.
func stableUUID(labels ...string) string { return newUUID(rand.New(rand.NewPCG(hash64(labels...), 7))) }
