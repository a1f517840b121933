package ingest

import (
	"sort"
	"strings"
	"sync"
)

// Shape detection: one pass over the top-level member names.
type shapeKey uint32

const (
	kRecords shapeKey = 1 << iota
	kRecordsLower
	kMessage
	kSubscription
	kProtoPayload
	kEventSource
	kEventName
	kEventType
	kPublished
	kActor
	kJSONRPC
	kRequest
	kResponse
	kServer
	kSession
	kEventID
	kAgentID
	kAction
	kSystem
	kOperationName
	kResourceID
	kAuditID
	kVerb
	kType
	kTime
)

// shapeBit names the detection bit of a top-level member. A switch on the
// name compiles to length-and-compare jumps, cheaper than a map lookup for
// every member of every record.
func shapeBit(k []byte) shapeKey {
	switch string(k) {
	case "Records":
		return kRecords
	case "records":
		return kRecordsLower
	case "message":
		return kMessage
	case "subscription":
		return kSubscription
	case "protoPayload":
		return kProtoPayload
	case "eventSource":
		return kEventSource
	case "eventName":
		return kEventName
	case "eventType":
		return kEventType
	case "published":
		return kPublished
	case "actor":
		return kActor
	case "jsonrpc":
		return kJSONRPC
	case "request":
		return kRequest
	case "response":
		return kResponse
	case "server":
		return kServer
	case "session_id":
		return kSession
	case "event_id":
		return kEventID
	case "agent_id":
		return kAgentID
	case "action":
		return kAction
	case "system":
		return kSystem
	case "operationName":
		return kOperationName
	case "resourceId":
		return kResourceID
	case "auditID":
		return kAuditID
	case "verb":
		return kVerb
	case "type":
		return kType
	case "time":
		return kTime
	}
	return 0
}

type shape struct {
	keys    shapeKey
	kind    string
	members []member // every top-level member, so parsers need not rescan
	end     int      // index just past the object
	pooled  *[]member
}

func (s shape) has(k shapeKey) bool { return s.keys&k != 0 }

var memberPool = sync.Pool{New: func() any { m := make([]member, 0, 48); return &m }}

// scanShape walks the object's top-level members once; the caller must
// hand s.members back with s.release.
func scanShape(v []byte) (shape, error) {
	var s shape
	mp := memberPool.Get().(*[]member)
	ms := (*mp)[:0]
	end, err := objectWalk(v, func(k, val []byte) error {
		s.keys |= shapeBit(k)
		if string(k) == "kind" {
			s.kind = str(val)
		}
		ms = append(ms, member{k, val})
		return nil
	})
	*mp = ms
	s.members, s.end, s.pooled = ms, end, mp
	return s, err
}

func (s *shape) release() {
	if s.pooled != nil {
		*s.pooled = s.members[:0]
		memberPool.Put(s.pooled)
		s.pooled, s.members = nil, nil
	}
}

// detect names the format of a single record from its member names.
func (s shape) detect() string {
	switch {
	case s.has(kProtoPayload):
		return FormatGCP
	case s.has(kAuditID) && (s.has(kVerb) || s.kind == "Event"):
		return FormatK8s
	case s.has(kEventSource) && s.has(kEventName):
		return FormatCloudTrail
	case s.has(kEventType) && s.has(kPublished) && s.has(kActor):
		return FormatOkta
	case s.has(kRequest) && s.has(kType) && s.has(kTime) && !s.has(kServer) && !s.has(kSession):
		// A Vault audit entry: {"time","type":"request|response","auth","request",...}.
		return FormatVault
	case s.has(kJSONRPC), (s.has(kRequest) || s.has(kResponse) || s.has(kMessage)) && (s.has(kServer) || s.has(kSession)):
		return FormatMCP
	case s.has(kAction) && s.has(kSystem) && (s.has(kEventID) || s.has(kAgentID)):
		return FormatCanonical
	case s.has(kOperationName) && s.has(kResourceID):
		return FormatAzure
	}
	return ""
}

func (s shape) keyList() string {
	if len(s.members) == 0 {
		return "(none)"
	}
	var k []string
	for _, m := range s.members {
		if len(k) == 12 {
			break
		}
		k = append(k, string(m.key))
	}
	sort.Strings(k)
	return strings.Join(k, ", ")
}
