package ingest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Normalisation throughput per format against encoding/json decoding the
// same records into a plain struct holding the fields we map. Run:
//   go test ./ingest -run '^$' -bench 'Normalize|BaselineJSON' -benchtime 2s -cpu 1

type benchSet struct {
	format string
	recs   [][]byte
	bytes  int64
	plain  func() any
}

type ctPlain struct {
	EventTime, Timestamp, EventSource, EventName, AWSRegion, SourceIPAddress, UserAgent, ErrorCode, EventID, RecipientAccountID string
	UserIdentity                                                                                                                struct {
		Type, PrincipalID, Arn, AccountID, AccessKeyID, UserName, InvokedBy string
		SessionContext                                                      struct {
			SourceIdentity string
			Attributes     struct{ CreationDate string }
			SessionIssuer  struct{ Arn string }
		}
	}
	RequestParameters struct {
		BucketName, Key, RoleArn, InstanceID, Name, UserName, SecretID, KeyID string
	}
	Resources           []struct{ ARN, Type string }
	AdditionalEventData struct{ BytesTransferredIn, BytesTransferredOut float64 }
}

type k8sPlain struct {
	AuditID, Stage, Verb, RequestURI, RequestReceivedTimestamp, StageTimestamp, UserAgent string
	User                                                                                  struct {
		Username string
		Extra    map[string][]string
	}
	ImpersonatedUser *struct{ Username string }
	SourceIPs        []string
	ObjectRef        struct{ Resource, Namespace, Name, APIGroup, Subresource string }
	ResponseStatus   struct {
		Code   int
		Reason string
	}
	Annotations map[string]string
}

type gcpPlain struct {
	InsertID, Timestamp, LogName string
	Resource                     struct {
		Type   string
		Labels map[string]string
	}
	ProtoPayload struct {
		ServiceName, MethodName, ResourceName string
		AuthenticationInfo                    struct {
			PrincipalEmail, PrincipalSubject, ServiceAccountKeyName string
			ServiceAccountDelegationInfo                            []struct {
				FirstPartyPrincipal struct{ PrincipalEmail string }
			}
		}
		RequestMetadata struct{ CallerIP, CallerSuppliedUserAgent string }
		Status          struct {
			Code    int
			Message string
		}
		AuthorizationInfo []struct{ Granted bool }
	}
}

type oktaPlain struct {
	UUID, Published, EventType string
	Actor                      struct{ ID, Type, AlternateID string }
	Client                     struct {
		IPAddress string
		ID        *string
		UserAgent struct{ RawUserAgent string }
	}
	Outcome struct {
		Result string
		Reason *string
	}
	Target                []struct{ ID, Type, AlternateID string }
	AuthenticationContext struct {
		CredentialType    *string
		ExternalSessionID string
	}
}

type mcpPlain struct {
	Time, Server, SessionID, Principal, User, Decision, RemoteAddr string
	Client                                                         struct{ Name, Version string }
	Auth                                                           struct{ Type, TokenID string }
	Message, Request, Response                                     *struct {
		ID     any
		Method string
		Params struct {
			Name      string
			Arguments map[string]any
		}
		Result *struct{ IsError bool }
		Error  *struct {
			Code    int
			Message string
		}
	}
}

