package awsfleet

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/agentwatch/agentwatch/schemas"
)

// A hand-written encoder for records: encoding/json spends most of the
// generator's time reflecting over the same few shapes. It writes the
// members in CloudTrail's own order; maps (parameters, responses) in key
// order, so the output is a pure function of the record. Tests hold it
// equal to encoding/json's reading of the same record.

// appendRecords writes {"Records":[...]}.
func appendRecords(b []byte, recs []*Record) []byte {
	b = appendArray(append(b, `{"Records":`...), recs, func(b []byte, r *Record) []byte { return r.appendJSON(b) })
	return append(b, '}')
}

// appendArray writes xs as a JSON array, each element with elem.
func appendArray[T any](b []byte, xs []T, elem func([]byte, T) []byte) []byte {
	b = append(b, '[')
	for i, x := range xs {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, x)
	}
	return append(b, ']')
}

type jw struct {
	b     []byte
	first bool
}

func (w *jw) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = schemas.AppendJSONString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *jw) str(k, v string) {
	w.key(k)
	w.b = schemas.AppendJSONString(w.b, v)
}

func (w *jw) optStr(k, v string) {
	if v != "" {
		w.str(k, v)
	}
}

func (w *jw) boolean(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

func (w *jw) open() { w.b, w.first = append(w.b, '{'), true }
func (w *jw) close() {
	w.b, w.first = append(w.b, '}'), false
}

func (r *Record) appendJSON(b []byte) []byte {
	w := &jw{b: b}
	w.open()
	w.str("eventVersion", r.EventVersion)
	w.key("userIdentity")
	r.UserIdentity.appendJSON(w)
	w.str("eventTime", r.EventTime)
	w.str("eventSource", r.EventSource)
	w.str("eventName", r.EventName)
	w.str("awsRegion", r.AWSRegion)
	w.str("sourceIPAddress", r.SourceIPAddress)
	w.str("userAgent", r.UserAgent)
	w.optStr("errorCode", r.ErrorCode)
	w.optStr("errorMessage", r.ErrorMessage)
	w.key("requestParameters")
	w.b = appendValue(w.b, r.RequestParameters)
	w.key("responseElements")
	w.b = appendValue(w.b, r.ResponseElements)
	if r.AdditionalEventData != nil {
		w.key("additionalEventData")
		w.b = appendValue(w.b, r.AdditionalEventData)
	}
	w.str("requestID", r.RequestID)
	w.str("eventID", r.EventID)
	w.boolean("readOnly", r.ReadOnly)
	if len(r.Resources) > 0 {
		w.key("resources")
		w.b = append(w.b, '[')
		for i, res := range r.Resources {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.open()
			w.optStr("accountId", res.AccountID)
			w.optStr("type", res.Type)
			w.optStr("ARN", res.ARN)
			w.optStr("ARNPrefix", res.ARNPrefix)
			w.close()
		}
		w.b = append(w.b, ']')
	}
	w.str("eventType", r.EventType)
	w.boolean("managementEvent", r.ManagementEvent)
	w.str("recipientAccountId", r.RecipientAccountID)
	w.optStr("sharedEventID", r.SharedEventID)
	w.optStr("vpcEndpointId", r.VPCEndpointID)
	w.str("eventCategory", r.EventCategory)
	if t := r.TLSDetails; t != nil {
		w.key("tlsDetails")
		w.open()
		w.str("tlsVersion", t.TLSVersion)
		w.str("cipherSuite", t.CipherSuite)
		w.str("clientProvidedHostHeader", t.ClientProvidedHostHeader)
		w.close()
	}
	w.optStr("sessionCredentialFromConsole", r.SessionCredentialFromConsole)
	w.close()
	return w.b
}

func (id *Identity) appendJSON(w *jw) {
	w.open()
	w.str("type", id.Type)
	w.optStr("principalId", id.PrincipalID)
	w.optStr("arn", id.ARN)
	w.optStr("accountId", id.AccountID)
	w.optStr("accessKeyId", id.AccessKeyID)
	w.optStr("userName", id.UserName)
	if sc := id.SessionContext; sc != nil {
		w.key("sessionContext")
		w.open()
		w.key("sessionIssuer")
		w.open()
		si := sc.SessionIssuer
		w.optStr("type", si.Type)
		w.optStr("principalId", si.PrincipalID)
		w.optStr("arn", si.ARN)
		w.optStr("accountId", si.AccountID)
		w.optStr("userName", si.UserName)
		w.close()
		w.key("webIdFederationData")
		w.b = append(w.b, "{}"...)
		w.key("attributes")
		w.open()
		w.str("creationDate", sc.Attributes.CreationDate)
		w.str("mfaAuthenticated", sc.Attributes.MFAAuthenticated)
		w.close()
		w.optStr("sourceIdentity", sc.SourceIdentity)
		w.optStr("ec2RoleDelivery", sc.EC2RoleDelivery)
		w.close()
	}
	w.optStr("invokedBy", id.InvokedBy)
	w.close()
}

// appendValue writes the values parameters and responses hold; anything
// else goes through encoding/json.
func appendValue(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return schemas.AppendJSONString(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case int:
		return strconv.AppendInt(b, int64(x), 10)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case []string:
		return appendArray(b, x, schemas.AppendJSONString)
	case []map[string]any:
		return appendArray(b, x, func(b []byte, m map[string]any) []byte { return appendValue(b, m) })
	case map[string]any:
		if x == nil {
			return append(b, "null"...)
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = schemas.AppendJSONString(b, k)
			b = append(b, ':')
			b = appendValue(b, x[k])
		}
		return append(b, '}')
	}
	j, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, j...)
}