func benchSets(b *testing.B) []benchSet {
	b.Helper()
	n := newTestNormalizer(b)
	load := func(format string, plain func() any, globs ...string) benchSet {
		s := benchSet{format: format, plain: plain}
		for _, g := range globs {
			files, _ := filepath.Glob(g)
			for _, f := range files {
				data, err := os.ReadFile(f)
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range splitStream(data) {
					// Split envelopes into single records, as they arrive on Kafka.
					if v, err := trimValue(c.raw); err == nil {
						if list := objGet(v, "Records"); list != nil {
							_ = arrayEach(list, func(e []byte) error { s.recs = append(s.recs, e); return nil })
							continue
						}
						if list := objGet(v, "items"); list != nil {
							_ = arrayEach(list, func(e []byte) error { s.recs = append(s.recs, e); return nil })
							continue
						}
					}
					s.recs = append(s.recs, c.raw)
				}
			}
		}
		if len(s.recs) == 0 {
			b.Skipf("no %s records", format)
		}
		for _, r := range s.recs {
			s.bytes += int64(len(r))
			if evs, _ := n.Normalize(Record{Raw: r, Format: format, Time: time.Unix(1e9, 0)}); len(evs) == 0 && format != FormatMCP {
				b.Fatalf("%s record does not normalise: %s", format, r)
			}
		}
		return s
	}
	return []benchSet{
		load(FormatCloudTrail, func() any { return new(ctPlain) }, realDir+"/aws-cloudtrail/*/*.json", realDir+"/aws-cloudtrail-elk-jsonl/*/*.json"),
		load(FormatK8s, func() any { return new(k8sPlain) }, realDir+"/k8s-audit/*/*.json", "testdata/k8s_*.json"),
		load(FormatGCP, func() any { return new(gcpPlain) }, realDir+"/gcp-audit/*/*.json"),
		load(FormatOkta, func() any { return new(oktaPlain) }, "testdata/okta_*.ndjson"),
		load(FormatMCP, func() any { return new(mcpPlain) }, "testdata/mcp_*.ndjson"),
	}
}

func reportRecords(b *testing.B, perOp int) {
	b.ReportMetric(float64(perOp)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkNormalize(b *testing.B) {
	n := newTestNormalizer(b, goldenRules...)
	at := time.Unix(1e9, 0)
	for _, s := range benchSets(b) {
		b.Run(s.format, func(b *testing.B) {
			b.SetBytes(s.bytes)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for _, r := range s.recs {
					n.Normalize(Record{Raw: r, Format: s.format, Time: at})
				}
			}
			reportRecords(b, len(s.recs))
		})
	}
}

// BenchmarkNormalizeDetect is BenchmarkNormalize with format detection.
func BenchmarkNormalizeDetect(b *testing.B) {
	n := newTestNormalizer(b, goldenRules...)
	at := time.Unix(1e9, 0)
	for _, s := range benchSets(b) {
		b.Run(s.format, func(b *testing.B) {
			b.SetBytes(s.bytes)
			for i := 0; i < b.N; i++ {
				for _, r := range s.recs {
					n.Normalize(Record{Raw: r, Time: at})
				}
			}
			reportRecords(b, len(s.recs))
		})
	}
}

func BenchmarkBaselineJSON(b *testing.B) {
	for _, s := range benchSets(b) {
		b.Run(s.format, func(b *testing.B) {
			b.SetBytes(s.bytes)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for _, r := range s.recs {
					if err := json.Unmarshal(r, s.plain()); err != nil {
						b.Fatal(err)
					}
				}
			}
			reportRecords(b, len(s.recs))
		})
	}
}

// BenchmarkSpeedup runs normalisation and the encoding/json baseline
// alternately over the same records, pass by pass, and reports the best
// pass of each and their ratio. Alternating cancels out the load of a
// shared machine, which swings separate benchmark runs by 2x or more.
func BenchmarkSpeedup(b *testing.B) {
	n := newTestNormalizer(b, goldenRules...)
	at := time.Unix(1e9, 0)
	for _, s := range benchSets(b) {
		b.Run(s.format, func(b *testing.B) {
			bestN, bestJ := time.Duration(1<<62), time.Duration(1<<62)
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				for _, r := range s.recs {
					n.Normalize(Record{Raw: r, Format: s.format, Time: at})
				}
				t1 := time.Now()
				for _, r := range s.recs {
					if err := json.Unmarshal(r, s.plain()); err != nil {
						b.Fatal(err)
					}
				}
				t2 := time.Now()
				bestN, bestJ = min(bestN, t1.Sub(t0)), min(bestJ, t2.Sub(t1))
			}
			mb := float64(s.bytes) / 1e6
			b.ReportMetric(mb/bestN.Seconds(), "norm-MB/s")
			b.ReportMetric(float64(len(s.recs))/bestN.Seconds(), "norm-records/s")
			b.ReportMetric(mb/bestJ.Seconds(), "json-MB/s")
			b.ReportMetric(float64(len(s.recs))/bestJ.Seconds(), "json-records/s")
			b.ReportMetric(bestJ.Seconds()/bestN.Seconds(), "speedup")
		})
	}
}
